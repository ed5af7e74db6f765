"""The `threshold` portfolio (methodology §4): +1 above `long_threshold`, -1 below `-short_threshold` (when
`allow_short`), else flat; each asset weighted 1/N of the configured assets."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from walkforward.config import Strategy


def positions(prediction: np.ndarray, next_ret: np.ndarray, strategy: Strategy) -> np.ndarray:
    """+1 / -1 / 0 from the prediction; 0 without a prediction or a next return (NaN compares False)."""
    long = prediction > strategy.long_threshold
    short = (prediction < -strategy.short_threshold) & strategy.allow_short
    pos = np.where(long, 1, np.where(short, -1, 0)).astype(np.int8)
    pos[np.isnan(prediction) | np.isnan(next_ret)] = 0
    return pos
