"""What the backtest reads: the traded assets' test rows, the benchmark's return rows, and which fold a date is in."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TestRows:
    """Test rows with a prediction (NaN = none), as arrays; `symbol` codes index `symbols` (sorted names)."""

    fold: np.ndarray  # int32: the fold whose test window holds the row's date
    symbol: np.ndarray  # int32
    date: np.ndarray  # datetime64[D]
    prediction: np.ndarray
    target: np.ndarray
    next_ret: np.ndarray  # NaN on the asset's last row
    next_date: np.ndarray  # datetime64[D], NaT on the asset's last row
    symbols: tuple[str, ...]

    def take(self, order: np.ndarray) -> TestRows:
        arrays = {k: getattr(self, k)[order] for k in TestRows.__dataclass_fields__ if k != "symbols"}
        return TestRows(**arrays, symbols=self.symbols)


@dataclass(frozen=True)
class Benchmark:
    """Buy-and-hold of the benchmark dated when earned (methodology §4): over its test rows `t`, `next_ret_t` dated
    `next_date_t`. Dates are sorted and distinct."""

    date: np.ndarray  # datetime64[D]
    ret: np.ndarray

    def on(self, dates: np.ndarray) -> np.ndarray:
        """The benchmark's return on each of `dates`; 0 where it has no return row (a crypto weekend)."""
        at = np.searchsorted(self.date, dates)
        found = at < len(self.date)
        found[found] = self.date[at[found]] == dates[found]
        out = np.zeros(len(dates))
        out[found] = self.ret[at[found]]
        return out


def fold_of(dates: np.ndarray, fold_starts: np.ndarray) -> np.ndarray:
    """The fold whose test window `[test_lo, test_hi)` holds each date; a date after the last window: the last fold
    (methodology §4.6). `fold_starts` are the windows' `test_lo`, sorted; no date may precede the first."""
    return (np.searchsorted(fold_starts, dates, side="right") - 1).astype(np.int32)


@dataclass(frozen=True)
class Targets:
    """What a portfolio kind decides for each test row (methodology §4.1): the side `s_t` (int8: +1, -1 or 0) and
    the size `w_t >= 0`; the book holds `q = w * s` after the lag. Rows as the backtest sorts them."""

    side: np.ndarray
    size: np.ndarray
