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


@pytest.mark.parametrize(
    "strategy", [{}, {"lag": 1, "weighting": "equal", "flat_between_folds": True}], ids=["default", "lag-equal-flat"]
)
def test_engine_tables_are_built_in_output_order_with_returns_dated_when_earned(small_data, strategy):
    """The tables the Polars engine says are presorted are (their sort is skipped on writing); every return row is
    in the fold whose test window holds its date (the last fold after end_date), and equity compounds per series."""
    import polars as pl

    from tests.small import small_config
    from walkforward.engine import run
    from walkforward.outputs import conform

    cfg = small_config(small_data, **{f"strategy.{k}": v for k, v in strategy.items()})
    result = run(cfg)
    for name in result.presorted:
        table = result.tables[name]
        assert conform(name, table, presorted=True).equals(conform(name, table)), name
    returns = pl.from_arrow(result.tables["returns"])
    starts = [np.datetime64(f["test_start"]) for f in result.folds]
    starts[0] = np.datetime64(cfg.start_date)
    expected_fold = np.searchsorted(np.array(starts), returns["date"].to_numpy(), side="right") - 1
    np.testing.assert_array_equal(returns["fold"].to_numpy(), expected_fold)
    assert returns["date"].min() > cfg.start_date  # the first return is earned at the close after the first decision
    for name in returns["series"].unique():
        rows = returns.filter(pl.col("series") == name).sort("date")
        np.testing.assert_allclose(rows["equity"].to_numpy(), np.cumprod(1 + rows["return"].to_numpy()), rtol=1e-12)


def test_test_rows_are_gathered_in_symbol_then_date_order(tmp_path):
    """gather_test_rows sorts the window rows (date order) by symbol with one stable sort: the order a lexsort by
    (symbol, date) gives, which the backtest and the prediction metrics read (run_sorted skips its own sort)."""
    from tests.small import make_small_data, small_config
    from walkforward.engine import prepare
    from walkforward.portfolio.gather import gather_test_rows, window_rows

    p = prepare(small_config(make_small_data(tmp_path / "data"), tmp_path / "out"))
    m, lay = p.matrix, p.layout
    got = gather_test_rows(m, lay.offsets, lay.traded, {})
    rows = window_rows(lay.offsets)
    rows = rows[lay.traded[rows]]
    rows = rows[np.lexsort((m.dates[rows], m.symbol[rows]))]
    assert len(np.unique(got.symbol)) > 1 and len(got.date) == len(rows)
    np.testing.assert_array_equal(got.symbol, m.symbol[rows])
    np.testing.assert_array_equal(got.date, m.dates[rows])
    np.testing.assert_array_equal(got.target, m.y[rows])
