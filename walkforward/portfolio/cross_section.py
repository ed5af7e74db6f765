"""The cross-section the `topk` and `rank_weighted` kinds rank (methodology §4.1), as (date x asset) grids.

The dates are the distinct dates of the test rows, in order; an asset is *available* on a date when its latest test
row at or before it has a prediction and a next return (the `N_t` of the `available` weighting, §4.3), and it is
ranked by that row's prediction. The long order of a date lists its available assets by prediction, highest first,
ties by symbol (sorted names); the short leg reads it backwards. Targets are set on the rebalance dates (every
`rebalance_every`-th date from the first) and held, unchanged, to the next one; a row takes the target of its asset
on its date.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from walkforward.portfolio.rows import Targets, TestRows

SLACK = 1e-9  # floor(k * N_t) would lose a name to float error at exact products (0.29 * 100 = 28.999...)


class CrossSectionRule(Protocol):
    """The fields of `walkforward.config.Strategy` the cross-sectional kinds read."""

    k: float | None
    n_drop: int | None
    gross: float
    rebalance_every: int
    long_only: bool


@dataclass(frozen=True)
class Section:
    """The rebalance dates' cross-sections: `order[d, :n[d]]` the available assets (codes), best first, and `pos`
    each asset's place in it (`n[d]` and beyond where it is not available)."""

    prediction: np.ndarray  # (dates, assets), NaN where not available
    order: np.ndarray
    pos: np.ndarray
    n: np.ndarray


def latest_predictions(rows: TestRows) -> tuple[np.ndarray, np.ndarray]:
    """The row's date index of every row, and the (dates x assets) grid of each asset's latest-row prediction
    (NaN where that row has no prediction or no next return, or the asset has no row yet)."""
    _, at = np.unique(rows.date, return_inverse=True)
    latest = np.full((int(at.max(initial=-1)) + 1, len(rows.symbols)), -1)
    latest[at, rows.symbol] = np.arange(len(at))  # rows sorted by (symbol, date): row numbers grow with the date
    latest = np.maximum.accumulate(latest, axis=0)
    usable = ~np.isnan(rows.prediction) & ~np.isnan(rows.next_ret)
    value = np.where(usable, rows.prediction, np.nan)
    grid = np.where(latest >= 0, value[np.maximum(latest, 0)], np.nan)
    return at, grid


def section(prediction: np.ndarray) -> Section:
    """Each date's long order (stable sort: ties by symbol code; NaN last) and places."""
    order = np.argsort(-prediction, axis=1, kind="stable")
    pos = np.empty_like(order)
    np.put_along_axis(pos, order, np.arange(order.shape[1])[None, :], axis=1)
    return Section(prediction, order, pos, np.sum(~np.isnan(prediction), axis=1))


def leg_size(k: float, n: np.ndarray, long_only: bool) -> np.ndarray:
    """`k_t` names per leg: `k`, or `max(1, floor(k * N_t))` for a fraction; at most `N_t` long only, `floor(N_t /
    2)` long-short (the legs never share a name); 0 on a date with nothing available."""
    want = np.full(len(n), int(k)) if float(k) >= 1 else np.maximum(1, np.floor(k * n + SLACK).astype(np.int64))
    return np.minimum(want, n if long_only else n // 2)


def rebalance(
    rows: TestRows, strategy: CrossSectionRule, weights_of: Callable[[Section, CrossSectionRule], np.ndarray]
) -> Targets:
    """Targets of every row: `weights_of(section, strategy)` gives the (rebalance dates x assets) weights, held to
    the next rebalance date; the side is the weight's sign, the size its magnitude."""
    at, prediction = latest_predictions(rows)
    every = strategy.rebalance_every
    held = weights_of(section(prediction[::every]), strategy)
    w = held[at // every, rows.symbol]
    return Targets(side=np.sign(w).astype(np.int8), size=np.abs(w))


def leg_weights(long: np.ndarray, short: np.ndarray, strategy: CrossSectionRule) -> np.ndarray:
    """Equal weight within each leg: `gross / 2` spread over each leg's names (`gross` over the long leg alone when
    long only); a date with an empty leg holds nothing in it."""
    half = strategy.gross if strategy.long_only else strategy.gross / 2
    per_long = half / np.maximum(long.sum(axis=1, keepdims=True), 1)
    per_short = half / np.maximum(short.sum(axis=1, keepdims=True), 1)
    return np.where(long, per_long, 0.0) - np.where(short, per_short, 0.0)
