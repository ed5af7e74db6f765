"""The backtest's output-table helpers: the loop-free segmented cumulative product, and the feature plan's
background collect handing its result or its error to the caller."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from walkforward.features.plan import Background
from walkforward.tables import segmented_cumprod

returns = hnp.arrays(np.float64, st.integers(0, 60), elements=st.floats(-0.99, 3.0, allow_nan=False))


@given(returns, st.lists(st.integers(1, 12), min_size=1, max_size=8))
def test_segmented_cumprod_equals_one_cumprod_per_segment_bitwise(x, lengths):
    segment = np.repeat(np.arange(len(lengths)), lengths)[: len(x)]
    x = x[: len(segment)]
    expected = np.concatenate([np.cumprod(x[segment == s]) for s in np.unique(segment)] or [np.array([])])
    before = x.copy()
    got = segmented_cumprod(x, segment)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(x, before)  # the input is left alone
    np.testing.assert_array_equal(got, expected)


def test_segmented_cumprod_of_nothing_is_empty():
    assert len(segmented_cumprod(np.array([]), np.array([], dtype=np.int64))) == 0


def test_background_returns_the_value():
    assert Background(lambda: 41 + 1).result() == 42


def test_background_raises_the_callers_error():
    def fail():
        raise ValueError("plan failed")

    with pytest.raises(ValueError, match="plan failed"):
        Background(fail).result()
