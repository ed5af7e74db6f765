"""Quantile returns and the long-short spread (methodology §5), with pandas: per date, the rows with a prediction and
a next return in 5 buckets by the prediction's average rank, each bucket's mean next return, averaged over dates."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

BUCKETS = 5
_NAMES = ("long_short_spread", "long_short_tstat", *(f"quantile_return_{q}" for q in range(1, BUCKETS + 1)))


def bucket_means(predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per `date` with at least 5 rows having a prediction and a `next_ret`; columns 1..5: the mean
    `next_ret` of the rows in bucket `floor(5 * (rank - 1) / n) + 1` (NaN where the bucket is empty)."""
    both = predictions[predictions["prediction"].notna() & predictions["next_ret"].notna()]
    n = both.groupby("date")["date"].transform("size")
    both, n = both[n >= BUCKETS], n[n >= BUCKETS]
    rank = both.groupby("date")["prediction"].rank(method="average")
    bucket = ((BUCKETS * (rank - 1)) // n + 1).astype("int64").rename("bucket")
    means = both.groupby([both["date"], bucket])["next_ret"].mean().unstack("bucket")
    return means.reindex(columns=range(1, BUCKETS + 1)).sort_index()


def quantile_metrics(predictions: pd.DataFrame) -> dict[str, Any]:
    """`long_short_spread` (the mean over dates of bucket 5's mean less bucket 1's), its t-statistic and each
    bucket's mean over the dates where it has rows."""
    means = bucket_means(predictions)
    out: dict[str, Any] = dict.fromkeys(_NAMES)
    spread = (means[BUCKETS] - means[1]).dropna()
    if len(spread):
        out["long_short_spread"] = float(spread.mean())
    if len(spread) > 1:
        error = float(spread.std(ddof=1)) / math.sqrt(len(spread))
        out["long_short_tstat"] = out["long_short_spread"] / error if error > 0 else None
    for q in range(1, BUCKETS + 1):
        column = means[q].dropna()
        out[f"quantile_return_{q}"] = float(column.mean()) if len(column) else None
    return out


def no_quantiles() -> dict[str, Any]:
    """Every quantile metric null (a level without a cross-section: one asset)."""
    return dict.fromkeys(_NAMES)
