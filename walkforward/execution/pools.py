"""Local pools: a link runs inline (one worker, or one chain), in a thread pool, or in a process pool.

A pool's `submit(task, carry, keep_model)` returns (future of (model or None, result), handle); `next_carry` gives
the carry of the chain's next link (for a local pool: the previous model itself).
"""

from __future__ import annotations

import multiprocessing
import pickle
import signal
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Protocol

from walkforward.errors import ConfigError
from walkforward.execution.link import Job, run_link
from walkforward.execution.mapped import SpillFolder, spill, unspill


class Pool(Protocol):
    def capacity(self) -> int: ...

    def submit(self, task: Any, carry: Any, keep_model: bool) -> tuple[Any, Any]: ...

    def next_carry(self, handle: Any, output: tuple[Any, Any]) -> Any: ...

    def close(self, wait: bool) -> None: ...


class _LocalPool:
    """A pool in this machine: a link's carry is the previous model itself."""

    def next_carry(self, handle: Any, output: tuple[Any, Any]) -> Any:  # noqa: ARG002
        return (output[0], None)


class _InlinePool(_LocalPool):
    """Runs each link in the calling thread as it is submitted (one worker, or one chain)."""

    def __init__(self, job: Job):
        self.job = job

    def capacity(self) -> int:
        return 1

    def submit(self, task: Any, carry: Any, keep_model: bool) -> tuple[Future, None]:
        fut: Future = Future()
        try:
            fut.set_result(run_link(self.job, task, carry, keep_model))
        except Exception as exc:  # noqa: BLE001 - reported with the task by the loop
            fut.set_exception(exc)
        return fut, None

    def close(self, wait: bool) -> None:
        pass


class _ExecutorPool(_LocalPool):
    """A `concurrent.futures` pool of `n_jobs` workers running `fn(*args, task, carry, keep_model)`; `on_close` runs
    after the pool has shut down."""

    def __init__(
        self,
        pool: Executor,
        n_jobs: int,
        fn: Callable[..., tuple[Any, Any]],
        *args: Any,
        on_close: Callable[[], None] | None = None,
    ):
        self.pool, self.n_jobs, self.fn, self.args, self.on_close = pool, n_jobs, fn, args, on_close

    def capacity(self) -> int:
        return self.n_jobs

    def submit(self, task: Any, carry: Any, keep_model: bool) -> tuple[Future, None]:
        return self.pool.submit(self.fn, *self.args, task, carry, keep_model), None

    def close(self, wait: bool) -> None:
        try:
            self.pool.shutdown(wait=wait, cancel_futures=True)
        finally:
            if self.on_close is not None:
                self.on_close()


# the job of a process-pool worker, set once by the pool's initializer
_WORKER_JOB: Job | None = None


def _init_process_worker(job_file: str) -> None:
    """A process-pool worker's initializer: load the job, its spilled arrays mapped from their files; leave Ctrl-C
    to the parent, which stops scheduling and waits for the running folds."""
    global _WORKER_JOB
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with open(job_file, "rb") as fh:
        _WORKER_JOB = unspill(pickle.load(fh))


def _run_link_in_process(task: Any, carry: Any, keep_model: bool) -> tuple[Any, Any]:
    assert _WORKER_JOB is not None, "process-pool worker started without its job"
    return run_link(_WORKER_JOB, task, carry, keep_model)


def open_threads(job: Job, *, n_jobs: int, n_chains: int, scheduler: str | None = None) -> Pool:  # noqa: ARG001
    """A thread pool sharing the job (no copy); inline with one worker or one chain."""
    if n_jobs <= 1 or n_chains <= 1:
        return _InlinePool(job)
    return _ExecutorPool(ThreadPoolExecutor(n_jobs, thread_name_prefix="wf-fit"), n_jobs, run_link, job)


def open_processes(job: Job, *, n_jobs: int, n_chains: int, scheduler: str | None = None) -> Pool:  # noqa: ARG001
    """A spawn-started process pool. The job's large arrays (the feature matrix) are written once to a temporary
    folder and every worker maps them read-only (mapped.py); the rest of the job is pickled once per worker,
    through the initializer. The folder is removed when the pool closes."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):  # multiprocessing's own test for it
        # a spawned worker re-running a script that is not guarded: starting a pool here would hang this worker
        raise ConfigError(
            "executor 'processes' started inside a worker that is still starting: the script calls walkforward "
            "outside `if __name__ == '__main__':`, which every spawned worker re-runs; put the call under that guard"
        )
    spawn = multiprocessing.get_context("spawn")  # not fork: no copy of this process's threads and locks
    # starting a spawn worker reads multiprocessing's default start method, which fixes it for the process: a user
    # could no longer choose one (set_start_method raises 'context has already been set'); put it back unset
    unset = multiprocessing.get_start_method(allow_none=True) is None
    folder = SpillFolder()

    def close() -> None:
        folder.remove()
        if unset and multiprocessing.get_start_method(allow_none=True) is not None:
            multiprocessing.set_start_method(None, force=True)

    try:
        # The job goes to a file and its path to the workers: multiprocessing writes a worker's start-up data into
        # a pipe whose read end the parent keeps open, so data over the pipe's buffer (64 KiB) blocks the parent for
        # ever if the worker dies before reading it (a script without the `__main__` guard does)
        job_file = folder.path / "job.pickle"
        job_file.write_bytes(pickle.dumps(spill(job, folder.path), protocol=pickle.HIGHEST_PROTOCOL))
        pool = ProcessPoolExecutor(
            n_jobs, mp_context=spawn, initializer=_init_process_worker, initargs=(str(job_file),)
        )
    except BaseException:
        folder.remove()
        raise
    return _ExecutorPool(pool, n_jobs, _run_link_in_process, on_close=close)
