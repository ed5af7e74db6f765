"""Reusable fold checkers, in the manner of scikit-learn's `check_valid_split` / `check_cv_coverage`.

They take folds as date ranges (what both engines report) so they can check either engine.
"""

from __future__ import annotations

import numpy as np


def check_no_overlap(folds) -> None:
    """No fold trains on a date it tests, and training ends before the test window starts."""
    for f in folds:
        assert f.train_hi <= f.test_lo, f"fold {f.index}: training runs into the test window"
        assert f.train_lo < f.train_hi, f"fold {f.index}: empty training window"
        assert f.test_lo < f.test_hi, f"fold {f.index}: empty test window"


def check_tiling(folds, start, end) -> None:
    """Test windows tile [start, end] exactly once: contiguous, from start to end + 1 day."""
    assert folds[0].test_lo == np.datetime64(start, "D")
    assert folds[-1].test_hi == np.datetime64(end, "D") + np.timedelta64(1, "D")
    for a, b in zip(folds, folds[1:], strict=False):
        assert a.test_hi == b.test_lo, f"gap or overlap between folds {a.index} and {b.index}"


def check_train_length(folds, calendar, fold_length, embargo, window="rolling") -> None:
    """Each rolling training window holds fold_length sessions and ends `embargo` sessions before the test."""
    cal = np.asarray(calendar, dtype="datetime64[D]")
    for f in folds:
        sessions = cal[(cal >= f.train_lo) & (cal < f.train_hi)]
        if window == "rolling":
            assert len(sessions) == fold_length, f"fold {f.index}: {len(sessions)} training sessions"
        between = cal[(cal >= f.train_hi) & (cal < f.test_lo)]
        assert len(between) == embargo, f"fold {f.index}: {len(between)} sessions of embargo"


def check_test_sessions(folds, calendar, start, end, step_size) -> None:
    """Each test window holds step_size sessions, but the last (between half a step and 1.5 steps)."""
    cal = np.asarray(calendar, dtype="datetime64[D]")
    for f in folds[:-1]:
        assert ((cal >= f.test_lo) & (cal < f.test_hi)).sum() == step_size
    last = ((cal >= folds[-1].test_lo) & (cal < folds[-1].test_hi)).sum()
    if len(folds) > 1:
        assert step_size / 2 <= last < 1.5 * step_size


def check_purged(train_dates, label_end, test_lo) -> None:
    """Every training row's label ends before the test window starts."""
    assert (np.asarray(label_end, dtype="datetime64[D]") < np.datetime64(test_lo, "D")).all()
    assert (np.asarray(train_dates, dtype="datetime64[D]") < np.datetime64(test_lo, "D")).all()
