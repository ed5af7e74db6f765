"""Performance and prediction metrics (docs/methodology.md §5), from the backtest's arrays.

One function per kind of metric, applied to contiguous slices: overall, per fold (the portfolio rows are sorted by
fold) and per asset (rows re-sorted by symbol once). A metric whose denominator is zero or undefined is None.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from walkforward.outputs import METRIC_NAMES
from walkforward.portfolio.backtest import Backtest

METRICS = METRIC_NAMES


def _div(num: float, den: float) -> float | None:
    if den == 0 or not math.isfinite(den) or not math.isfinite(num):
        return None
    out = num / den
    return float(out) if math.isfinite(out) else None


def _cagr(growth: float, exponent: float) -> float | None:
    """`growth ** exponent - 1`; null when growth <= 0, or when the power overflows (absurd prices in the data)."""
    if not growth > 0:
        return None
    try:
        out = growth**exponent - 1.0
    except OverflowError:
        return None
    return out if math.isfinite(out) else None


def return_metrics(r: np.ndarray, exposure: np.ndarray, traded: np.ndarray, annualization: float) -> dict[str, Any]:
    """Every return-series metric of one series (rows in date order)."""
    n = len(r)
    out: dict[str, Any] = dict.fromkeys(METRICS)
    out["n_days"] = n
    if n == 0:
        return out
    growth = float(np.prod(1.0 + r))
    root = math.sqrt(annualization)
    cagr = _cagr(growth, annualization / n)
    mean = float(np.mean(r))
    std = float(np.std(r, ddof=1)) if n > 1 else None
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    equity = np.cumprod(1.0 + r)
    max_dd = min(0.0, float(np.min(equity / np.maximum(np.maximum.accumulate(equity), 1.0) - 1.0)))
    active = exposure > 0
    sharpe = _div(mean, std) if std is not None else None
    sortino = _div(mean, downside)
    out.update(
        total_return=growth - 1.0,
        cagr=cagr,
        volatility=std * root if std is not None else None,
        sharpe=sharpe * root if sharpe is not None else None,
        sortino=sortino * root if sortino is not None else None,
        max_drawdown=max_dd,
        calmar=_div(cagr, abs(max_dd)) if cagr is not None else None,
        hit_rate=_div(float(np.sum(r[active] > 0)), float(np.sum(active))),
        turnover=float(np.mean(traded)),
        exposure=float(np.mean(exposure)),
    )
    return out


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (scipy's rankdata 'average'), from one sort."""
    n = len(x)
    order = np.argsort(x)  # ties get their average whatever order they sort in: no stable sort needed
    xs = x[order]
    starts = np.flatnonzero(np.concatenate([[True], xs[1:] != xs[:-1]]))  # first index of each run of ties
    ends = np.append(starts[1:], n)
    average = (starts + ends + 1) / 2.0  # mean of the ranks starts+1 .. ends
    ranks = np.empty(n)
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def prediction_metrics(prediction: np.ndarray, target: np.ndarray) -> dict[str, Any]:
    """IC (Spearman, average ranks) and directional accuracy over rows with both."""
    both = ~np.isnan(prediction) & ~np.isnan(target)
    p, t = prediction[both], target[both]
    ic = None
    if len(p) >= 2:
        rp, rt = average_ranks(p) - (len(p) + 1) / 2, average_ranks(t) - (len(t) + 1) / 2
        ic = _div(float(np.sum(rp * rt)), math.sqrt(float(np.sum(rp * rp)) * float(np.sum(rt * rt))))
    accuracy = _div(float(np.sum(np.sign(p) == np.sign(t))), float(len(p)))
    return {"ic": ic, "directional_accuracy": accuracy}


def _segments(keys: np.ndarray) -> list[tuple[Any, slice]]:
    """(key, slice) of each run of equal values in a sorted array."""
    if len(keys) == 0:
        return []
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    ends = np.append(starts[1:], len(keys))
    return [(keys[s].item(), slice(s, e)) for s, e in zip(starts, ends, strict=True)]


def compute_metrics(
    bt: Backtest, folds: list[dict[str, Any]], assets: tuple[str, ...], annualization: float
) -> dict[str, Any]:
    """metrics.json: overall (portfolio), per fold (portfolio of the fold), per asset (the asset's rows)."""
    pf, rows, trades = bt.portfolio, bt.rows, bt.trades

    def level(pr: slice | np.ndarray, r, e, t, n_trades: int) -> dict[str, Any]:  # noqa: ANN001
        out = return_metrics(r, e, t, annualization)
        out.update(prediction_metrics(rows.prediction[pr], rows.target[pr]))
        out["n_trades"] = n_trades
        return {m: out[m] for m in METRICS}

    everything = slice(None)
    overall = level(everything, pf["return"], pf["exposure"], pf["traded"], len(trades["fold"]))

    fold_trades = np.bincount(trades["fold"], minlength=len(folds))
    fold_rows = dict(_segments(rows.fold))  # rows are sorted by (fold, symbol, date)
    per_fold = []
    for info in folds:
        i = info["fold"]
        days = pf["fold"] == i
        pr = fold_rows.get(i, slice(0, 0))
        per_fold.append(
            {
                **info,
                **level(
                    pr,
                    pf["return"][days],
                    pf["exposure"][days],
                    pf["traded"][days],
                    int(fold_trades[i]) if i < len(fold_trades) else 0,
                ),
            }
        )

    by_asset = np.lexsort((rows.date, rows.fold, rows.symbol))
    sym_trades = np.bincount(trades["symbol"], minlength=len(rows.symbols))
    per_asset_rows = {}
    for code, sl in _segments(rows.symbol[by_asset]):
        idx = by_asset[sl]
        per_asset_rows[rows.symbols[code]] = level(
            idx, bt.asset_return[idx], bt.exposure[idx], bt.traded[idx], int(sym_trades[code])
        )
    empty = level(slice(0, 0), np.array([]), np.array([]), np.array([]), 0)
    per_asset = {s: per_asset_rows.get(s, empty) for s in assets}
    return {"overall": overall, "per_fold": per_fold, "per_asset": per_asset}
