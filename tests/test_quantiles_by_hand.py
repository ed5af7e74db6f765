"""Quantile returns and the long-short spread (methodology §5) of both engines, against a panel worked out by hand:
uneven buckets, a tie, an empty bucket, rows without a prediction or a next return, a weekend date with too few
assets and a date whose predictions are all tied; then both engines against each other on random panels."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from walkforward.legacy.quantiles import bucket_means, quantile_metrics
from walkforward.metrics.quantiles import QUANTILE_RETURNS, quantile_days, quantile_summary
from walkforward.outputs import METRIC_NAMES

NAN = float("nan")
RTOL = 1e-9
approx = lambda value: pytest.approx(value, rel=1e-12, abs=1e-15)  # noqa: E731

# date, prediction, next return; 2024-01-04 is a Thursday, 01-06 a Saturday
ROWS = [
    # Thu: 6 assets, ranks F1 E2 D3 C4 B5 A6; bucket floor(5 (r - 1) / 6) + 1 = 1 1 2 3 4 5 (from F):
    # Q1 = (-0.04 - 0.02) / 2 = -0.03, Q2 = 0.00, Q3 = 0.01, Q4 = 0.03, Q5 = 0.05; spread 0.05 - (-0.03) = 0.08
    ("2024-01-04", 0.6, 0.05),
    ("2024-01-04", 0.5, 0.03),
    ("2024-01-04", 0.4, 0.01),
    ("2024-01-04", 0.3, 0.00),
    ("2024-01-04", 0.2, -0.02),
    ("2024-01-04", 0.1, -0.04),
    # Fri: 5 rows with both (one without a prediction, one without a next return: left out); B and C tie at rank
    # 2.5: buckets A 1, B 2, C 2 (floor(5 * 1.5 / 5) + 1), D 4, E 5, bucket 3 empty:
    # Q1 = 0.02, Q2 = (-0.01 + 0.03) / 2 = 0.01, Q4 = 0.04, Q5 = -0.02; spread -0.02 - 0.02 = -0.04
    ("2024-01-05", 0.1, 0.02),
    ("2024-01-05", 0.2, -0.01),
    ("2024-01-05", 0.2, 0.03),
    ("2024-01-05", 0.4, 0.04),
    ("2024-01-05", 0.5, -0.02),
    ("2024-01-05", NAN, 0.90),
    ("2024-01-05", 0.9, NAN),
    # Sat: only 3 assets trade: fewer than 5, the date is left out
    ("2024-01-06", 0.1, 1.0),
    ("2024-01-06", 0.2, 1.0),
    ("2024-01-06", 0.3, 1.0),
    # Mon: 5 predictions all tied at rank 3: all in bucket floor(5 * 2 / 5) + 1 = 3, Q3 = 0.03; no spread
    ("2024-01-08", 0.3, 0.01),
    ("2024-01-08", 0.3, 0.02),
    ("2024-01-08", 0.3, 0.03),
    ("2024-01-08", 0.3, 0.04),
    ("2024-01-08", 0.3, 0.05),
]
DATES = ["2024-01-04", "2024-01-05", "2024-01-08"]
MEANS = [  # per kept date, Q1..Q5
    [-0.03, 0.00, 0.01, 0.03, 0.05],
    [0.02, 0.01, NAN, 0.04, -0.02],
    [NAN, NAN, 0.03, NAN, NAN],
]
# spreads 0.08 and -0.04: mean 0.02, std (ddof 1) 0.12 / sqrt(2), standard error 0.12 / 2 = 0.06, t = 1 / 3;
# each bucket's mean over the dates where it has rows
EXPECTED = {
    "long_short_spread": 0.02,
    "long_short_tstat": 1 / 3,
    "quantile_return_1": (-0.03 + 0.02) / 2,
    "quantile_return_2": (0.00 + 0.01) / 2,
    "quantile_return_3": (0.01 + 0.03) / 2,
    "quantile_return_4": (0.03 + 0.04) / 2,
    "quantile_return_5": (0.05 - 0.02) / 2,
}


def arrays(rows=ROWS):
    date = np.array([r[0] for r in rows], dtype="datetime64[D]")
    return date, np.array([r[1] for r in rows]), np.array([r[2] for r in rows])


def frame(rows=ROWS) -> pd.DataFrame:
    date, prediction, next_ret = arrays(rows)
    return pd.DataFrame({"date": pd.to_datetime(date), "prediction": prediction, "next_ret": next_ret})


def test_the_metric_names_are_in_metrics_json():
    assert set(EXPECTED) <= set(METRIC_NAMES)
    assert tuple(QUANTILE_RETURNS) == tuple(f"quantile_return_{q}" for q in range(1, 6))


def test_polars_engine_bucket_means_per_date():
    days = quantile_days(*arrays())
    assert list(days.date) == list(np.array(DATES, dtype="datetime64[D]"))
    np.testing.assert_allclose(days.mean, np.array(MEANS), rtol=1e-12, atol=1e-15)


def test_legacy_engine_bucket_means_per_date():
    means = bucket_means(frame())
    assert list(means.index) == list(pd.to_datetime(DATES))
    assert list(means.columns) == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(means.to_numpy(), np.array(MEANS), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("engine", ["polars", "legacy"])
def test_spread_tstat_and_quantile_returns(engine):
    out = quantile_summary(quantile_days(*arrays()).mean) if engine == "polars" else quantile_metrics(frame())
    assert set(out) == set(EXPECTED)
    for name, want in EXPECTED.items():
        assert out[name] == approx(want), name


def test_ten_assets_give_two_a_bucket():
    # ranks 1..10: floor(5 (r - 1) / 10) + 1 = 1 1 2 2 3 3 4 4 5 5; next return = rank / 100
    rows = [("2024-01-04", float(r), r / 100) for r in range(10, 0, -1)]
    want = [[0.015, 0.035, 0.055, 0.075, 0.095]]
    np.testing.assert_allclose(quantile_days(*arrays(rows)).mean, want, rtol=1e-12)
    np.testing.assert_allclose(bucket_means(frame(rows)).to_numpy(), want, rtol=1e-12)


@pytest.mark.parametrize("engine", ["polars", "legacy"])
def test_undefined_without_enough_assets_or_dates(engine):
    def run(rows):
        return (
            quantile_summary(quantile_days(*arrays(rows)).mean) if engine == "polars" else quantile_metrics(frame(rows))
        )

    few = run(ROWS[13:16])  # the Saturday alone: 3 assets
    assert all(value is None for value in few.values())
    one_date = run(ROWS[:6])  # one spread: a mean, but no t-statistic
    assert one_date["long_short_spread"] == approx(0.08)
    assert one_date["long_short_tstat"] is None
    tied = run(ROWS[16:])  # every prediction tied: only Q3
    assert tied["long_short_spread"] is None and tied["quantile_return_3"] == approx(0.03)
    same = run(ROWS[:6] + [("2024-01-05", p, r) for _, p, r in ROWS[:6]])  # Thursday twice: spreads 0.08, 0.08
    assert same["long_short_spread"] == approx(0.08) and same["long_short_tstat"] is None  # std 0: undefined


@st.composite
def panels(draw):
    """Dates with 0..12 rows, predictions on a coarse grid (ties), some missing predictions and next returns."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    sizes = draw(st.lists(st.integers(0, 12), min_size=1, max_size=8))
    date = np.repeat(np.datetime64("2024-01-01") + np.arange(len(sizes)), sizes)
    prediction = rng.integers(0, draw(st.integers(1, 8)), len(date)) / 4.0
    next_ret = rng.normal(0, 0.02, len(date))
    prediction[rng.random(len(date)) < 0.1] = NAN
    next_ret[rng.random(len(date)) < 0.1] = NAN
    order = rng.permutation(len(date))  # rows in any order
    return date[order], prediction[order], next_ret[order]


@settings(deadline=None)
@given(panels())
def test_both_engines_agree_on_random_panels(panel):
    date, prediction, next_ret = panel
    polars = quantile_summary(quantile_days(date, prediction, next_ret).mean)
    legacy = quantile_metrics(
        pd.DataFrame({"date": pd.to_datetime(date), "prediction": prediction, "next_ret": next_ret})
    )
    for name, value in polars.items():
        other = legacy[name]
        assert (value is None) == (other is None), name
        if value is not None:
            assert math.isclose(value, other, rel_tol=RTOL, abs_tol=1e-12), name
