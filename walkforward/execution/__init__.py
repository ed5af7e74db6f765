"""Execution: fold tasks (job.py) run in chains by one scheduler loop (scheduler.py) on an executor from the
registry (registry.py: threads and processes in pools.py, Dask in dask.py), checkpointed as they finish
(checkpoints.py). `fit.fit_all` is the stage the engine calls."""
