"""Run fold tasks on a thread pool. Results never depend on the number of workers.

A *chain* is a list of tasks that must run in order (a warm-start chain: the unified model over folds, or one
asset's model over folds); without warm start every task is a chain of its own. Chains run in parallel, each task's
model single-threaded; results are keyed by task, so the order in which they finish does not matter.

Threads: Polars' own pool works before fitting starts (the feature plan) and after it (backtest); while models fit,
the only busy threads are the pool's `n_jobs` workers, each running one single-threaded model. LightGBM and
scikit-learn release the GIL while they fit, so threads scale without copying the feature matrix to processes.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any, TypeVar

T = TypeVar("T", bound=Hashable)


def run_chains(
    chains: Sequence[Sequence[T]],
    work: Callable[[T, Any], tuple[Any, Any]],
    *,
    n_jobs: int,
    on_done: Callable[[T], None] | None = None,
) -> dict[T, Any]:
    """Run `work(task, previous_model) -> (model, result)` over each chain in order; return {task: result}.

    `previous_model` is None for the first task of a chain. Chains are submitted in the given order; an
    exception in any task cancels the chains not yet started and is re-raised.
    """
    results: dict[T, Any] = {}

    def run_chain(chain: Sequence[T]) -> None:
        model = None
        for task in chain:
            model, results[task] = work(task, model)
            if on_done is not None:
                on_done(task)

    if n_jobs <= 1 or len(chains) <= 1:
        for chain in chains:
            run_chain(chain)
        return results
    with ThreadPoolExecutor(max_workers=n_jobs, thread_name_prefix="wf-fit") as pool:
        futures = [pool.submit(run_chain, chain) for chain in chains]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for fut in pending:
            fut.cancel()
        for fut in futures:
            if fut.done() and not fut.cancelled() and fut.exception() is not None:
                raise fut.exception()  # type: ignore[misc]
    return results
