"""The legacy book (methodology §4) against examples worked out by hand: an equity and a crypto asset over a weekend,
two folds, returns dated when earned, positions carried across folds, a lag, available weights and a late listing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from walkforward.config import Config
from walkforward.legacy.backtest import available_count, book, signals, trades
from walkforward.legacy.returns import benchmark_returns, fold_of, series, with_equity

NAN = float("nan")
approx = lambda value: pytest.approx(value, rel=1e-12, abs=1e-15)  # noqa: E731
ts = pd.Timestamp
THU, FRI, SAT, SUN, MON, TUE, WED = pd.date_range("2024-01-04", periods=7)  # Thursday Jan 4 .. Wednesday Jan 10
TEST_LO = [THU, MON]  # fold 0 tests Thu..Sun, fold 1 Mon..Tue (the benchmark session that starts it)


def config(**strategy) -> Config:
    return Config.from_dict({"assets": ["CC", "EQ"], "benchmark": "EQ", "strategy": {"cost_bps": 10.0, **strategy}})


def rows(dates, folds, prediction, next_ret, next_date) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "fold": folds,
            "date": pd.DatetimeIndex(dates),
            "prediction": prediction,
            "target": NAN,
            "next_ret": next_ret,
            "next_date": pd.DatetimeIndex(next_date),
        }
    )


def weekend_tests() -> dict[str, pd.DataFrame]:
    return {
        # an equity: Thu, Fri (fold 0), Mon, Tue (fold 1); the data runs on to Wednesday
        "EQ": rows([THU, FRI, MON, TUE], [0, 0, 1, 1], [0.5, 0.5, -0.5, -0.5], [0.01, 0.02, -0.01, 0.03],
                   [FRI, MON, TUE, WED]),
        # a crypto asset every day; no prediction on Friday; its data ends on Tuesday (no next return)
        "CC": rows([THU, FRI, SAT, SUN, MON, TUE], [0, 0, 0, 0, 1, 1], [-0.2, NAN, 0.3, 0.3, 0.3, 0.1],
                   [0.05, 0.01, -0.02, 0.04, 0.0, NAN], [FRI, SAT, SUN, MON, TUE, pd.NaT]),
    }  # fmt: skip


def by_symbol(frame: pd.DataFrame, symbol: str, column: str) -> list:
    return list(frame.loc[frame["symbol"] == symbol, column])


def test_signals_follow_thresholds_and_missing_predictions() -> None:
    pred = pd.Series([0.02, -0.01, 0.0, 0.03, NAN])
    assert list(signals(pred, config().strategy)) == [1, -1, 0, 1, 0]
    strict = config(long_threshold=0.025, short_threshold=0.005, allow_short=False).strategy
    assert list(signals(pred, strict)) == [0, 0, 0, 1, 0]


def test_available_assets_count_the_friday_row_over_the_weekend() -> None:
    # Thu: both; Fri: CC has no prediction; Sat, Sun: EQ's latest row is Friday's (available), CC's own;
    # Mon: both; Tue: CC has no next return
    counts = available_count(weekend_tests())
    assert list(counts.index) == [THU, FRI, SAT, SUN, MON, TUE]
    assert list(counts) == [2, 1, 2, 2, 2, 1]


def test_book_carries_positions_across_folds_with_available_weights() -> None:
    out = book(weekend_tests(), config())
    # EQ: signals +1 +1 -1 -1, weights 1/2, 1, 1/2, 1 -> q 0.5, 1.0, -0.5, -1.0
    assert by_symbol(out, "EQ", "position") == [1, 1, -1, -1]
    assert by_symbol(out, "EQ", "weighted") == [0.5, 1.0, -0.5, -1.0]
    # CC: signals -1 0 +1 +1 +1 +1, but Tuesday has no next return: p = 0 there
    assert by_symbol(out, "CC", "position") == [-1, 0, 1, 1, 1, 0]
    assert by_symbol(out, "CC", "weighted") == [-0.5, 0.0, 0.5, 0.5, 0.5, 0.0]

    t = trades(out, config())
    # weight-only changes (EQ Fri 0.5 -> 1.0, Tue -0.5 -> -1.0) are trades with before == after; the fold
    # boundary trades nothing by itself; EQ's book is closed once, after its last test row, at Wednesday's close
    # (fold 1); CC closes at Tuesday's close because it has no next return
    expected = [
        # fold, symbol, date, before, after, weight
        (0, "CC", THU, 0, -1, 0.5),
        (0, "EQ", THU, 0, 1, 0.5),
        (0, "CC", FRI, -1, 0, 0.5),
        (0, "EQ", FRI, 1, 1, 0.5),
        (0, "CC", SAT, 0, 1, 0.5),
        (1, "EQ", MON, 1, -1, 1.5),
        (1, "CC", TUE, 1, 0, 0.5),
        (1, "EQ", TUE, -1, -1, 0.5),
        (1, "EQ", WED, -1, 0, 1.0),
    ]
    got = list(t[["fold", "symbol", "date", "position_before", "position_after", "weight_traded"]].itertuples(False))
    assert [tuple(r) for r in got] == expected
    assert list(t["cost"]) == [approx(0.001 * w) for *_, w in expected]
    # the weighted positions either side of each trade (q above)
    weights = [(0.0, -0.5), (0.0, 0.5), (-0.5, 0.0), (0.5, 1.0), (0.0, 0.5), (1.0, -0.5), (0.5, 0.0), (-0.5, -1.0),
               (-1.0, 0.0)]  # fmt: skip
    assert list(zip(t["weight_before"], t["weight_after"], strict=True)) == weights


def test_returns_are_dated_when_earned() -> None:
    out = series(book(weekend_tests(), config()), TEST_LO, config())
    eq = out[out["series"] == "EQ"]
    # c = 0.001. EQ unweighted, traded |p - p_prev| = 1, 0, 2, 0 and the exit 1 after Tuesday:
    # Thu->Fri 0.01 - 0.001; Fri->Mon 0.02; Mon->Tue 0.01 - 0.002; Tue->Wed -0.03 - 0.001
    assert list(eq["date"]) == [FRI, MON, TUE, WED]
    assert list(eq["return"]) == [approx(0.009), approx(0.02), approx(0.008), approx(-0.031)]
    assert list(eq["fold"]) == [0, 1, 1, 1]  # by the date earned; Wednesday (after end) in the last fold
    cc = out[out["series"] == "CC"]
    # CC: Thu->Fri -0.05 - 0.001; Fri->Sat flat, closing costs 0.001; Sat->Sun -0.02 - 0.001; Sun->Mon 0.04;
    # Mon->Tue 0. Tuesday has no next row: no return row (its closing trade earns nothing on any date)
    assert list(cc["date"]) == [FRI, SAT, SUN, MON, TUE]
    assert list(cc["return"]) == [approx(r) for r in (-0.051, -0.001, -0.021, 0.04, 0.0)]
    assert list(cc["exposure"]) == [1.0, 0.0, 1.0, 1.0, 1.0]

    p = out[out["series"] == "portfolio"]
    # weighted rows by date earned (q * next_ret - c * (traded + exit)):
    #   Fri: EQ 0.5 * 0.01 - 0.0005, CC -0.5 * 0.05 - 0.0005  = -0.021
    #   Sat: CC 0 - 0.0005 (EQ earns nothing on a Saturday)   = -0.0005
    #   Sun: CC 0.5 * -0.02 - 0.0005                           = -0.0105
    #   Mon: EQ (Fri->Mon) 1.0 * 0.02 - 0.0005, CC (Sun->Mon) 0.5 * 0.04 = 0.0395
    #   Tue: EQ 0.5 * 0.01 - 0.0015, CC 0.5 * 0.0             = 0.0035
    #   Wed: EQ -1.0 * 0.03 - 0.001 * (0.5 + 1.0)              = -0.0315
    assert list(p["date"]) == [FRI, SAT, SUN, MON, TUE, WED]
    assert list(p["return"]) == [approx(r) for r in (-0.021, -0.0005, -0.0105, 0.0395, 0.0035, -0.0315)]
    assert list(p["exposure"]) == [1.0, 0.0, 0.5, 1.5, 1.0, 1.0]
    assert list(p["traded"]) == [1.0, 0.5, 0.5, 0.5, 1.5, 1.5]
    assert list(p["start"]) == [THU, FRI, SAT, FRI, MON, TUE]  # Monday's row holds EQ's weekend from Friday
    assert list(p["fold"]) == [0, 0, 0, 1, 1, 1]
    assert p["equity"].iloc[-1] == approx(np.prod(1 + p["return"].to_numpy()))


def test_flat_between_folds_closes_each_fold() -> None:
    flat = config(flat_between_folds=True)
    out = book(weekend_tests(), flat)
    t = trades(out, flat)
    # fold 0 ends flat: EQ (q 1.0 after Friday) and CC (q 0.5 after Sunday) exit at Monday's close in fold 0;
    # fold 1 starts flat: EQ enters -0.5 and CC +0.5 at the same close, in fold 1
    monday = t[t["date"] == MON]
    assert list(monday[["fold", "symbol", "position_before", "position_after", "weight_traded"]].itertuples(False)) == [
        (0, "CC", 1, 0, 0.5),
        (0, "EQ", 1, 0, 1.0),
        (1, "CC", 0, 1, 0.5),
        (1, "EQ", 0, -1, 0.5),
    ]
    returns = series(out, TEST_LO, flat)
    # Monday's portfolio row: EQ Fri->Mon 1.0 * 0.02 - 0.001 * (0.5 + 1.0) and CC Sun->Mon 0.5 * 0.04 - 0.001 * 0.5
    p = returns[returns["series"] == "portfolio"].set_index("date")
    assert p.loc[MON, "return"] == approx(0.0185 + 0.0195)
    # EQ alone: Mon->Tue now pays for the entry |-1 - 0| = 1 instead of the flip 2: 0.01 - 0.001
    eq = returns[returns["series"] == "EQ"].set_index("date")
    assert eq.loc[MON, "return"] == approx(0.019) and eq.loc[TUE, "return"] == approx(0.009)


def test_a_lag_fills_the_signal_later_with_its_weight() -> None:
    lagged = config(lag=1)
    out = book(weekend_tests(), lagged)
    # EQ: p_t = s_{t-1} = 0, +1, +1, -1 with the weights of the signal rows w_{t-1} = -, 1/2, 1, 1/2
    assert by_symbol(out, "EQ", "position") == [0, 1, 1, -1]
    assert by_symbol(out, "EQ", "weighted") == [0.0, 0.5, 1.0, -0.5]
    # CC: s = -1 0 +1 +1 +1 +1 -> p = 0, -1, 0, +1, +1 and 0 on Tuesday (no next return); w_{t-1} = 1/2, 1, 1/2, 1/2
    assert by_symbol(out, "CC", "position") == [0, -1, 0, 1, 1, 0]
    assert by_symbol(out, "CC", "weighted") == [0.0, -0.5, 0.0, 0.5, 0.5, 0.0]
    t = trades(out, lagged)
    eq = t[t["symbol"] == "EQ"]
    assert list(eq["date"]) == [FRI, MON, TUE, WED]
    assert list(eq["position_before"]) == [0, 1, 1, -1] and list(eq["position_after"]) == [1, 1, -1, 0]
    assert list(eq["weight_traded"]) == [0.5, 0.5, 1.5, 0.5]
    p = series(out, TEST_LO, lagged)
    p = p[p["series"] == "portfolio"].set_index("date")
    # Monday: EQ Fri->Mon 0.5 * 0.02 - 0.001 * 0.5, CC Sun->Mon 0.5 * 0.04 - 0.001 * 0.5
    assert p.loc[MON, "return"] == approx(0.0095 + 0.0195)


def test_a_late_listing_leaves_no_cash_drag() -> None:
    tests = {
        "EQ": rows([THU, FRI, MON, TUE], [0, 0, 1, 1], [0.5] * 4, [0.01] * 4, [FRI, MON, TUE, WED]),
        "CC": rows([MON, TUE], [1, 1], [0.5, 0.5], [0.02, 0.02], [TUE, WED]),  # listed on Monday
    }
    available, equal = config(), config(weighting="equal")
    # "available": EQ alone until Monday (q = 1), then half each; the halving is a trade with before == after
    out = book(tests, available)
    assert by_symbol(out, "EQ", "weighted") == [1.0, 1.0, 0.5, 0.5]
    t = trades(out, available)
    assert list(t[t["date"] == MON][["symbol", "position_before", "position_after", "weight_traded"]].itertuples(
        False
    )) == [("CC", 0, 1, 0.5), ("EQ", 1, 1, 0.5)]  # fmt: skip
    # "equal": 1/2 of the book each from the start: half the book in cash until Monday
    out = book(tests, equal)
    assert by_symbol(out, "EQ", "weighted") == [0.5] * 4
    p = series(out, TEST_LO, equal)
    assert list(p[p["series"] == "portfolio"]["exposure"]) == [0.5, 0.5, 1.0, 1.0]


def test_folds_of_dates_and_the_benchmark_series() -> None:
    dates = pd.Series([THU, SUN, MON, WED, ts("2024-02-01")])
    assert list(fold_of(dates, TEST_LO)) == [0, 0, 1, 1, 1]  # past the last window: the last fold
    bench = pd.DataFrame({"date": [ts("2024-01-03"), THU, FRI, MON, TUE], "close": [1.0, 2.0, 2.2, 1.1, 1.65]})
    # test rows Thu, Fri, Mon (test_hi Tuesday): 2.2/2 - 1 on Fri, 1.1/2.2 - 1 on Mon, 1.65/1.1 - 1 on Tue
    b = benchmark_returns(bench, THU, TUE)
    assert list(b.index) == [FRI, MON, TUE]
    assert list(b) == [approx(0.1), approx(-0.5), approx(0.5)]


def test_equity_runs_over_the_whole_run_per_series() -> None:
    frame = pd.DataFrame(
        {
            "fold": [0, 0, 1, 0, 1],
            "date": [THU, FRI, MON, THU, MON],
            "series": ["portfolio", "portfolio", "portfolio", "A", "A"],
            "return": [0.1, -0.5, 1.0, 0.2, 0.5],
        }
    )
    out = with_equity(frame).set_index(["series", "date"])["equity"]
    assert list(out.loc["portfolio"]) == [approx(1.1), approx(0.55), approx(1.1)]
    assert list(out.loc["A"]) == [approx(1.2), approx(1.8)]
