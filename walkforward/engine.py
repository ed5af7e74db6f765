"""The Polars engine: wires the stages of docs/architecture.md and times each. Implements docs/methodology.md.

universe (assets resolved, membership read) -> data (Parquet store) -> features (one lazy plan, collected while the
model library imports) -> matrix -> folds (row offsets) -> fit (an executor, checkpointed) -> portfolio (gather,
backtest) -> tables -> metrics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walkforward import metrics
from walkforward.cancel import Cancellation
from walkforward.config import Config
from walkforward.execution.checkpoints import Checkpoints
from walkforward.execution.fit import Progress, fit_all, plan_tasks
from walkforward.execution.job import FoldJob
from walkforward.execution.registry import require_distributed
from walkforward.execution.task import Task, TaskResult
from walkforward.features.matrix import Matrix
from walkforward.features.plan import check_panel, features_table, start_features
from walkforward.folds import Fold, FoldOffsets, WalkForwardSplit, offsets
from walkforward.models.registry import MODEL_KINDS
from walkforward.outputs import TABLES, EngineResult
from walkforward.portfolio.backtest import run_backtest
from walkforward.portfolio.gather import gather_benchmark, gather_test_rows, window_rows
from walkforward.tables import output_tables
from walkforward.timing import Timer
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
    )


def split_model_wall(timer: Timer, results: dict[Task, TaskResult]) -> None:
    """The pool's wall time less starting and stopping its workers, split between fit and predict by model time."""
    model_wall = timer.pop("fit") - timer.get("executor", 0.0)
    fit_s = sum(r.fit_seconds for r in results.values())
    pred_s = sum(r.predict_seconds for r in results.values())
    share = fit_s / (fit_s + pred_s) if fit_s + pred_s > 0 else 1.0
    timer["fit"], timer["predict"] = model_wall * share, model_wall * (1 - share)


def run(
    config: Config,
    *,
    progress: Progress | None = None,
    save_features: bool = False,
    checkpoints: Checkpoints | None = None,
    cancel: Cancellation | None = None,
    fingerprint: str | None = None,
    universe: Universe | None = None,
) -> EngineResult:
    """Run the walk-forward; with `checkpoints`, skip the tasks they hold and save each new one as it finishes.
    `universe`: `walkforward.universe.resolve(config)` when the caller has it (its config, assets listed, is run)."""
    timer = Timer()
    with timer("load"):
        universe = universe or resolve(config)
        config = universe.config
        pending, fingerprint = start_features(config, fingerprint, universe.windows)
    # The plan runs in Polars' threads while this thread imports the model library (start-up: mostly Python
    # holding the GIL, which Polars does not need), so the features cost only what is left of them afterwards.
    # Measured on the large workload, 2 cores: 18 ms less wall time per run; the import takes ~7 ms longer (with
    # LightGBM imported as a user would, scikit-learn and pandas with it, the import is ~1.1 s: the plan is done first).
    with timer("import"):
        prepare_models(config)
    with timer("features"):
        frame = pending.result()
    with timer("validate"):
        check_panel(frame, config)
    with timer("features"):
        feats = features_table(frame, config) if save_features else None
        m = Matrix.from_frame(frame, config.feature_names)
        del frame  # the matrix holds what the folds need: the frame is not kept while the models fit
        lay = layout(m, config, universe.member(m))
    tasks, chains = plan_tasks(config, len(lay.folds))
    job = fold_job(m, lay, config, keep_models=config.model.warm_start and checkpoints is not None)
    with timer("fit"):
        results = fit_all(config, job, tasks, chains, progress, checkpoints, cancel, timer)
    split_model_wall(timer, results)
    fold_info = [f.describe() for f in lay.folds]
    with timer("backtest"):
        bt = run_backtest(
            gather_test_rows(m, lay.offsets, lay.traded, results),
            config.strategy,
            len(config.assets),
            fold_starts=lay.offsets.test_lo,
            benchmark=gather_benchmark(m, lay.offsets, config.benchmark),
        )
        tables = output_tables(bt, results, config.feature_names)
    with timer("metrics"):
        mets = metrics.compute_metrics(bt, fold_info, config.assets, config.annualization)
    return EngineResult(
        tables=tables,
        metrics=mets,
        folds=fold_info,
        timings=dict(timer),
        features=feats,
        fingerprint=fingerprint,
        model_cpu_seconds=sum(r.cpu_seconds for r in results.values()),
        presorted=TABLES,
        universe=counts(m, config, lay.test_rows(), lay.member, sum(not r.fitted for r in results.values())),
    )
