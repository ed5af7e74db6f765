"""Walk-forward folds (docs/methodology.md §1): date ranges from the benchmark calendar, then row offsets.

Written like scikit-learn's `TimeSeriesSplit`: parameters stored verbatim, validation where they are used, and the
split yields offsets. Dates are `numpy.datetime64[D]`; ranges are half-open `[lo, hi)`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from walkforward.errors import DataError

NO_LOWER_BOUND = np.datetime64("0001-01-01", "D")


@dataclass(frozen=True)
class Fold:
    """One fold's date ranges, half-open; `test_start`/`test_end` are its first and last benchmark session."""

    index: int
    train_lo: np.datetime64
    train_hi: np.datetime64
    test_lo: np.datetime64
    test_hi: np.datetime64
    train_start: np.datetime64
    train_end: np.datetime64
    test_start: np.datetime64
    test_end: np.datetime64

    def describe(self) -> dict[str, object]:
        iso = lambda d: str(d)  # noqa: E731
        return {
            "fold": self.index,
            "train_start": iso(self.train_start),
            "train_end": iso(self.train_end),
            "test_start": iso(self.test_start),
            "test_end": iso(self.test_end),
        }


class WalkForwardSplit:
    """Test windows of `step_size` sessions tile [start, end]; each trains on the `fold_length` sessions
    that end `embargo` sessions before it (`window="expanding"`: from the first date of the data)."""

    def __init__(self, fold_length: int, *, step_size: int, embargo: int = 0, window: str = "rolling"):
        self.fold_length = fold_length
        self.step_size = step_size
        self.embargo = embargo
        self.window = window

    def folds(self, calendar: np.ndarray, start: dt.date, end: dt.date, *, benchmark: str = "") -> list[Fold]:
        """The folds of the out-of-sample period [start, end] on the sorted benchmark `calendar`.

        `benchmark` (the symbol) only names the calendar in error messages.
        """
        cal = np.asarray(calendar, dtype="datetime64[D]")
        lo, hi = np.datetime64(start, "D"), np.datetime64(end, "D")
        name = f"the benchmark {benchmark}" if benchmark else "the benchmark"
        if not len(cal):
            raise DataError(f"{name} has no rows; check the benchmark symbol and its CSV")
        first = int(np.searchsorted(cal, lo, side="left"))
        n = int(np.searchsorted(cal, hi, side="right")) - first
        if n <= 0:
            raise DataError(
                f"no benchmark sessions between start_date {start} and end_date {end}: the data of {name} runs "
                f"from {cal[0]} to {cal[-1]}; move --start-date and --end-date into that range"
            )
        if missing_sessions_after(cal, hi):
            raise DataError(
                f"end_date {end} is after the last date of {name} ({cal[-1]}); set --end-date to {cal[-1]} or "
                "earlier, or add the missing data"
            )
        q, r = divmod(n, self.step_size)
        n_folds = max(1, q + (1 if 2 * r >= self.step_size else 0))
        starts = first + self.step_size * np.arange(n_folds)  # index in cal of each test window's first session
        need = self.fold_length + self.embargo
        if starts[0] - need < 0:
            fix = f"move --start-date to {cal[need]} or later" if len(cal) > need else "add older data"
            raise DataError(
                f"not enough history before start_date {start}: the first fold needs {need} benchmark "
                f"sessions before it (fold_length={self.fold_length} + embargo={self.embargo}), the data has "
                f"{starts[0]}; lower --fold-length{' or --embargo' if self.embargo else ''} or {fix}"
            )
        folds = []
        last = first + n - 1
        for i, k in enumerate(starts.tolist()):
            test_lo = lo if i == 0 else cal[k]
            test_hi = cal[starts[i + 1]] if i + 1 < n_folds else hi + np.timedelta64(1, "D")
            test_last = (starts[i + 1] - 1) if i + 1 < n_folds else last
            train_first = k - self.embargo - self.fold_length
            train_hi = test_lo if self.embargo == 0 else cal[k - self.embargo]
            folds.append(
                Fold(
                    index=i,
                    train_lo=NO_LOWER_BOUND if self.window == "expanding" else cal[train_first],
                    train_hi=train_hi,
                    test_lo=test_lo,
                    test_hi=test_hi,
                    train_start=cal[0] if self.window == "expanding" else cal[train_first],
                    train_end=cal[k - self.embargo - 1],
                    test_start=cal[k],
                    test_end=cal[test_last],
                )
            )
        return folds


def missing_sessions_after(calendar: np.ndarray, end: np.datetime64) -> int:
    """Sessions the calendar lacks in (its last date, end]: days, or weekdays when it never trades on a weekend."""
    last = calendar[-1]
    if end <= last:
        return 0
    if np.is_busday(calendar).all():
        return int(np.busday_count(last + np.timedelta64(1, "D"), end + np.timedelta64(1, "D")))
    return int((end - last).astype(np.int64))


@dataclass(frozen=True)
class FoldOffsets:
    """Row offsets of every fold into a matrix sorted by (date, symbol): rows `[train[i,0], train[i,1])`
    and `[test[i,0], test[i,1])` belong to fold i's windows (purging is a mask on top of the training slice)."""

    train: np.ndarray  # (n_folds, 2) int64
    test: np.ndarray  # (n_folds, 2) int64
    test_lo: np.ndarray  # (n_folds,) datetime64[D]: purge boundary


def offsets(folds: list[Fold], dates: np.ndarray) -> FoldOffsets:
    """Binary-search each fold's date bounds in the sorted `dates` column."""
    dates = np.asarray(dates, dtype="datetime64[D]")
    tr = np.array([[f.train_lo, f.train_hi] for f in folds], dtype="datetime64[D]")
    te = np.array([[f.test_lo, f.test_hi] for f in folds], dtype="datetime64[D]")
    return FoldOffsets(
        train=np.searchsorted(dates, tr, side="left").astype(np.int64),
        test=np.searchsorted(dates, te, side="left").astype(np.int64),
        test_lo=te[:, 0],
    )
