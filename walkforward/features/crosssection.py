"""Cross-sectional transforms (methodology §2, "Cross-section"): a feature normalised per date across the traded
universe, as `Expr -> Expr` functions applied with `.over("date")`, so the work per date does not grow with the
number of dates.

`universe` is a boolean expression: the row belongs to the date's cross-section (a traded asset, a member on that
date when there is a membership file). Values of other rows are left out of the statistics and get null. A date
with fewer than `min_assets` non-null values in the cross-section gives null.
"""

from __future__ import annotations

import math

import polars as pl

DATE = "date"
HALF_ROOT = math.sqrt(0.5)  # the z-score of two different values: -HALF_ROOT and +HALF_ROOT


def _within(x: pl.Expr, universe: pl.Expr) -> pl.Expr:
    """`x` on the rows of the cross-section, null elsewhere (NaN counts as missing)."""
    return pl.when(universe).then(x.fill_nan(None))


def cs_rank(x: pl.Expr, universe: pl.Expr, min_assets: int) -> pl.Expr:
    """Centred percentile rank with average ties: `(rank - 1) / (n - 1) - 0.5` in [-0.5, 0.5] over the date's `n`
    non-null values; 0 when `n == 1`."""
    v = _within(x, universe)
    n = v.count().over(DATE).cast(pl.Float64)
    rank = v.rank("average").over(DATE)
    centred = pl.when(n > 1).then((rank - 1.0) / (n - 1.0) - 0.5).otherwise(0.0)
    return pl.when(v.is_not_null() & (n >= min_assets)).then(centred)


def cs_zscore(x: pl.Expr, universe: pl.Expr, min_assets: int, winsorize: float | None = None) -> pl.Expr:
    """`(x - mean) / std` over the date's non-null values (ddof = 1), clipped to `[-winsorize, winsorize]` when set;
    null when the date's values are all equal (tested exactly, max == min) or fewer than two. Two values are always
    `-+sqrt(1/2)`, written exactly: computed, they would spread over neighbouring floats (a tie a model splits)."""
    v = _within(x, universe)
    n = v.count().over(DATE)
    top = v.max().over(DATE)
    z = (v - v.mean().over(DATE)) / v.std(ddof=1).over(DATE)
    z = pl.when(n == 2).then(pl.when(v == top).then(HALF_ROOT).otherwise(-HALF_ROOT)).otherwise(z)
    if winsorize is not None:
        z = z.clip(-winsorize, winsorize)
    flat = top == v.min().over(DATE)
    return pl.when(v.is_not_null() & (n >= min_assets) & (n >= 2) & ~flat).then(z)
