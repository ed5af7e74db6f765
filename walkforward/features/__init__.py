"""Features: per-asset Polars expressions (expressions.py), the registry that names them (registry.py), targets
(targets.py), the one lazy plan that computes them for every asset (plan.py) and the contiguous matrix the folds
slice (matrix.py)."""
