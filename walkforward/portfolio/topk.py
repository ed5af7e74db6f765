"""The `topk` portfolio kind (methodology §4.1): on each rebalance date, long the `k_t` best-ranked available assets
and short the `k_t` worst, equal weight within each leg; with `n_drop`, at most `n_drop` held names are replaced
per leg and rebalance, by the rule of qlib's TopkDropoutStrategy.

Without `n_drop` every rebalance date is independent: masks over the whole grid. With it a leg depends on the one
held before, the one sequential step: a loop over the rebalance dates on precomputed orders, a few array operations
of the universe's width each.
"""

from __future__ import annotations

import numpy as np

from walkforward.portfolio.cross_section import CrossSectionRule, Section, leg_size, leg_weights, rebalance
from walkforward.portfolio.rows import Targets, TestRows


def targets(rows: TestRows, strategy: CrossSectionRule, first_of_asset: np.ndarray, n_assets: int) -> Targets:  # noqa: ARG001
    return rebalance(rows, strategy, weights)


def weights(s: Section, strategy: CrossSectionRule) -> np.ndarray:
    """(rebalance dates x assets) weights of the two legs."""
    k = leg_size(strategy.k, s.n, strategy.long_only)
    if strategy.n_drop is None:
        long = s.pos < k[:, None]
        short = (s.pos >= (s.n - k)[:, None]) & (s.pos < s.n[:, None])
    else:
        long, short = dropout(s, k, strategy.n_drop, strategy.long_only)
    if strategy.long_only:
        short = np.zeros_like(long)
    return leg_weights(long, short, strategy)


def dropout(s: Section, k: np.ndarray, n_drop: int, long_only: bool) -> tuple[np.ndarray, np.ndarray]:
    """The legs held after each rebalance date, each from the one before (empty before the first date). The long
    leg is decided first; the short leg ranks the other available names backwards."""
    long, short = np.zeros(s.pos.shape, dtype=bool), np.zeros(s.pos.shape, dtype=bool)
    held_long = held_short = np.zeros(s.pos.shape[1], dtype=bool)
    for d in range(len(s.n)):
        n = s.n[d]
        ranked = s.order[d, :n]
        available = s.pos[d] < n
        held_long = replace(held_long & available, s.pos[d], ranked, available, int(k[d]), n_drop)
        long[d] = held_long
        if not long_only:
            others = available & ~held_long
            held_short = replace(held_short & others, n - 1 - s.pos[d], ranked[::-1], others, int(k[d]), n_drop)
            short[d] = held_short
    return long, short


def replace(held: np.ndarray, rank: np.ndarray, ranked: np.ndarray, eligible: np.ndarray, k: int, n_drop: int):
    """TopkDropoutStrategy's step on one leg: `held` (mask, its names all eligible), `rank` the eligible names'
    places in `ranked` (codes, best first). The best `n_drop + k - |held|` names not held are the candidates; of
    the held names and candidates, the held ones among the last `n_drop` and below the `k`-th are sold, and the
    best `|sold| + k - |held|` candidates bought."""
    n_held = int(held.sum())
    free = ranked[eligible[ranked] & ~held[ranked]]
    candidates = free[: max(0, n_drop + k - n_held)]
    pooled = ranked[np.sort(np.concatenate([rank[held], rank[candidates]]))]
    last = pooled[max(k, len(pooled) - n_drop) :]  # never the pool's best k (qlib's rule, short of names, would)
    sold = last[held[last]]
    bought = candidates[: max(0, len(sold) + k - n_held)]
    out = held.copy()
    out[sold] = False
    out[bought] = True
    return out
