"""Turnover per leg (docs/methodology.md §5): the mean traded weight per return row of the long leg and of the short
leg; they add up to `turnover`."""

from __future__ import annotations

from typing import Any

import numpy as np


def turnover_per_leg(traded_long: np.ndarray, traded_short: np.ndarray) -> dict[str, Any]:
    """`turnover_long` and `turnover_short` of one series (null without rows)."""
    if not len(traded_long):
        return {"turnover_long": None, "turnover_short": None}
    return {"turnover_long": float(np.mean(traded_long)), "turnover_short": float(np.mean(traded_short))}
