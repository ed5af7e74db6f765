"""Legacy metrics (methodology §5) and backtest (§4) against examples worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from walkforward.config import Config
from walkforward.legacy.backtest import backtest_fold, positions, with_equity
from walkforward.legacy.metrics import (
    METRIC_NAMES,
    max_drawdown,
    metrics,
    prediction_metrics,
    series_metrics,
    spearman,
)

NAN = float("nan")
approx = lambda value: pytest.approx(value, rel=1e-12, abs=1e-15)  # noqa: E731


def series(returns, exposure, traded) -> pd.DataFrame:
    return pd.DataFrame({"return": returns, "exposure": exposure, "traded": traded})


def test_metrics_of_a_hand_made_equity_curve() -> None:
    # returns 0.10, -0.20, 0.05, 0.00 -> equity 1.1, 0.88, 0.924, 0.924
    returns = [0.10, -0.20, 0.05, 0.00]
    exposure = [1.0, 0.5, 0.0, 1.0]
    traded = [1.0, 0.5, 0.5, 1.0]
    predictions = pd.DataFrame({"prediction": [0.1, -0.2, 0.0, 0.3], "target": [0.05, 0.1, 0.0, -0.1]})
    out = metrics(series(returns, exposure, traded), predictions, n_trades=3, annualization=4)

    assert list(out) == list(METRIC_NAMES)
    std = math.sqrt(0.051875 / 3)  # mean -0.0125; squared deviations sum to 0.051875; ddof = 1
    assert out["total_return"] == approx(-0.076)
    assert out["cagr"] == approx(-0.076)  # n = A = 4: one year
    assert out["volatility"] == approx(std * 2)
    assert out["sharpe"] == approx(-0.0125 / std * 2)
    assert out["sortino"] == approx(-0.25)  # downside sqrt(0.04 / 4) = 0.1 -> -0.0125 / 0.1 * 2
    assert out["max_drawdown"] == approx(-0.2)  # 0.88 / 1.1 - 1
    assert out["calmar"] == approx(-0.38)  # -0.076 / 0.2
    assert out["hit_rate"] == approx(1 / 3)  # exposed rows 0, 1, 3; only row 0 > 0
    assert out["turnover"] == approx(0.75)
    assert out["exposure"] == approx(0.625)
    assert out["n_trades"] == 3
    assert out["n_days"] == 4
    # signs agree on rows 0 (+,+) and 2 (0,0), not on 1 and 3
    assert out["directional_accuracy"] == approx(0.5)
    # ranks 3,1,2,4 (prediction) vs 3,4,2,1 (target), centred: 0.5,-1.5,-0.5,1.5 / 0.5,1.5,-0.5,-1.5
    # sum of products = 0.25 - 2.25 + 0.25 - 2.25 = -4; each sum of squares = 5 -> -4/5
    assert out["ic"] == approx(-0.8)


def test_cagr_annualises_by_rows() -> None:
    # 1.21 over 2 rows with A = 1: sqrt(1.21) - 1 = 0.1
    out = series_metrics(np.array([0.1, 0.1]), np.ones(2), np.zeros(2), annualization=1)
    assert out["cagr"] == approx(0.1)
    assert out["total_return"] == approx(0.21)


def test_drawdown_is_measured_from_the_starting_equity_of_one() -> None:
    assert max_drawdown(np.array([-0.1, 0.05])) == approx(-0.1)  # 0.9 / max(1, 0.9) - 1
    assert max_drawdown(np.array([0.1, 0.1])) == 0.0  # never under water
    out = series_metrics(np.array([0.1, 0.1]), np.ones(2), np.zeros(2), 252)
    assert out["calmar"] is None  # zero drawdown: undefined
    assert out["sortino"] is None  # no negative return: undefined


def test_undefined_metrics_are_none() -> None:
    flat = series_metrics(np.zeros(5), np.zeros(5), np.zeros(5), 252)
    assert flat["volatility"] == 0.0
    assert flat["sharpe"] is None and flat["sortino"] is None and flat["hit_rate"] is None
    one = series_metrics(np.array([0.01]), np.ones(1), np.ones(1), 252)
    assert one["volatility"] is None and one["sharpe"] is None and one["n_days"] == 1
    empty = series_metrics(np.array([]), np.array([]), np.array([]), 252)
    assert empty["n_days"] == 0
    assert all(value is None for key, value in empty.items() if key != "n_days")
    wiped = series_metrics(np.array([-1.0, 0.5]), np.ones(2), np.zeros(2), 252)
    assert wiped["total_return"] == approx(-1.0) and wiped["cagr"] is None


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


# --- backtest ----------------------------------------------------------------------------------

D = pd.to_datetime(pd.Series(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]))


def two_asset_config(**strategy) -> Config:
    return Config.from_dict({"assets": ["A", "B"], "benchmark": "A", "strategy": {"cost_bps": 10.0, **strategy}})


def test_positions_follow_thresholds_and_missing_inputs() -> None:
    pred = pd.Series([0.02, -0.01, 0.0, 0.03, NAN, 0.5])
    next_ret = pd.Series([0.1, 0.1, 0.1, 0.1, 0.1, NAN])
    config = two_asset_config()
    assert list(positions(pred, next_ret, config.strategy)) == [1, -1, 0, 1, 0, 0]
    config = two_asset_config(long_threshold=0.025, short_threshold=0.005, allow_short=False)
    assert list(positions(pred, next_ret, config.strategy)) == [0, 0, 0, 1, 0, 0]
    config = two_asset_config(long_threshold=0.025, short_threshold=0.005)
    assert list(positions(pred, next_ret, config.strategy)) == [0, -1, 0, 1, 0, 0]


def test_backtest_fold_by_hand() -> None:
    tests = {
        # A trades d1..d4: positions +1, -1, 0, +1 (held into d5, closed there)
        "A": pd.DataFrame(
            {
                "date": D[:4],
                "prediction": [0.02, -0.01, 0.0, 0.03],
                "next_ret": [0.01, 0.02, -0.01, 0.05],
                "next_date": D[1:5].to_numpy(),
            }
        ),
        # B trades d1 and d3 only: -1 (d1 -> d3), then 0 (no next return)
        "B": pd.DataFrame(
            {
                "date": D[[0, 2]].to_numpy(),
                "prediction": [-0.5, 0.5],
                "next_ret": [0.04, NAN],
                "next_date": [D[2], pd.NaT],
            }
        ),
    }
    result = backtest_fold(3, tests, two_asset_config())
    s = result.series.set_index(["series", "date"])
    # c = 0.001. A: traded 1, 2, 1, 1 and exit 1 on d4:
    #   0.01 - 0.001, -0.02 - 0.002, 0 - 0.001, 0.05 - 0.002
    a = s.loc["A"]
    assert list(a["return"]) == [approx(0.009), approx(-0.022), approx(-0.001), approx(0.048)]
    assert list(a["exposure"]) == [1.0, 1.0, 0.0, 1.0]
    assert list(a["traded"]) == [1.0, 2.0, 1.0, 2.0]
    # B: -0.04 - 0.001, then closing the short costs 0.001
    assert list(s.loc["B", "return"]) == [approx(-0.041), approx(-0.001)]
    # portfolio, w = 1/2, over the union of dates d1..d4
    p = s.loc["portfolio"]
    assert list(p["return"]) == [approx(-0.016), approx(-0.011), approx(-0.001), approx(0.024)]
    assert list(p["exposure"]) == [1.0, 0.5, 0.0, 0.5]
    assert list(p["traded"]) == [1.0, 1.0, 1.0, 1.0]
    assert (result.series["fold"] == 3).all()

    trades = result.trades.sort_values(["date", "symbol"]).reset_index(drop=True)
    assert list(trades["symbol"]) == ["A", "B", "A", "A", "B", "A", "A"]
    assert list(trades["date"]) == [D[0], D[0], D[1], D[2], D[2], D[3], D[4]]
    assert list(trades["position_before"]) == [0, 0, 1, -1, -1, 0, 1]
    assert list(trades["position_after"]) == [1, -1, -1, 0, 0, 1, 0]
    assert list(trades["weight_traded"]) == [0.5, 0.5, 1.0, 0.5, 0.5, 0.5, 0.5]
    np.testing.assert_allclose(trades["cost"], 0.001 * trades["weight_traded"], rtol=1e-15)
    assert list(result.positions["position"]) == [1, -1, 0, 1, -1, 0]


def test_equity_runs_over_the_whole_run_per_series() -> None:
    rows = pd.DataFrame(
        {
            "fold": [0, 0, 1, 0, 1],
            "date": D[[0, 1, 2, 0, 2]].to_numpy(),
            "series": ["portfolio", "portfolio", "portfolio", "A", "A"],
            "return": [0.1, -0.5, 1.0, 0.2, 0.5],
            "exposure": 1.0,
            "traded": 0.0,
        }
    )
    out = with_equity(rows).set_index(["series", "date"])["equity"]
    assert list(out.loc["portfolio"]) == [approx(1.1), approx(0.55), approx(1.1)]
    assert list(out.loc["A"]) == [approx(1.2), approx(1.8)]
