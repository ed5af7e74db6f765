"""Prediction metrics (docs/methodology.md §5): the pooled IC, the cross-sectional IC per date and directional
accuracy. Spearman correlations with average ranks for ties, from sorts (no loop over dates).

Average ranks are exact (half-integers) whatever order ties sort in, so every function that ranks takes an optional
`order`, an argsort of its values, found once for all the levels of a run (`subset_order` cuts it down to a subset
of the rows without sorting again): the ranks, and so every metric, are bit for bit those of a fresh sort."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from walkforward.sorting import stable_order

MIN_CROSS_SECTION = 3  # assets with a prediction and a target on a date for its cross-sectional IC


def average_ranks(x: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Ranks 1..n with ties given their average rank (scipy's rankdata 'average'), from one sort (`order`, an
    argsort of `x`, when the caller has it)."""
    n = len(x)
    order = np.argsort(x) if order is None else order  # ties get their average whatever order: no stable sort needed
    xs = x[order]
    starts = np.flatnonzero(np.concatenate([[True], xs[1:] != xs[:-1]]))  # first index of each run of ties
    ends = np.append(starts[1:], n)
    average = (starts + ends + 1) / 2.0  # mean of the ranks starts+1 .. ends
    ranks = np.empty(n)
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def grouped_average_ranks(group: np.ndarray, x: np.ndarray, order: np.ndarray | None = None) -> np.ndarray:
    """Average ranks of `x` within each group of equal `group` codes (1..size of the group): rows sorted by value
    (`order`, an argsort of `x`, when the caller has it), then (stably) by group, so each group's values are in
    order; ties get their run's average rank."""
    n = len(x)
    order = np.argsort(x) if order is None else order  # ties get their run's average whatever their order
    order = order[stable_order(group[order])]  # two sorts: much faster than np.lexsort
    g, xs = group[order], x[order]
    new_group = np.concatenate([[True], g[1:] != g[:-1]])[:n]
    starts = np.flatnonzero(new_group | np.concatenate([[True], xs[1:] != xs[:-1]])[:n])  # runs of ties
    ends = np.append(starts[1:], n)
    base = np.maximum.accumulate(np.where(new_group, np.arange(n), 0))[starts]  # each run's group's first index
    average = (starts - base + ends - base + 1) / 2.0  # mean of the ranks starts-base+1 .. ends-base
    ranks = np.empty(n)
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def subset_order(order: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """An argsort of `x[keep]` from `order`, an argsort of `x`: the kept rows in `order`'s order, renumbered to
    their places in `x[keep]` (linear: no sort)."""
    place = np.cumsum(keep) - 1
    return place[order[keep[order]]]


def dense_codes(date: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct dates sorted, each row's index into them): `np.unique(date, return_inverse=True)` by counting
    (datetime64[D] values are integers in a range of a few thousand), without its sort."""
    if len(date) == 0:
        return date[:0], np.zeros(0, dtype=np.int64)
    day = date.astype("datetime64[D]").astype(np.int64)
    lo = day.min()
    present = np.bincount(day - lo) > 0
    index = np.cumsum(present) - 1
    return (np.flatnonzero(present) + lo).astype("datetime64[D]").astype(date.dtype), index[day - lo]


def _ratio(num: float, den: float) -> float | None:
    if den == 0 or not math.isfinite(den) or not math.isfinite(num):
        return None
    out = num / den
    return float(out) if math.isfinite(out) else None


def prediction_metrics(
    prediction: np.ndarray, target: np.ndarray, ranks: tuple[np.ndarray, np.ndarray] | None = None
) -> dict[str, Any]:
    """`ic` (Spearman, average ranks, pooled over every row with both) and `directional_accuracy`; `ranks`: the
    average ranks of the predictions and of the targets of the rows with both, when the caller has them."""
    both = ~np.isnan(prediction) & ~np.isnan(target)
    p, t = prediction[both], target[both]
    ic = None
    if len(p) >= 2:
        rank_p, rank_t = (average_ranks(p), average_ranks(t)) if ranks is None else ranks
        rp, rt = rank_p - (len(p) + 1) / 2, rank_t - (len(t) + 1) / 2
        ic = _ratio(float(np.sum(rp * rt)), math.sqrt(float(np.sum(rp * rp)) * float(np.sum(rt * rt))))
    accuracy = _ratio(float(np.sum(np.sign(p) == np.sign(t))), float(len(p)))
    return {"ic": ic, "directional_accuracy": accuracy}


def cross_sectional_ic(
    date: np.ndarray,
    prediction: np.ndarray,
    target: np.ndarray,
    orders: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(dates, IC): on each date with at least 3 rows having a prediction and a target, the Spearman correlation of
    prediction and target across them; dates where it is undefined (either side all tied) are left out. `orders`:
    argsorts of the predictions and of the targets of the rows having both, when the caller has them."""
    both = ~np.isnan(prediction) & ~np.isnan(target)
    op, ot = (None, None) if orders is None else orders
    days, code = dense_codes(date[both])
    size = np.bincount(code, minlength=len(days))
    centre = (size[code] + 1) / 2.0
    rp = grouped_average_ranks(code, prediction[both], op) - centre
    rt = grouped_average_ranks(code, target[both], ot) - centre
    sums = [np.bincount(code, weights=w, minlength=len(days)) for w in (rp * rt, rp * rp, rt * rt)]
    den = np.sqrt(sums[1] * sums[2])
    ok = (size >= MIN_CROSS_SECTION) & (den > 0)
    return days[ok], sums[0][ok] / den[ok]


def ic_summary(ic: np.ndarray) -> dict[str, Any]:
    """`ic_mean`, `ic_std` (ddof = 1) and `ic_ir = ic_mean / ic_std` of the per-date ICs."""
    mean = float(np.mean(ic)) if len(ic) else None
    std = float(np.std(ic, ddof=1)) if len(ic) > 1 else None
    return {"ic_mean": mean, "ic_std": std, "ic_ir": _ratio(mean, std) if std is not None else None}
