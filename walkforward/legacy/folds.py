"""Fold date ranges from the benchmark calendar (methodology §1).

Test window `i` is the half-open date range `[test_lo, test_hi)`; training window `i` is
`[train_lo, train_hi)` (`train_lo` is None for an expanding window: no lower bound).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from walkforward.config import Config
from walkforward.errors import DataError


@dataclass(frozen=True)
class Fold:
    index: int
    train_lo: pd.Timestamp | None
    train_hi: pd.Timestamp
    test_lo: pd.Timestamp
    test_hi: pd.Timestamp
    # The first and last benchmark sessions actually inside each window (for reporting).
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp

    def info(self) -> dict[str, Any]:
        """`fold, train_start, train_end, test_start, test_end` with ISO dates."""
        return {
            "fold": self.index,
            "train_start": self.train_start.date().isoformat(),
            "train_end": self.train_end.date().isoformat(),
            "test_start": self.test_start.date().isoformat(),
            "test_end": self.test_end.date().isoformat(),
        }


def n_folds(n_sessions: int, step_size: int) -> int:
    """`round(n / step_size)` with halves rounded up, at least 1."""
    q, r = divmod(n_sessions, step_size)
    return max(1, q + (1 if 2 * r >= step_size else 0))


def _missing_sessions_after(sessions: pd.DatetimeIndex, end: pd.Timestamp) -> int:
    """Sessions missing in (last date, end]: calendar days, or weekdays when the benchmark never trades on a weekend."""
    last = sessions[-1]
    if end <= last:
        return 0
    if (sessions.day_of_week < 5).all():
        return len(pd.bdate_range(last + pd.Timedelta(days=1), end))
    return (end - last).days


def make_folds(benchmark_dates: pd.Series, config: Config) -> list[Fold]:
    """The folds of `config` on the benchmark calendar `benchmark_dates` (sorted, unique)."""
    sessions = pd.DatetimeIndex(benchmark_dates)
    start = pd.Timestamp(config.start_date)
    end = pd.Timestamp(config.end_date)
    in_period = _sessions_in_period(sessions, start, end, config)
    n = len(in_period)

    step = config.step_size
    count = n_folds(n, step)
    test_lo = [start] + [in_period[i * step] for i in range(1, count)]
    test_hi = test_lo[1:] + [end + pd.Timedelta(days=1)]
    lookback = config.fold_length + config.embargo

    folds = []
    for i in range(count):
        k = int(np.searchsorted(sessions, test_lo[i], side="left"))
        first = k - lookback
        if first < 0:
            fix = (
                f"move --start-date to {sessions[lookback].date()} or later"
                if len(sessions) > lookback
                else "add older data"
            )
            raise DataError(
                f"not enough history before start_date {config.start_date}: the first fold needs {lookback} "
                f"benchmark sessions before it (fold_length={config.fold_length} + embargo={config.embargo}), the "
                f"data has {k}; lower --fold-length{' or --embargo' if config.embargo else ''} or {fix}"
            )
        train_hi = test_lo[i] if config.embargo == 0 else sessions[k - config.embargo]
        expanding = config.window == "expanding"
        tests = in_period[i * step : (i + 1) * step if i < count - 1 else n]
        folds.append(
            Fold(
                index=i,
                train_lo=None if expanding else sessions[first],
                train_hi=train_hi,
                test_lo=test_lo[i],
                test_hi=test_hi[i],
                train_start=sessions[0] if expanding else sessions[first],
                train_end=sessions[k - config.embargo - 1],
                test_start=tests[0],
                test_end=tests[-1],
            )
        )
    return folds


def _sessions_in_period(
    sessions: pd.DatetimeIndex, start: pd.Timestamp, end: pd.Timestamp, config: Config
) -> pd.DatetimeIndex:
    """The benchmark sessions in [start, end]; an error when there are none, or when the data ends before `end`."""
    # the same messages as the Polars engine's splitter (walkforward/folds.py)
    name = f"the benchmark {config.benchmark}"
    if len(sessions) == 0:
        raise DataError(f"{name} has no rows; check the benchmark symbol and its CSV")
    first_day, last_day = sessions[0].date(), sessions[-1].date()
    in_period = sessions[(sessions >= start) & (sessions <= end)]
    if len(in_period) == 0:
        raise DataError(
            f"no benchmark sessions between start_date {config.start_date} and end_date {config.end_date}: the data "
            f"of {name} runs from {first_day} to {last_day}; move --start-date and --end-date into that range"
        )
    if _missing_sessions_after(sessions, end):
        raise DataError(
            f"end_date {config.end_date} is after the last date of {name} ({last_day}); set --end-date to "
            f"{last_day} or earlier, or add the missing data"
        )
    return in_period
