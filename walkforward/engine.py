"""The Polars engine: one lazy plan for the features of every asset, folds as row offsets into one contiguous
matrix, models fitted on a thread pool, a vectorised backtest. Implements docs/methodology.md.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from walkforward import backtest, folds, metrics, models
from walkforward.config import UNIFIED_SYMBOL, Config, seed_for
from walkforward.data.store import ensure_store, scan
from walkforward.errors import DataError
from walkforward.execution import run_chains
from walkforward.features import feature_plan
from walkforward.outputs import EngineResult

Progress = Callable[[int, int], None]


class Timer(dict):
    """Accumulates wall seconds per stage: `with timer("fit"): ...`."""

    @contextmanager
    def __call__(self, stage: str):
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self[stage] = self.get(stage, 0.0) + time.perf_counter() - t0


@dataclass(frozen=True)
class Matrix:
    """Every asset's rows sorted by (date, symbol): one contiguous feature matrix and its columns."""

    X: np.ndarray  # (n, n_features) float64, C-contiguous, NaN = missing
    y: np.ndarray  # (n,) target, NaN = missing
    dates: np.ndarray  # datetime64[D]
    label_end: np.ndarray  # datetime64[D], NaT where the label does not exist
    symbol: np.ndarray  # (n,) int32 code into `symbols`
    symbols: tuple[str, ...]
    complete: np.ndarray  # (n,) bool: every feature present

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, feature_names: tuple[str, ...]) -> Matrix:
        symbols = tuple(sorted(frame["symbol"].unique().to_list()))
        codes = frame["symbol"].cast(pl.Enum(symbols)).to_physical().to_numpy().astype(np.int32)
        X = np.ascontiguousarray(frame.select(feature_names).to_numpy(), dtype=np.float64)
        return cls(
            X=X,
            y=frame["target"].to_numpy().astype(np.float64),
            dates=frame["date"].to_numpy().astype("datetime64[D]"),
            label_end=frame["label_end"].to_numpy().astype("datetime64[D]"),
            symbol=codes,
            symbols=symbols,
            complete=~np.isnan(X).any(axis=1),
        )


def load_features(config: Config, timer: Timer) -> tuple[pl.DataFrame, str]:
    """Convert the CSVs to Parquet if needed, then collect the one feature plan."""
    with timer("load"):
        models.import_model_library(config.model.kind)
        path, fingerprint = ensure_store(config.data_dir, config.symbols, config.price_column)
        prices = scan(path).filter(pl.col("symbol").is_in(list(config.symbols)))
    with timer("features"):
        frame = feature_plan(prices, config).collect()
    return frame, fingerprint


def _check_panel(frame: pl.DataFrame, config: Config) -> None:
    present = set(frame["symbol"].unique().to_list())
    missing = [s for s in config.symbols if s not in present]
    if missing:
        raise DataError(f"no rows for {', '.join(missing)} in {config.data_dir}; check the CSV files")


def run(config: Config, *, progress: Progress | None = None, save_features: bool = False) -> EngineResult:
    timer = Timer()
    frame, fingerprint = load_features(config, timer)
    with timer("validate"):
        _check_panel(frame, config)
    with timer("features"):
        m = Matrix.from_frame(frame, config.feature_names)
        bench_dates = m.dates[m.symbol == m.symbols.index(config.benchmark)]
        splitter = folds.WalkForwardSplit(
            config.fold_length,
            step_size=config.step_size,
            embargo=config.embargo,
            window=config.window,
        )
        fold_list = splitter.folds(bench_dates, config.start_date, config.end_date)
        off = folds.offsets(fold_list, m.dates)
        traded = np.isin(np.asarray(m.symbols), config.assets)[m.symbol]

    n_folds = len(fold_list)
    scope_symbols = config.assets if config.model.scope == "per_asset" else (UNIFIED_SYMBOL,)
    tasks = [(f, s) for s in scope_symbols for f in range(n_folds)]
    if config.model.warm_start:
        chains = [[(f, s) for f in range(n_folds)] for s in scope_symbols]
    else:
        chains = [[t] for t in sorted(tasks)]
    kind, params = config.model.kind, config.model.params_dict
    fit_seconds: dict[tuple[int, str], float] = {}

    def rows_of(task: tuple[int, str], lo: int, hi: int) -> np.ndarray:
        sl = slice(lo, hi)
        keep = traded[sl].copy()
        if task[1] != UNIFIED_SYMBOL:
            keep &= m.symbol[sl] == m.symbols.index(task[1])
        return keep

    def work(task: tuple[int, str], previous: Any) -> tuple[Any, Any]:
        f, symbol = task
        (a, b), (c, d) = off.train[f], off.test[f]
        train = rows_of(task, a, b) & m.complete[a:b] & ~np.isnan(m.y[a:b])
        train &= m.label_end[a:b] < off.test_lo[f]  # purge: label ends before the test window
        test = rows_of(task, c, d) & m.complete[c:d]
        if not train.any():
            fd = fold_list[f]
            raise DataError(
                f"fold {f} (train {fd.train_start}..{fd.train_end}, assets {symbol}) has no complete "
                "training rows; raise --fold-length or move --start-date later"
            )
        t0 = time.perf_counter()
        model = models.fit(
            kind,
            params,
            m.X[a:b][train],
            m.y[a:b][train],
            seed=seed_for(config.seed, f, symbol),
            init_model=previous,
        )
        t1 = time.perf_counter()
        pred = models.predict(kind, model, m.X[c:d][test])
        fit_seconds[task] = (t1 - t0, time.perf_counter() - t1)
        return model, (np.flatnonzero(test) + c, pred, models.importance(kind, model))

    done = [0]

    def on_done(task: tuple[int, str]) -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], len(tasks))

    with timer("fit"):
        results = run_chains(chains, work, n_jobs=config.resolved_n_jobs, on_done=on_done)
    fit_total = sum(v[0] for v in fit_seconds.values())
    pred_total = sum(v[1] for v in fit_seconds.values())
    # split the pool's wall time between fit and predict by their shares of model time
    wall = timer.pop("fit")
    share = fit_total / (fit_total + pred_total) if fit_total + pred_total > 0 else 1.0
    timer["fit"], timer["predict"] = wall * share, wall * (1 - share)

    with timer("backtest"):
        prediction = np.full(len(m.dates), np.nan)
        for idx, pred, _ in results.values():
            prediction[idx] = pred
        test_rows = np.zeros(len(m.dates), dtype=bool)
        for c, d in off.test:
            test_rows[c:d] = True
        test_rows &= traded
        fold_id = np.searchsorted(off.test_lo, m.dates, side="right") - 1
        test = (
            frame.select("symbol", "date", "target", "next_ret", "next_date")
            .with_columns(
                pl.Series("fold", fold_id, dtype=pl.Int32),
                pl.Series("prediction", prediction).fill_nan(None),
            )
            .filter(pl.Series(test_rows))
        )
        bt = backtest.run_backtest(test, config.strategy, len(config.assets))
        importance = _importance_table(results, config.feature_names)
    fold_info = [f.describe() for f in fold_list]
    with timer("metrics"):
        asset_rows = bt.rows.select(
            "fold",
            "symbol",
            "date",
            "return",
            "exposure",
            (pl.col("traded") + pl.col("exit")).alias("traded"),
        )
        mets = metrics.compute_metrics(
            bt.portfolio,
            asset_rows,
            bt.rows,
            bt.trades,
            fold_info,
            config.assets,
            config.annualization,
        )
    tables = {
        "predictions": bt.rows.select("fold", "symbol", "date", "prediction", "target", "position").to_arrow(),
        "trades": bt.trades.to_arrow(),
        "returns": bt.returns.to_arrow(),
        "feature_importance": importance.to_arrow(),
    }
    feats = None
    if save_features:
        assets = pl.col("symbol").is_in(list(config.assets))
        feats = frame.filter(assets).select("symbol", "date", *config.feature_names, "target").to_arrow()
    return EngineResult(
        tables=tables,
        metrics=mets,
        folds=fold_info,
        timings=dict(timer),
        features=feats,
        fingerprint=fingerprint,
    )


def _importance_table(results: dict[tuple[int, str], Any], names: tuple[str, ...]) -> pl.DataFrame:
    keys = sorted(results)
    k = len(names)
    return pl.DataFrame(
        {
            "fold": np.repeat([f for f, _ in keys], k).astype(np.int32),
            "symbol": np.repeat([s for _, s in keys], k),
            "feature": np.tile(np.asarray(names, dtype=object), len(keys)),
            "importance": np.concatenate([results[t][2] for t in keys]) if keys else [],
        }
    )
