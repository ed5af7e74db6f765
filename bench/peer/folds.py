"""The peer's folds (docs/methodology.md §1), from the benchmark's calendar, as date ranges `[lo, hi)`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walkforward.errors import DataError

DAY = np.timedelta64(1, "D")


@dataclass(frozen=True)
class FoldDates:
    index: int
    train_lo: np.datetime64  # NaT: no lower bound (expanding window)
    train_hi: np.datetime64
    test_lo: np.datetime64
    test_hi: np.datetime64


def fold_dates(calendar: np.ndarray, config: dict) -> list[FoldDates]:
    """Test windows of `step_size` sessions tile [start_date, end_date]; each trains on the `fold_length` sessions
    ending `embargo` sessions before it (§1.2-§1.4). The bench's data is known good: only the history check is kept."""
    cal = np.asarray(calendar, dtype="datetime64[D]")
    start, end = np.datetime64(config["start_date"], "D"), np.datetime64(config["end_date"], "D")
    step, length, embargo = config["step_size"], config["fold_length"], config["embargo"]
    first = int(np.searchsorted(cal, start, side="left"))
    n = int(np.searchsorted(cal, end, side="right")) - first
    q, r = divmod(n, step)
    n_folds = max(1, q + (1 if 2 * r >= step else 0))
    starts = [first + step * i for i in range(n_folds)]
    if starts[0] - embargo - length < 0:
        need = length + embargo
        raise DataError(f"not enough benchmark history before {start}: the first fold needs {need} sessions")
    folds = []
    for i, k in enumerate(starts):
        test_lo = start if i == 0 else cal[k]
        test_hi = cal[starts[i + 1]] if i + 1 < n_folds else end + DAY
        train_lo = np.datetime64("NaT") if config["window"] == "expanding" else cal[k - embargo - length]
        train_hi = test_lo if embargo == 0 else cal[k - embargo]
        folds.append(FoldDates(i, train_lo, train_hi, test_lo, test_hi))
    return folds
