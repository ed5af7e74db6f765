"""The synthetic data generator: determinism, OHLC invariants, calendars, speed, co-movement."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from walkforward.data.calendar import nyse_holidays, trading_days
from walkforward.data.generate import generate
from walkforward.data.read import load_panel
from walkforward.errors import DataError

REPO_DATA = Path(__file__).resolve().parents[1] / "data"
BUNDLED = ("SPY", "AAPL", "TSLA", "GOOG", "BTC-USD")
SYMBOLS = ("SPY", "AAPL", "GOOG", "BTC-USD")
START, END = dt.date(2019, 6, 1), dt.date(2021, 12, 31)


def read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, try_parse_dates=True)


def log_returns(frame: pl.DataFrame) -> np.ndarray:
    return np.diff(np.log(frame["close"].to_numpy()))


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen")
    generate(out, SYMBOLS, START, END, seed=7)
    return out


def test_writes_one_csv_per_symbol_with_the_standard_header(tmp_path: Path) -> None:
    paths = generate(tmp_path, ["SPY", "BTC-USD"], "2020-01-01", "2020-03-31", seed=1)
    assert paths == [tmp_path / "SPY.csv", tmp_path / "BTC-USD.csv"]
    assert paths[0].read_text().splitlines()[0] == "date,open,high,low,close,volume"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["BTC-USD.csv", "SPY.csv"]  # no temp files


def test_same_seed_gives_byte_identical_files(small: Path, tmp_path: Path) -> None:
    generate(tmp_path, SYMBOLS, START, END, seed=7)
    for symbol in SYMBOLS:
        assert (tmp_path / f"{symbol}.csv").read_bytes() == (small / f"{symbol}.csv").read_bytes()


def test_different_seed_gives_different_files(small: Path, tmp_path: Path) -> None:
    generate(tmp_path, SYMBOLS, START, END, seed=8)
    for symbol in SYMBOLS:
        assert (tmp_path / f"{symbol}.csv").read_bytes() != (small / f"{symbol}.csv").read_bytes()


def test_adding_a_symbol_does_not_change_the_others(small: Path, tmp_path: Path) -> None:
    generate(tmp_path, ["NEW", *reversed(SYMBOLS)], START, END, seed=7)
    for symbol in SYMBOLS:
        assert (tmp_path / f"{symbol}.csv").read_bytes() == (small / f"{symbol}.csv").read_bytes()


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_ohlc_invariants(small: Path, symbol: str) -> None:
    df = read(small / f"{symbol}.csv")
    assert df.schema["date"] == pl.Date and df.schema["volume"] == pl.Int64
    assert df["date"].is_sorted() and df["date"].n_unique() == df.height
    checks = df.select(
        positive=(pl.min_horizontal("open", "high", "low", "close") > 0).all(),
        high=(pl.col("high") >= pl.max_horizontal("open", "close")).all(),
        low=(pl.col("low") <= pl.min_horizontal("open", "close")).all(),
        volume=(pl.col("volume") > 0).all(),
    )
    assert checks.row(0, named=True) == dict.fromkeys(checks.columns, True)
    # Open is near the previous close: overnight gaps are small next to the day's range.
    gap = (df["open"] / df["close"].shift(1)).log().abs().drop_nulls()
    assert gap.median() < 0.01


def test_crypto_trades_every_day_equities_trade_nyse_sessions(small: Path) -> None:
    btc, spy = read(small / "BTC-USD.csv"), read(small / "SPY.csv")
    assert btc.height == (END - START).days + 1
    assert (btc["date"].dt.weekday() >= 6).any()
    assert (spy["date"].dt.weekday() <= 5).all()  # ISO weekday: Mon=1 .. Sun=7
    # Christmas, Independence Day observed on a Monday, MLK day, Good Friday.
    closed = [dt.date(*d) for d in ((2020, 12, 25), (2021, 7, 5), (2021, 1, 18), (2020, 4, 10))]
    assert not spy["date"].is_in(closed).any()
    assert btc["date"].is_in(closed).sum() == len(closed)
    assert spy["date"].to_list() == trading_days("SPY", START, END).tolist()


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        # New Year on a Saturday is not observed; Juneteenth from 2022 (a Sunday: Monday 20 June).
        (2022, ["01-17", "02-21", "04-15", "05-30", "06-20", "07-04", "09-05", "11-24", "12-26"]),
        (2021, ["01-01", "01-18", "02-15", "04-02", "05-31", "07-05", "09-06", "11-25", "12-24"]),
        (2020, ["01-01", "01-20", "02-17", "04-10", "05-25", "07-03", "09-07", "11-26", "12-25"]),
        (2017, ["01-02", "01-16", "02-20", "04-14", "05-29", "07-04", "09-04", "11-23", "12-25"]),
    ],
)
def test_nyse_holidays_by_rule(year: int, expected: list[str]) -> None:
    got = sorted(d.strftime("%m-%d") for d in nyse_holidays(year))
    assert got == expected


def test_equity_session_count_matches_nyse() -> None:
    # NYSE had 252 sessions in 2019 and 2021, 253 in 2020 (no one-off closures in those years).
    for year, n in ((2019, 252), (2020, 253), (2021, 252)):
        assert len(trading_days("AAPL", dt.date(year, 1, 1), dt.date(year, 12, 31))) == n


def test_equity_returns_comove(small: Path) -> None:
    spy, aapl, goog = (log_returns(read(small / f"{s}.csv")) for s in ("SPY", "AAPL", "GOOG"))
    assert np.corrcoef(spy, aapl)[0, 1] > 0.3
    assert np.corrcoef(aapl, goog)[0, 1] > 0.2


def test_crypto_shares_the_market_factor(small: Path) -> None:
    spy, btc = read(small / "SPY.csv"), read(small / "BTC-USD.csv")
    # BTC's close carried to SPY's sessions: returns over the same intervals.
    joined = spy.select("date", "close").join(btc.select("date", btc_close="close"), on="date")
    spy_ret, btc_ret = (np.diff(np.log(joined[c].to_numpy())) for c in ("close", "btc_close"))
    assert np.corrcoef(spy_ret, btc_ret)[0, 1] > 0.1


@pytest.mark.parametrize("symbol", BUNDLED)
def test_volatility_clusters(symbol: str) -> None:
    r = log_returns(read(REPO_DATA / f"{symbol}.csv"))
    a = np.abs(r - r.mean())
    assert np.corrcoef(a[:-1], a[1:])[0, 1] > 0.05  # |returns| are autocorrelated (GARCH)


def test_volume_rises_with_absolute_return(small: Path) -> None:
    df = read(small / "SPY.csv")
    r = np.abs(log_returns(df))
    assert np.corrcoef(r, np.log(df["volume"].to_numpy()[1:]))[0, 1] > 0.2


def test_hundred_symbols_over_fifteen_years(tmp_path: Path) -> None:
    """The wide benchmark's universe: 100 symbols, each file complete (speed is for `wf bench`)."""
    symbols = [f"S{i:03d}" for i in range(95)] + ["X1-USD", "X2-USD", "X3-USD", "X4-USD", "X5-USD"]
    paths = generate(tmp_path, symbols, "2010-01-01", "2024-12-31", seed=3)
    assert [p.stem for p in paths] == symbols
    assert all(len(p.read_text().splitlines()) > 3700 for p in paths)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"symbols": []}, "no symbols given"),
        ({"symbols": ["A", "A"]}, "A listed twice or more"),
        ({"symbols": ["A/B"]}, "cannot be a file name"),
        ({"start": "2020-02-01", "end": "2020-01-01"}, "start 2020-02-01 is after end 2020-01-01"),
        ({"start": "2020-13-01"}, "start must be a date as YYYY-MM-DD"),
        ({"start": "2022-01-01", "end": "2022-01-02"}, "no NYSE session between"),
        ({"seed": -1}, r"seed must be an integer >= 0, got -1"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict, match: str) -> None:
    args = {"symbols": ["SPY"], "start": "2020-01-01", "end": "2020-12-31", "seed": 1, **kwargs}
    with pytest.raises(DataError, match=match):
        generate(tmp_path, **args)


def test_bundled_data_is_what_seed_42_generates(tmp_path: Path) -> None:
    generate(tmp_path, BUNDLED, "2010-01-01", "2024-12-31", seed=42)
    for symbol in BUNDLED:
        bundled = REPO_DATA / f"{symbol}.csv"
        assert bundled.stat().st_size < 400_000
        assert bundled.read_bytes() == (tmp_path / f"{symbol}.csv").read_bytes(), symbol


def test_bundled_data_reads_and_behaves_as_documented() -> None:
    panel = load_panel(REPO_DATA, BUNDLED)
    assert panel["symbol"].unique().sort().to_list() == sorted(BUNDLED)
    rets = panel.with_columns(
        r=pl.col("close").log().diff().over("symbol"),
        n=pl.when(pl.col("symbol") == "BTC-USD").then(365).otherwise(252),
    )
    vol = dict(rets.group_by("symbol").agg((pl.col("r").std() * pl.col("n").first().sqrt()).alias("vol")).iter_rows())
    assert vol["SPY"] < vol["AAPL"] < vol["TSLA"]
    assert vol["SPY"] < vol["GOOG"] < vol["TSLA"]
    assert vol["BTC-USD"] > 0.5 and vol["TSLA"] > 0.4
