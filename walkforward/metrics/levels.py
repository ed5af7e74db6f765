"""metrics.json (docs/methodology.md §5): every metric at three levels, from the backtest's arrays.

- overall: the portfolio series of the whole run, every prediction, every trade;
- per fold: the portfolio rows, predictions and trades of the fold (§4.6), annualised with the overall `A`;
- per asset: the asset's own return series (unweighted), its predictions and trades, its own `A`; the
  cross-sectional IC and the quantile returns need several assets on a date, so they are null per asset.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from walkforward.metrics.legs import turnover_per_leg
from walkforward.metrics.quantiles import N_QUANTILES, quantile_days, quantile_summary
from walkforward.metrics.ranks import cross_sectional_ic, ic_summary, prediction_metrics
from walkforward.metrics.series import Series, periods_per_year, relative_metrics, return_metrics, span
from walkforward.outputs import METRIC_NAMES
from walkforward.portfolio.backtest import Backtest
from walkforward.portfolio.rows import fold_of

NO_CROSS_SECTION = {**ic_summary(np.array([])), **quantile_summary(np.empty((0, N_QUANTILES)))}


def level(
    s: Series,
    a: float | None,
    prediction: np.ndarray,
    target: np.ndarray,
    cross: dict[str, Any],
    n_trades: int,
    legs: dict[str, Any],
) -> dict[str, Any]:
    """Every metric of one level, in METRIC_NAMES order; `cross`: the level's cross-sectional metrics (the IC's
    summary, the quantile returns), `legs`: the turnover per leg."""
    out = return_metrics(s, a)
    out.update(legs)
    out.update(relative_metrics(s.r, s.bench, a))
    out.update(prediction_metrics(prediction, target))
    out.update(cross, n_trades=n_trades, periods_per_year=a)
    return {m: out[m] for m in METRIC_NAMES}


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
    bt: Backtest, folds: list[dict[str, Any]], assets: tuple[str, ...], annualization: float | str
) -> dict[str, Any]:
    """metrics.json: overall (portfolio), per fold (portfolio of the fold), per asset (the asset's rows)."""
    rows, trades, pf = bt.rows, bt.trades, bt.portfolio
    ic_date, ic = cross_sectional_ic(rows.date, rows.prediction, rows.target)
    buckets = quantile_days(rows.date, rows.prediction, rows.next_ret)
    everything = portfolio_series(bt, slice(None))
    a = periods_per_year(len(everything.r), everything.days, annualization)
    legs = turnover_per_leg(pf["traded_long"], pf["traded_short"])
    cross = {**ic_summary(ic), **quantile_summary(buckets.mean)}
    overall = level(everything, a, rows.prediction, rows.target, cross, len(trades["fold"]), legs)

    ic_fold, bucket_fold = fold_of(ic_date, bt.fold_starts), fold_of(buckets.date, bt.fold_starts)
    fold_trades = np.bincount(trades["fold"], minlength=len(folds))
    per_fold = []
    for info in folds:
        i = info["fold"]
        mine = rows.fold == i
        here = pf["fold"] == i
        s = portfolio_series(bt, here)
        cross = {**ic_summary(ic[ic_fold == i]), **quantile_summary(buckets.mean[bucket_fold == i])}
        legs = turnover_per_leg(pf["traded_long"][here], pf["traded_short"][here])
        values = level(s, a, rows.prediction[mine], rows.target[mine], cross, int(fold_trades[i]), legs)
        per_fold.append({**info, **values})

    symbol_trades = np.bincount(trades["symbol"], minlength=len(rows.symbols))
    # rows are sorted by (symbol, date): an asset's rows are one slice, found by bisection, not a mask per asset
    bounds = np.searchsorted(rows.symbol, np.arange(len(rows.symbols) + 1))
    per_asset = {}
    for name in assets:
        code = rows.symbols.index(name)
        mine = slice(bounds[code], bounds[code + 1])
        earned = mine.start + np.flatnonzero(bt.earned[mine])
        s = asset_series(bt, earned)
        a_own = periods_per_year(len(s.r), s.days, annualization)
        legs = turnover_per_leg(bt.traded_long[earned], bt.traded_short[earned])
        per_asset[name] = level(
            s, a_own, rows.prediction[mine], rows.target[mine], NO_CROSS_SECTION, int(symbol_trades[code]), legs
        )
    return {"overall": overall, "per_fold": per_fold, "per_asset": per_asset}
