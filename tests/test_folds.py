import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.invariants import (
    check_no_overlap,
    check_purged,
    check_test_sessions,
    check_tiling,
    check_train_length,
)
from walkforward.data.calendar import trading_days
from walkforward.errors import DataError
from walkforward.folds import WalkForwardSplit, offsets

# the NYSE-like calendar of the generated data: business days less market holidays
CAL = trading_days("SPY", dt.date(2005, 1, 1), dt.date(2025, 12, 31)).astype("datetime64[D]")


@pytest.mark.parametrize(
    ("start", "end", "n_folds"),
    [
        ("2020-01-01", "2021-12-31", 4),
        ("2015-01-01", "2019-12-31", 10),
        ("2014-01-01", "2023-12-31", 20),
    ],
)
def test_plan_fold_counts(start, end, n_folds):
    """The performance plan: 2, 5 and 10 years with a step of 126 sessions give 4, 10 and 20 folds."""
    split = WalkForwardSplit(252, step_size=126)
    folds = split.folds(CAL, dt.date.fromisoformat(start), dt.date.fromisoformat(end))
    assert len(folds) == n_folds
    check_no_overlap(folds)
    check_tiling(folds, start, end)
    check_train_length(folds, CAL, 252, 0)
    check_test_sessions(folds, CAL, start, end, 126)


def test_small_plan_windows_are_half_years():
    folds = WalkForwardSplit(252, step_size=126).folds(CAL, dt.date(2020, 1, 1), dt.date(2021, 12, 31))
    starts = [str(f.test_start) for f in folds]
    assert starts[0] == "2020-01-02" and starts[1][:7] in ("2020-06", "2020-07")
    assert str(folds[-1].test_end) == "2021-12-31"
    # trained on the year before each test window
    assert str(folds[0].train_end) == "2019-12-31"


@given(
    n_sessions=st.integers(1, 400),
    step=st.integers(1, 150),
    fold_length=st.integers(2, 300),
    embargo=st.integers(0, 10),
    window=st.sampled_from(["rolling", "expanding"]),
)
def test_fold_invariants_hold_for_any_parameters(n_sessions, step, fold_length, embargo, window):
    first = 320  # enough history for fold_length + embargo
    start, end = CAL[first], CAL[first + n_sessions - 1]
    folds = WalkForwardSplit(fold_length, step_size=step, embargo=embargo, window=window).folds(
        CAL, start.item(), end.item()
    )
    assert len(folds) == max(1, int(np.floor(n_sessions / step + 0.5)))
    check_no_overlap(folds)
    check_tiling(folds, start, end)
    check_train_length(folds, CAL, fold_length, embargo, window)
    check_test_sessions(folds, CAL, start, end, step)


def test_remainder_rule():
    """A remainder shorter than half a step joins the last window; half a step or more is its own."""
    start = CAL[400]
    for n, expected in [(250, 2), (252, 2), (314, 2), (315, 3), (378, 3)]:
        folds = WalkForwardSplit(100, step_size=126).folds(CAL, start.item(), CAL[400 + n - 1].item())
        assert len(folds) == expected, n


def test_too_little_history_says_how_many_sessions_are_needed():
    with pytest.raises(DataError, match=r"needs 262 benchmark sessions .* the data has 10; lower --fold-length"):
        WalkForwardSplit(252, step_size=126, embargo=10).folds(CAL[0:500], CAL[10].item(), CAL[400].item())


def test_no_sessions_in_period():
    with pytest.raises(DataError, match="no benchmark sessions between"):
        WalkForwardSplit(10, step_size=5).folds(CAL[:100], dt.date(2030, 1, 1), dt.date(2030, 2, 1))


def test_offsets_are_binary_searched_and_purge_masks_labels():
    """Rows sorted by (date, symbol): each window is one slice; purging drops labels that end in the test."""
    dates = np.repeat(CAL[:600], 2)  # two symbols
    folds = WalkForwardSplit(252, step_size=126).folds(CAL, CAL[300].item(), CAL[599].item())
    off = offsets(folds, dates)
    h = 5
    label_end = np.repeat(np.concatenate([CAL[h:600], np.full(h, np.datetime64("NaT"), "datetime64[D]")]), 2)
    for i, f in enumerate(folds):
        a, b = off.train[i]
        assert (dates[a:b] >= f.train_lo).all() and (dates[a:b] < f.train_hi).all()
        assert b - a == 2 * 252
        keep = label_end[a:b] < off.test_lo[i]
        assert keep.sum() == 2 * (252 - h)  # the last h sessions' labels end inside the test window
        check_purged(dates[a:b][keep], label_end[a:b][keep], f.test_lo)
        c, d = off.test[i]
        assert (dates[c:d] >= f.test_lo).all() and (dates[c:d] < f.test_hi).all()
