"""The `threshold` portfolio kind (methodology §4.1): the signal is +1 above `long_threshold`, -1 below
`-short_threshold` (when `allow_short`), else 0; 0 without a prediction. Its size is the weighting's `w_t` (§4.3).

It reads the strategy section by its fields only (no import of the config, which validates against this registry).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from walkforward.portfolio.rows import Targets, TestRows
from walkforward.portfolio.weights import WEIGHTINGS


class ThresholdRule(Protocol):
    """The fields of `walkforward.config.Strategy` this kind reads."""

    long_threshold: float
    short_threshold: float
    allow_short: bool
    weighting: str


def signals(prediction: np.ndarray, strategy: ThresholdRule) -> np.ndarray:
    """+1 / -1 / 0 from the prediction (int8); a missing prediction (NaN) compares False: 0."""
    long = prediction > strategy.long_threshold
    short = (prediction < -strategy.short_threshold) & strategy.allow_short
    return np.where(long, 1, np.where(short, -1, 0)).astype(np.int8)


def targets(rows: TestRows, strategy: ThresholdRule, first_of_asset: np.ndarray, n_assets: int) -> Targets:
    """The signal of each row, sized by `strategy.weighting`."""
    size = WEIGHTINGS[strategy.weighting](rows, first_of_asset, n_assets)
    return Targets(side=signals(rows.prediction, strategy), size=size)
