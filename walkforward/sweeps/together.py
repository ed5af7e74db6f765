"""Run a sweep's Polars configurations together: each prepared as `wf run` would (its run directory, checkpoints,
features, matrix and folds, shared through `Plans`), every model task on one executor (shared.py), then each
configuration's backtest, tables and metrics written to its own directory, exactly as a separate run writes them.

Each configuration's run.json reports its own stages, except the models': `models` and `executor` are the one shared
pool's (every configuration waited for it), `fit` and `predict` the wall time its own models were being fitted or
predicted (docs/methodology.md §6).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from walkforward import engine
from walkforward.cancel import Cancellation, Cancelled
from walkforward.config import Config
from walkforward.errors import WalkforwardError
from walkforward.execution.checkpoints import RunDirError
from walkforward.execution.fit import fold_failed
from walkforward.execution.link import TaskFailed
from walkforward.execution.scheduler import run_chains
from walkforward.execution.task import Task, TaskResult, wall_clock
from walkforward.features.plan import Plans
from walkforward.runner import RunDir, close_run, open_run
from walkforward.sweeps.shared import SweepJob, checkpoint_each, plan_sweep

# (tasks finished, tasks in all) as configurations' tasks finish; tasks are (configuration, fold, asset)
TaskProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class Pending:
    """A configuration to run: its id, its config (output_dir set) and how its directory is taken."""

    id: str
    config: Config
    resume: bool
    overwrite: bool


def run_together(
    pending: list[Pending], plans: Plans, progress: TaskProgress | None = None, cancel: Cancellation | None = None
) -> None:
    """Run every pending configuration (all on the Polars engine, with the same executor settings)."""
    if not pending:
        return
    opened: dict[int, RunDir] = {}
    try:
        prepared = {t: _prepare(p, opened, t, plans) for t, p in enumerate(pending)}
        results, timings, window = _fit(pending, prepared, opened, progress, cancel)

        def finish(t: int) -> None:
            p, mine = prepared[t], results[t]
            p.timer.update(timings)
            engine.model_timings(p.timer, mine, window)
            close_run(opened[t], engine.finish(p, mine))

        _each(finish, list(prepared), pending[0].config.resolved_n_jobs)
    except WalkforwardError:
        for run in opened.values():
            run.checkpoints.discard_if_unused()  # bad input: leave no run behind that would ask for --resume
        raise


def _each(fn: Callable[[int], None], items: list[int], n_jobs: int) -> None:
    """`fn` on every item, in `n_jobs` threads (each configuration's backtest, metrics and writing are its own:
    numpy and Polars release the GIL for most of them); the first error is raised once all have stopped."""
    if n_jobs <= 1 or len(items) <= 1:
        for item in items:
            fn(item)
        return
    with ThreadPoolExecutor(min(n_jobs, len(items)), thread_name_prefix="wf-finish") as pool:
        futures = [pool.submit(fn, item) for item in items]
    for fut in futures:
        fut.result()


def _prepare(p: Pending, opened: dict[int, RunDir], t: int, plans: Plans) -> engine.Prepared:
    try:
        opened[t] = open_run(p.config, resume=p.resume, overwrite=p.overwrite)
    except RunDirError as exc:
        raise RunDirError(f"configuration {p.id}: {exc}; or pass --resume to reuse the sweep's runs") from None
    run = opened[t]
    return engine.prepare(
        p.config,
        keep_models=p.config.model.warm_start,  # always checkpointed: a chain's model is saved with each link
        fingerprint=run.fingerprint,
        universe=run.universe,
        plans=plans,
    )


def _fit(
    pending: list[Pending],
    prepared: dict[int, engine.Prepared],
    opened: dict[int, RunDir],
    progress: TaskProgress | None,
    cancel: Cancellation | None,
) -> tuple[dict[int, dict[Task, TaskResult]], dict[str, float], tuple[float, float]]:
    """Every configuration's remaining tasks on one executor: each configuration's results, the pool's timings
    (`models`: its wall time, `executor`: starting and stopping it) and its window (`time.time()`)."""
    jobs = {t: p.job for t, p in prepared.items()}
    checkpoints = {t: run.checkpoints for t, run in opened.items()}
    plan = plan_sweep(jobs, {t: (p.config, p.tasks, p.chains) for t, p in prepared.items()}, checkpoints)
    count = [sum(len(d) for d in plan.done.values())]

    def counted(n: int) -> None:
        count[0] += n
        if progress is not None:
            progress(count[0], plan.n_tasks)

    counted(0)
    base = pending[0].config
    timer: dict[str, float] = {}
    opened_at, t0 = wall_clock(), time.perf_counter()
    try:
        out = run_chains(
            plan.chains,
            SweepJob(jobs),
            n_jobs=base.resolved_n_jobs,
            on_done=checkpoint_each(checkpoints, counted),
            start_models=plan.start_models,
            cancel=cancel,
            executor=base.executor,
            scheduler=base.scheduler,
            timings=timer,
        )
    except Cancelled:  # counted in (configuration, fold, asset) tasks, as the progress is, not in group tasks
        raise Cancelled(count[0], plan.n_tasks) from None
    except TaskFailed as exc:
        trials, f, symbol = exc.task
        error = (
            exc.error
            if isinstance(exc.error, WalkforwardError)
            else fold_failed(TaskFailed((f, symbol), exc.error), jobs[trials[0]])
        )
        names = ", ".join(pending[t].id for t in trials)
        raise type(error)(f"configuration{'s' if len(trials) > 1 else ''} {names}: {error}") from exc.error
    results = plan.done
    for (_, f, symbol), payload in out.items():
        for t, (result, _) in payload.items():
            results[t][(f, symbol)] = result
    timings = {"models": time.perf_counter() - t0, "executor": timer.get("executor", 0.0)}
    return results, timings, (opened_at, wall_clock())
