"""The executors a config may name (`executor`): name -> a function that starts the pool for a run.

A new executor is one file with its pool (submit / next_carry / capacity / close, see pools.py) and one entry here;
config validation and "did you mean" read this registry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from walkforward.errors import ConfigError
from walkforward.execution.link import Job
from walkforward.execution.pools import Pool, open_processes, open_threads

DASK_INSTALL_HINT = "pip install -e '.[dask]'"


def require_distributed() -> Any:
    """The `distributed` package, or a ConfigError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            f"executor 'dask' needs dask.distributed, which is not installed; install it with {DASK_INSTALL_HINT}"
        ) from None
    return distributed


def open_dask(job: Job, *, n_jobs: int, n_chains: int, scheduler: str | None = None) -> Pool:  # noqa: ARG001
    """A Dask cluster: a LocalCluster of `n_jobs` single-threaded workers, or the one at `scheduler`."""
    require_distributed()
    from walkforward.execution.dask import DaskPool

    return DaskPool(job, n_jobs=n_jobs, scheduler=scheduler)


EXECUTORS: dict[str, Callable[..., Pool]] = {"threads": open_threads, "processes": open_processes, "dask": open_dask}


def open_pool(executor: str, job: Job, *, n_jobs: int, n_chains: int, scheduler: str | None = None) -> Pool:
    """Start the executor's workers, with the job on each. `n_jobs` is the number of local workers (for `dask`
    without a scheduler: of LocalCluster worker processes, one thread each); a scheduler's cluster brings its own."""
    if executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    if scheduler is not None and executor != "dask":
        raise ConfigError(f"a scheduler ({scheduler!r}) needs executor 'dask', not {executor!r}")
    return EXECUTORS[executor](job, n_jobs=n_jobs, n_chains=n_chains, scheduler=scheduler)
