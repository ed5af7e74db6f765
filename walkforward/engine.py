"""The Polars engine: wires the stages of docs/architecture.md and times each. Implements docs/methodology.md.

universe (assets resolved, membership read) -> data (Parquet store) -> features (one lazy plan, collected while the
model library imports) -> matrix -> folds (row offsets) -> fit (an executor, checkpointed) -> portfolio (gather,
backtest) -> tables -> metrics.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial

import numpy as np
import polars as pl
import pyarrow as pa

from walkforward import metrics
from walkforward.cancel import Cancellation
from walkforward.config import Config
from walkforward.execution.checkpoints import Checkpoints
from walkforward.execution.fit import Progress, fit_all, plan_tasks
from walkforward.execution.job import FoldJob
from walkforward.execution.registry import require_distributed
from walkforward.execution.task import Task, TaskResult, wall_clock
from walkforward.features.matrix import Matrix
from walkforward.features.plan import Plans, check_panel, features_table, start_features
from walkforward.folds import Fold, FoldOffsets, WalkForwardSplit, offsets
from walkforward.models.registry import MODEL_KINDS
from walkforward.outputs import TABLES, EngineResult
from walkforward.portfolio.backtest import run_sorted
from walkforward.portfolio.gather import gather_benchmark, gather_test_rows, window_rows
from walkforward.tables import output_tables
from walkforward.timing import Timer, busy_seconds
from walkforward.universe import Universe, counts, resolve


@dataclass(frozen=True)
class Layout:
    """The folds of a run: their dates, their row offsets into the matrix, which rows are traded assets' and which
    are members of the universe on their date (methodology §8)."""

    folds: list[Fold]
    offsets: FoldOffsets
    traded: np.ndarray  # (n,) bool
    member: np.ndarray  # (n,) bool

    def test_rows(self) -> np.ndarray:
        """The traded assets' rows in the test windows (matrix indices, in fold order)."""
        rows = window_rows(self.offsets)
        return rows[self.traded[rows]]


def prepare_models(config: Config) -> None:
    """Import the model library (and Dask, when chosen) before the pool's threads exist."""
    MODEL_KINDS[config.model.kind].prepare(config.model.estimator)
    if config.executor == "dask":  # after the model library, which would load its Dask integration otherwise
        require_distributed()


def layout(m: Matrix, config: Config, member: np.ndarray | None = None) -> Layout:
    """The folds from the benchmark's calendar (methodology §1), as offsets into the matrix; `member`: per row, a
    member of the universe on its date (every row when None)."""
    bench_dates = m.dates[m.symbol == m.symbols.index(config.benchmark)]
    splitter = WalkForwardSplit(
        config.fold_length, step_size=config.step_size, embargo=config.embargo, window=config.window
    )
    fold_list = splitter.folds(bench_dates, config.start_date, config.end_date, benchmark=config.benchmark)
    traded = np.isin(np.asarray(m.symbols), config.assets)[m.symbol]
    member = np.ones(len(m.dates), dtype=bool) if member is None else member
    return Layout(fold_list, offsets(fold_list, m.dates), traded, member)


def fold_job(m: Matrix, lay: Layout, config: Config, keep_models: bool) -> FoldJob:
    return FoldJob(
        matrix=m,
        offsets=lay.offsets,
        folds=tuple(lay.folds),
        traded=lay.traded,
        member=lay.member,
        kind=config.model.kind,
        params=config.model.params,
        estimator=config.model.estimator,
        seed=config.seed,
        keep_models=keep_models,
        refit_every=config.refit_every,
    )


def load_and_import(
    universe: Universe, fingerprint: str | None, timer: Timer, since: float, plans: Plans | None = None
) -> tuple[pl.DataFrame, str]:
    """The Parquet store, then the feature plan in Polars' threads while this thread imports the model library
    (start-up: mostly Python holding the GIL, which Polars does not need). Each is measured whole: `load` from `since`
    to starting the plan, `features` from there to having the frame, `import` the import's own wall time; the last two
    overlap (docs/methodology.md §6). `universe`: the resolved run (its config; its membership windows reach the
    cross-section; `plans`: feature frames a sweep already collected)."""
    config = universe.config
    pending, fingerprint = start_features(config, fingerprint, universe.windows, plans)
    timer["load"] = timer.get("load", 0.0) + pending.started - since
    with timer("import"):
        prepare_models(config)
    frame = pending.result()
    timer["features"] = timer.get("features", 0.0) + time.perf_counter() - pending.started
    return frame, fingerprint


def model_timings(timer: Timer, results: dict[Task, TaskResult], window: tuple[float, float]) -> None:
    """Measured, never apportioned (docs/methodology.md §6): `models` is the pool's wall time less starting and
    stopping its workers; `fit` and `predict` the wall time during which at least one worker was fitting, resp.
    predicting: the union of the tasks' intervals (`time.time()` in every process) within `window`, the pool's (so
    tasks loaded from checkpoints count nothing). With several workers, one may fit while another predicts: fit and
    predict can overlap, and their sum exceed `models`."""
    timer["models"] -= timer.get("executor", 0.0)
    timer["fit"] = busy_seconds(((r.fit_start, r.fit_end) for r in results.values()), *window)
    timer["predict"] = busy_seconds(((r.fit_end, r.predict_end) for r in results.values()), *window)


def worker_peaks(results: dict[Task, TaskResult]) -> dict[int, float]:
    """Each worker process's peak RSS in MB (the largest its tasks reported), this process's own left out."""
    peaks: dict[int, float] = {}
    for r in results.values():
        if r.pid and r.pid != os.getpid():
            peaks[r.pid] = max(peaks.get(r.pid, 0.0), r.peak_rss_mb)
    return peaks


@dataclass
class Prepared:
    """A run up to its models: the resolved config, the feature matrix, the folds, the tasks and the fold job."""

    universe: Universe
    matrix: Matrix
    layout: Layout
    tasks: list[Task]
    chains: list[list[Task]]
    job: FoldJob
    timer: Timer
    fingerprint: str
    features: pa.Table | None = None

    @property
    def config(self) -> Config:
        return self.universe.config


def prepare(
    config: Config,
    *,
    save_features: bool = False,
    keep_models: bool = False,
    fingerprint: str | None = None,
    universe: Universe | None = None,
    plans: Plans | None = None,
) -> Prepared:
    """Everything before the models: the store, the feature plan, the matrix, the folds and the tasks. With `plans`
    (a sweep's), a frame, matrix or fold layout that an earlier configuration built the same is taken from it."""
    timer, t0 = Timer(), time.perf_counter()
    universe = universe or resolve(config)
    config = universe.config
    frame, fingerprint = load_and_import(universe, fingerprint, timer, t0, plans)
    with timer("validate"):
        check_panel(frame, config)
    with timer("features"):
        feats = features_table(frame, config) if save_features else None
        m = plans.matrix(frame, config.feature_names) if plans else Matrix.from_frame(frame, config.feature_names)
        del frame  # the matrix holds what the folds need: the frame is not kept while the models fit
        build = lambda: layout(m, config, universe.member(m))  # noqa: E731
        lay = plans.layout(m, layout_key(config, universe), build) if plans else build()
    tasks, chains = plan_tasks(config, len(lay.folds))
    job = fold_job(m, lay, config, keep_models=keep_models)
    return Prepared(universe, m, lay, tasks, chains, job, timer, fingerprint, feats)


def layout_key(config: Config, universe: Universe) -> tuple:
    """What a run's fold layout depends on besides its matrix (which a sweep's `Plans.layout` keys by identity)."""
    folds = (config.fold_length, config.step_size, config.embargo, config.window, config.start_date, config.end_date)
    return (*folds, config.benchmark, tuple(config.assets), universe.fingerprint)


def run(
    config: Config,
    *,
    progress: Progress | None = None,
    save_features: bool = False,
    checkpoints: Checkpoints | None = None,
    cancel: Cancellation | None = None,
    fingerprint: str | None = None,
    universe: Universe | None = None,
    plans: Plans | None = None,
) -> EngineResult:
    """Run the walk-forward; with `checkpoints`, skip the tasks they hold and save each new one as it finishes.
    `universe`: `walkforward.universe.resolve(config)` when the caller has it (its config, assets listed, is run);
    `plans`: feature frames already collected, shared by a sweep's configurations (walkforward/features/plan.py)."""
    keep = config.model.warm_start and checkpoints is not None
    p = prepare(
        config, save_features=save_features, keep_models=keep, fingerprint=fingerprint, universe=universe, plans=plans
    )
    opened = wall_clock()
    with p.timer("models"):
        results = fit_all(p.config, p.job, p.tasks, p.chains, progress, checkpoints, cancel, p.timer)
    model_timings(p.timer, results, (opened, wall_clock()))
    return finish(p, results, threads=p.config.resolved_n_jobs)


def finish(
    p: Prepared, results: dict[Task, TaskResult], shared: metrics.SharedPredictions | None = None, threads: int = 1
) -> EngineResult:
    """Everything after the models: the backtest, the output tables and the metrics; `shared`: a sweep's prediction
    metrics, which configurations with the same predictions compute once. With `threads` >= 2 the prediction metrics
    (ranks and sorts, numpy without the GIL) run in a second thread while this one runs the backtest and builds the
    tables; they read only the test rows, so the outputs are the same either way (docs/methodology.md §6)."""
    config, m, lay, timer = p.config, p.matrix, p.layout, p.timer
    fold_info = [f.describe() for f in lay.folds]
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="wf-metrics") if threads >= 2 else nullcontext() as side:
        with timer("backtest"):
            rows = gather_test_rows(m, lay.offsets, lay.traded, results)  # sorted by (symbol, date)
            compute = lambda: metrics.prediction_levels(rows, lay.offsets.test_lo, fold_info, config.assets)  # noqa: E731
            if shared is not None:
                predictions = tuple(results[task].prediction for task in sorted(results))
                compute = partial(shared.get, lay, predictions, compute)
            pending = side.submit(compute) if side is not None else None
            bt = run_sorted(
                rows,
                config.strategy,
                len(config.assets),
                fold_starts=lay.offsets.test_lo,
                benchmark=gather_benchmark(m, lay.offsets, config.benchmark),
            )
            tables = output_tables(bt, results, config.feature_names)
        with timer("metrics"):
            book = metrics.book_metrics(bt, fold_info, config.assets, config.annualization)  # while they run
            mets = metrics.with_predictions(book, pending.result() if pending is not None else compute())
    return EngineResult(
        tables=tables,
        metrics=mets,
        folds=fold_info,
        timings=dict(timer),
        features=p.features,
        fingerprint=p.fingerprint,
        model_cpu_seconds=sum(r.cpu_seconds for r in results.values()),
        presorted=TABLES,
        worker_peaks_mb=worker_peaks(results),
        universe=counts(m, config, lay.test_rows(), lay.member, sum(not r.fitted for r in results.values())),
    )
