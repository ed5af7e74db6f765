"""Run fold tasks on an executor. Results never depend on the number of workers or the executor.

A *chain* is a list of tasks that must run in order (a warm-start chain: the unified model over folds, or one
asset's model over folds); without warm start every task is a chain of its own. Each task's model is
single-threaded; results are keyed by task, so the order in which they finish does not matter.

One scheduler loop runs in the parent for every executor. It submits one *link* at a time per chain — a task with
the chain's previous model (`run_link`) — keeps at most as many links in flight as the executor has worker threads,
and, as each link's result arrives, submits the chain's next link and then calls `on_done` (which checkpoints and
reports progress), so a checkpoint's fsync never leaves a worker idle. So every executor checkpoints per task,
and the fold code (`job`) is the same for all:

- `threads` (default): a thread pool in this process, sharing the feature matrix. LightGBM and scikit-learn
  release the GIL while they fit, so threads scale without copying anything. A warm-start chain's model stays in
  memory. With one worker (or one chain) the links run in the calling thread.
- `processes`: a `ProcessPoolExecutor` started with `spawn`. The job (feature matrix and folds) is pickled once
  per worker, through the pool's initializer; a link sends its task and, in a warm-start chain, the previous model,
  and gets back the task's result and the model (pickled: LightGBM's exact text format, the forest's arrays).
- `dask`: a Dask cluster (walkforward/execution_dask.py): the job is scattered to every worker once; a link's
  previous model is the previous link's future, so it stays on the cluster (usually on the same worker) and only
  the task's result comes back.

Cancellation: the loop checks the `Cancellation` flag before each submission. Once it is set, nothing new is
submitted; the links in flight (all running: no more are submitted than there are worker threads) finish and are
reported through `on_done`, and `Cancelled` is raised. A task that raises stops the submitting the same way, and its
error is re-raised with the task named.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from walkforward.cancel import Cancellation, Cancelled
from walkforward.config import EXECUTORS
from walkforward.errors import ConfigError

T = TypeVar("T", bound=Hashable)

__all__ = ["EXECUTORS", "Job", "TaskFailed", "open_pool", "require_distributed", "run_chains", "run_link"]

DASK_INSTALL_HINT = "pip install -e '.[dask]'"


class Job(Protocol):
    """Fits and predicts one task; `previous` is the chain's previous model (None first)."""

    def __call__(self, task: Any, previous: Any) -> tuple[Any, Any]: ...


class TaskFailed(RuntimeError):
    """A fold task raised; `task` names it and `__cause__` is the original error."""

    def __init__(self, task: Any, error: BaseException):
        super().__init__(f"{type(error).__name__}: {error}")
        self.task, self.error = task, error


def run_link(job: Job, task: Any, carry: Sequence[Any], keep_model: bool) -> tuple[Any, Any]:
    """Run one task of a chain on whatever worker holds `job`; return (model or None, result).

    `carry[0]` is the chain's previous model (None first; a resumed chain's start model). The model comes back only
    when the chain continues (`keep_model`), so a task without a successor ships its result alone.
    """
    model, result = job(task, carry[0])
    return (model if keep_model else None), result


def require_distributed() -> Any:
    """The `distributed` package, or a ConfigError saying how to install it."""
    try:
        import distributed
    except ImportError:
        raise ConfigError(
            f"executor 'dask' needs dask.distributed, which is not installed; install it with {DASK_INSTALL_HINT}"
        ) from None
    return distributed


# --- pools: submit(task, carry, keep_model) -> (future of (model or None, result), handle) ----------------


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
    """A `concurrent.futures` pool of `n_jobs` workers running `fn(*args, task, carry, keep_model)`."""

    def __init__(self, pool: Executor, n_jobs: int, fn: Callable[..., tuple[Any, Any]], *args: Any):
        self.pool, self.n_jobs, self.fn, self.args = pool, n_jobs, fn, args

    def capacity(self) -> int:
        return self.n_jobs

    def submit(self, task: Any, carry: Any, keep_model: bool) -> tuple[Future, None]:
        return self.pool.submit(self.fn, *self.args, task, carry, keep_model), None

    def close(self, wait: bool) -> None:
        self.pool.shutdown(wait=wait, cancel_futures=True)


# the job of a process-pool worker, set once by the pool's initializer
_WORKER_JOB: Job | None = None


def _init_process_worker(job: Job) -> None:
    """A process-pool worker's initializer: keep the job; leave Ctrl-C to the parent, which stops scheduling and
    waits for the running folds."""
    global _WORKER_JOB
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_JOB = job


def _run_link_in_process(task: Any, carry: Any, keep_model: bool) -> tuple[Any, Any]:
    assert _WORKER_JOB is not None, "process-pool worker started without its job"
    return run_link(_WORKER_JOB, task, carry, keep_model)


def open_pool(executor: str, job: Job, *, n_jobs: int, n_chains: int, scheduler: str | None = None) -> Pool:
    """Start the executor's workers, with the job on each. `n_jobs` is the number of local workers (for `dask`
    without a scheduler: of LocalCluster worker processes, one thread each); a scheduler's cluster brings its own."""
    if executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    if scheduler is not None and executor != "dask":
        raise ConfigError(f"a scheduler ({scheduler!r}) needs executor 'dask', not {executor!r}")
    if executor == "dask":
        require_distributed()
        from walkforward.execution_dask import DaskPool

        return DaskPool(job, n_jobs=n_jobs, scheduler=scheduler)
    if executor == "processes":
        spawn = multiprocessing.get_context("spawn")  # not fork: no copy of this process's threads and locks
        pool = ProcessPoolExecutor(n_jobs, mp_context=spawn, initializer=_init_process_worker, initargs=(job,))
        return _ExecutorPool(pool, n_jobs, _run_link_in_process)
    if n_jobs <= 1 or n_chains <= 1:
        return _InlinePool(job)
    return _ExecutorPool(ThreadPoolExecutor(n_jobs, thread_name_prefix="wf-fit"), n_jobs, run_link, job)


# --- the scheduler loop ---------------------------------------------------------------------------------


def run_chains(
    chains: Sequence[Sequence[T]],
    job: Job,
    *,
    n_jobs: int,
    on_done: Callable[[T, Any], None] | None = None,
    cancel: Cancellation | None = None,
    start_models: dict[int, Any] | None = None,
    executor: str = "threads",
    scheduler: str | None = None,
    timings: dict[str, float] | None = None,
) -> dict[T, Any]:
    """Run `job(task, previous_model) -> (model, result)` over each chain in order; return {task: result}.

    `start_models[i]` seeds chain i's `previous` (a resumed warm-start chain). `on_done(task, result)` runs in the
    calling thread as each task's result arrives. `executor` is `threads`, `processes` or `dask` (with `scheduler`,
    a Dask scheduler's address; without, a LocalCluster of `n_jobs` single-threaded worker processes for the run).
    `timings["executor"]`, when given, gets the seconds spent starting and stopping the workers.
    Raises `Cancelled` if cancellation was requested, `TaskFailed` if a task raised.
    """
    cancel = cancel or Cancellation()
    chains = [list(c) for c in chains]  # an empty chain (finished before a resume) keeps its index
    start_models = start_models or {}
    total = sum(len(c) for c in chains)
    if not total:
        return {}
    t0 = time.perf_counter()
    pool = open_pool(executor, job, n_jobs=n_jobs, n_chains=sum(1 for c in chains if c), scheduler=scheduler)
    started = time.perf_counter()
    finished_ok = False
    try:
        results, failures = _drive(pool, chains, on_done, cancel, start_models)
        finished_ok = True
    finally:
        stop = time.perf_counter()
        pool.close(wait=finished_ok)
        if timings is not None:
            timings["executor"] = timings.get("executor", 0.0) + (started - t0) + (time.perf_counter() - stop)
    if failures:
        raise failures[0] from failures[0].error
    if cancel.requested and len(results) < total:  # a request that came after the last fold cancels nothing
        raise Cancelled(len(results), total)
    return results


def _drive(
    pool: Pool,
    chains: list[list[T]],
    on_done: Callable[[T, Any], None] | None,
    cancel: Cancellation,
    start_models: dict[int, Any],
) -> tuple[dict[T, Any], list[TaskFailed]]:
    """Submit links while there is room, report each result as it arrives, continue its chain; stop submitting on
    cancellation or a failure and return once nothing is in flight."""
    results: dict[T, Any] = {}
    failures: list[TaskFailed] = []
    arrived: queue.SimpleQueue = queue.SimpleQueue()  # futures, put by their done-callbacks (any thread)
    # (chain, position, carry); a continued chain goes first, so chains finish in the order they started
    ready = deque((i, 0, (start_models.get(i), None)) for i, chain in enumerate(chains) if chain)
    in_flight: dict[Any, tuple[int, int, Any]] = {}
    reported: list[tuple[T, Any]] = []  # arrived results whose on_done runs after the workers have new work
    while True:
        while ready and not (cancel.requested or failures) and len(in_flight) < pool.capacity():
            i, k, carry = ready.popleft()
            fut, handle = pool.submit(chains[i][k], carry, k + 1 < len(chains[i]))
            in_flight[fut] = (i, k, handle)
            fut.add_done_callback(arrived.put)
        # checkpointing (an fsync) happens while the workers fit, not between a result and the next submission
        for task, result in reported:
            if on_done is not None:
                on_done(task, result)
        reported.clear()
        if not in_flight:
            return results, failures
        fut = arrived.get()
        i, k, handle = in_flight.pop(fut)
        task = chains[i][k]
        try:
            output = fut.result()
        except Exception as exc:  # noqa: BLE001 - reported with the task, after the others stop
            failures.append(TaskFailed(task, exc))
            continue
        results[task] = output[1]
        reported.append((task, output[1]))
        if k + 1 < len(chains[i]):
            ready.appendleft((i, k + 1, pool.next_carry(handle, output)))
