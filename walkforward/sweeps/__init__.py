"""Sweeps: many configurations of one base config, run as `wf run` would, and the overfitting statistics across
them (stats.py)."""
