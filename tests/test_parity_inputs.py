"""Both engines on every input layout (methodology §7) and on a universe (§8).

- The legacy engine on a long Parquet file, a long CSV file, a hive-partitioned Parquet folder and a folder of
  long-format Parquet files gives bitwise the outputs it gives on the per-symbol CSVs of the same data, and the Polars
  engine on each agrees with it within 1e-9.
- The two readers (walkforward/data/ and walkforward/legacy/, which share no code) give the same verdict on damaged
  long files: the same one-line error, or the same warnings and bitwise the same prices; `wf run` with either engine
  ends with the same line. The one difference allowed is the parser's own reason for a file it cannot read at all.
- Universe (§8) against the Polars engine: late listings and delistings; membership windows, `assets: "all"` and
  run.json's counts, which need the Polars side of §8 and fail until it is merged.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import warnings
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from tests.bad_input import assert_no_partial_output, wf
from tests.small import SYMBOLS, small_config
from tests.test_data_formats import WRITERS, write_hive
from tests.test_parity_engine import assert_same
from tests.universe_inputs import TRADED, make_universe, universe_config
from walkforward.compare import compare_runs
from walkforward.config import Config
from walkforward.data import store
from walkforward.data.generate import generate
from walkforward.data.read import load_panel
from walkforward.errors import DataError
from walkforward.legacy.engine import run as legacy_run
from walkforward.legacy.prices import Prices
from walkforward.outputs import UNIVERSE_COUNTS
from walkforward.runner import execute
from walkforward.timing import Timer


def run_counted(config):
    """The legacy engine's result and its run.json `universe` counts (methodology §8)."""
    result = legacy_run(config)
    return result, result.universe


RUN = {"annualization": 252}  # as tests/test_data_formats.py: off the metrics contract other branches change
UNREADABLE = re.compile(r"cannot be read as (CSV|Parquet) \(.*\); ")


def same_verdict(line: str | None) -> str | None:
    """The line with the parser's own reason for an unreadable file left out (each engine has its own parser)."""
    return None if line is None else UNREADABLE.sub(r"cannot be read as \1 (...); ", line)


@pytest.fixture(scope="module")
def panel(small_data: Path) -> pl.DataFrame:
    return load_panel(small_data, SYMBOLS)


@pytest.fixture(scope="module")
def legacy_base(small_data: Path, tmp_path_factory) -> Path:
    """The legacy engine on the per-symbol CSVs: what it must give on every other layout, bit for bit."""
    data = tmp_path_factory.mktemp("csv") / "data"
    shutil.copytree(small_data, data, ignore=shutil.ignore_patterns(".wf"))
    out = tmp_path_factory.mktemp("legacy") / "out"
    execute(small_config(data, out, engine="legacy", **RUN))
    return out


@pytest.mark.parametrize("layout", list(WRITERS))
def test_legacy_engine_reads_every_format_as_the_per_symbol_csvs_and_polars_agrees(
    layout, panel, legacy_base, tmp_path
):
    data_path = WRITERS[layout](panel, tmp_path / "data")
    execute(small_config(data_path, tmp_path / "legacy", engine="legacy", **RUN))
    diff = compare_runs(legacy_base, tmp_path / "legacy", 0.0)
    assert diff.ok, diff
    execute(small_config(data_path, tmp_path / "polars", **RUN))
    assert_same(tmp_path / "legacy", tmp_path / "polars")


# --- the two readers on damaged long files ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> pl.DataFrame:
    root = tmp_path_factory.mktemp("tiny")
    generate(root, ["AAA", "BBB"], dt.date(2020, 1, 1), dt.date(2020, 1, 31), seed=2)
    return load_panel(root, ["AAA", "BBB"])


def read_with(engine: str, path: Path, symbols: list[str], price_column: str) -> tuple[str | None, list[str], object]:
    """(error or None, warnings, prices sorted by symbol and date) of one engine's reader."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if engine == "polars":
                prices = pl.read_parquet(store.ensure_store(path, symbols, price_column)[0]).to_pandas()
            else:
                config = Config.from_dict({"data_path": str(path), "price_column": price_column})
                frames = Prices(config, Timer()).read_all(symbols)
                prices = pd.concat([f.assign(symbol=s) for s, f in sorted(frames.items())], ignore_index=True)
            error = None
        except DataError as exc:
            prices, error = None, same_verdict(str(exc))
    return error, [str(w.message) for w in caught], prices


def assert_same_reading(path: Path, symbols: tuple[str, ...] = ("AAA", "BBB"), price_column: str = "close"):
    """Both readers give the same error, or the same warnings and bitwise the same prices; returns the error."""
    (p_error, p_warned, p_prices), (l_error, l_warned, l_prices) = (
        read_with(engine, path, list(symbols), price_column) for engine in ("polars", "legacy")
    )
    assert (l_error, l_warned) == (p_error, p_warned)
    if p_error is None:
        assert list(l_prices["symbol"]) == list(p_prices["symbol"])
        days = [prices["date"].to_numpy().astype("datetime64[D]") for prices in (l_prices, p_prices)]
        assert (days[0] == days[1]).all()
        for col in ("open", "high", "low", "close", "volume"):
            assert l_prices[col].to_numpy().tobytes() == p_prices[col].to_numpy().tobytes(), col
    return p_error


def at(row: int, column: str, value) -> pl.Expr:
    """`column` with `value` on row `row`."""
    return pl.when(pl.int_range(pl.len()) == row).then(value).otherwise(pl.col(column)).alias(column)


def upper(t: pl.DataFrame) -> pl.DataFrame:
    return t.rename(str.upper)


def text_dates(t: pl.DataFrame) -> pl.DataFrame:
    return t.with_columns(pl.col("date").cast(pl.String))


PARQUET = {  # a long Parquet file made from the tiny panel; the row of BBB that the checks name is 27
    "missing-close": lambda t: t.with_columns(at(27, "close", None)),
    "nan-volume": lambda t: t.with_columns(at(27, "volume", float("nan"))),
    "negative-low": lambda t: t.with_columns(at(27, "low", -1.0)).with_columns(at(30, "low", -2.0)),
    "open-above-high": lambda t: t.with_columns(at(27, "open", pl.col("high") * 2)),
    "missing-symbol": lambda t: t.with_columns(at(27, "symbol", None)),
    "no-rows-of-bbb": lambda t: t.with_columns(pl.col("symbol").replace("BBB", "BBC")),
    "untrimmed-symbol": lambda t: t.with_columns(pl.col("symbol").replace("BBB", " BBB")),
    "missing-column": lambda t: t.drop("volume"),
    "misspelt-column": lambda t: t.rename({"volume": "volumen"}),
    "two-close-columns": lambda t: t.with_columns(pl.col("close").alias("Close")),
    "boolean-close": lambda t: t.with_columns(pl.lit(True).alias("close")),
    "integer-dates": lambda t: t.with_columns(pl.col("date").cast(pl.Int64)),
    "text-dates-with-offset": lambda t: t.with_columns(pl.col("date").cast(pl.String) + " 00:00:00-05:00"),
    "text-date-with-time": lambda t: text_dates(t).with_columns(at(27, "date", pl.col("date") + "T10:00")),
    "text-date-not-a-date": lambda t: text_dates(t).with_columns(at(27, "date", pl.lit("2020-13-45"))),
    "local-midnight": lambda t: t.with_columns(
        pl.col("date").cast(pl.Datetime("us")).dt.replace_time_zone("Asia/Tokyo")
    ),
    "time-of-day": lambda t: t.with_columns(pl.col("date").cast(pl.Datetime("ns")) + pl.duration(hours=9)),
    "integer-volume-null": lambda t: t.with_columns(pl.col("volume").cast(pl.Int64)).with_columns(
        at(5, "volume", None)
    ),
    "text-close-na": lambda t: t.with_columns(pl.col("close").cast(pl.String)).with_columns(
        at(30, "close", pl.lit(" NA "))
    ),
    "categorical-symbol": lambda t: t.with_columns(pl.col("symbol").cast(pl.Categorical)),
    "float32-nan": lambda t: t.with_columns(pl.col("close").cast(pl.Float32)).with_columns(
        at(4, "close", float("nan"))
    ),
    "unsorted-and-gap": lambda t: pl.concat(
        [
            t.filter(pl.col("symbol") == "AAA", ~pl.col("date").is_between(dt.date(2020, 1, 6), dt.date(2020, 1, 24))),
            t.filter(symbol="BBB").reverse(),
        ]
    ),
    "repeated-date": lambda t: pl.concat([t, t.slice(27, 1), t.slice(3, 1)]),
    "other-symbols-bad-rows": lambda t: pl.concat([t, t.head(3).with_columns(symbol=pl.lit("CCC"), low=pl.lit(-1.0))]),
}


@pytest.mark.parametrize("case", list(PARQUET))
def test_both_readers_agree_on_a_damaged_long_parquet_file(tiny, tmp_path, case):
    path = tmp_path / "panel.parquet"
    PARQUET[case](tiny).write_parquet(path)
    assert_same_reading(path)


def cell(column: int, text: str):
    """A change to one line of the long CSV: cell `column` (0 is the symbol) replaced by `text`."""

    def change(line: str) -> str:
        cells = line.split(",")
        cells[column] = text
        return ",".join(cells)

    return change


CSV = {  # a change to line 29 of the tiny panel's long CSV (BBB's row 27)
    "not-a-number": cell(5, "abc"),
    "blank-volume": cell(6, ""),
    "missing-symbol": cell(0, ""),
    "padded-symbol": cell(0, " BBB "),
    "bad-date": cell(1, "2020-13-45"),
    "time-of-day": cell(1, "2020-01-10 15:30:00"),
    "yfinance-midnight": cell(1, "2020-01-10 00:00:00-05:00"),
    "negative-open": cell(2, "-1"),
    "long-row": lambda line: line + ",extra",
    "short-row": lambda line: line.rsplit(",", 1)[0],
}


@pytest.mark.parametrize("case", list(CSV))
def test_both_readers_agree_on_a_damaged_long_csv_file(tiny, tmp_path, case):
    lines = tiny.write_csv().splitlines()
    assert lines[28].startswith("BBB,2020-01-10,")
    lines[28] = CSV[case](lines[28])
    lines[40:40] = ["", ",,,,,,"]  # blank lines are no rows, but count as lines
    path = tmp_path / "panel.csv"
    path.write_text("\r\n".join(lines) + "\r\n")
    assert_same_reading(path)


def test_both_readers_agree_on_folders_of_parquet_files(tiny, tmp_path):
    bad = tiny.with_columns(at(3, "low", -1.0)).with_columns(at(30, "low", -1.0))
    one = tmp_path / "one"  # two schemas: the rows of the first schema's files come first
    one.mkdir()
    upper(bad.filter(pl.col("date") < dt.date(2020, 1, 15))).write_parquet(one / "a.parquet")
    bad.filter(pl.col("date") >= dt.date(2020, 1, 15)).write_parquet(one / "b.parquet")
    bad.filter(pl.col("date") < dt.date(2020, 1, 10)).write_parquet(one / "c.parquet")
    assert "a.parquet (symbol AAA" in assert_same_reading(one)
    single = tmp_path / "single"  # one file: messages name the folder
    single.mkdir()
    bad.write_parquet(single / "only.parquet")
    assert assert_same_reading(single).startswith(f"{single} (symbol AAA")
    repeated = tmp_path / "repeated"
    repeated.mkdir()
    tiny.write_parquet(repeated / "main.parquet")
    for k in range(3):
        tiny.slice(27, 2).write_parquet(repeated / f"{k}.parquet")
    assert assert_same_reading(repeated).startswith(f"4 files of {repeated}: symbol BBB has date 2020-01-10 4 times")
    hive = tmp_path / "hive"  # a symbol column in the files is ignored: the folder names the symbol
    write_hive(tiny.with_columns(at(25, "close", -3.0)), hive)
    for part in hive.rglob("*.parquet"):
        pl.read_parquet(part).with_columns(symbol=pl.lit("ZZZ")).write_parquet(part)
    assert "symbol=BBB/year=2020/part-0.parquet (symbol BBB" in assert_same_reading(hive)
    assert assert_same_reading(hive, ("AAA",)) is None
    assert assert_same_reading(hive, ("AAA", "CCC")).startswith("no data for symbol 'CCC': no symbol=CCC/ folder")
    (tmp_path / "junk.parquet").write_bytes(b"PAR1 not really")
    assert "cannot be read as Parquet (...)" in assert_same_reading(tmp_path / "junk.parquet")


def test_both_readers_agree_on_adj_close(tiny, tmp_path):
    path = tmp_path / "panel.parquet"
    tiny.with_columns((pl.col("close") * 0.5).alias("Adj Close")).write_parquet(path)
    assert assert_same_reading(path, price_column="adj_close") is None
    tiny.write_parquet(path)
    assert "price_column 'adj_close' needs it" in assert_same_reading(path, price_column="adj_close")


def test_both_readers_list_the_same_symbols_for_assets_all(tiny, tmp_path):
    path = tmp_path / "panel.parquet"
    tiny.with_columns(pl.col("symbol").replace("BBB", "0BB")).write_parquet(path)
    config = Config.from_dict({"data_path": str(path)})
    assert Prices(config, Timer()).every_symbol() == list(store.every_symbol(path)) == ["0BB", "AAA"]


# --- `wf run` on damaged long files, with each engine ----------------------------------------------------------------


def run_args(data_path: Path, out: Path, engine: str) -> list[object]:
    """`wf run` on 2019Q1 (one fold) with a model of 5 rounds."""
    config = out.parent / "tiny.json"
    config.write_text(json.dumps({"model": {"kind": "lightgbm", "params": {"n_estimators": 5}}}))
    return [
        "run", "--config", config, "--data-path", data_path, "--assets", ",".join(SYMBOLS), "--benchmark", "SPY",
        "--start-date", "2019-01-01", "--end-date", "2019-03-31", "--fold-length", 200, "--step-size", 63,
        "--output-dir", out, "--engine", engine, "--quiet",
    ]  # fmt: skip


DAMAGED = {  # (layout, damage to the small panel)
    "long-csv-bad-number": ("long_csv", lambda p: p.with_columns(at(40, "close", None))),
    "long-parquet-low-above-high": ("long_parquet", lambda p: p.with_columns(at(900, "low", pl.col("high") * 2))),
    "hive-repeated-date": ("hive", lambda p: pl.concat([p, p.slice(1000, 1)])),
    "parquet-folder-time-of-day": (
        "parquet_dir",
        lambda p: p.with_columns(pl.col("date").cast(pl.Datetime("us"))).with_columns(
            at(77, "date", pl.col("date") + pl.duration(minutes=1))
        ),
    ),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_both_engines_stop_on_a_damaged_long_file_with_the_same_line(panel, tmp_path, case):
    layout, damage = DAMAGED[case]
    data_path = WRITERS[layout](damage(panel), tmp_path / "data")
    results = {engine: wf(*run_args(data_path, tmp_path / engine, engine)) for engine in ("polars", "legacy")}
    for engine, result in results.items():
        assert result.exit_code == 2 and "Traceback" not in result.output, (engine, result.output)
        assert len(result.stderr.splitlines()) == 1 and result.stderr.startswith("error: "), result.stderr
        assert_no_partial_output(tmp_path / engine)
    assert results["legacy"].stderr == results["polars"].stderr


def test_both_engines_give_the_same_warnings_on_a_long_file(panel, tmp_path):
    aaa = panel.filter(symbol="AAA")
    suspect = pl.concat(
        [aaa.head(128), aaa.slice(158), panel.filter(symbol="BTC-USD").reverse(), panel.filter(symbol="SPY")]
    )
    data_path = WRITERS["long_parquet"](suspect, tmp_path / "data")
    results = {engine: wf(*run_args(data_path, tmp_path / engine, engine)) for engine in ("polars", "legacy")}
    for result in results.values():
        assert result.exit_code == 0, result.output
    assert results["legacy"].stderr == results["polars"].stderr
    assert re.fullmatch(
        r"warning: \S+: \d+ days without rows between \S+ and \S+ \(30 weekdays missing, more than 10\); add the "
        r"missing rows if AAA traded then\n"
        r"warning: \S+: rows of BTC-USD are not sorted by date; sorted them on reading\n",
        results["polars"].stderr,
    ), results["polars"].stderr


# --- universe (§8) against the Polars engine -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def universe(tmp_path_factory) -> tuple[Path, Path]:
    return make_universe(tmp_path_factory.mktemp("universe"))


@pytest.mark.parametrize("scope", ["unified", "per_asset"])
def test_late_listings_and_delistings_match_the_polars_engine(universe, tmp_path, scope):
    """BBB lists and CCC delists inside the test period (no membership file): normal data for both engines."""
    prices, _ = universe
    config = universe_config(prices, tmp_path / "polars", assets=TRADED).replace(**{"model.scope": scope})
    execute(config)
    execute(config.replace(engine="legacy", output_dir=str(tmp_path / "legacy")))
    assert_same(tmp_path / "legacy", tmp_path / "polars")


# These need the Polars side of §8 (membership, assets "all", run.json's `universe`) and fail until it is merged.


@pytest.mark.parametrize("scope", ["unified", "per_asset"])
def test_universe_membership_windows_and_listings_match_the_polars_engine(universe, tmp_path, scope):
    """AAA's membership has a gap in the test period, BBB lists inside it, CCC delists inside it, ETH-USD is never a
    member: the Polars engine gives what the oracle gives."""
    prices, membership = universe
    config = universe_config(prices, tmp_path / "polars", assets=TRADED, universe=str(membership))
    config = config.replace(**{"model.scope": scope})
    execute(config)
    execute(config.replace(engine="legacy", output_dir=str(tmp_path / "legacy")))
    assert_same(tmp_path / "legacy", tmp_path / "polars")


def test_universe_assets_all_matches_the_polars_engine(universe, tmp_path):
    prices, membership = universe
    config = universe_config(prices, tmp_path / "polars", universe=str(membership))
    execute(config)
    execute(config.replace(engine="legacy", output_dir=str(tmp_path / "legacy")))
    assert_same(tmp_path / "legacy", tmp_path / "polars")


def test_universe_counts_in_run_json_match_the_oracles(universe, tmp_path):
    prices, membership = universe
    config = universe_config(prices, tmp_path / "polars", assets=TRADED, universe=str(membership))
    config = config.replace(**{"model.scope": "per_asset"})
    execute(config)
    _, counts = run_counted(config.replace(engine="legacy"))
    written = json.loads((tmp_path / "polars" / "run.json").read_text())["universe"]
    assert {key: written[key] for key in UNIVERSE_COUNTS} == counts
