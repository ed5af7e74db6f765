"""Quantile returns and the long-short spread (docs/methodology.md §5): on each date, the assets with a prediction
and a next return are put in 5 buckets by their prediction's average rank, and each bucket's mean next return is
taken; the metrics average them over dates (alphalens' mean return by factor quantile, qlib's group return).

The per-date work is done once for the run, by one grouped rank (ranks.py) and bincounts over (date, bucket) cells;
a level (the run, a fold) only averages the rows of its dates."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from walkforward.metrics.ranks import dense_codes, grouped_average_ranks, subset_order

N_QUANTILES = 5  # buckets per date; a date with fewer assets having a prediction and a next return is left out
QUANTILE_RETURNS = tuple(f"quantile_return_{q}" for q in range(1, N_QUANTILES + 1))


@dataclass(frozen=True)
class QuantileDays:
    """Per date with at least N_QUANTILES assets: the mean next return of each bucket (NaN where a bucket is empty,
    which ties in the predictions can make), bucket 1 the lowest predictions, bucket N_QUANTILES the highest."""

    date: np.ndarray  # datetime64[D], sorted and distinct
    mean: np.ndarray  # (dates, N_QUANTILES) float64


def quantile_days(
    date: np.ndarray, prediction: np.ndarray, next_ret: np.ndarray, order: np.ndarray | None = None
) -> QuantileDays:
    """Bucket `q = floor(5 * (r - 1) / n) + 1` of each row, `r` its prediction's average rank (1..n) among the `n`
    rows of its date that have a prediction and a next return; each (date, bucket)'s mean next return. `order`: an
    argsort of `prediction`, when the caller has it."""
    both = ~np.isnan(prediction) & ~np.isnan(next_ret)
    days, code = dense_codes(date[both])
    size = np.bincount(code, minlength=len(days))
    rank = grouped_average_ranks(code, prediction[both], None if order is None else subset_order(order, both))
    bucket = np.floor(N_QUANTILES * (rank - 1) / size[code]).astype(np.int64)  # 0 .. N_QUANTILES - 1
    cell = code * N_QUANTILES + bucket
    cells = len(days) * N_QUANTILES
    total = np.bincount(cell, weights=next_ret[both], minlength=cells).reshape(-1, N_QUANTILES)
    count = np.bincount(cell, minlength=cells).reshape(-1, N_QUANTILES)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count  # NaN where the bucket is empty
    keep = size >= N_QUANTILES
    return QuantileDays(days[keep], mean[keep])


def quantile_summary(mean: np.ndarray) -> dict[str, Any]:
    """`long_short_spread` (mean over dates of the top bucket's mean less the bottom's, on dates where both have
    rows), its t-statistic `long_short_tstat = spread / (std(ddof=1) / sqrt(dates))`, and each bucket's mean over the
    dates where it has rows (`quantile_return_1` .. `quantile_return_5`)."""
    spread = mean[:, -1] - mean[:, 0]
    spread = spread[~np.isnan(spread)]
    m = len(spread)
    out: dict[str, Any] = {"long_short_spread": float(np.mean(spread)) if m else None, "long_short_tstat": None}
    if m > 1:
        error = float(np.std(spread, ddof=1)) / math.sqrt(m)
        if error > 0:
            out["long_short_tstat"] = out["long_short_spread"] / error
    for q, name in enumerate(QUANTILE_RETURNS):
        column = mean[:, q]
        column = column[~np.isnan(column)]
        out[name] = float(np.mean(column)) if len(column) else None
    return out
