"""The `rank_weighted` portfolio kind (methodology §4.1): on each rebalance date the weight of an available asset is
proportional to its centred cross-sectional rank, `c = rank - (N_t + 1) / 2` (average ranks for ties, 1 the lowest
prediction), scaled to the gross exposure: `w = gross * c / sum |c|` (dollar-neutral: the `c` sum to 0). Long only
keeps the positive part, `w = gross * max(c, 0) / sum max(c, 0)`. A date whose `c` are all 0 (one name, or all tied)
holds nothing."""

from __future__ import annotations

import numpy as np

from walkforward.portfolio.cross_section import CrossSectionRule, Section, rebalance
from walkforward.portfolio.rows import Targets, TestRows


def targets(rows: TestRows, strategy: CrossSectionRule, first_of_asset: np.ndarray, n_assets: int) -> Targets:  # noqa: ARG001
    return rebalance(rows, strategy, weights)


def average_ranks(s: Section) -> np.ndarray:
    """Ascending ranks (1..N_t, ties averaged) of the available assets on each date, NaN elsewhere, from the long
    order: the asset at place `j` ranks `N_t - j`; a tie group over places `a..b` ranks `N_t - (a + b) / 2`."""
    value = np.take_along_axis(s.prediction, s.order, axis=1)
    width = value.shape[1]
    place = np.broadcast_to(np.arange(width), value.shape)
    new = np.ones(value.shape, dtype=bool)
    new[:, 1:] = value[:, 1:] != value[:, :-1]
    end = np.ones(value.shape, dtype=bool)
    end[:, :-1] = new[:, 1:]
    a = np.maximum.accumulate(np.where(new, place, 0), axis=1)
    b = np.minimum.accumulate(np.where(end, place, width)[:, ::-1], axis=1)[:, ::-1]
    ranked = s.n[:, None] - (a + b) / 2
    out = np.full(value.shape, np.nan)
    np.put_along_axis(out, s.order, np.where(place < s.n[:, None], ranked, np.nan), axis=1)
    return out


def weights(s: Section, strategy: CrossSectionRule) -> np.ndarray:
    """(rebalance dates x assets) weights: `gross * c / sum |c|`, 0 where not available."""
    c = np.nan_to_num(average_ranks(s) - (s.n[:, None] + 1) / 2)
    if strategy.long_only:
        c = np.maximum(c, 0.0)
    total = np.abs(c).sum(axis=1, keepdims=True)
    return np.where(total > 0, strategy.gross * c / np.where(total > 0, total, 1.0), 0.0)
