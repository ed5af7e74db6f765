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
- `processes`: a `ProcessPoolExecutor` started with `spawn`. The job's arrays (the feature matrix) are written
  once to a temporary folder and mapped read-only by every worker (mapped.py), the rest of the job pickled once per
  worker through the pool's initializer; a link sends its task and, in a warm-start chain, the previous model,
  and gets back the task's result and the model (pickled: LightGBM's exact text format, the forest's arrays).
- `dask`: a Dask cluster (walkforward/execution/dask.py): each link carries the job cut to its task's rows; a link's
  previous model is the previous link's future, so it stays on the cluster (usually on the same worker) and only
  the task's result comes back.

Cancellation: the loop checks the `Cancellation` flag before each submission. Once it is set, nothing new is
submitted; the links in flight (all running: no more are submitted than there are worker threads) finish and are
reported through `on_done`, and `Cancelled` is raised. A task that raises stops the submitting the same way, and its
error is re-raised with the task named.
"""

from __future__ import annotations

import queue
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from walkforward.cancel import Cancellation, Cancelled
from walkforward.execution.link import Job, TaskFailed
from walkforward.execution.pools import Pool
from walkforward.execution.registry import open_pool

T = TypeVar("T", bound=Hashable)


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
