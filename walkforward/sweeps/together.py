"""Run a sweep's Polars configurations together: each prepared as `wf run` would (its run directory, checkpoints,
features, matrix and folds, shared through `Plans`), every model task on one executor (shared.py), then each
configuration's backtest, tables and metrics written to its own directory, exactly as a separate run writes them.

Memory: a configuration's results (a prediction and a matrix row per test row) stay in memory until its outputs are
written, so the configurations go to the pool in batches of at most `RESULTS_BUDGET` bytes of results, each batch
finished and let go before the next; one configuration larger than the budget is a batch alone. A sweep of any size
then holds about as much as its largest batch, and configurations share their Datasets within a batch.

Each configuration's run.json reports its own stages, except the models': `models` and `executor` are its batch's
pool's (every configuration of the batch waited for it), `fit` and `predict` the wall time its own models were being
fitted or predicted (docs/methodology.md §6).
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
from walkforward.metrics import SharedPredictions
from walkforward.runner import RunDir, close_run, open_run
from walkforward.sweeps.shared import SweepJob, checkpoint_each, plan_sweep

# (tasks finished, tasks in all) as configurations' tasks finish; tasks are (configuration, fold, asset)
TaskProgress = Callable[[int, int], None]

RESULTS_BUDGET = 512 * 2**20  # bytes of results a sweep holds at once (see the module's docstring)
RESULT_BYTES_PER_ROW = 16  # a test row's prediction (float64) and its matrix row (int64)
RESULT_BYTES_PER_TASK = 1024  # a task's result object, its importances and its bookkeeping, roughly


@dataclass(frozen=True)
class Pending:
    """A configuration to run: its id, its config (output_dir set) and how its directory is taken."""

    id: str
    config: Config
    resume: bool
    overwrite: bool


def run_together(
    pending: list[Pending],
    plans: Plans,
    progress: TaskProgress | None = None,
    cancel: Cancellation | None = None,
    on_prepared: Callable[[], None] | None = None,
) -> None:
    """Run every pending configuration (all on the Polars engine, with the same executor settings); `on_prepared`
    is called once every configuration's input is loaded and checked, before the first model."""
    if not pending:
        return
    opened: dict[int, RunDir] = {}
    n_jobs = pending[0].config.resolved_n_jobs
    try:
        prepared = {t: _prepare(p, opened, t, plans) for t, p in enumerate(pending)}
        if on_prepared is not None:
            on_prepared()
        count = _Count(sum(len(p.tasks) for p in prepared.values()), progress)
        for batch in batches(prepared, RESULTS_BUDGET):
            mine = {t: prepared[t] for t in batch}
            _finish(mine, opened, *_fit(pending, mine, opened, count, cancel), n_jobs)
    except WalkforwardError:
        for run in opened.values():
            run.discard_if_unused()  # bad input: leave no run behind that would ask for --resume
        raise


def _finish(
    prepared: dict[int, engine.Prepared],
    opened: dict[int, RunDir],
    results: dict[int, dict[Task, TaskResult]],
    timings: dict[str, float],
    window: tuple[float, float],
    n_jobs: int,
) -> None:
    """Each configuration of a batch: its backtest, tables and metrics, written to its run directory; its results
    are let go as soon as they are written (predictions that configurations share stay until the batch ends)."""

    shared = SharedPredictions()  # configurations with the same predictions (a strategy sweep's) share their metrics

    def finish(t: int) -> None:
        p, mine = prepared[t], results.pop(t)
        p.timer.update(timings)
        engine.model_timings(p.timer, mine, window)
        close_run(opened[t], engine.finish(p, mine, shared))

    _each(finish, list(prepared), n_jobs)


def batches(prepared: dict[int, engine.Prepared], budget: int) -> list[list[int]]:
    """The configurations in order, cut into batches whose results (`result_bytes`) add up to at most `budget`."""
    out: list[list[int]] = []
    used = budget
    for t, p in prepared.items():
        size = result_bytes(p)
        if used + size > budget:
            out.append([])
            used = 0
        out[-1].append(t)
        used += size
    return out


def result_bytes(p: engine.Prepared) -> int:
    """About what a configuration's results hold in memory: every row of its test windows, and its tasks."""
    rows = sum(int(d - c) for c, d in p.layout.offsets.test)
    return RESULT_BYTES_PER_ROW * rows + RESULT_BYTES_PER_TASK * len(p.tasks)


@dataclass
class _Count:
    """The sweep's (configuration, fold, asset) tasks finished (checkpointed ones included), across its batches."""

    total: int
    progress: TaskProgress | None
    done: int = 0

    def add(self, n: int) -> None:
        self.done += n
        if self.progress is not None:
            self.progress(self.done, self.total)


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
        opened[t] = open_run(p.config, resume=p.resume, overwrite=p.overwrite, fingerprints=plans.fingerprints)
    except RunDirError as exc:
        raise RunDirError(f"configuration {p.id}: {exc}") from None
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
    count: _Count,
    cancel: Cancellation | None,
) -> tuple[dict[int, dict[Task, TaskResult]], dict[str, float], tuple[float, float]]:
    """The remaining tasks of a batch of configurations (`prepared`) on one executor: each configuration's results,
    the pool's timings (`models`: its wall time, `executor`: starting and stopping it) and its window
    (`time.time()`)."""
    jobs = {t: p.job for t, p in prepared.items()}
    checkpoints = {t: opened[t].checkpoints for t in prepared}
    plan = plan_sweep(jobs, {t: (p.config, p.tasks, p.chains) for t, p in prepared.items()}, checkpoints)
    count.add(sum(len(d) for d in plan.done.values()))
    base = pending[0].config
    timer: dict[str, float] = {}
    opened_at, t0 = wall_clock(), time.perf_counter()
    try:
        out = run_chains(
            plan.chains,
            SweepJob(jobs),
            n_jobs=base.resolved_n_jobs,
            on_done=checkpoint_each(checkpoints, count.add),
            start_models=plan.start_models,
            cancel=cancel,
            executor=base.executor,
            scheduler=base.scheduler,
            timings=timer,
        )
    except Cancelled:  # counted in (configuration, fold, asset) tasks, as the progress is, not in group tasks
        raise Cancelled(count.done, count.total) from None
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
