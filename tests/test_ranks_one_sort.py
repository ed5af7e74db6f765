"""The prediction metrics rank every level (the run, each fold, each asset, each date) from one argsort of the
predictions and one of the targets (walkforward.metrics.levels.Ranked). Average ranks do not depend on the order
ties sort in, so the ranks, and every metric built on them, must be bit for bit those of a fresh sort of each slice:
these properties check it on rows with ties, NaNs and empty groups."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from walkforward.metrics.levels import prediction_levels
from walkforward.metrics.quantiles import quantile_days
from walkforward.metrics.ranks import (
    average_ranks,
    cross_sectional_ic,
    grouped_average_ranks,
    prediction_metrics,
    subset_order,
)
from walkforward.portfolio.backtest import by_asset
from walkforward.portfolio.rows import TestRows as Rows  # (a name pytest does not collect)
from walkforward.portfolio.rows import fold_of

VALUES = st.sampled_from([np.nan, -2.0, -1.0, -0.0, 0.0, 0.5, 1.0, 1.0 + 2**-52, 3.0])


def same(a: np.ndarray, b: np.ndarray) -> None:
    """Equal to the bit (NaNs in the same places)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


@given(st.lists(st.tuples(VALUES, st.booleans(), st.integers(0, 3)), max_size=60))
def test_ranks_of_a_subset_from_the_whole_columns_sort_are_a_fresh_sorts(rows):
    """`subset_order(argsort(x), keep)` is an argsort of `x[keep]`: the average ranks, pooled and within groups, are
    those of sorting `x[keep]` afresh."""
    x = np.array([r[0] for r in rows], dtype=np.float64)
    keep = np.array([r[1] for r in rows], dtype=bool) & ~np.isnan(x)
    group = np.array([r[2] for r in rows], dtype=np.int32)[keep]
    order = subset_order(np.argsort(x), keep)
    assert sorted(order.tolist()) == list(range(int(keep.sum())))
    assert np.all(np.diff(x[keep][order]) >= 0)
    same(average_ranks(x[keep], order), average_ranks(x[keep]))
    same(grouped_average_ranks(group, x[keep], order), grouped_average_ranks(group, x[keep]))


ROW = st.tuples(st.integers(0, 2), st.integers(0, 6), VALUES, VALUES, VALUES)  # symbol, day, prediction, target, next


@given(st.lists(ROW, max_size=50, unique_by=lambda r: (r[0], r[1])))
def test_every_level_of_the_prediction_metrics_is_a_fresh_sort_of_its_rows(rows):
    """`prediction_levels` (one sort per column) against each level computed on its own rows: pooled, per fold and
    per asset `prediction_metrics`, and the per-date IC and quantile buckets, all equal to the bit."""
    symbols = ("AAA", "BBB", "CCC")
    fold_starts = np.array(["2024-01-01", "2024-01-04"], dtype="datetime64[D]")
    date = np.datetime64("2024-01-01") + np.array([r[1] for r in rows], dtype="timedelta64[D]")
    nothing = np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[D]")
    test = by_asset(
        Rows(
            fold=fold_of(date, fold_starts),
            symbol=np.array([r[0] for r in rows], dtype=np.int32),
            date=date,
            prediction=np.array([r[2] for r in rows], dtype=np.float64),
            target=np.array([r[3] for r in rows], dtype=np.float64),
            next_ret=np.array([r[4] for r in rows], dtype=np.float64),
            next_date=nothing,
            symbols=symbols,
        )
    )
    folds = [{"fold": 0}, {"fold": 1}]
    got = prediction_levels(test, fold_starts, folds, symbols)

    p, t = test.prediction, test.target
    assert got.overall["ic"] == prediction_metrics(p, t)["ic"]
    assert got.overall["directional_accuracy"] == prediction_metrics(p, t)["directional_accuracy"]
    for i in (0, 1):
        mine = test.fold == i
        for name, value in prediction_metrics(p[mine], t[mine]).items():
            assert got.per_fold[i][name] == value, (i, name)
    for code, name in enumerate(symbols):
        mine = test.symbol == code
        for key, value in prediction_metrics(p[mine], t[mine]).items():
            assert got.per_asset[name][key] == value, (name, key)

    both = ~np.isnan(p) & ~np.isnan(t)
    kept = (subset_order(np.argsort(p), both), subset_order(np.argsort(t), both))
    for a, b in zip(cross_sectional_ic(test.date, p, t, kept), cross_sectional_ic(test.date, p, t), strict=True):
        same(a, b)
    with_order = quantile_days(test.date, p, test.next_ret, np.argsort(p))
    fresh = quantile_days(test.date, p, test.next_ret)
    same(with_order.date, fresh.date)
    same(with_order.mean, fresh.mean)
