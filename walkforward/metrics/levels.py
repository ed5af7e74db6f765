"""metrics.json (docs/methodology.md §5): every metric at three levels, from the backtest's arrays.

- overall: the portfolio series of the whole run, every prediction, every trade;
- per fold: the portfolio rows, predictions and trades of the fold (§4.6), annualised with the overall `A`;
- per asset: the asset's own return series (unweighted), its predictions and trades, its own `A`; the
  cross-sectional IC and the quantile returns need several assets on a date, so they are null per asset.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from walkforward.metrics.legs import turnover_per_leg
from walkforward.metrics.quantiles import N_QUANTILES, quantile_days, quantile_summary
from walkforward.metrics.ranks import (
    average_ranks,
    cross_sectional_ic,
    grouped_average_ranks,
    ic_summary,
    prediction_metrics,
    subset_order,
)
from walkforward.metrics.series import Series, periods_per_year, relative_metrics, return_metrics, span
from walkforward.outputs import METRIC_NAMES
from walkforward.portfolio.backtest import Backtest
from walkforward.portfolio.rows import TestRows, fold_of

NO_CROSS_SECTION = {**ic_summary(np.array([])), **quantile_summary(np.empty((0, N_QUANTILES)))}


def level(s: Series, a: float | None, n_trades: int, legs: dict[str, Any]) -> dict[str, Any]:
    """The book's metrics of one level (every metric but the predictions' alone); `legs`: the turnover per leg."""
    out = return_metrics(s, a)
    out.update(legs)
    out.update(relative_metrics(s.r, s.bench, a))
    out.update(n_trades=n_trades, periods_per_year=a)
    return out


def ordered(book: dict[str, Any], predicted: dict[str, Any]) -> dict[str, Any]:
    """Every metric of one level in METRIC_NAMES order: the book's (`level`) and the predictions' alone
    (`PredictionLevels`)."""
    out = {**book, **predicted}
    return {m: out[m] for m in METRIC_NAMES}


@dataclass(frozen=True)
class PredictionLevels:
    """The metrics of the predictions alone, per level: the pooled IC and directional accuracy, and (overall and per
    fold) the per-date IC's summary and the quantile returns. They read the test rows' predictions, targets and next
    returns, never the book, so configurations of a sweep that differ only in their strategy share them."""

    overall: dict[str, Any]
    per_fold: dict[int, dict[str, Any]]
    per_asset: dict[str, dict[str, Any]]


def prediction_levels(
    rows: TestRows, fold_starts: np.ndarray, folds: list[dict[str, Any]], assets: tuple[str, ...]
) -> PredictionLevels:
    """`PredictionLevels` of the test rows sorted by (symbol, date) (a backtest's `rows`), per fold of `folds`
    (starting at `fold_starts`) and per asset of `assets`. It reads nothing of the book, so a run computes it while
    the backtest runs (`walkforward.engine.finish`). The predictions and the targets are sorted once; every level's
    ranks come from those two sorts (`Ranked`)."""
    ranked = Ranked.of(rows.prediction, rows.target)
    ic_date, ic = cross_sectional_ic(rows.date, rows.prediction, rows.target, ranked.kept)
    buckets = quantile_days(rows.date, rows.prediction, rows.next_ret, ranked.orders[0])
    overall = {**ranked.metrics(slice(0, len(rows.date))), **ic_summary(ic), **quantile_summary(buckets.mean)}
    ic_fold, bucket_fold = fold_of(ic_date, fold_starts), fold_of(buckets.date, fold_starts)
    by_fold = ranked.within(rows.fold)
    per_fold = {}
    for info in folds:
        i = info["fold"]
        cross = {**ic_summary(ic[ic_fold == i]), **quantile_summary(buckets.mean[bucket_fold == i])}
        per_fold[i] = {**by_fold.metrics(rows.fold == i), **cross}
    by_asset = ranked.within(rows.symbol)
    per_asset = {}
    for name, mine in asset_slices(rows, assets).items():
        per_asset[name] = {**by_asset.metrics(mine), **NO_CROSS_SECTION}
    return PredictionLevels(overall, per_fold, per_asset)


@dataclass(frozen=True)
class Ranked:
    """The test rows' predictions and targets with, for the rows having both, their average ranks within groups
    (the whole run; or each fold, or each asset: `within`), all from one argsort of each column (`orders`).
    `metrics(mine)` is `prediction_metrics` of the rows `mine` (a mask or a slice), which must be one group."""

    values: tuple[np.ndarray, np.ndarray]  # the predictions and the targets, every row
    orders: tuple[np.ndarray, np.ndarray]  # their argsorts, every row
    both: np.ndarray  # the rows with a prediction and a target
    before: np.ndarray  # before[i]: the rows of `both` among the first i rows
    pairs: tuple[np.ndarray, np.ndarray]  # the predictions and the targets of the rows of `both`
    kept: tuple[np.ndarray, np.ndarray]  # `orders` cut down to the rows of `both` (argsorts of `pairs`)
    ranks: tuple[np.ndarray, np.ndarray]  # per row of `both`: its prediction's and its target's rank in its group

    @classmethod
    def of(cls, prediction: np.ndarray, target: np.ndarray) -> Ranked:
        values, orders = (prediction, target), (np.argsort(prediction), np.argsort(target))
        both = ~np.isnan(prediction) & ~np.isnan(target)
        before = np.concatenate([[0], np.cumsum(both)])
        pairs = (prediction[both], target[both])
        kept = (subset_order(orders[0], both), subset_order(orders[1], both))
        ranks = (average_ranks(pairs[0], kept[0]), average_ranks(pairs[1], kept[1]))
        return cls(values, orders, both, before, pairs, kept, ranks)

    def within(self, group: np.ndarray) -> Ranked:
        """The same rows ranked within each group of equal `group` codes (a code per row)."""
        code = group[self.both]
        ranks = tuple(grouped_average_ranks(code, x, order) for x, order in zip(self.pairs, self.kept, strict=True))
        return replace(self, ranks=ranks)

    def metrics(self, mine: slice | np.ndarray) -> dict[str, Any]:
        """`prediction_metrics` of the rows `mine` (a mask, or a slice with both ends), with their ranks."""
        kept = slice(self.before[mine.start], self.before[mine.stop]) if isinstance(mine, slice) else mine[self.both]
        return prediction_metrics(
            self.values[0][mine], self.values[1][mine], (self.ranks[0][kept], self.ranks[1][kept])
        )


def asset_slices(rows: TestRows, assets: tuple[str, ...]) -> dict[str, slice]:
    """Each asset's test rows: rows are sorted by (symbol, date), so one slice, found by bisection (not a mask)."""
    bounds = np.searchsorted(rows.symbol, np.arange(len(rows.symbols) + 1))
    return {name: slice(bounds[code], bounds[code + 1]) for name in assets for code in [rows.symbols.index(name)]}


def portfolio_series(bt: Backtest, rows: slice | np.ndarray) -> Series:
    pf = {k: v[rows] for k, v in bt.portfolio.items()}
    date = pf["date"]
    return Series(pf["return"], pf["exposure"], pf["traded"], bt.benchmark.on(date), span(pf["start"], date))


def asset_series(bt: Backtest, rows: np.ndarray) -> Series:
    """The asset's return rows (`rows`: its rows that have a next row, in date order)."""
    date = bt.rows.next_date[rows]
    return Series(
        bt.asset_return[rows], bt.exposure[rows], bt.traded[rows], bt.benchmark.on(date), span(bt.rows.date[rows], date)
    )


def compute_metrics(
    bt: Backtest,
    folds: list[dict[str, Any]],
    assets: tuple[str, ...],
    annualization: float | str,
    predicted: PredictionLevels | None = None,
) -> dict[str, Any]:
    """metrics.json: overall (portfolio), per fold (portfolio of the fold), per asset (the asset's rows);
    `predicted`: `prediction_levels(bt.rows, bt.fold_starts, folds, assets)` when the caller has it already (computed
    alongside the backtest, or a sweep's twin's)."""
    predicted = predicted or prediction_levels(bt.rows, bt.fold_starts, folds, assets)
    return with_predictions(book_metrics(bt, folds, assets, annualization), predicted)


def book_metrics(
    bt: Backtest, folds: list[dict[str, Any]], assets: tuple[str, ...], annualization: float | str
) -> dict[str, Any]:
    """metrics.json's levels without the metrics of the predictions alone (`with_predictions` adds them): what the
    backtest's book earned, traded and held. A run computes it while its prediction metrics are still running."""
    rows, trades, pf = bt.rows, bt.trades, bt.portfolio
    everything = portfolio_series(bt, slice(None))
    a = periods_per_year(len(everything.r), everything.days, annualization)
    legs = turnover_per_leg(pf["traded_long"], pf["traded_short"])
    overall = level(everything, a, len(trades["fold"]), legs)

    fold_trades = np.bincount(trades["fold"], minlength=len(folds))
    per_fold = []
    for info in folds:
        i = info["fold"]
        here = pf["fold"] == i
        legs = turnover_per_leg(pf["traded_long"][here], pf["traded_short"][here])
        per_fold.append((info, level(portfolio_series(bt, here), a, int(fold_trades[i]), legs)))

    symbol_trades = np.bincount(trades["symbol"], minlength=len(rows.symbols))
    per_asset = {}
    for name, mine in asset_slices(rows, assets).items():
        earned = mine.start + np.flatnonzero(bt.earned[mine])
        s = asset_series(bt, earned)
        a_own = periods_per_year(len(s.r), s.days, annualization)
        legs = turnover_per_leg(bt.traded_long[earned], bt.traded_short[earned])
        code = rows.symbols.index(name)
        per_asset[name] = level(s, a_own, int(symbol_trades[code]), legs)
    return {"overall": overall, "per_fold": per_fold, "per_asset": per_asset}


def with_predictions(book: dict[str, Any], predicted: PredictionLevels) -> dict[str, Any]:
    """metrics.json from `book_metrics` and the prediction metrics of the same run."""
    per_fold = [{**info, **ordered(values, predicted.per_fold[info["fold"]])} for info, values in book["per_fold"]]
    per_asset = {name: ordered(values, predicted.per_asset[name]) for name, values in book["per_asset"].items()}
    return {"overall": ordered(book["overall"], predicted.overall), "per_fold": per_fold, "per_asset": per_asset}


class SharedPredictions:
    """`PredictionLevels` that a sweep's configurations share: those with the same fold layout whose every task's
    result holds the very same prediction array (a sweep's twins: walkforward/sweeps/shared.py) have the same test
    rows and predictions, so the same prediction metrics, whatever their strategy. An entry holds the layout and the
    arrays it was keyed by, so their ids cannot be reused while it lives, and a hit is checked by identity. Twins
    finishing at once in two threads wait for the first one's computation instead of repeating it."""

    def __init__(self) -> None:
        self._entries: dict[tuple, _Entry] = {}
        self._lock = threading.Lock()

    def get(
        self, layout: Any, predictions: tuple[np.ndarray, ...], compute: Callable[[], PredictionLevels]
    ) -> PredictionLevels:
        """The levels of `predictions` (every task's, in task order) over `layout`: cached, else `compute()`."""
        key = (id(layout), tuple(map(id, predictions)))
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or not entry.holds(layout, predictions):
                entry = self._entries[key] = _Entry(layout, predictions)
        with entry.lock:
            if entry.value is None:
                entry.value = compute()
            return entry.value


@dataclass
class _Entry:
    layout: Any
    predictions: tuple[np.ndarray, ...]
    value: PredictionLevels | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def holds(self, layout: Any, predictions: tuple[np.ndarray, ...]) -> bool:
        if self.layout is not layout or len(predictions) != len(self.predictions):
            return False
        return all(a is b for a, b in zip(self.predictions, predictions, strict=True))
