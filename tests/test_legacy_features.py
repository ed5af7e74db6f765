"""Legacy pandas features and CSV reading against small hand-computed examples (methodology §2, §7).

Every expected number below was worked out by hand (fractions shown), not by the code under test.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from walkforward.config import Config
from walkforward.errors import DataError
from walkforward.legacy.features import (
    benchmark_close_on,
    compute_features,
    corr,
    ret,
    rsi,
    sma_ratio,
    vol,
    volume_z,
)
from walkforward.legacy.io import load_prices, read_csv, validate

NAN = float("nan")


def assert_values(actual: pd.Series, expected: list[float]) -> None:
    """Equal to 1e-12 (relative), NaN where NaN is expected, and never infinite."""
    values = actual.to_numpy(dtype=np.float64)
    assert not np.isinf(values).any()
    np.testing.assert_allclose(values, np.array(expected, dtype=np.float64), rtol=1e-12, atol=1e-15)


# --- returns, moving average, target -----------------------------------------------------------

CLOSE = pd.Series([10.0, 11.0, 12.1, 9.68, 10.648])


def test_ret_is_close_over_close_k_rows_earlier() -> None:
    # 11/10 = 1.1, 12.1/11 = 1.1, 9.68/12.1 = 0.8, 10.648/9.68 = 1.1
    assert_values(ret(CLOSE, 1), [NAN, 0.1, 0.1, -0.2, 0.1])
    # 12.1/10 = 1.21, 9.68/11 = 0.88, 10.648/12.1 = 0.88
    assert_values(ret(CLOSE, 2), [NAN, NAN, 0.21, -0.12, -0.12])
    assert_values(ret(CLOSE, 5), [NAN] * 5)  # fewer rows than k


def test_sma_ratio_is_window_mean_over_close() -> None:
    close = pd.Series([1.0, 2.0, 3.0, 4.0, 8.0])
    # means of 3 rows: 2, 3, 5 -> 2/3 - 1, 3/4 - 1, 5/8 - 1
    assert_values(sma_ratio(close, 3), [NAN, NAN, -1 / 3, -0.25, -0.375])


def test_missing_input_makes_its_windows_missing() -> None:
    close = pd.Series([1.0, 2.0, 3.0, NAN, 4.0, 5.0, 6.0])
    # windows of 3 containing row 3 (rows 3, 4, 5) are missing; row 6 is (4 + 5 + 6)/3 / 6 - 1
    assert_values(sma_ratio(close, 3), [NAN, NAN, -1 / 3, NAN, NAN, NAN, 5 / 6 - 1])
    assert_values(ret(close, 1), [NAN, 1.0, 0.5, NAN, NAN, 0.25, 0.2])


# --- RSI ---------------------------------------------------------------------------------------


def test_rsi_worked_wilder_example_with_talib_seeding() -> None:
    close = pd.Series([10.0, 11.0, 10.5, 11.5, 11.0, 12.0, 12.0, 11.0])
    # differences:        +1   -0.5  +1    -0.5  +1    0     -1
    # gains:               1    0     1     0     1     0     0
    # losses:              0    0.5   0     0.5   0     0     1
    # row 3 (after 3 differences): avg_gain = (1 + 0 + 1)/3 = 2/3, avg_loss = 0.5/3 = 1/6
    #   rsi = 100 * (2/3) / (2/3 + 1/6) = 80            (RS = 4: 100 - 100/5 = 80)
    # row 4: gain = (2/3*2 + 0)/3 = 4/9,    loss = (1/6*2 + 0.5)/3 = 5/18 -> 100 * 8/13
    # row 5: gain = (4/9*2 + 1)/3 = 17/27,  loss = (5/18*2 + 0)/3 = 5/27  -> 100 * 17/22
    # row 6: gain = 34/81,                  loss = 10/81                  -> 100 * 34/44
    # row 7: gain = (34/81*2 + 0)/3 = 68/243, loss = (10/81*2 + 1)/3 = 101/243 -> 100 * 68/169
    expected = [NAN, NAN, NAN, 80.0, 800 / 13, 1700 / 22, 3400 / 44, 6800 / 169]
    assert_values(rsi(close, 3), expected)


def test_rsi_n5_seed_is_simple_mean_of_first_five_differences() -> None:
    close = pd.Series([44.0, 44.5, 44.0, 45.0, 46.0, 45.0, 45.5])
    # differences +0.5 -0.5 +1 +1 -1 | +0.5
    # row 5: avg_gain = 2.5/5 = 0.5, avg_loss = 1.5/5 = 0.3 -> 100 * 0.5/0.8 = 62.5
    # row 6: avg_gain = (0.5*4 + 0.5)/5 = 0.5, avg_loss = (0.3*4)/5 = 0.24 -> 100 * 0.5/0.74
    assert_values(rsi(close, 5), [NAN] * 5 + [62.5, 50 / 0.74])


def test_rsi_is_100_without_losses_and_missing_when_flat() -> None:
    assert_values(rsi(pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]), 3), [NAN, NAN, NAN, 100.0, 100.0])
    assert_values(rsi(pd.Series([7.0] * 6), 3), [NAN] * 6)


def test_rsi_too_short_is_missing() -> None:
    assert_values(rsi(pd.Series([1.0, 2.0, 3.0]), 3), [NAN] * 3)


# --- volatility, correlation, volume z-score ---------------------------------------------------


def test_vol_is_sample_std_and_flat_windows_are_missing() -> None:
    returns = pd.Series([NAN, 0.01, -0.01, 0.02, 0.02, 0.02, 0.02])
    # [1, -1, 2] (x0.01): mean 2/3, squared deviations 1/9 + 25/9 + 16/9 = 14/3, / 2 = 7/3
    # [-1, 2, 2]: mean 1, squared deviations 4 + 1 + 1 = 6, / 2 = 3
    # [2, 2, 2]: flat -> missing (not 0)
    expected = [NAN, NAN, NAN, 0.01 * math.sqrt(7 / 3), 0.01 * math.sqrt(3), NAN, NAN]
    assert_values(vol(returns, 3), expected)


def test_flat_windows_are_tested_exactly_not_by_a_threshold() -> None:
    # twenty zero returns after a volatile stretch: flat, so missing (whatever the rolling std says)
    returns = pd.Series([0.3, -0.25, 0.4, -0.35, 0.5, -0.45] * 5 + [0.0] * 20)
    out = vol(returns, 20)
    assert math.isnan(out.iloc[-1])
    assert out.iloc[-2] > 0  # 19 zeros and one 0.5: not flat
    # a tiny but real spread is not flat: a positive std, not missing
    tiny = vol(pd.Series([NAN, 0.01, 0.01, 0.01 + 1e-15]), 3)
    assert tiny.iloc[3] > 0 and math.isfinite(tiny.iloc[3])
    # a flat benchmark window makes the correlation missing too
    assert math.isnan(corr(returns.iloc[::-1].reset_index(drop=True) + 1, returns, 20).iloc[-1])


def test_corr_is_pearson_over_the_window() -> None:
    a = pd.Series([NAN, 1.0, 2.0, 3.0, 5.0])
    b = pd.Series([NAN, 2.0, 4.0, 7.0, 7.0])
    # rows 1-3: a-mean = -1, 0, 1; b-mean = -7/3, -1/3, 8/3; cov = (7/3 + 8/3)/2 = 5/2,
    #   var a = 1, var b = (49 + 1 + 64)/9/2 = 19/3 -> 2.5 / sqrt(19/3)
    # rows 2-4: a-mean = -4/3, -1/3, 5/3; b-mean = -2, 1, 1; cov = (8/3 - 1/3 + 5/3)/2 = 2,
    #   var a = (16 + 1 + 25)/9/2 = 7/3, var b = 6/2 = 3 -> 2 / sqrt(7)
    expected = [NAN, NAN, NAN, 2.5 / math.sqrt(19 / 3), 2 / math.sqrt(7)]
    assert_values(corr(a, b, 3), expected)


def test_corr_is_clipped_and_missing_when_either_side_is_flat() -> None:
    a = pd.Series([NAN, 1.0, 2.0, 3.0, 4.0])
    # perfectly correlated: 1 (clipped so rounding never exceeds it); flat benchmark: missing
    linear = corr(a, 2 * a + 1, 3)
    assert (linear.dropna() <= 1.0).all()
    assert_values(linear, [NAN, NAN, NAN, 1.0, 1.0])
    assert_values(corr(a, pd.Series([NAN, 0.0, 0.0, 0.0, 0.0]), 3), [NAN] * 5)
    assert_values(corr(-a, a, 3), [NAN, NAN, NAN, -1.0, -1.0])


def test_volume_z_with_flat_and_zero_volume_windows() -> None:
    volume = pd.Series([100.0, 200.0, 300.0, 300.0, 300.0, 0.0, 0.0, 0.0])
    # [100, 200, 300]: mean 200, std 100 -> (300 - 200)/100 = 1
    # [200, 300, 300]: mean 800/3, std sqrt((40000 + 10000 + 10000)/9/2) = 100/sqrt(3)
    #   -> (100/3) / (100/sqrt(3)) = 1/sqrt(3)
    # [300, 300, 300]: flat -> missing
    # [300, 300, 0]: mean 200, std sqrt(60000/2) = 100*sqrt(3) -> -200 / (100*sqrt(3))
    # [300, 0, 0]: mean 100, std 100*sqrt(3) -> -100 / (100*sqrt(3))
    # [0, 0, 0]: zero volume -> missing, never inf
    s3 = math.sqrt(3)
    expected = [NAN, NAN, 1.0, 1 / s3, NAN, -2 / s3, -1 / s3, NAN]
    assert_values(volume_z(volume, 3), expected)


def test_volume_z_is_bounded_on_non_flat_windows() -> None:
    rng = np.random.default_rng(7)
    volume = pd.Series(np.r_[rng.integers(0, 3, 200), [5.0] * 19, 5.0 + 1e-9, [0.0] * 30])
    z = volume_z(volume.astype("float64"), 20).dropna()
    assert len(z) > 150 and (z.abs() <= 19 / math.sqrt(20) + 1e-9).all()


# --- benchmark carried onto the asset's calendar, and the whole feature frame -----------------


def _frame(dates: list[str], close: list[float], volume: list[float] | None = None):
    return pd.DataFrame(
        {
            "date": pd.to_datetime(pd.Series(dates)),
            "close": close,
            "volume": volume if volume is not None else [1000.0 + i for i in range(len(dates))],
        }
    )


def test_benchmark_close_is_carried_forward_onto_crypto_days() -> None:
    bench = _frame(["2024-01-05", "2024-01-08", "2024-01-09"], [100.0, 102.0, 101.0])
    # Thu (before the benchmark starts), Fri, Sat, Sun, Mon, Tue
    days = pd.to_datetime(
        pd.Series(["2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08", "2024-01-09"])
    )
    carried = benchmark_close_on(days, bench)
    assert_values(carried, [NAN, 100.0, 100.0, 100.0, 102.0, 101.0])
    # benchmark return on the asset's rows: weekend days are 0, Monday is 102/100 - 1
    assert_values(ret(carried, 1), [NAN, NAN, 0.0, 0.0, 0.02, 101 / 102 - 1])


def test_compute_features_columns_target_and_next_return() -> None:
    config = Config.from_dict(
        {
            "features": {
                "ret": [1, 2],
                "sma_ratio": [],
                "rsi": [],
                "vol": [],
                "corr": [],
                "volume_z": [],
            },
            "horizon": 2,
            "fold_length": 10,
        }
    )
    dates = ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    prices = _frame(dates, list(CLOSE))
    out = compute_features(prices, prices, config)
    assert list(out.columns) == [
        "date",
        "ret_1",
        "ret_2",
        "target",
        "next_ret",
        "next_date",
        "label_end",
    ]
    # target (h = 2): 12.1/10 - 1, 9.68/11 - 1, 10.648/12.1 - 1, then missing for the last 2 rows
    assert_values(out["target"], [0.21, -0.12, -0.12, NAN, NAN])
    assert_values(out["next_ret"], [0.1, 0.1, -0.2, 0.1, NAN])
    assert list(out["label_end"].dt.day[:3]) == [3, 4, 5]
    assert out["label_end"].iloc[3:].isna().all()


def test_default_feature_names_are_in_model_order() -> None:
    config = Config.from_dict({})
    dates = pd.bdate_range("2020-01-01", periods=80).strftime("%Y-%m-%d").tolist()
    rng = np.random.default_rng(3)
    close = list(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 80))))
    prices = _frame(dates, close)
    out = compute_features(prices, prices, config)
    assert list(out.columns[1:10]) == [
        "ret_1",
        "ret_5",
        "ret_20",
        "sma_ratio_20",
        "sma_ratio_50",
        "rsi_14",
        "vol_20",
        "corr_60",
        "volume_z_20",
    ]
    # the asset against itself: correlation 1 once 60 returns exist (row 60)
    assert out["corr_60"].iloc[:60].isna().all()
    np.testing.assert_allclose(out["corr_60"].iloc[60:], 1.0, rtol=1e-12)
    assert not np.isinf(out.drop(columns=["date", "next_date", "label_end"]).to_numpy()).any()


# --- reading CSVs ------------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_yahoo_layout_any_order_and_adj_close(tmp_path: Path) -> None:
    text = (
        "Date,Open,High,Low,Close,Adj Close,Volume\n2024-01-03,10,11,9,10.5,10.0,100\n2024-01-02,10,11,9,10.2,9.8,200\n"
    )
    write(tmp_path / "X.csv", text)
    with pytest.warns(UserWarning, match="not sorted"):
        prices = load_prices(tmp_path, "X")
    assert list(prices.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert list(prices["close"]) == [10.2, 10.5]  # Adj Close ignored, rows sorted by date
    with pytest.warns(UserWarning):
        adjusted = load_prices(tmp_path, "X", price_column="adj_close")
    assert list(adjusted["close"]) == [9.8, 10.0]

    write(tmp_path / "Y.csv", "VOLUME,close,Low,high,OPEN,date\n5,2,1,3,2,2024-01-02\n")
    assert load_prices(tmp_path, "Y").iloc[0].to_dict() == {
        "date": pd.Timestamp("2024-01-02"),
        "open": 2.0,
        "high": 3.0,
        "low": 1.0,
        "close": 2.0,
        "volume": 5.0,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "date,open,high,low,volume\n2024-01-02,1,1,1,1\n",
            r"BAD\.csv: missing column 'close' \(found: date, open, high, low, volume\); the CSV needs",
        ),
        (
            "date,open,high,low,close,volume\n2024-01-02,1,1,1,1,1\n2024-01-02,1,1,1,1,1\n",
            r"BAD\.csv: date 2024-01-02 appears on lines 2, 3; keep one row per date$",
        ),
        ("date,open,high,low,close,volume\n2024-01-02,1,1,1,0,1\n", r"line 2: close is 0\.0; prices must be > 0"),
        ("date,open,high,low,close,volume\n2024-01-02,1,1,-1,1,1\n", r"line 2: low is -1\.0; prices must be > 0"),
        (
            "date,open,high,low,close,volume\n02/01/2024,1,1,1,1,1\n",
            r"line 2: date '02/01/2024' is not a YYYY-MM-DD date; fix it or remove the row$",
        ),
        ("date,open,high,low,close,volume\n2024-01-02,1,1,1,abc,1\n", r"line 2: close 'abc' is not a number"),
        ("date,open,high,low,close,volume\n2024-01-02,1,1,1,,1\n", r"line 2: missing close value; fill it in"),
        ("date,open,high,low,close,volume\n2024-01-02,1,1,1,inf,1\n", r"line 2: close 'inf' is not a number"),
        ("date,open,high,low,close,volume\n2024-01-02,1,2,1,3,1\n", r"line 2: close 3\.0 is outside \[low 1\.0"),
    ],
)
def test_bad_files_raise_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    """A few of §7's checks; tests/test_bad_input_engines.py holds every one to the Polars reader's words."""
    path = write(tmp_path / "BAD.csv", text)
    with pytest.raises(DataError, match=message) as info:
        validate(read_csv(path), path=path)
    assert "\n" not in str(info.value)


def test_missing_file_and_missing_adj_close(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"no data for symbol 'NOPE': .*NOPE\.csv does not exist; "):
        load_prices(tmp_path, "NOPE")
    write(tmp_path / "Z.csv", "date,open,high,low,close,volume\n2024-01-02,1,1,1,1,1\n")
    with pytest.raises(DataError, match="adj_close"):
        load_prices(tmp_path, "Z", price_column="adj_close")
