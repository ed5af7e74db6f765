"""Every metric of metrics.json, and the backtest's calendar rules (methodology §4-§5), worked out by hand on a few
rows with a weekend and a missing day in them, against the Polars engine's own functions.

Calendar used throughout (January 2024): Thu 4, Fri 5, Sat 6, Sun 7, Mon 8, Tue 9, Wed 10, Thu 11. AAA is an
equity (no weekend rows) with Wed 10 missing (a holiday); BTC-USD trades every day.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from walkforward.config import Strategy
from walkforward.metrics.levels import compute_metrics
from walkforward.metrics.ranks import cross_sectional_ic, ic_summary, prediction_metrics
from walkforward.metrics.series import Series, periods_per_year, relative_metrics, return_metrics, span
from walkforward.outputs import METRIC_NAMES
from walkforward.portfolio.backtest import Backtest, run_backtest
from walkforward.portfolio.rows import Benchmark, fold_of
from walkforward.portfolio.rows import TestRows as Rows  # (a name pytest does not collect)
from walkforward.tables import predictions_table, returns_table, trades_table

REL = 1e-12
D = np.datetime64


def days(*iso: str) -> np.ndarray:
    return np.array(iso, dtype="datetime64[D]")


# --- one series of four return rows, for every metric --------------------------------------------------------------
# row  decided (start)  earned (end)   r      exposure  traded  benchmark on the end date
#  1   Thu 4            Fri 5          0.10   1.0       1.0     0.01
#  2   Fri 5            Sat 6         -0.05   0.5       0.5     0 (the benchmark, an equity, has no Saturday row)
#  3   Sat 6            Mon 8          0.02   0.5       0.0    -0.02 (Sun 7 missing: no row for it)
#  4   Mon 8            Tue 9          0.00   0.0       0.25    0.01
START = days("2024-01-04", "2024-01-05", "2024-01-06", "2024-01-08")
END = days("2024-01-05", "2024-01-06", "2024-01-08", "2024-01-09")
R = np.array([0.10, -0.05, 0.02, 0.0])
EXPOSURE = np.array([1.0, 0.5, 0.5, 0.0])
TRADED = np.array([1.0, 0.5, 0.0, 0.25])
B = np.array([0.01, 0.0, -0.02, 0.01])
SPAN = 5  # Tue 9 - Thu 4
A = 4 / (5 / 365.25)  # n / (days / 365.25) = 1461 / 5 = 292.2 rows per year


@pytest.fixture
def metrics() -> dict:
    s = Series(R, EXPOSURE, TRADED, B, span(START, END))
    a = periods_per_year(len(R), s.days, "auto")
    return {**return_metrics(s, a), **relative_metrics(R, B, a), "periods_per_year": a}


def test_span_is_last_end_less_first_start_in_calendar_days():
    assert span(START, END) == SPAN == 5


def test_periods_per_year(metrics):
    # auto: 4 rows over 5 calendar days = 4 / (5 / 365.25) = 292.2; a number overrides it
    assert metrics["periods_per_year"] == pytest.approx(292.2, rel=REL)
    assert periods_per_year(4, 5, 252) == 252.0
    assert periods_per_year(0, 0, "auto") is None  # no rows: undefined


def test_n_days(metrics):
    assert metrics["n_days"] == 4  # the number of return rows, not the calendar span


def test_total_return(metrics):
    # 1.10 * 0.95 * 1.02 * 1.00 - 1 = 1.045 * 1.02 - 1 = 0.0659
    assert metrics["total_return"] == pytest.approx(0.0659, rel=REL)


def test_cagr_uses_calendar_time(metrics):
    # (1 + 0.0659) ** (365.25 / 5) - 1: five calendar days, whatever the number of rows
    assert metrics["cagr"] == pytest.approx(1.0659 ** (365.25 / 5) - 1, rel=1e-10)
    assert metrics["cagr"] == pytest.approx(104.9, rel=1e-2)  # about 1.0659 ** 73.05 - 1


def test_volatility(metrics):
    # mean = 0.07 / 4 = 0.0175; deviations 0.0825, -0.0675, 0.0025, -0.0175; squares sum to
    # 0.00680625 + 0.00455625 + 0.00000625 + 0.00030625 = 0.011675; var (ddof 1) = 0.011675 / 3
    assert metrics["volatility"] == pytest.approx(math.sqrt(0.011675 / 3) * math.sqrt(292.2), rel=REL)


def test_sharpe(metrics):
    assert metrics["sharpe"] == pytest.approx(0.0175 / math.sqrt(0.011675 / 3) * math.sqrt(292.2), rel=REL)


def test_sortino(metrics):
    # downside: min(r, 0)^2 = 0, 0.0025, 0, 0, mean 0.000625, root 0.025; 0.0175 / 0.025 = 0.7
    assert metrics["sortino"] == pytest.approx(0.7 * math.sqrt(292.2), rel=REL)


def test_max_drawdown(metrics):
    # equity 1.10, 1.045, 1.0659, 1.0659; peak 1.10; worst 1.045 / 1.10 - 1 = -0.05
    assert metrics["max_drawdown"] == pytest.approx(-0.05, rel=REL)


def test_calmar(metrics):
    assert metrics["calmar"] == pytest.approx((1.0659 ** (365.25 / 5) - 1) / 0.05, rel=1e-10)


def test_hit_rate(metrics):
    # rows with exposure: 1, 2, 3; of their returns 0.10, -0.05, 0.02 two are > 0 (row 4 has no exposure)
    assert metrics["hit_rate"] == pytest.approx(2 / 3, rel=REL)


def test_turnover(metrics):
    assert metrics["turnover"] == pytest.approx((1.0 + 0.5 + 0.0 + 0.25) / 4, rel=REL)  # 0.4375


def test_exposure(metrics):
    assert metrics["exposure"] == pytest.approx((1.0 + 0.5 + 0.5 + 0.0) / 4, rel=REL)  # 0.5


def test_beta(metrics):
    # mean(b) = 0; r - mean(r) = 0.0825, -0.0675, 0.0025, -0.0175; cov = (0.000825 + 0 - 0.00005 - 0.000175) / 3
    # = 0.0006 / 3; var(b) = (0.0001 + 0 + 0.0004 + 0.0001) / 3 = 0.0006 / 3; beta = 1
    assert metrics["beta"] == pytest.approx(1.0, rel=REL)


def test_alpha(metrics):
    # (mean(r) - beta * mean(b)) * A = (0.0175 - 1 * 0) * 292.2 = 5.1135
    assert metrics["alpha"] == pytest.approx(5.1135, rel=REL)


def test_tracking_error(metrics):
    # r - b = 0.09, -0.05, 0.04, -0.01, mean 0.0175; deviations 0.0725, -0.0675, 0.0225, -0.0275;
    # squares 0.00525625 + 0.00455625 + 0.00050625 + 0.00075625 = 0.011075; var (ddof 1) = 0.011075 / 3
    assert metrics["tracking_error"] == pytest.approx(math.sqrt(0.011075 / 3) * math.sqrt(292.2), rel=REL)


def test_information_ratio(metrics):
    # mean(r - b) * A / tracking error = 0.0175 * 292.2 / (sqrt(0.011075 / 3) * sqrt(292.2))
    expected = 0.0175 * 292.2 / (math.sqrt(0.011075 / 3) * math.sqrt(292.2))
    assert metrics["information_ratio"] == pytest.approx(expected, rel=REL)


def test_a_fixed_annualization_scales_only_the_annualised_metrics():
    s = Series(R, EXPOSURE, TRADED, B, SPAN)
    fixed = {**return_metrics(s, 252.0), **relative_metrics(R, B, 252.0)}
    assert fixed["volatility"] == pytest.approx(math.sqrt(0.011675 / 3) * math.sqrt(252), rel=REL)
    assert fixed["alpha"] == pytest.approx(0.0175 * 252, rel=REL)
    assert fixed["cagr"] == pytest.approx(1.0659 ** (365.25 / 5) - 1, rel=1e-10)  # calendar time regardless


def test_benchmark_return_is_zero_on_dates_it_has_no_row():
    # the benchmark earns Fri 5, Mon 8 (Fri -> Mon), Tue 9; the series' Saturday and Sunday get 0
    bench = Benchmark(days("2024-01-05", "2024-01-08", "2024-01-09"), np.array([0.01, -0.02, 0.01]))
    on = bench.on(days("2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08", "2024-01-09", "2024-01-10"))
    np.testing.assert_array_equal(on, [0.01, 0.0, 0.0, -0.02, 0.01, 0.0])


def test_undefined_metrics_are_null():
    one = Series(np.array([0.01]), np.ones(1), np.ones(1), np.zeros(1), 1)
    out = {**return_metrics(one, 365.25), **relative_metrics(one.r, one.bench, 365.25)}
    assert out["volatility"] is out["sharpe"] is out["beta"] is out["tracking_error"] is None  # ddof 1 of one row
    flat_bench = relative_metrics(R, np.zeros(4), A)
    assert flat_bench["beta"] is flat_bench["alpha"] is None  # var(b) = 0
    assert return_metrics(Series(R, EXPOSURE, TRADED, B, SPAN), None)["sharpe"] is None  # A undefined


# --- prediction metrics ----------------------------------------------------------------------------------------------


def test_ic_pooled_with_average_ranks_for_ties():
    # prediction ranks 4, 1, 2.5, 2.5 (0.2 tied), target ranks 4, 1, 2, 3; centred on 2.5: (1.5, -1.5, 0, 0) and
    # (1.5, -1.5, -0.5, 0.5); sum of products 4.5; sums of squares 4.5 and 5; ic = 4.5 / sqrt(22.5) = sqrt(0.9).
    # The fifth row has no target and is left out.
    p = np.array([0.3, 0.1, 0.2, 0.2, 0.5])
    t = np.array([0.05, -0.01, 0.02, 0.03, np.nan])
    assert prediction_metrics(p, t)["ic"] == pytest.approx(math.sqrt(0.9), rel=REL)


def test_directional_accuracy():
    # signs of the four rows with both: prediction +, +, +, +; target +, -, +, + -> 3 of 4 agree
    p = np.array([0.3, 0.1, 0.2, 0.2, 0.5])
    t = np.array([0.05, -0.01, 0.02, 0.03, np.nan])
    assert prediction_metrics(p, t)["directional_accuracy"] == 0.75


# the cross-section: (date, prediction, target) of four assets
#   Fri 5: 1, 2, 3 vs 0.1, 0.3, 0.2 -> ranks (1, 2, 3) and (1, 3, 2), centred (-1, 0, 1) and (-1, 1, 0): 1 / 2 = 0.5
#   Sat 6: two crypto assets only: fewer than 3, left out
#   Mon 8: 1, 2, 3 vs 0.3, 0.2, 0.1 -> -1
#   Tue 9: four assets, predictions all tied: undefined, left out
#   (Wed 10: missing, a holiday for the equities; no row)
#   Thu 11: 1, 2, 3, 4 vs 0.1, NaN, 0.2, 0.4 -> three with both: (1, 3, 4) vs (0.1, 0.2, 0.4) -> 1
CS_DATE = days(*["2024-01-05"] * 3, *["2024-01-06"] * 2, *["2024-01-08"] * 3, *["2024-01-09"] * 4, *["2024-01-11"] * 4)
CS_PRED = np.array([1, 2, 3, 1, 2, 1, 2, 3, 0.5, 0.5, 0.5, 0.5, 1, 2, 3, 4], dtype=float)
CS_TARGET = np.array([0.1, 0.3, 0.2, 0.1, 0.2, 0.3, 0.2, 0.1, 0.1, 0.2, 0.3, 0.4, 0.1, np.nan, 0.2, 0.4])
IC_MEAN = (0.5 - 1 + 1) / 3
IC_STD = math.sqrt(((0.5 - IC_MEAN) ** 2 + (-1 - IC_MEAN) ** 2 + (1 - IC_MEAN) ** 2) / 2)  # ddof 1: 2.1667 / 2


def test_cross_sectional_ic_per_date():
    dates, ic = cross_sectional_ic(CS_DATE, CS_PRED, CS_TARGET)
    np.testing.assert_array_equal(dates, days("2024-01-05", "2024-01-08", "2024-01-11"))
    np.testing.assert_allclose(ic, [0.5, -1.0, 1.0], rtol=REL)


def test_ic_mean():
    assert ic_summary(cross_sectional_ic(CS_DATE, CS_PRED, CS_TARGET)[1])["ic_mean"] == pytest.approx(1 / 6, rel=REL)


def test_ic_std():
    # deviations from 1/6: 1/3, -7/6, 5/6; squares 1/9 + 49/36 + 25/36 = 78/36; / 2 = 13/12
    out = ic_summary(cross_sectional_ic(CS_DATE, CS_PRED, CS_TARGET)[1])
    assert out["ic_std"] == pytest.approx(math.sqrt(13 / 12), rel=REL) == pytest.approx(IC_STD, rel=REL)


def test_ic_ir():
    out = ic_summary(cross_sectional_ic(CS_DATE, CS_PRED, CS_TARGET)[1])
    assert out["ic_ir"] == pytest.approx((1 / 6) / math.sqrt(13 / 12), rel=REL)


def test_cross_sectional_ic_of_one_date_has_no_std():
    out = ic_summary(cross_sectional_ic(CS_DATE[:3], CS_PRED[:3], CS_TARGET[:3])[1])
    assert (out["ic_mean"], out["ic_std"], out["ic_ir"]) == (pytest.approx(0.5, rel=REL), None, None)


@given(st.integers(1990, 2090), st.sampled_from(["daily", "weekdays"]), st.floats(5e-4, 5e-3), st.booleans())
def test_constant_daily_return_over_a_calendar_year_compounds_to_the_cagr(year, calendar, size, down):
    """A constant return r on every row of one calendar year: CAGR is r compounded over the rows a year holds,
    (1 + r) ** A - 1 with A = n * 365.25 / days; every day (crypto), A = 365.25 whatever the year's length."""
    r = -size if down else size
    first, last = np.datetime64(f"{year}-01-01"), np.datetime64(f"{year + 1}-01-01")
    sessions = np.arange(first, last + 10, dtype="datetime64[D]")
    if calendar == "weekdays":
        sessions = sessions[np.is_busday(sessions)]
    decided = sessions[sessions < last]  # rows decided in the year, each earned at the next session
    earned = sessions[1 : len(decided) + 1]
    n, span_days = len(decided), int((earned[-1] - decided[0]).astype(np.int64))
    s = Series(np.full(n, r), np.ones(n), np.zeros(n), np.zeros(n), span(decided, earned))
    assert s.days == span_days
    out = return_metrics(s, periods_per_year(n, s.days, "auto"))
    if calendar == "daily":  # Jan 1 -> Jan 1: 365 or 366 rows over as many days
        assert n == span_days == (366 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 365)
        assert out["cagr"] == pytest.approx((1 + r) ** 365.25 - 1, rel=REL)
    assert out["cagr"] == pytest.approx((1 + r) ** (n * 365.25 / span_days) - 1, rel=REL)


# --- the backtest: returns dated when earned, carry, lag, weights, flat between folds -----------------------------
# AAA closes Thu 4..Thu 11 (no weekend, Wed 10 a holiday): returns +1%, -1% (Fri -> Mon), +2%, +1% (Tue -> Thu)
# BTC-USD closes every day: returns +10%, -10%, 0, +10%, -10%, +2%, +1%
PRICES = {
    "AAA": {"2024-01-04": 100.0, "2024-01-05": 101.0, "2024-01-08": 99.99, "2024-01-09": 101.9898,
            "2024-01-11": 103.009698},
    "BTC-USD": {"2024-01-04": 100.0, "2024-01-05": 110.0, "2024-01-06": 99.0, "2024-01-07": 99.0,
                "2024-01-08": 108.9, "2024-01-09": 98.01, "2024-01-10": 99.9702, "2024-01-11": 100.969902},
}  # fmt: skip
FIRST, LAST = "2024-01-04", "2024-01-10"  # the out-of-sample period; Thu 11 only ends the last holding periods
ONE_FOLD = days(FIRST)
TWO_FOLDS = days(FIRST, "2024-01-08")  # fold 1 starts on Monday 8


def rows_of(predictions: dict[str, dict[str, float]], fold_starts: np.ndarray, prices=PRICES) -> Rows:
    """Test rows (dates in [FIRST, LAST]) of the assets with predictions; a date without one has none (NaN)."""
    symbols = tuple(sorted(prices))
    cols: dict[str, list] = {k: [] for k in ("symbol", "date", "prediction", "next_ret", "next_date")}
    for symbol in predictions:
        dates = sorted(prices[symbol])
        for i, d in enumerate(dates):
            if FIRST <= d <= LAST:
                nxt = dates[i + 1] if i + 1 < len(dates) else None
                cols["symbol"].append(symbols.index(symbol))
                cols["date"].append(d)
                cols["prediction"].append(predictions[symbol].get(d, np.nan))
                cols["next_ret"].append(prices[symbol][nxt] / prices[symbol][d] - 1 if nxt else np.nan)
                cols["next_date"].append(nxt or "NaT")
    date = np.array(cols["date"], dtype="datetime64[D]")
    return Rows(
        fold=fold_of(date, fold_starts),
        symbol=np.array(cols["symbol"], dtype=np.int32),
        date=date,
        prediction=np.array(cols["prediction"], dtype=float),
        target=np.full(len(date), np.nan),
        next_ret=np.array(cols["next_ret"], dtype=float),
        next_date=np.array(cols["next_date"], dtype="datetime64[D]"),
        symbols=symbols,
    )


def always(symbol: str, value: float = 1.0, prices=PRICES) -> dict[str, float]:
    return {d: value for d in prices[symbol] if FIRST <= d <= LAST}


def backtest(predictions, fold_starts=ONE_FOLD, n_assets=None, prices=PRICES, **strategy) -> Backtest:
    rows = rows_of(predictions, fold_starts, prices)
    # AAA is the benchmark: its test rows' next returns, dated when earned
    bench = rows_of({"AAA": always("AAA", prices=prices)}, fold_starts, prices)
    benchmark = Benchmark(bench.next_date[~np.isnat(bench.next_date)], bench.next_ret[~np.isnat(bench.next_date)])
    n = n_assets or len(predictions)
    config = Strategy(**{"cost_bps": 0.0, **strategy})  # no costs unless given
    return run_backtest(rows, config, n, fold_starts=fold_starts, benchmark=benchmark)


def portfolio(bt: Backtest) -> dict[str, float]:
    return dict(zip(bt.portfolio["date"].astype(str), bt.portfolio["return"], strict=True))


def trades(bt: Backtest) -> list[tuple]:
    t = trades_table(bt).to_pylist()
    return [(r["fold"], r["symbol"], str(r["date"]), r["position_before"], r["position_after"], r["weight_traded"])
            for r in t]  # fmt: skip


def series_returns(bt: Backtest, series: str) -> dict[str, float]:
    rows = [r for r in returns_table(bt).to_pylist() if r["series"] == series]
    return {str(r["date"]): r["return"] for r in rows}


def folds_info(n: int) -> list[dict]:
    return [{"fold": i} for i in range(n)]


def test_returns_are_dated_when_earned_friday_to_monday_and_crypto_weekends():
    # Long both all along, w = 1/2 each (both available every day: AAA's Friday row keeps it available over the
    # weekend), 10 bps. Each return row is dated at the close it is earned at:
    #   Fri 5: 0.5 * 0.01 + 0.5 * 0.10 - 0.001 * (0.5 + 0.5) (both entries at Thu's close) = 0.054
    #   Sat 6: only BTC earns: 0.5 * -0.10 = -0.05;  Sun 7: 0.5 * 0 = 0
    #   Mon 8: AAA's Fri -> Mon return and BTC's Sun -> Mon: 0.5 * -0.01 + 0.5 * 0.10 = 0.045
    #   Tue 9: 0.5 * 0.02 + 0.5 * -0.10 = -0.04;  Wed 10 (AAA's holiday): 0.5 * 0.02 = 0.01
    #   Thu 11 (after end_date): AAA's Tue -> Thu and BTC's Wed -> Thu, less both exits: 0.5 * 0.01 * 2 - 0.001 = 0.009
    bt = backtest({"AAA": always("AAA"), "BTC-USD": always("BTC-USD")}, cost_bps=10.0)
    expected = {"2024-01-05": 0.054, "2024-01-06": -0.05, "2024-01-07": 0.0, "2024-01-08": 0.045,
                "2024-01-09": -0.04, "2024-01-10": 0.01, "2024-01-11": 0.009}  # fmt: skip
    assert portfolio(bt) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # gross exposure per row: 1, then 0.5 on the days only BTC earns
    np.testing.assert_allclose(bt.portfolio["exposure"], [1, 0.5, 0.5, 1, 1, 0.5, 1], rtol=REL)
    # the asset's own series, unweighted: +1% less 10 bps entry, -1% (dated Monday), +2%, +1% less the exit
    assert series_returns(bt, "AAA") == pytest.approx(
        {"2024-01-05": 0.009, "2024-01-08": -0.01, "2024-01-09": 0.02, "2024-01-11": 0.009}, rel=1e-12
    )
    assert trades(bt) == [
        (0, "AAA", "2024-01-04", 0, 1, 0.5),
        (0, "BTC-USD", "2024-01-04", 0, 1, 0.5),
        (0, "AAA", "2024-01-11", 1, 0, 0.5),  # the exit, at close next(l)
        (0, "BTC-USD", "2024-01-11", 1, 0, 0.5),
    ]
    m = compute_metrics(bt, folds_info(1), ("AAA", "BTC-USD"), "auto")
    overall, aaa = m["overall"], m["per_asset"]["AAA"]
    assert set(overall) == set(METRIC_NAMES)
    # 7 rows over Thu 4 -> Thu 11 = 7 days: A = 7 / (7 / 365.25) = 365.25; AAA: 4 rows over 7 days = 208.71
    assert overall["periods_per_year"] == pytest.approx(365.25, rel=REL)
    assert aaa["periods_per_year"] == pytest.approx(4 * 365.25 / 7, rel=REL)
    assert m["per_fold"][0]["periods_per_year"] == overall["periods_per_year"]
    assert (overall["n_days"], overall["n_trades"], aaa["n_days"], aaa["n_trades"]) == (7, 4, 4, 2)
    assert overall["turnover"] == pytest.approx((1.0 + 1.0) / 7, rel=REL)  # entries (Fri 5) and exits (Thu 11)
    assert overall["exposure"] == pytest.approx(5.5 / 7, rel=REL)
    growth = 1.054 * 0.95 * 1.0 * 1.045 * 0.96 * 1.01 * 1.009
    assert overall["total_return"] == pytest.approx(growth - 1, rel=1e-12)
    assert overall["cagr"] == pytest.approx(growth ** (365.25 / 7) - 1, rel=1e-10)
    # AAA against itself as the benchmark: b = 0.01, -0.01, 0.02, 0.01 (mean 0.0075), r = b less 10 bps on the
    # first and last rows: 0.009, -0.01, 0.02, 0.009 (mean 0.007). 3 cov = 0.0025 * 0.002 + 0.0175 * 0.017
    # + 0.0125 * 0.013 + 0.0025 * 0.002 = 0.00047; 3 var(b) = 0.0025^2 + 0.0175^2 + 0.0125^2 + 0.0025^2 = 0.000475
    assert aaa["beta"] == pytest.approx(0.00047 / 0.000475, rel=1e-9)
    assert aaa["ic_mean"] is None and aaa["ic_std"] is None and aaa["ic_ir"] is None  # no cross-section per asset


def test_positions_carry_across_a_fold_boundary_without_a_round_trip():
    # AAA long all along, folds [Thu 4, Mon 8) and [Mon 8, ...), 10 bps, N = 1: one entry (fold 0) and one exit
    # (fold 1: the segment's last row, Tue 9, is in fold 1); returns: Fri +1% - 0.001, Mon -1%, Tue +2%, Thu +1% -
    # 0.001 (Thu 11 is after end_date: the last fold)
    bt = backtest({"AAA": always("AAA")}, TWO_FOLDS, cost_bps=10.0)
    assert trades(bt) == [(0, "AAA", "2024-01-04", 0, 1, 1.0), (1, "AAA", "2024-01-11", 1, 0, 1.0)]
    assert portfolio(bt) == pytest.approx(
        {"2024-01-05": 0.009, "2024-01-08": -0.01, "2024-01-09": 0.02, "2024-01-11": 0.009}, rel=1e-12
    )
    np.testing.assert_array_equal(bt.portfolio["fold"], [0, 1, 1, 1])  # Mon 8's return is fold 1's
    m = compute_metrics(bt, folds_info(2), ("AAA",), "auto")
    assert [f["n_trades"] for f in m["per_fold"]] == [1, 1]
    assert [f["n_days"] for f in m["per_fold"]] == [1, 3]
    assert all(f["periods_per_year"] == m["overall"]["periods_per_year"] for f in m["per_fold"])
    # overall: 4 rows, Thu 4 -> Thu 11: 4 / (7 / 365.25); fold 1: Fri 5 (Mon's decision) -> Thu 11 = 6 days
    assert m["overall"]["periods_per_year"] == pytest.approx(4 * 365.25 / 7, rel=REL)
    assert m["per_fold"][1]["cagr"] == pytest.approx((0.99 * 1.02 * 1.009) ** (365.25 / 6) - 1, rel=1e-10)


def test_flat_between_folds_ends_every_fold_flat_and_starts_the_next_flat():
    # the same book with flat_between_folds: fold 0's segment ends at Fri 5, closed at Mon 8's close (fold 0),
    # and fold 1 enters again at Mon 8's close: a round trip at the boundary, each leg charged 10 bps in the return
    # of the holding period it opens: Mon 8 (Fri's row) -1% - 0.001, Tue 9 (Mon's row) +2% - 0.001
    bt = backtest({"AAA": always("AAA")}, TWO_FOLDS, cost_bps=10.0, flat_between_folds=True)
    assert trades(bt) == [
        (0, "AAA", "2024-01-04", 0, 1, 1.0),
        (0, "AAA", "2024-01-08", 1, 0, 1.0),
        (1, "AAA", "2024-01-08", 0, 1, 1.0),
        (1, "AAA", "2024-01-11", 1, 0, 1.0),
    ]
    assert portfolio(bt) == pytest.approx(
        {"2024-01-05": 0.009, "2024-01-08": -0.011, "2024-01-09": 0.019, "2024-01-11": 0.009}, rel=1e-12
    )
    m = compute_metrics(bt, folds_info(2), ("AAA",), "auto")
    assert [f["n_trades"] for f in m["per_fold"]] == [2, 2]
    assert m["per_asset"]["AAA"]["turnover"] == pytest.approx((1 + 1 + 1 + 1) / 4, rel=REL)


def test_lag_one_trades_each_signal_at_the_next_close():
    # signals Thu +1, Fri -1, Mon -1, Tue +1; lag 1: positions 0, +1, -1, -1 (p_t = s_{t-1}); no costs.
    # Returns: Fri 0 (flat), Mon +1 * -1% = -0.01, Tue -1 * +2% = -0.02, Thu -1 * +1% = -0.01
    signal = {"2024-01-04": 0.3, "2024-01-05": -0.2, "2024-01-08": -0.1, "2024-01-09": 0.4}
    bt = backtest({"AAA": signal}, lag=1)
    assert predictions_table(bt).column("position").to_pylist() == [0, 1, -1, -1]
    assert trades(bt) == [
        (0, "AAA", "2024-01-05", 0, 1, 1.0),
        (0, "AAA", "2024-01-08", 1, -1, 2.0),
        (0, "AAA", "2024-01-11", -1, 0, 1.0),
    ]
    assert portfolio(bt) == pytest.approx(
        {"2024-01-05": 0.0, "2024-01-08": -0.01, "2024-01-09": -0.02, "2024-01-11": -0.01}, rel=1e-12, abs=1e-15
    )
    # the weights (N = 1: w = 1) and the trades' weights before and after
    assert predictions_table(bt).column("weight").to_pylist() == [0.0, 1.0, -1.0, -1.0]
    table = trades_table(bt).to_pylist()
    assert [(r["weight_before"], r["weight_after"]) for r in table] == [(0.0, 1.0), (1.0, -1.0), (-1.0, 0.0)]
    # turnover per leg over the 4 return rows (Fri, Mon, Tue, Thu): the long leg buys 1 at Fri's close and sells it
    # at Mon's, where the short leg sells 1 short; the exit buys that back at Thu's: long (0 + 1 + 1 + 0) / 4,
    # short (0 + 0 + 1 + 1) / 4, together the turnover (0 + 1 + 2 + 1) / 4
    m = compute_metrics(bt, folds_info(1), ("AAA",), "auto")
    for level in (m["overall"], m["per_fold"][0], m["per_asset"]["AAA"]):
        assert (level["turnover_long"], level["turnover_short"], level["turnover"]) == (0.5, 0.5, 1.0)


def test_lag_does_not_cross_a_fold_start_when_flat_between_folds():
    # signals +1, -1, +1, +1 over Thu 4, Fri 5 | Mon 8, Tue 9; lag 1 carried: 0, +1, -1, +1;
    # flat between folds: each fold's first row is flat: 0, +1 | 0, +1
    signal = {"2024-01-04": 0.3, "2024-01-05": -0.2, "2024-01-08": 0.1, "2024-01-09": 0.4}
    carried = backtest({"AAA": signal}, TWO_FOLDS, lag=1)
    flat = backtest({"AAA": signal}, TWO_FOLDS, lag=1, flat_between_folds=True)
    np.testing.assert_array_equal(carried.position, [0, 1, -1, 1])
    np.testing.assert_array_equal(flat.position, [0, 1, 0, 1])


def test_available_weighting_after_a_late_listing_leaves_no_cash_drag():
    # BBB lists on Mon 8 with no prediction that day (feature warm-up) and one on Tue 9. N (available assets):
    # Thu 1, Fri 1, Mon 1 (BBB's row has no prediction), Tue 2. AAA's weight 1, 1, 1, 1/2: a weight-only trade
    # on Tue 9 (1 -> 1, 0.5 traded); BBB enters at 1/2 on Tue 9. "equal" holds 1/2 of AAA all along (cash drag).
    prices = {**PRICES, "BBB": {"2024-01-08": 50.0, "2024-01-09": 50.0, "2024-01-11": 55.0}}
    predictions = {"AAA": always("AAA", prices=prices), "BBB": {"2024-01-09": 0.7}}
    bt = backtest(predictions, prices=prices)
    assert trades(bt) == [
        (0, "AAA", "2024-01-04", 0, 1, 1.0),
        (0, "AAA", "2024-01-09", 1, 1, 0.5),  # weight only
        (0, "BBB", "2024-01-09", 0, 1, 0.5),
        (0, "AAA", "2024-01-11", 1, 0, 0.5),
        (0, "BBB", "2024-01-11", 1, 0, 0.5),
    ]
    np.testing.assert_allclose(bt.portfolio["exposure"], [1.0, 1.0, 1.0, 1.0], rtol=REL)
    # Thu 11: 0.5 * AAA's +1% + 0.5 * BBB's +10% = 0.055
    assert portfolio(bt)["2024-01-11"] == pytest.approx(0.055, rel=1e-12)
    equal = backtest(predictions, prices=prices, weighting="equal")
    np.testing.assert_allclose(equal.portfolio["exposure"], [0.5, 0.5, 0.5, 1.0], rtol=REL)
    assert [t[5] for t in trades(equal)] == [0.5, 0.5, 0.5, 0.5]  # no weight-only trade


def test_the_weight_travels_with_the_signal_under_a_lag():
    # BBB lists on Mon 8 with predictions on Mon 8 and Tue 9: N = 1, 1, 2, 2 (Thu 4 .. Tue 9). Lag 0: AAA's q =
    # 1, 1, 1/2, 1/2 (a weight-only trade on Mon 8). Lag 1: p_t = s_{t-1} at weight w_{t-1}, so AAA's q = 0, 1, 1,
    # 1/2 (Tue 9 holds Mon 8's signal at Mon 8's weight 1/2: the weight-only trade moves to Tue 9), and BBB's q = 0,
    # 1/2 (Tue 9: Mon 8's signal at Mon 8's weight).
    prices = {**PRICES, "BBB": {"2024-01-08": 50.0, "2024-01-09": 50.0, "2024-01-11": 55.0}}
    predictions = {"AAA": always("AAA", prices=prices), "BBB": {"2024-01-08": 0.7, "2024-01-09": 0.7}}
    assert [t[:3] + t[5:] for t in trades(backtest(predictions, prices=prices)) if t[1] == "AAA"] == [
        (0, "AAA", "2024-01-04", 1.0),
        (0, "AAA", "2024-01-08", 0.5),
        (0, "AAA", "2024-01-11", 0.5),
    ]
    assert trades(backtest(predictions, prices=prices, lag=1)) == [
        (0, "AAA", "2024-01-05", 0, 1, 1.0),
        (0, "AAA", "2024-01-09", 1, 1, 0.5),
        (0, "BBB", "2024-01-09", 0, 1, 0.5),
        (0, "AAA", "2024-01-11", 1, 0, 0.5),
        (0, "BBB", "2024-01-11", 1, 0, 0.5),
    ]


def test_a_flat_position_from_missing_next_return_closes_at_the_last_row():
    # BBB's data ends on Tue 9: its Tue row has no next return, so p = 0 there (a trade at Tue's close) and the
    # row earns nothing, having no date to be earned at: no return row for it.
    prices = {**PRICES, "BBB": {"2024-01-08": 50.0, "2024-01-09": 55.0}}
    bt = backtest({"BBB": {"2024-01-08": 0.1, "2024-01-09": 0.1}}, prices=prices)
    assert trades(bt) == [(0, "BBB", "2024-01-08", 0, 1, 1.0), (0, "BBB", "2024-01-09", 1, 0, 1.0)]
    assert series_returns(bt, "BBB") == pytest.approx({"2024-01-09": 0.1}, rel=1e-12)


@given(st.lists(st.tuples(st.integers(0, 5), st.sampled_from([np.nan, -1.0, 0.0, 0.5, 1.0, 2.0]),
                          st.sampled_from([np.nan, -0.1, 0.0, 0.1, 0.3])), max_size=40))  # fmt: skip
def test_cross_sectional_ic_is_scipys_spearman_on_each_date(rows):
    """(date, prediction, target) rows with ties and missing values: each date's IC is scipy's Spearman over its
    rows with both, on the dates with at least 3 such rows where it is defined."""
    from scipy.stats import spearmanr

    date = np.datetime64("2024-01-05") + np.array([r[0] for r in rows], dtype="timedelta64[D]")
    p, t = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    expected = {}
    for d in np.unique(date):
        both = (date == d) & ~np.isnan(p) & ~np.isnan(t)
        if both.sum() >= 3 and len(np.unique(p[both])) > 1 and len(np.unique(t[both])) > 1:
            expected[d] = spearmanr(p[both], t[both]).statistic
    dates, ic = cross_sectional_ic(date, p, t)
    assert list(dates) == list(expected)
    np.testing.assert_allclose(ic, list(expected.values()), rtol=1e-12, atol=1e-15)
