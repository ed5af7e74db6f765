"""The portfolio kinds a config may name (`strategy.kind`): name -> `targets(rows, strategy, first_of_asset,
n_assets)`, the side `s_t` (int8: +1, -1 or 0; 0 where there is no prediction) and size `w_t` of every test row
(rows sorted by (symbol, date); `first_of_asset` marks each asset's first row, `n_assets` the configured assets).
Lag and the book are the backtest's (methodology §4.2-§4.5), the same for every kind. A new kind is one function in
its own file and one entry here; config validation and "did you mean" read this registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from walkforward.portfolio import rank_weighted, threshold, topk
from walkforward.portfolio.rows import Targets, TestRows

PORTFOLIOS: dict[str, Callable[[TestRows, Any, np.ndarray, int], Targets]] = {
    "threshold": threshold.targets,
    "topk": topk.targets,
    "rank_weighted": rank_weighted.targets,
}
CROSS_SECTIONAL = ("topk", "rank_weighted")  # the kinds that read k, n_drop, gross, rebalance_every, long_only
