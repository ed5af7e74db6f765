"""The legacy pandas engine: the speed baseline and the correctness oracle of walkforward.

It keeps the shape of the original tool on purpose: for each fold and each asset it re-reads and
validates the asset's CSV (and the benchmark's, for `corr_n`), computes the features over the
asset's full history, takes the fold's rows, then fits and predicts, one thing at a time. The
backtest runs once over the whole run's predictions: positions carry across folds (methodology §4).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from walkforward.config import UNIFIED_SYMBOL, Config, seed_for
from walkforward.errors import DataError
from walkforward.legacy import models
from walkforward.legacy.backtest import book, trades
from walkforward.legacy.crosssection import cross_section
from walkforward.legacy.features import compute_features
from walkforward.legacy.folds import Fold, make_folds
from walkforward.legacy.levels import summarize
from walkforward.legacy.prices import Prices
from walkforward.legacy.returns import benchmark_returns, series
from walkforward.legacy.universe import Membership, read_membership, resolve_assets, universe_counts
from walkforward.outputs import EngineResult
from walkforward.timing import Timer

STAGES = ("load", "validate", "features", "fit", "predict", "backtest", "metrics")
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Inputs:
    """What every fold reads: the prices (re-read per fold from per-symbol CSVs) and the membership, if any."""

    prices: Prices
    membership: Membership | None

    def features(self, config: Config, symbol: str, clock: Timer) -> pd.DataFrame:
        """`symbol`'s features over its full history (with the benchmark's, for `corr_n`) and `member`: whether it is
        a member on each date (methodology §8; every date without a membership file)."""
        prices = self.prices.read(symbol)
        bench = prices if symbol == config.benchmark else self.prices.read(config.benchmark)
        with clock("features"):
            features = compute_features(prices, bench, config)
            member = True if self.membership is None else self.membership.member(symbol, features["date"])
            return features.assign(member=member)

    def panel(self, config: Config, clock: Timer) -> dict[str, pd.DataFrame]:
        """Every traded asset's `features`, with the cross-sectional columns across them (methodology §2)."""
        frames = {symbol: self.features(config, symbol, clock) for symbol in config.assets}
        with clock("features"):
            return cross_section(frames, config)


def split_fold(features: pd.DataFrame, fold: Fold, config: Config) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training rows (in the window, not purged, complete, members) and all test rows of one asset."""
    dates = features["date"]
    in_train = dates < fold.train_hi
    if fold.train_lo is not None:
        in_train &= dates >= fold.train_lo
    not_purged = features["label_end"] < fold.test_lo  # NaT (no label end) compares False
    complete = features[[*config.feature_names, "target"]].notna().all(axis=1)
    member = features.get("member", True)
    train = features[in_train & not_purged & complete & member]
    test = features[(dates >= fold.test_lo) & (dates < fold.test_hi)]
    return train, test


def stack_by_date(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Concatenate per-asset frames with a `symbol` column, ordered by (date, symbol)."""
    parts = [frame.assign(symbol=symbol) for symbol, frame in frames.items()]
    stacked = pd.concat(parts, ignore_index=True)
    return stacked.sort_values(["date", "symbol"], kind="stable", ignore_index=True)


def _importance(fold: Fold, chain: str, model: models.Model, names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"fold": fold.index, "symbol": chain, "feature": names, "importance": models.importance(model)})


def _fit_predict(
    fold: Fold,
    trains: dict[str, pd.DataFrame],
    tests: dict[str, pd.DataFrame],
    models_of: dict[str, dict[str, models.Model]],
    config: Config,
    clock: Timer,
) -> tuple[dict[str, pd.DataFrame], list[pd.DataFrame], int]:
    """Fit the fold's model(s) and add `fold` and `prediction` columns to every asset's test rows (a prediction only
    for a member row with every feature); also return how many per-asset tasks had no training row.

    `models_of["chain"]` holds each chain's last model (warm start), `models_of["refit"]` the models of the last
    refit fold. With `refit_every` k, only folds 0, k, 2k, ... fit; a fold between predicts with the refit fold's
    model, and gets no prediction where that fold fitted none.

    Per-asset scope: an asset without training rows gets no model in this fold (no predictions, no importance; its
    warm-start chain keeps its previous model). Unified scope: no training row at all is an error."""
    names = list(config.feature_names)
    if config.model.scope == "unified":
        groups = {UNIFIED_SYMBOL: list(config.assets)}
    else:
        groups = {symbol: [symbol] for symbol in config.assets}
    refit = fold.index % config.refit_every == 0
    if refit:
        models_of["refit"] = {}
    predicted = {symbol: tests[symbol].assign(fold=fold.index, prediction=np.nan) for symbol in config.assets}
    importances = []
    skipped = 0
    for chain, symbols in groups.items():
        if refit:
            with clock("fit"):
                model = _fit_chain(fold, chain, symbols, trains, models_of["chain"], config)
            skipped += model is None
            if model is None:
                continue
            models_of["refit"][chain] = model
            importances.append(_importance(fold, chain, model, names))
        elif chain in models_of["refit"]:
            model = models_of["refit"][chain]
        else:
            continue
        with clock("predict"):
            for symbol in symbols:
                test = predicted[symbol]
                complete = test[names].notna().all(axis=1) & test["member"]
                if complete.any():
                    X_test = test.loc[complete, names].to_numpy(dtype=np.float64)
                    test.loc[complete, "prediction"] = models.predict(model, X_test)
    return predicted, importances, skipped


def _fit_chain(
    fold: Fold,
    chain: str,
    symbols: list[str],
    trains: dict[str, pd.DataFrame],
    chains: dict[str, models.Model],
    config: Config,
) -> models.Model | None:
    """Fit one chain's model on the fold's training rows of `symbols`; None for a per-asset task without any."""
    train = stack_by_date({s: trains[s] for s in symbols})
    if train.empty and config.model.scope != "unified":
        return None
    if train.empty:
        info = fold.info()
        raise DataError(
            f"fold {fold.index} (train {info['train_start']}..{info['train_end']}, "
            f"assets {', '.join(symbols)}) has no complete training rows; "
            "raise --fold-length or move --start-date later"
        )
    X = train[list(config.feature_names)].to_numpy(dtype=np.float64)
    y = train["target"].to_numpy(dtype=np.float64)
    previous = chains.get(chain) if config.model.warm_start else None
    seed = seed_for(config.seed, fold.index, chain)
    model = models.fit(config, X, y, seed=seed, previous=previous)
    chains[chain] = model
    return model


def _with_dates(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Datetime columns as `datetime.date` (date32 in Arrow)."""
    return df.assign(**{c: df[c].dt.date for c in columns})


def _arrow(df: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(df.reset_index(drop=True), preserve_index=False)


def _features_table(config: Config, inputs: Inputs, clock: Timer) -> pa.Table:
    """symbol, date, every feature and the target for every asset's full history."""
    frames = []
    for symbol, features in inputs.panel(config, clock).items():
        frames.append(features[["date", *config.feature_names, "target"]].assign(symbol=symbol))
    table = pd.concat(frames, ignore_index=True)
    return _arrow(_with_dates(table[["symbol", "date", *config.feature_names, "target"]], "date"))


def _predict_folds(
    config: Config, inputs: Inputs, folds: list[Fold], clock: Timer, progress: Progress | None
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame, int]:
    """Every asset's test rows of the whole run with `fold`, `prediction` and `member`, the feature importance, and
    the number of per-asset tasks without a training row."""
    models_of: dict[str, dict[str, models.Model]] = {"chain": {}, "refit": {}}
    skipped = 0
    predicted: dict[str, list[pd.DataFrame]] = {symbol: [] for symbol in config.assets}
    importances: list[pd.DataFrame] = []
    for done, fold in enumerate(folds, start=1):
        trains, tests = {}, {}
        for symbol, features in inputs.panel(config, clock).items():
            with clock("features"):
                trains[symbol], tests[symbol] = split_fold(features, fold, config)

        fold_predicted, fold_importances, fold_skipped = _fit_predict(fold, trains, tests, models_of, config, clock)
        importances.extend(fold_importances)
        skipped += fold_skipped
        for symbol, rows in fold_predicted.items():
            predicted[symbol].append(rows)
        if progress is not None:
            progress(done, len(folds))
    tests = {symbol: pd.concat(parts, ignore_index=True) for symbol, parts in predicted.items()}
    if not importances:  # per-asset scope where no asset ever had a training row
        empty = {"fold": "int64", "symbol": "object", "feature": "object", "importance": "float64"}
        importances = [pd.DataFrame({c: pd.Series(dtype=t) for c, t in empty.items()})]
    importance = pd.concat(importances, ignore_index=True)
    return tests, importance, skipped


def _inputs(config: Config, clock: Timer) -> tuple[Config, Inputs, dict[str, pd.DataFrame]]:
    """The config with `assets: "all"` resolved against the data, what the folds read, and every symbol's prices
    (read and checked once before any fold; the membership file is checked before the data)."""
    prices = Prices(config, clock)
    config = resolve_assets(config, prices.every_symbol() if config.all_assets else [])
    membership = read_membership(config.universe) if config.universe is not None else None
    frames = prices.read_all(config.symbols)
    if membership is not None:
        membership.warn_without_data(prices.every_symbol(), config.data_path)
    return config, Inputs(prices, membership), frames


def run(config: Config, *, progress: Progress | None = None, save_features: bool = False) -> EngineResult:
    """Run the walk-forward backtest of `config` (methodology.md) single-threaded with pandas; the result carries
    run.json's `universe` counts (methodology §8)."""
    clock = Timer.fromkeys(STAGES, 0.0)
    config, inputs, frames = _inputs(config, clock)
    bench = frames[config.benchmark]
    with clock("validate"):
        folds = make_folds(bench["date"], config)

    tests, importance, skipped = _predict_folds(config, inputs, folds, clock, progress)

    with clock("backtest"):
        rows = book(tests, config)
        all_trades = trades(rows, config)
        all_series = series(rows, [fold.test_lo for fold in folds], config)
        benchmark = benchmark_returns(bench, folds[0].test_lo, folds[-1].test_hi)
        predictions = rows.sort_values(["fold", "date", "symbol"], kind="stable", ignore_index=True)
    with clock("metrics"):
        summary = summarize(config, folds, all_series, predictions, all_trades, benchmark)

    returns = all_series.rename(columns={"exposure": "position"})
    tables = {
        "predictions": _arrow(
            _with_dates(
                predictions[["fold", "symbol", "date", "prediction", "target", "position", "weighted"]].rename(
                    columns={"weighted": "weight"}
                ),
                "date",
            )
        ),
        "trades": _arrow(_with_dates(all_trades, "date")),
        "returns": _arrow(_with_dates(returns[["fold", "date", "series", "position", "return", "equity"]], "date")),
        "feature_importance": _arrow(importance),
    }
    feature_table = _features_table(config, inputs, clock) if save_features else None
    return EngineResult(
        tables=tables,
        metrics=summary,
        folds=[fold.info() for fold in folds],
        timings=dict(clock),
        features=feature_table,
        universe=universe_counts(config, frames, tests, skipped),
    )
