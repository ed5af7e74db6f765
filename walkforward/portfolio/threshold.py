"""The `threshold` portfolio kind (methodology §4.1): the signal is +1 above `long_threshold`, -1 below
`-short_threshold` (when `allow_short`), else 0; 0 without a prediction."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from walkforward.config import Strategy


def signals(prediction: np.ndarray, strategy: Strategy) -> np.ndarray:
    """+1 / -1 / 0 from the prediction (int8); a missing prediction (NaN) compares False: 0."""
    long = prediction > strategy.long_threshold
    short = (prediction < -strategy.short_threshold) & strategy.allow_short
    return np.where(long, 1, np.where(short, -1, 0)).astype(np.int8)
