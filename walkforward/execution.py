"""Run fold tasks on an executor. Results never depend on the number of workers or the executor.

A *chain* is a list of tasks that must run in order (a warm-start chain: the unified model over folds, or one
asset's model over folds); without warm start every task is a chain of its own. Chains run in parallel, each task's
model single-threaded; results are keyed by task, so the order in which they finish does not matter.

`threads` (default): a thread pool in this process, sharing the feature matrix. LightGBM and scikit-learn release the
GIL while they fit, so threads scale without copying anything. Polars' own pool works before fitting starts (the
feature plan) and after it; while models fit, the only busy threads are the `n_jobs` workers, one model each.

Cancellation: the scheduler checks the `Cancellation` flag before each task; running tasks finish, finished ones are
reported through `on_done` (which checkpoints them), and `Cancelled` is raised. A task that raises stops the
scheduling the same way, and its error is re-raised with the task named.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Protocol, TypeVar

from walkforward.cancel import Cancellation, Cancelled

T = TypeVar("T", bound=Hashable)

EXECUTORS = ("threads", "processes", "dask")


class Job(Protocol):
    """Fits and predicts one task; `previous` is the chain's previous model (None first)."""

    def __call__(self, task: Any, previous: Any) -> tuple[Any, Any]: ...


class TaskFailed(RuntimeError):
    """A fold task raised; `task` names it and `__cause__` is the original error."""

    def __init__(self, task: Any, error: BaseException):
        super().__init__(f"{type(error).__name__}: {error}")
        self.task, self.error = task, error


def run_chains(
    chains: Sequence[Sequence[T]],
    job: Job,
    *,
    n_jobs: int,
    on_done: Callable[[T, Any, Any], None] | None = None,
    cancel: Cancellation | None = None,
    start_models: dict[int, Any] | None = None,
) -> dict[T, Any]:
    """Run `job(task, previous_model) -> (model, result)` over each chain in order; return {task: result}.

    `start_models[i]` seeds chain i's `previous` (a resumed warm-start chain). `on_done(task, result, model)` runs
    as each task finishes. Raises `Cancelled` if cancellation was requested, `TaskFailed` if a task raised.
    """
    cancel = cancel or Cancellation()
    results: dict[T, Any] = {}
    failures: list[TaskFailed] = []
    start_models = start_models or {}

    def run_chain(i: int, chain: Sequence[T]) -> None:
        model = start_models.get(i)
        for task in chain:
            if cancel.requested or failures:
                return
            try:
                model, result = job(task, model)
            except Exception as exc:  # noqa: BLE001 - reported with the task, after the others stop
                failures.append(TaskFailed(task, exc))
                return
            results[task] = result
            if on_done is not None:
                on_done(task, result, model)

    total = sum(len(c) for c in chains)
    if n_jobs <= 1 or len(chains) <= 1:
        for i, chain in enumerate(chains):
            run_chain(i, chain)
    else:
        with ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="wf-fit") as pool:
            futures = [pool.submit(run_chain, i, chain) for i, chain in enumerate(chains)]
            wait(futures)
            for fut in futures:
                fut.result()
    if failures:
        raise failures[0] from failures[0].error
    if cancel.requested:
        raise Cancelled(len(results), total)
    return results
