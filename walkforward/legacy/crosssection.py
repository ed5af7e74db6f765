"""The cross-sectional transforms with pandas (methodology §2, "Cross-section"): every traded asset's rows stacked,
grouped by date; only the rows of members (every row without a membership file) take part, and only they get a
value. The oracle's own code, apart from the Polars expressions.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from walkforward.config import Config


def _rank(values: pd.Series, dates: pd.Series, min_assets: int) -> pd.Series:
    """`(rank - 1) / (n - 1) - 0.5` with average ranks over each date's `n` non-missing values (0 when n = 1); NaN
    on a date with fewer than `min_assets` of them."""
    groups = values.groupby(dates)
    n = groups.transform("count").astype(float)
    rank = groups.rank(method="average")
    centred = ((rank - 1.0) / (n - 1.0) - 0.5).where(n > 1, 0.0)
    return centred.where(values.notna() & (n >= min_assets))


def _zscore(values: pd.Series, dates: pd.Series, min_assets: int, winsorize: float | None) -> pd.Series:
    """`(x - mean) / std` (ddof = 1) across each date, clipped to +-winsorize; NaN on a date whose values are all
    equal, or with fewer than max(min_assets, 2) of them. Two values are exactly -sqrt(1/2) and +sqrt(1/2)."""
    groups = values.groupby(dates)
    n = groups.transform("count")
    top = groups.transform("max")
    z = (values - groups.transform("mean")) / groups.transform("std")
    pair = pd.Series(np.where(values == top, math.sqrt(0.5), -math.sqrt(0.5)), index=values.index)
    z = z.mask(n == 2, pair)
    if winsorize is not None:
        z = z.clip(-winsorize, winsorize)
    flat = top == groups.transform("min")
    return z.where(values.notna() & (n >= max(min_assets, 2)) & ~flat)


def cross_section(frames: dict[str, pd.DataFrame], config: Config) -> dict[str, pd.DataFrame]:
    """Each traded asset's frame (from `compute_features`, with `member`) with the cross-sectional columns, and its
    target ranked across the date when `target.kind` is `cs_rank`."""
    cs = config.features.cross_section
    ranked_target = config.target.kind == "cs_rank"
    if not cs.names and not ranked_target:
        return frames
    stacked = pd.concat([f.assign(symbol=s) for s, f in frames.items()], ignore_index=True)
    dates = stacked["date"]
    member = stacked["member"].to_numpy(dtype=bool)
    inside = lambda name: stacked[name].where(member)  # noqa: E731 - non-members take no part
    added = {f"{n}_csrank": _rank(inside(n), dates, cs.min_assets) for n in cs.rank}
    added |= {f"{n}_cszscore": _zscore(inside(n), dates, cs.min_assets, cs.winsorize) for n in cs.zscore}
    if ranked_target:
        added["target"] = _rank(inside("target"), dates, cs.min_assets)
    stacked = stacked.assign(**added)
    out = {}
    for symbol, frame in frames.items():
        part = stacked[stacked["symbol"].to_numpy() == symbol]
        out[symbol] = frame.assign(**{c: part[c].to_numpy() for c in added})
    return out
