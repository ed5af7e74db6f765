"""Models (methodology §3): one file per model family, each a `ModelKind` in the registry (registry.py).

Every model runs single-threaded and is seeded per (seed, fold, asset). Model libraries are imported on first use.
"""
