"""The legacy pandas engine: the speed baseline and the correctness oracle of walkforward.

It keeps the shape of the original tool on purpose: for each fold and each asset it re-reads and
validates the asset's CSV (and the benchmark's, for `corr_n`), computes the features over the
asset's full history, takes the fold's rows, then fits, predicts and backtests, one thing at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from walkforward.config import UNIFIED_SYMBOL, Config, seed_for
from walkforward.errors import DataError
from walkforward.legacy import models
from walkforward.legacy.backtest import PORTFOLIO, backtest_fold, with_equity
from walkforward.legacy.features import compute_features
from walkforward.legacy.folds import Fold, make_folds
from walkforward.legacy.io import csv_path, read_csv, validate
from walkforward.legacy.metrics import metrics
from walkforward.outputs import EngineResult
from walkforward.timing import Timer

STAGES = ("load", "validate", "features", "fit", "predict", "backtest", "metrics")
Progress = Callable[[int, int], None]


def _read(config: Config, symbol: str, clock: Timer) -> pd.DataFrame:
    with clock("load"):
        path = csv_path(config.data_dir, symbol)
        raw = read_csv(path, price_column=config.price_column)
    with clock("validate"):
        return validate(raw, path=path, price_column=config.price_column, symbol=symbol)


def _read_every_symbol(config: Config, clock: Timer) -> dict[str, pd.DataFrame]:
    """Every symbol's prices, read once before any fold, in sorted order: a bad file stops the run before it begins,
    the first bad one in that order is the one reported, and every good file still gives its warnings (the verdict
    of the Polars engine, which reads all files at once)."""
    frames: dict[str, pd.DataFrame] = {}
    first_error: DataError | None = None
    for symbol in sorted(set(config.symbols)):
        try:
            frames[symbol] = _read(config, symbol, clock)
        except DataError as exc:
            first_error = first_error or exc
    if first_error is not None:
        raise first_error
    return frames


def _asset_features(config: Config, symbol: str, clock: Timer) -> pd.DataFrame:
    """Read and validate `symbol` and the benchmark, then compute `symbol`'s features."""
    prices = _read(config, symbol, clock)
    bench = prices if symbol == config.benchmark else _read(config, config.benchmark, clock)
    with clock("features"):
        return compute_features(prices, bench, config)


def split_fold(features: pd.DataFrame, fold: Fold, config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training rows (in the window, not purged, complete) and all test rows of one asset."""
    dates = features["date"]
    in_train = dates < fold.train_hi
    if fold.train_lo is not None:
        in_train &= dates >= fold.train_lo
    not_purged = features["label_end"] < fold.test_lo  # NaT (no label end) compares False
    complete = features[[*config.feature_names, "target"]].notna().all(axis=1)
    train = features[in_train & not_purged & complete]
    test = features[(dates >= fold.test_lo) & (dates < fold.test_hi)]
    return train, test


def stack_by_date(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-asset frames with a `symbol` column, ordered by (date, symbol)."""
    parts = [frame.assign(symbol=symbol) for symbol, frame in frames.items()]
    stacked = pd.concat(parts, ignore_index=True)
    return stacked.sort_values(["date", "symbol"], kind="stable", ignore_index=True)


def _fit_predict(
    fold: Fold,
    trains: dict[str, pd.DataFrame],
    tests: dict[str, pd.DataFrame],
    chains: dict[str, models.Model],
    config: Config,
    clock: Timer,
) -> tuple[dict[str, pd.DataFrame], list[pd.DataFrame]]:
    """Fit the fold's model(s) and add a `prediction` column to every asset's test rows."""
    names = list(config.feature_names)
    if config.model.scope == "unified":
        groups = {UNIFIED_SYMBOL: list(config.assets)}
    else:
        groups = {symbol: [symbol] for symbol in config.assets}

    predicted = {symbol: tests[symbol].assign(prediction=np.nan) for symbol in config.assets}
    importances = []
    for chain, symbols in groups.items():
        with clock("fit"):
            train = stack_by_date({s: trains[s] for s in symbols})
            if train.empty:
                info = fold.info()
                raise DataError(
                    f"fold {fold.index} (train {info['train_start']}..{info['train_end']}, "
                    f"assets {', '.join(symbols)}) has no complete training rows; "
                    "raise --fold-length or move --start-date later"
                )
            X = train[names].to_numpy(dtype=np.float64)
            y = train["target"].to_numpy(dtype=np.float64)
            previous = chains.get(chain) if config.model.warm_start else None
            seed = seed_for(config.seed, fold.index, chain)
            model = models.fit(config, X, y, seed=seed, previous=previous)
            chains[chain] = model
            importances.append(
                pd.DataFrame(
                    {
                        "fold": fold.index,
                        "symbol": chain,
                        "feature": names,
                        "importance": models.importance(model),
                    }
                )
            )
        with clock("predict"):
            for symbol in symbols:
                test = predicted[symbol]
                complete = test[names].notna().all(axis=1)
                if complete.any():
                    X_test = test.loc[complete, names].to_numpy(dtype=np.float64)
                    test.loc[complete, "prediction"] = models.predict(model, X_test)
    return predicted, importances


def _with_dates(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Datetime columns as `datetime.date` (date32 in Arrow)."""
    return df.assign(**{c: df[c].dt.date for c in columns})


def _arrow(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)


def _features_table(config: Config, clock: Timer) -> pa.Table:
    """symbol, date, every feature and the target for every asset's full history."""
    frames = []
    for symbol in config.assets:
        features = _asset_features(config, symbol, clock)
        frames.append(features[["date", *config.feature_names, "target"]].assign(symbol=symbol))
    table = pd.concat(frames, ignore_index=True)
    return _arrow(_with_dates(table[["symbol", "date", *config.feature_names, "target"]], "date"))


def _metrics(
    config: Config,
    folds: list[Fold],
    series: pd.DataFrame,
    predictions: pd.DataFrame,
    trades: pd.DataFrame,
) -> dict[str, Any]:
    """Overall, per-fold and per-asset metrics (series rows already in (fold, date) order)."""
    a = config.annualization
    portfolio = series[series["series"] == PORTFOLIO]
    per_fold = []
    for fold in folds:
        values = metrics(
            portfolio[portfolio["fold"] == fold.index],
            predictions[predictions["fold"] == fold.index],
            int((trades["fold"] == fold.index).sum()),
            a,
        )
        per_fold.append({**fold.info(), **values})
    per_asset = {
        symbol: metrics(
            series[series["series"] == symbol],
            predictions[predictions["symbol"] == symbol],
            int((trades["symbol"] == symbol).sum()),
            a,
        )
        for symbol in config.assets
    }
    overall = metrics(portfolio, predictions, len(trades), a)
    return {"overall": overall, "per_fold": per_fold, "per_asset": per_asset}


def run(config: Config, *, progress: Progress | None = None, save_features: bool = False) -> EngineResult:
    """Run the walk-forward backtest of `config` (methodology.md) single-threaded with pandas."""
    clock = Timer.fromkeys(STAGES, 0.0)
    bench = _read_every_symbol(config, clock)[config.benchmark]
    with clock("validate"):
        folds = make_folds(bench["date"], config)

    chains: dict[str, models.Model] = {}
    predictions, series, trades, importances = [], [], [], []
    for done, fold in enumerate(folds, start=1):
        trains, tests = {}, {}
        for symbol in config.assets:
            features = _asset_features(config, symbol, clock)
            with clock("features"):
                trains[symbol], tests[symbol] = split_fold(features, fold, config)

        predicted, fold_importances = _fit_predict(fold, trains, tests, chains, config, clock)
        importances.extend(fold_importances)

        with clock("backtest"):
            result = backtest_fold(fold.index, predicted, config)
            rows = stack_by_date(predicted)[["symbol", "date", "prediction", "target"]]
            rows = rows.merge(result.positions, on=["symbol", "date"], how="left", validate="1:1")
            predictions.append(rows)
            series.append(result.series)
            trades.append(result.trades)
        if progress is not None:
            progress(done, len(folds))

    with clock("backtest"):
        all_series = with_equity(pd.concat(series, ignore_index=True))
        all_predictions = pd.concat(predictions, ignore_index=True)
        all_trades = pd.concat(trades, ignore_index=True)
    with clock("metrics"):
        summary = _metrics(config, folds, all_series, all_predictions, all_trades)

    returns = all_series.rename(columns={"exposure": "position"})
    tables = {
        "predictions": _arrow(
            _with_dates(
                all_predictions[["fold", "symbol", "date", "prediction", "target", "position"]],
                "date",
            )
        ),
        "trades": _arrow(_with_dates(all_trades, "date")),
        "returns": _arrow(_with_dates(returns[["fold", "date", "series", "position", "return", "equity"]], "date")),
        "feature_importance": _arrow(pd.concat(importances, ignore_index=True)),
    }
    feature_table = _features_table(config, clock) if save_features else None
    return EngineResult(
        tables=tables,
        metrics=summary,
        folds=[fold.info() for fold in folds],
        timings=dict(clock),
        features=feature_table,
    )
