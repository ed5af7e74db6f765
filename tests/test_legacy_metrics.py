"""Legacy metrics (methodology §5) against examples worked out by hand, on rows with weekends and missing days."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from walkforward.legacy.metrics import (
    METRIC_NAMES,
    cagr,
    daily_ic,
    max_drawdown,
    metrics,
    periods_per_year,
    prediction_metrics,
    series_metrics,
    span_days,
    spearman,
)

NAN = float("nan")
approx = lambda value: pytest.approx(value, rel=1e-12, abs=1e-15)  # noqa: E731
day = pd.Timestamp  # 2024-01-04 is a Thursday, 01-06/07 the weekend


def frame(ends, starts, returns, exposure=None, traded=None) -> pd.DataFrame:
    n = len(returns)
    return pd.DataFrame(
        {
            "date": pd.to_datetime(ends),
            "start": pd.to_datetime(starts),
            "return": returns,
            "exposure": [1.0] * n if exposure is None else exposure,
            "traded": [0.0] * n if traded is None else traded,
            "traded_long": [0.0] * n if traded is None else traded,  # every trade on the long leg
            "traded_short": [0.0] * n,
        }
    )


def no_predictions() -> pd.DataFrame:
    return pd.DataFrame({"date": pd.to_datetime([]), "prediction": [], "target": []})


def test_metrics_of_a_hand_made_equity_curve() -> None:
    # an equity's rows Thu->Fri, Fri->Mon (a weekend), Mon->Tue, Tue->Thu (Wednesday missing): 4 rows over
    # Thu Jan 4 .. Thu Jan 11 = 7 calendar days -> A = 4 / (7 / 365.25) = 208.714...
    ends = ["2024-01-05", "2024-01-08", "2024-01-09", "2024-01-11"]
    starts = ["2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"]
    returns = [0.10, -0.20, 0.05, 0.00]  # equity 1.1, 0.88, 0.924, 0.924
    series = frame(ends, starts, returns, exposure=[1.0, 0.5, 0.0, 1.0], traded=[1.0, 0.5, 0.5, 1.0])
    predictions = pd.DataFrame(
        {
            "date": pd.to_datetime(starts),
            "prediction": [0.1, -0.2, 0.0, 0.3],
            "target": [0.05, 0.1, 0.0, -0.1],
        }
    )
    a = 4 / (7 / 365.25)
    no_benchmark = pd.Series([], dtype="float64", index=pd.DatetimeIndex([]))
    out = metrics(series, predictions, 3, a=a, benchmark=no_benchmark, cross_section=False)

    assert list(out) == list(METRIC_NAMES)
    std = math.sqrt(0.051875 / 3)  # mean -0.0125; squared deviations sum to 0.051875; ddof = 1
    assert out["periods_per_year"] == approx(a)
    assert out["n_days"] == 4
    assert out["total_return"] == approx(-0.076)
    assert out["cagr"] == approx(0.924 ** (365.25 / 7) - 1)  # calendar time: 7 days, not 4 rows
    assert out["volatility"] == approx(std * math.sqrt(a))
    assert out["sharpe"] == approx(-0.0125 / std * math.sqrt(a))
    assert out["sortino"] == approx(-0.125 * math.sqrt(a))  # downside sqrt(0.04 / 4) = 0.1 -> -0.0125 / 0.1
    assert out["max_drawdown"] == approx(-0.2)  # 0.88 / 1.1 - 1
    assert out["calmar"] == approx(out["cagr"] / 0.2)
    assert out["hit_rate"] == approx(1 / 3)  # exposed rows 0, 1, 3; only row 0 > 0
    assert out["turnover"] == approx(0.75)
    assert out["exposure"] == approx(0.625)
    assert out["n_trades"] == 3
    # signs agree on rows 0 (+,+) and 2 (0,0), not on 1 and 3
    assert out["directional_accuracy"] == approx(0.5)
    # ranks 3,1,2,4 (prediction) vs 3,4,2,1 (target), centred: 0.5,-1.5,-0.5,1.5 / 0.5,1.5,-0.5,-1.5
    # sum of products = 0.25 - 2.25 + 0.25 - 2.25 = -4; each sum of squares = 5 -> -4/5
    assert out["ic"] == approx(-0.8)
    assert out["ic_mean"] is None and out["ic_std"] is None and out["ic_ir"] is None  # per asset: no cross-section
    # no benchmark return on any date: b = 0, var(b) = 0 -> beta and alpha undefined; r - b = r
    assert out["beta"] is None and out["alpha"] is None
    assert out["tracking_error"] == approx(out["volatility"])
    assert out["information_ratio"] == approx(-0.0125 * a / out["tracking_error"])


def test_periods_per_year_and_cagr_count_calendar_days() -> None:
    # a crypto asset every day Sat Jan 6 -> Fri Jan 12: 6 rows over 6 days -> 365.25 a year
    crypto = frame(pd.date_range("2024-01-07", periods=6), pd.date_range("2024-01-06", periods=6), [0.01] * 6)
    assert span_days(crypto) == 6
    assert periods_per_year(6, 6, "auto") == approx(365.25)
    # an equity Fri Jan 5 -> Fri Jan 12: Fri->Mon, Mon->Tue, ..., Thu->Fri: 5 rows over 7 days -> 260.89... a year
    equity = frame(pd.bdate_range("2024-01-08", periods=5), pd.bdate_range("2024-01-05", periods=5), [0.01] * 5)
    assert span_days(equity) == 7
    assert periods_per_year(5, 7, "auto") == approx(5 * 365.25 / 7)
    assert periods_per_year(5, 7, 252.0) == 252.0  # a number fixes A
    assert periods_per_year(0, 0, "auto") is None
    # 1.01**5 over 7 calendar days: (1.01**5) ** (365.25 / 7) - 1, whatever A is
    out = series_metrics(np.full(5, 0.01), np.ones(5), np.zeros(5), np.zeros(5), a=252.0, days=7)
    assert out["cagr"] == approx(1.01 ** (5 * 365.25 / 7) - 1)
    assert out["periods_per_year"] == 252.0
    assert cagr(0.21, 365) == approx(1.21 ** (365.25 / 365) - 1)
    assert cagr(0.1, 0) is None and cagr(-1.0, 10) is None
    assert cagr(1e300, 1) is None  # the power overflows


def test_relative_metrics_by_hand() -> None:
    # rows end Fri 5, Sat 6, Mon 8 (Sunday missing), Tue 9; the benchmark (an equity) earns 0.02 on Fri,
    # nothing on Sat (no return row there: 0), 0.01 on Mon and -0.01 on Tue; its row of Wed 10 is not a series date
    series = frame(
        ["2024-01-05", "2024-01-06", "2024-01-08", "2024-01-09"],
        ["2024-01-04", "2024-01-05", "2024-01-06", "2024-01-08"],
        [0.01, -0.02, 0.03, 0.02],
    )
    benchmark = pd.Series(
        [0.02, 0.01, -0.01, 0.5], index=pd.to_datetime(["2024-01-05", "2024-01-08", "2024-01-09", "2024-01-10"])
    )
    a = 4 / (5 / 365.25)  # 4 rows over Thu 4 .. Tue 9
    out = metrics(series, no_predictions(), 0, a=a, benchmark=benchmark, cross_section=False)
    # r mean 0.01, deviations 0, -0.03, 0.02, 0.01; b = 0.02, 0, 0.01, -0.01, mean 0.005, deviations
    # 0.015, -0.005, 0.005, -0.015: cov sum = 0 + 0.00015 + 0.0001 - 0.00015 = 0.0001, var sum = 0.0005
    assert out["beta"] == approx(0.2)
    assert out["alpha"] == approx((0.01 - 0.2 * 0.005) * a)  # 0.009 per row, annualised
    # r - b = -0.01, -0.02, 0.02, 0.03: mean 0.005, squared deviations 0.000225 + 0.000625 + 0.000225 + 0.000625
    te = math.sqrt(0.0017 / 3) * math.sqrt(a)
    assert out["tracking_error"] == approx(te)
    assert out["information_ratio"] == approx(0.005 * a / te)
    one = metrics(series.iloc[:1], no_predictions(), 0, a=a, benchmark=benchmark, cross_section=False)
    assert one["beta"] is None and one["tracking_error"] is None and one["information_ratio"] is None


def test_cross_sectional_ic_by_hand() -> None:
    d = pd.to_datetime(["2024-01-05"] * 3 + ["2024-01-06"] * 4 + ["2024-01-08"] * 3 + ["2024-01-09"] * 3)
    predictions = pd.DataFrame(
        {
            "date": d,
            "symbol": list("ABC") + list("ABCD") + list("ABC") + list("ABC"),
            # Fri: ranks 1,2,3 vs 1,3,2, centred -1,0,1 / -1,1,0: 1 / sqrt(2 * 2) = 0.5
            # Sat: predictions 0.4, 0.1, 0.1, 0.3 rank 4, 1.5, 1.5, 3 (ties averaged), targets 1, 2, 3, 4;
            #      centred 1.5,-1,-1,0.5 / -1.5,-0.5,0.5,1.5: -1.5 / sqrt(4.5 * 5) = -sqrt(0.1)
            # Mon: only two rows with a target: left out.  Tue: every prediction tied: undefined, left out
            "prediction": [0.1, 0.2, 0.3, 0.4, 0.1, 0.1, 0.3, 0.1, 0.2, 0.3, 0.5, 0.5, 0.5],
            "target": [0.01, 0.03, 0.02, 0.1, 0.2, 0.3, 0.4, 0.1, NAN, 0.3, 0.1, 0.2, 0.3],
        }
    )
    ics = daily_ic(predictions)
    assert list(ics.index) == list(pd.to_datetime(["2024-01-05", "2024-01-06"]))
    assert ics.to_numpy() == pytest.approx([0.5, -math.sqrt(0.1)], rel=1e-12)
    series = frame(["2024-01-08"], ["2024-01-05"], [0.0])
    predictions["next_ret"] = predictions["target"]  # at most 4 rows a date: no quantile returns (5 buckets)
    out = metrics(series, predictions, 0, a=1.0, benchmark=pd.Series(dtype="float64"), cross_section=True)
    assert out["long_short_spread"] is None and out["quantile_return_1"] is None
    mean = (0.5 - math.sqrt(0.1)) / 2
    std = (0.5 + math.sqrt(0.1)) / math.sqrt(2)  # two values: |x1 - x2| / sqrt(2) with ddof = 1
    assert out["ic_mean"] == approx(mean)
    assert out["ic_std"] == approx(std)
    assert out["ic_ir"] == approx(mean / std)


def test_drawdown_is_measured_from_the_starting_equity_of_one() -> None:
    assert max_drawdown(np.array([-0.1, 0.05])) == approx(-0.1)  # 0.9 / max(1, 0.9) - 1
    assert max_drawdown(np.array([0.1, 0.1])) == 0.0  # never under water
    out = series_metrics(np.array([0.1, 0.1]), np.ones(2), np.zeros(2), np.zeros(2), a=252.0, days=2)
    assert out["calmar"] is None  # zero drawdown: undefined
    assert out["sortino"] is None  # no negative return: undefined


def test_undefined_metrics_are_none() -> None:
    zeros = np.zeros(5)
    flat = series_metrics(zeros, zeros, zeros, zeros, a=252.0, days=7)
    assert flat["volatility"] == 0.0
    assert flat["sharpe"] is None and flat["sortino"] is None and flat["hit_rate"] is None
    assert flat["beta"] is None and flat["information_ratio"] is None and flat["tracking_error"] == 0.0
    one = series_metrics(np.array([0.01]), np.ones(1), np.ones(1), np.zeros(1), a=252.0, days=1)
    assert one["volatility"] is None and one["sharpe"] is None and one["n_days"] == 1
    empty = series_metrics(np.array([]), np.array([]), np.array([]), np.array([]), a=None, days=0)
    assert empty["n_days"] == 0
    assert all(value is None for key, value in empty.items() if key != "n_days")
    wiped = series_metrics(np.array([-1.0, 0.5]), np.ones(2), np.zeros(2), np.zeros(2), a=252.0, days=2)
    assert wiped["total_return"] == approx(-1.0) and wiped["cagr"] is None
    # an unknown A (an empty overall series) leaves every annualised metric undefined
    blind = series_metrics(np.array([0.01, -0.01]), np.ones(2), np.zeros(2), np.zeros(2), a=None, days=2)
    assert blind["volatility"] is None and blind["sharpe"] is None and blind["alpha"] is None
    assert blind["total_return"] == approx(1.01 * 0.99 - 1)


def test_spearman_uses_average_ranks_for_ties() -> None:
    # ranks (0.1, 0.2, 0.2, 0.4) = 1, 2.5, 2.5, 4; ranks (1, 3, 2, 4) = 1, 3, 2, 4
    # centred: -1.5, 0, 0, 1.5 and -1.5, 0.5, -0.5, 1.5: 4.5 / sqrt(4.5 * 5) = sqrt(0.9)
    assert spearman(np.array([0.1, 0.2, 0.2, 0.4]), np.array([1.0, 3, 2, 4])) == approx(math.sqrt(0.9))
    assert spearman(np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0])) is None
    assert spearman(np.array([1.0]), np.array([1.0])) is None


def test_prediction_metrics_skip_rows_without_both() -> None:
    pred = pd.Series([0.1, -0.2, NAN, 0.3])
    target = pd.Series([0.05, -0.1, 0.2, NAN])
    out = prediction_metrics(pred, target)
    assert out["directional_accuracy"] == 1.0  # rows 0 and 1 only
    assert out["ic"] == approx(1.0)
    assert prediction_metrics(pd.Series([NAN]), pd.Series([1.0])) == {
        "ic": None,
        "directional_accuracy": None,
    }
