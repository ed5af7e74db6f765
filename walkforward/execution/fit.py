"""The fit stage: every (fold, symbol) task not already checkpointed, fitted on the configured executor in chains,
each checkpointed as it finishes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from walkforward.cancel import Cancellation
from walkforward.config import UNIFIED_SYMBOL, Config
from walkforward.errors import FoldFailed, WalkforwardError
from walkforward.execution.checkpoints import Checkpoints
from walkforward.execution.job import FoldJob
from walkforward.execution.link import TaskFailed
from walkforward.execution.scheduler import run_chains
from walkforward.execution.task import Task, TaskResult
from walkforward.models.registry import MODEL_KINDS

Progress = Callable[[int, int], None]


def plan_tasks(config: Config, n_folds: int) -> tuple[list[Task], list[list[Task]]]:
    """Every (fold, symbol) task, and the chains they run in: one per model when warm-starting, else one each. With
    `refit_every` k, only folds 0, k, 2k, ... have a task (each predicts its k folds: job.py)."""
    symbols = config.assets if config.model.scope == "per_asset" else (UNIFIED_SYMBOL,)
    refits = range(0, n_folds, config.refit_every)
    tasks = sorted((f, s) for s in symbols for f in refits)
    if config.model.warm_start:
        return tasks, [[(f, s) for f in refits] for s in symbols]
    return tasks, [[t] for t in tasks]


def resume_chains(
    config: Config, tasks: list[Task], chains: list[list[Task]], checkpoints: Checkpoints
) -> tuple[dict[Task, TaskResult], list[list[Task]], dict[int, Any]]:
    """The checkpointed results, what is left of each chain, and the model each continued chain starts from."""
    done = checkpoints.load(tasks)
    remaining: list[list[Task]] = []
    start_models: dict[int, Any] = {}
    for chain in chains:
        k = 0
        while k < len(chain) and chain[k] in done:
            k += 1
        if k and k < len(chain) and config.model.warm_start:
            state = checkpoints.model_state(chain[k - 1])
            if state is None:  # checkpoint without its model: refit the chain
                k = 0
            else:
                start_models[len(remaining)] = MODEL_KINDS[config.model.kind].load(state)
        remaining.append(chain[k:])
    return done, remaining, start_models


def fit_all(
    config: Config,
    job: FoldJob,
    tasks: list[Task],
    chains: list[list[Task]],
    progress: Progress | None,
    checkpoints: Checkpoints | None,
    cancel: Cancellation | None,
    timings: dict[str, float] | None = None,
) -> dict[Task, TaskResult]:
    """Fit every task not already checkpointed; checkpoint each as it finishes."""
    done: dict[Task, TaskResult] = {}
    start_models: dict[int, Any] = {}
    if checkpoints is not None:
        done, chains, start_models = resume_chains(config, tasks, chains, checkpoints)
    count = [len(done)]
    if progress is not None:
        progress(count[0], len(tasks))

    def on_done(task: Task, payload: tuple[TaskResult, bytes | None]) -> None:
        result, state = payload
        if checkpoints is not None:
            checkpoints.save(task, result, state)
        count[0] += 1
        if progress is not None:
            progress(count[0], len(tasks))

    try:
        new = run_chains(
            chains,
            job,
            n_jobs=config.resolved_n_jobs,
            on_done=on_done,
            cancel=cancel,
            start_models=start_models,
            executor=config.executor,
            scheduler=config.scheduler,
            timings=timings,
        )
    except TaskFailed as exc:
        if isinstance(exc.error, WalkforwardError):  # bad input found inside a fold: already names it
            raise exc.error from None
        raise fold_failed(exc, job) from exc.error
    done.update({t: payload[0] for t, payload in new.items()})
    return done


def fold_failed(exc: TaskFailed, job: FoldJob) -> FoldFailed:
    """A failed task's error, naming the fold, its dates and its assets."""
    f, symbol = exc.task
    fold = job.folds[f]
    return FoldFailed(
        f"fold {f} (train {fold.train_start}..{fold.train_end}, test {fold.test_start}..{fold.test_end}, "
        f"assets {'all' if symbol == UNIFIED_SYMBOL else symbol}) failed: {exc}{_worker_died_hint(exc.error)}; "
        "finished folds are kept, fix the cause and rerun with --resume"
    )


def _worker_died_hint(error: BaseException) -> str:
    """What usually kills a worker process, for a BrokenProcessPool (the pool itself cannot tell)."""
    if type(error).__name__ != "BrokenProcessPool":
        return ""
    return (
        " (a worker process died: out of memory, a crash in the model library, or a script that calls walkforward "
        "outside `if __name__ == '__main__':`, which every spawned worker re-runs; put the call under that guard "
        "or use executor 'threads')"
    )
