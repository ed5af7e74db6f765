"""The Polars engine: one lazy plan for the features of every asset, folds as row offsets into one contiguous
matrix, models fitted on an executor (a thread pool by default), a vectorised backtest. Implements
docs/methodology.md.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from walkforward import backtest, folds, metrics, models
from walkforward.cancel import Cancellation
from walkforward.checkpoints import Checkpoints, TaskResult
from walkforward.config import UNIFIED_SYMBOL, Config
from walkforward.data.store import ensure_store, scan
from walkforward.errors import DataError, FoldFailed, WalkforwardError
from walkforward.execution import TaskFailed, require_distributed, run_chains
from walkforward.features import feature_plan
from walkforward.job import FoldJob, Matrix
from walkforward.outputs import TABLES, EngineResult

Progress = Callable[[int, int], None]
Task = tuple[int, str]


class Timer(dict):
    """Accumulates wall seconds per stage: `with timer("fit"): ...`."""

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self[stage] = self.get(stage, 0.0) + time.perf_counter() - t0


def start_features(config: Config, fingerprint: str | None = None) -> tuple[Background, str]:
    """Convert the CSVs to Parquet if needed, then start collecting the one feature plan in the background."""
    path, fingerprint = ensure_store(config.data_dir, config.symbols, config.price_column, fingerprint)
    prices = scan(path).filter(pl.col("symbol").is_in(list(config.symbols)))
    return Background(feature_plan(prices, config).collect), fingerprint


class Background:
    """Call `fn()` in a thread now; `result()` waits for it and returns its value or raises its exception."""

    def __init__(self, fn: Callable[[], Any]):
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), name="wf-features", daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        try:
            self._value = fn()
        except BaseException as exc:  # handed to the caller by result()
            self._error = exc

    def result(self) -> Any:
        """The value, once (this object lets go of it, so the caller decides how long it lives)."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        value, self._value = self._value, None
        return value


def features_table(frame: pl.DataFrame, config: Config) -> pa.Table:
    """features.parquet: the traded assets' rows, every feature and the target."""
    assets = pl.col("symbol").is_in(list(config.assets))
    columns = [pl.col(c).fill_nan(None) for c in (*config.feature_names, "target")]  # NaN-free by design; be sure
    return frame.filter(assets).select("symbol", "date", *columns).to_arrow()


def _check_panel(frame: pl.DataFrame, config: Config) -> None:
    present = set(frame["symbol"].unique().to_list())
    missing = [s for s in config.symbols if s not in present]
    if missing:
        raise DataError(f"no rows for {', '.join(missing)} in {config.data_dir}; check the CSV files")


def plan_tasks(config: Config, n_folds: int) -> tuple[list[Task], list[list[Task]]]:
    """Every (fold, symbol) task, and the chains they run in: one per model when warm-starting, else one each."""
    symbols = config.assets if config.model.scope == "per_asset" else (UNIFIED_SYMBOL,)
    tasks = sorted((f, s) for s in symbols for f in range(n_folds))
    if config.model.warm_start:
        return tasks, [[(f, s) for f in range(n_folds)] for s in symbols]
    return tasks, [[t] for t in tasks]


def run(
    config: Config,
    *,
    progress: Progress | None = None,
    save_features: bool = False,
    checkpoints: Checkpoints | None = None,
    cancel: Cancellation | None = None,
    fingerprint: str | None = None,
) -> EngineResult:
    """Run the walk-forward; with `checkpoints`, skip the tasks they hold and save each new one as it finishes."""
    timer = Timer()
    with timer("load"):
        pending, fingerprint = start_features(config, fingerprint)
    # The plan runs in Polars' threads while this thread imports the model library (start-up: mostly Python
    # holding the GIL, which Polars does not need), so the features cost only what is left of them afterwards.
    # Measured on the large workload, 2 cores: 18 ms less wall time per run; the import takes ~7 ms longer.
    with timer("import"):  # before the pool's threads exist
        models.import_model_library(config.model.kind, config.model.estimator)
        if config.executor == "dask":  # after the model library, which would load its Dask integration otherwise
            require_distributed()
    with timer("features"):
        frame = pending.result()
    with timer("validate"):
        _check_panel(frame, config)
    with timer("features"):
        feats = features_table(frame, config) if save_features else None
        m = Matrix.from_frame(frame, config.feature_names)
        del frame  # the matrix holds what the folds need: the frame is not kept while the models fit
        bench_dates = m.dates[m.symbol == m.symbols.index(config.benchmark)]
        splitter = folds.WalkForwardSplit(
            config.fold_length, step_size=config.step_size, embargo=config.embargo, window=config.window
        )
        fold_list = splitter.folds(bench_dates, config.start_date, config.end_date, benchmark=config.benchmark)
        off = folds.offsets(fold_list, m.dates)
        traded = np.isin(np.asarray(m.symbols), config.assets)[m.symbol]

    tasks, chains = plan_tasks(config, len(fold_list))
    job = FoldJob(
        matrix=m,
        offsets=off,
        folds=tuple(fold_list),
        traded=traded,
        kind=config.model.kind,
        params=config.model.params,
        estimator=config.model.estimator,
        seed=config.seed,
        keep_models=config.model.warm_start and checkpoints is not None,
    )
    with timer("fit"):
        results = fit_all(config, job, tasks, chains, progress, checkpoints, cancel, timer)
    # the pool's wall time less starting and stopping its workers, split between fit and predict by model time
    model_wall = timer.pop("fit") - timer.get("executor", 0.0)
    fit_s = sum(r.fit_seconds for r in results.values())
    pred_s = sum(r.predict_seconds for r in results.values())
    share = fit_s / (fit_s + pred_s) if fit_s + pred_s > 0 else 1.0
    timer["fit"], timer["predict"] = model_wall * share, model_wall * (1 - share)

    fold_info = [f.describe() for f in fold_list]
    with timer("backtest"):
        bt = backtest.run_backtest(gather_test_rows(m, off, traded, results), config.strategy, len(config.assets))
        tables = {
            "predictions": backtest.predictions_table(bt),
            "trades": backtest.trades_table(bt),
            "returns": backtest.returns_table(bt),
            "feature_importance": importance_table(results, config.feature_names),
        }
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
    )


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
        done = checkpoints.load(tasks)
        remaining = []
        for chain in chains:
            k = 0
            while k < len(chain) and chain[k] in done:
                k += 1
            if k and k < len(chain) and config.model.warm_start:
                state = checkpoints.model_state(chain[k - 1])
                if state is None:  # checkpoint without its model: refit the chain
                    k = 0
                else:
                    start_models[len(remaining)] = models.load_model(config.model.kind, state)
            remaining.append(chain[k:])
        chains = remaining
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
        f, symbol = exc.task
        fold = job.folds[f]
        raise FoldFailed(
            f"fold {f} (train {fold.train_start}..{fold.train_end}, test {fold.test_start}..{fold.test_end}, "
            f"assets {'all' if symbol == UNIFIED_SYMBOL else symbol}) failed: {exc}; finished folds are kept, "
            "fix the cause and rerun with --resume"
        ) from exc.error
    done.update({t: payload[0] for t, payload in new.items()})
    return done


def gather_test_rows(m: Matrix, off: folds.FoldOffsets, traded: np.ndarray, results: dict[Task, TaskResult]):
    """Every traded asset's test-window rows, with its fold and its prediction (NaN where none)."""
    prediction = np.full(len(m.dates), np.nan)
    for r in results.values():
        prediction[r.rows] = r.prediction
    rows = np.concatenate([np.arange(c, d) for c, d in off.test])
    rows = rows[traded[rows]]
    return backtest.TestRows(
        fold=(np.searchsorted(off.test_lo, m.dates[rows], side="right") - 1).astype(np.int32),
        symbol=m.symbol[rows],
        date=m.dates[rows],
        prediction=prediction[rows],
        target=m.y[rows],
        next_ret=m.next_ret[rows],
        next_date=m.next_date[rows],
        symbols=m.symbols,
    )


def importance_table(results: dict[Task, TaskResult], names: tuple[str, ...]) -> pa.Table:
    """Sorted by (fold, symbol, feature): tasks in (fold, symbol) order, features by name within each."""
    keys = sorted(results)
    order = sorted(range(len(names)), key=names.__getitem__)
    k = len(names)
    return pl.DataFrame(
        {
            "fold": np.repeat([f for f, _ in keys], k).astype(np.int32),
            "symbol": np.repeat([s for _, s in keys], k),
            "feature": np.tile(np.asarray(names, dtype=object)[order], len(keys)),
            "importance": np.concatenate([results[t].importance[order] for t in keys]) if keys else np.array([]),
        }
    ).to_arrow()
