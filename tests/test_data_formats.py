"""Input data in the formats people keep it in (methodology §7): a long-format Parquet or CSV file, a hive-partitioned
Parquet folder and a plain Parquet folder give bitwise the outputs of the per-symbol CSVs of the same data; yfinance's
dates are read; every check of §7 through a long file is one line naming the file, the symbol and the date."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from cli.main import app
from tests.small import SYMBOLS, small_config
from walkforward.compare import compare_runs
from walkforward.config import Config, load_config
from walkforward.data import build, store
from walkforward.data import fingerprint as fingerprints
from walkforward.data.generate import generate
from walkforward.data.layout import detect
from walkforward.data.read import load_panel
from walkforward.errors import ConfigError, DataError, DataWarning
from walkforward.runner import check_engine_options, execute

# The metrics contract is being changed on other branches: a fixed annualization keeps these runs off that work.
RUN = {"annualization": 252}


@pytest.fixture(scope="module")
def panel(small_data: Path) -> pl.DataFrame:
    return load_panel(small_data, SYMBOLS)


@pytest.fixture(scope="module")
def base(small_data: Path, tmp_path_factory) -> Path:
    """The run on the per-symbol CSVs, which every other format must reproduce bit for bit."""
    data = tmp_path_factory.mktemp("csv") / "data"
    shutil.copytree(small_data, data, ignore=shutil.ignore_patterns(".wf"))
    out = tmp_path_factory.mktemp("base") / "out"
    execute(small_config(data, out, **RUN))
    return out


def assert_same_run(base: Path, data_path: Path, out: Path) -> None:
    execute(small_config(data_path, out, **RUN))
    diff = compare_runs(base, out, 0.0)
    assert diff.ok, diff


def write_long_parquet(panel: pl.DataFrame, root: Path) -> Path:
    # named like the store's own file: the store goes to <parent>/.wf/prices.parquet.store/, beside any other
    root.mkdir(parents=True, exist_ok=True)
    panel.write_parquet(root / "prices.parquet")
    return root / "prices.parquet"


def write_long_csv(panel: pl.DataFrame, root: Path) -> Path:
    """Columns in another order and capitalisation, rows date-major (as a multi-ticker download is stacked)."""
    root.mkdir(parents=True, exist_ok=True)
    names = {c: c.title() for c in panel.columns}
    panel.sort("date", "symbol").select("volume", "symbol", "close", "date", "open", "high", "low").rename(
        names
    ).write_csv(root / "panel.csv")
    return root / "panel.csv"


def write_hive(panel: pl.DataFrame, root: Path) -> Path:
    """symbol=<SYMBOL>/year=<YEAR>/part-0.parquet: two levels, several files per symbol, no symbol column."""
    for (symbol, year), rows in panel.with_columns(year=pl.col("date").dt.year()).group_by("symbol", "year"):
        folder = root / f"symbol={symbol}" / f"year={year}"
        folder.mkdir(parents=True)
        rows.drop("symbol", "year").write_parquet(folder / "part-0.parquet")
    (root / "_SUCCESS").write_text("")  # what Spark leaves: skipped
    return root


def write_parquet_dir(panel: pl.DataFrame, root: Path) -> Path:
    """One long-format file per year, in two schemas (capitalised, or reordered), plus files that are not data."""
    (root / "by_year").mkdir(parents=True)
    for (year,), rows in panel.with_columns(year=pl.col("date").dt.year()).group_by("year"):
        rows = rows.drop("year")
        rows = rows.rename(str.upper) if year % 2 else rows.select(reversed(rows.columns))
        rows.write_parquet(root / "by_year" / f"{year}.parquet")
    (root / ".cache").mkdir()
    (root / ".cache" / "old.parquet").write_bytes(b"not read")
    return root


WRITERS = {
    "long_parquet": write_long_parquet,
    "long_csv": write_long_csv,
    "hive": write_hive,
    "parquet_dir": write_parquet_dir,
}


@pytest.mark.parametrize("layout", list(WRITERS))
def test_every_format_gives_bitwise_the_outputs_of_the_per_symbol_csvs(layout, panel, base, tmp_path):
    data_path = WRITERS[layout](panel, tmp_path / "data")
    assert detect(data_path).kind == layout
    assert_same_run(base, data_path, tmp_path / "out")
    parquet, _ = store.store_paths(data_path)
    assert_frame_equal(pl.read_parquet(parquet), panel)  # the same store, sorted by (symbol, date)
    assert (parquet.parent if layout in ("hive", "parquet_dir") else parquet.parent.parent).name == ".wf"
    assert (tmp_path / "data" / ".wf" / ".gitignore").read_text().endswith("*\n")


def test_a_long_file_beside_per_symbol_csvs_keeps_its_own_store(small_data, panel, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_data, data, ignore=shutil.ignore_patterns(".wf"))
    long = write_long_parquet(panel, data)
    assert detect(data).kind == "csv_dir"  # CSVs at the top decide; the Parquet file beside them is not read
    csv_store, _ = store.ensure_store(data, SYMBOLS)
    long_store, _ = store.ensure_store(long, SYMBOLS)
    assert csv_store == data / ".wf" / "prices.parquet"
    assert long_store == data / ".wf" / "prices.parquet.store" / "prices.parquet"
    assert_frame_equal(pl.read_parquet(csv_store), pl.read_parquet(long_store))


@pytest.mark.parametrize("layout", ["long_csv", "long_parquet"])
def test_writing_in_many_buckets_gives_the_same_store(layout, panel, tmp_path, monkeypatch):
    monkeypatch.setattr(build, "BUCKET_ROWS", 500)  # 3 symbols of ~500-750 rows: one bucket each
    path = WRITERS[layout](panel, tmp_path)
    parquet, _ = store.ensure_store(path, SYMBOLS)
    assert_frame_equal(pl.read_parquet(parquet), panel)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]  # a CSV's staged copy is gone


# --- dates -----------------------------------------------------------------------------------------


def test_yfinance_dates_with_a_utc_offset_give_the_same_run(small_data, base, tmp_path):
    """`df.to_csv()` of a yfinance download writes `2020-01-02 00:00:00-05:00`: the local date as written."""
    data = tmp_path / "data"
    data.mkdir()
    for symbol in SYMBOLS:
        text = (small_data / f"{symbol}.csv").read_text()
        stamped = re.sub(r"^(\d{4}-\d{2}-\d{2}),", r"\1 00:00:00-05:00,", text, flags=re.M)
        (data / f"{symbol}.csv").write_text(stamped.replace("date,", "Date,", 1))
    assert "2019-01-02 00:00:00-05:00," in (data / "SPY.csv").read_text()
    assert_same_run(base, data, tmp_path / "out")


def test_parquet_datetimes_at_local_midnight_are_dates(panel, tmp_path):
    stamped = panel.with_columns(pl.col("date").cast(pl.Datetime("us")).dt.replace_time_zone("America/New_York"))
    path = write_long_parquet(stamped, tmp_path)
    parquet, _ = store.ensure_store(path, SYMBOLS)
    assert_frame_equal(pl.read_parquet(parquet), panel)


@pytest.mark.parametrize("long", [False, True], ids=["per-symbol-csv", "long-csv"])
def test_a_time_of_day_is_an_intraday_error(small_data, panel, tmp_path, long):
    if long:
        path = write_long_csv(panel, tmp_path)
        text = path.read_text().replace(",2019-03-04,", ",2019-03-04 15:30:00,", 1)
    else:
        path = tmp_path / "AAA.csv"
        text = (small_data / "AAA.csv").read_text().replace("2019-03-04,", "2019-03-04 15:30:00,", 1)
    path.write_text(text)
    data_path = path if long else tmp_path
    with pytest.raises(DataError, match=r"date '2019-03-04 15:30:00' has a time of day; intraday bars are not"):
        store.ensure_store(data_path, ["AAA"])


def test_parquet_datetime_with_a_time_of_day_is_an_intraday_error(panel, tmp_path):
    times = pl.col("date").cast(pl.Datetime("us"))
    stamped = panel.with_columns(
        pl.when(pl.int_range(pl.len()) == 5).then(times + pl.duration(hours=9)).otherwise(times)
    )
    path = write_long_parquet(stamped, tmp_path)
    day = panel["date"][5]
    where = re.escape(f"{path} (symbol {panel['symbol'][5]}, date {day}): date '{day} 09:00:00'")
    with pytest.raises(DataError, match=rf"^{where} has a time of day; intraday bars are not supported"):
        store.ensure_store(path, SYMBOLS)


# --- the checks of §7 through a long file ------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> pl.DataFrame:
    root = tmp_path_factory.mktemp("tiny")
    generate(root, ["AAA", "BBB"], dt.date(2020, 1, 1), dt.date(2020, 1, 31), seed=2)
    return load_panel(root, ["AAA", "BBB"])


ROW = 27  # a row of BBB (each symbol has 21 rows)


def bad(row: dict, change: dict) -> dict:
    return row | {k: (v(row) if callable(v) else v) for k, v in change.items()}


CASES = [  # (cells changed in one row of BBB, message after "(symbol BBB, date D): ")
    ({"close": None}, r"missing close value; fill it in or remove the row$"),
    ({"close": float("inf")}, r"close 'inf' is not a number; fix it or remove the row$"),
    ({"close": -1.0}, r"close is -1\.0; prices must be > 0, fix the row$"),
    ({"high": lambda r: r["low"] / 2}, r"high [\d.]+ is below low [\d.]+; fix the row$"),
    ({"open": lambda r: r["high"] * 2}, r"open [\d.]+ is outside \[low [\d.]+, high [\d.]+\]; fix the row$"),
    ({"close": lambda r: r["low"] / 2}, r"close [\d.]+ is outside \[low [\d.]+, high [\d.]+\]; fix the row$"),
    ({"volume": -5.0}, r"volume is -5\.0; it must be >= 0, fix the row$"),
    ({"volume": float("nan")}, r"volume 'nan' is not a number; fix it or remove the row$"),
]


@pytest.mark.parametrize(("change", "message"), CASES)
def test_each_check_through_a_long_parquet_file_names_file_symbol_and_date(tiny, tmp_path, change, message):
    rows = tiny.to_dicts()
    rows[ROW] = bad(rows[ROW], change)
    path = tmp_path / "panel.parquet"
    pl.DataFrame(rows, schema=tiny.schema).write_parquet(path)
    where = re.escape(f"{path} (symbol BBB, date {tiny['date'][ROW]}): ")
    with pytest.raises(DataError, match=f"^{where}{message}"):
        store.ensure_store(path, ["AAA", "BBB"])


CSV_CASES = [  # (text put in one cell of BBB's row, column, message after "line N (symbol BBB, date D): ")
    ("", "close", r"missing close value; fill it in or remove the row$"),
    ("abc", "close", r"close 'abc' is not a number; fix it or remove the row$"),
    ("inf", "volume", r"volume 'inf' is not a number"),
    ("0", "open", r"open is 0\.0; prices must be > 0, fix the row$"),
    ("-7", "volume", r"volume is -7\.0; it must be >= 0, fix the row$"),
]


@pytest.mark.parametrize(("text", "column", "message"), CSV_CASES)
def test_each_check_through_a_long_csv_names_file_line_symbol_and_date(tiny, tmp_path, text, column, message):
    path = tmp_path / "panel.csv"
    frame = tiny.with_columns(pl.col(c).cast(pl.String) for c in tiny.columns)
    frame.with_columns(
        pl.when(pl.int_range(pl.len()) == ROW).then(pl.lit(text)).otherwise(pl.col(column)).alias(column)
    ).write_csv(path)
    where = re.escape(f"{path} line {ROW + 2} (symbol BBB, date {tiny['date'][ROW]}): ")
    with pytest.raises(DataError, match=f"^{where}{message}"):
        store.ensure_store(path, ["AAA", "BBB"])


def long_csv_with(tiny: pl.DataFrame, path: Path, line: int, old: str, new: str) -> Path:
    lines = tiny.write_csv().splitlines()
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("\n".join(lines) + "\n")
    return path


def test_long_csv_bad_date_missing_symbol_and_repeated_date(tiny, tmp_path):
    day = str(tiny["date"][ROW])
    path = long_csv_with(tiny, tmp_path / "a.csv", ROW + 2, day, "2020-13-45")
    with pytest.raises(
        DataError, match=r"a\.csv line 29 \(symbol BBB, date '2020-13-45'\): date '2020-13-45' is not a"
    ):
        store.ensure_store(path, ["AAA", "BBB"])
    path = long_csv_with(tiny, tmp_path / "b.csv", ROW + 2, "BBB,", ",")
    with pytest.raises(DataError, match=rf"b\.csv line 29 \(symbol missing, date {day}\): missing symbol value"):
        store.ensure_store(path, ["AAA", "BBB"])
    lines = tiny.write_csv().splitlines()
    (tmp_path / "c.csv").write_text("\n".join([*lines, lines[ROW + 1]]) + "\n")
    with pytest.raises(DataError, match=rf"c\.csv: symbol BBB has date {day} on lines 29, 44; keep one row per symbol"):
        store.ensure_store(tmp_path / "c.csv", ["AAA", "BBB"])


def test_repeated_date_across_files_of_a_parquet_folder_names_both(tiny, tmp_path):
    tiny.write_parquet(tmp_path / "a.parquet")
    tiny.slice(ROW, 1).write_parquet(tmp_path / "b.parquet")
    day = tiny["date"][ROW]
    both = re.escape(f"{tmp_path / 'a.parquet'} and {tmp_path / 'b.parquet'}")
    with pytest.raises(
        DataError, match=rf"^{both}: symbol BBB has date {day} 2 times; keep one row per symbol and date$"
    ):
        store.ensure_store(tmp_path, ["AAA", "BBB"])


def test_a_bad_row_in_a_hive_partition_names_its_file(tiny, tmp_path):
    write_hive(
        tiny.with_columns(pl.when(pl.int_range(pl.len()) == ROW).then(-1.0).otherwise(pl.col("low")).alias("low")),
        tmp_path,
    )
    with pytest.raises(DataError, match=r"symbol=BBB/year=2020/part-0\.parquet \(symbol BBB, date .*\): low is -1\.0"):
        store.ensure_store(tmp_path, ["AAA", "BBB"])


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (
            lambda t, p: t.drop("volume").write_parquet(p),
            r"panel\.parquet: missing column 'volume' \(found: symbol, date",
        ),
        (
            lambda t, p: t.drop("symbol").write_parquet(p),
            r"missing column 'symbol' .*; a long-format file needs symbol,",
        ),
        (lambda t, p: t.with_columns(pl.lit(True).alias("close")).write_parquet(p), r"column 'close' holds Boolean"),
        (lambda t, p: p.write_bytes(b"PAR1 not really"), r"panel\.parquet: cannot be read as Parquet"),
        (
            lambda t, p: t.with_columns(pl.col("symbol").replace("BBB", "BBC")).write_parquet(p),
            r"^no data for symbol 'BBB': no rows in .*panel\.parquet; it has AAA, BBC\. Add its rows or remove BBB "
            r"from assets/benchmark \(--symbols of wf data convert\)\. Did you mean: 'BBC'\?$",
        ),
    ],
    ids=["missing-column", "no-symbol-column", "wrong-type", "not-parquet", "missing-symbol"],
)
def test_long_parquet_structure_errors(tiny, tmp_path, make, pattern):
    make(tiny, tmp_path / "panel.parquet")
    with pytest.raises(DataError, match=pattern):
        store.ensure_store(tmp_path / "panel.parquet", ["AAA", "BBB"])


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda p: p / "nope.parquet", r"^data file '.*nope\.parquet' does not exist; check the path"),
        (lambda p: p / "nope", r"^data directory '.*nope' does not exist; pass --data-path with the folder holding"),
        (lambda p: p, r"^data path '.*' holds no <SYMBOL>\.csv files, no \.parquet files and no symbol=<SYMBOL>/"),
    ],
    ids=["missing-file", "missing-folder", "empty-folder"],
)
def test_a_path_holding_none_of_the_layouts_is_one_line(tmp_path, make, pattern):
    with pytest.raises(DataError, match=pattern) as info:
        detect(make(tmp_path))
    assert "\n" not in str(info.value)


def test_other_files_and_mixed_folders_are_refused(tiny, tmp_path):
    (tmp_path / "prices.xlsx").write_bytes(b"")
    with pytest.raises(DataError, match=r"is a file but not a \.parquet or \.csv file; wf reads a folder of"):
        detect(tmp_path / "prices.xlsx")
    write_hive(tiny, tmp_path / "hive")
    tiny.write_parquet(tmp_path / "hive" / "stray.parquet")
    with pytest.raises(DataError, match=r"stray\.parquet: is outside the symbol=<SYMBOL>/ folders"):
        detect(tmp_path / "hive")
    (tmp_path / "hive" / "stray.parquet").unlink()
    with pytest.raises(DataError, match=r"no data for symbol 'CCC': no symbol=CCC/ folder in .*; it has AAA, BBB"):
        store.ensure_store(tmp_path / "hive", ["AAA", "CCC"])


# --- warnings, fingerprint, store ------------------------------------------------------------------


def test_unsorted_rows_and_gaps_warn_per_symbol_and_again_from_the_store(tiny, tmp_path):
    gappy = tiny.filter(
        ~((pl.col("symbol") == "AAA") & pl.col("date").is_between(dt.date(2020, 1, 6), dt.date(2020, 1, 24)))
    )
    path = tmp_path / "panel.parquet"
    pl.concat([gappy.filter(symbol="AAA"), gappy.filter(symbol="BBB").reverse()]).write_parquet(path)
    with pytest.warns(DataWarning) as first:
        parquet, _ = store.ensure_store(path, ["AAA", "BBB"])
    messages = [str(w.message) for w in first]
    assert f"{path}: rows of BBB are not sorted by date; sorted them on reading" in messages
    assert any(m.startswith(f"{path}: 24 days without rows between 2020-01-03 and 2020-01-27") for m in messages)
    assert_frame_equal(pl.read_parquet(parquet), gappy)
    with pytest.warns(DataWarning) as again:
        store.ensure_store(path, ["AAA", "BBB"])
    assert [str(w.message) for w in again] == messages


def test_long_file_fingerprint_sees_an_edit_that_keeps_the_mtime_and_caches_hashes(tiny, tmp_path, monkeypatch):
    import os

    path = tmp_path / "panel.csv"
    tiny.write_csv(path)
    monkeypatch.setattr(fingerprints, "RACY_SECONDS", -1)  # cache even a file written a moment ago
    hashed: list[Path] = []
    real = fingerprints.file_sha256
    monkeypatch.setattr(fingerprints, "file_sha256", lambda p: hashed.append(p) or real(p))
    fp = store.fingerprint(path, ["AAA"])
    assert store.fingerprint(path, ["BBB", "AAA"]) == fp and hashed == [path]  # hashed once, then from the cache
    stat = path.stat()
    path.write_text(path.read_text().replace("AAA", "AAB", 1))  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size and path.stat().st_mtime_ns == stat.st_mtime_ns
    assert store.fingerprint(path, ["AAA"]) != fp and len(hashed) == 2


def test_adj_close_from_a_long_file(tiny, tmp_path):
    path = tmp_path / "panel.parquet"
    tiny.with_columns((pl.col("close") * 0.5).alias("Adj Close")).write_parquet(path)
    parquet, _ = store.ensure_store(path, ["AAA", "BBB"], price_column="adj_close")
    # the whole bar scaled by adj_close / close = 0.5 (exactly: halving a float is exact)
    assert_frame_equal(pl.read_parquet(parquet), tiny.with_columns(pl.col("open", "high", "low", "close") * 0.5))


# --- config, CLI, engines --------------------------------------------------------------------------


def test_data_dir_is_an_alias_of_data_path_and_both_differing_is_an_error():
    assert Config.from_dict({"data_dir": "x"}).data_path == "x"
    assert Config.from_dict({"data_dir": "x", "data_path": "x"}).data_dir == "x"
    assert "data_dir" not in Config().to_dict()
    assert load_config(data_dir="y").data_path == "y"  # an override replaces the file's data_path
    with pytest.raises(ConfigError, match=r"^data_dir 'a' and data_path 'b' differ; data_dir is the old name"):
        Config.from_dict({"data_dir": "a", "data_path": "b"})
    with pytest.raises(ConfigError, match=r"^data_dir 'a' and data_path 'b' differ"):
        load_config(data_dir="a", data_path="b")


def test_wf_data_convert_takes_a_long_file(tiny, tmp_path):
    path = tmp_path / "panel.parquet"
    tiny.write_parquet(path)
    result = CliRunner().invoke(app, ["data", "convert", "--data-path", str(path)])
    assert result.exit_code == 0, result.output
    assert "prices.parquet (2 symbols)" in " ".join(result.stdout.split())
    assert_frame_equal(pl.read_parquet(tmp_path / ".wf" / "panel.parquet.store" / "prices.parquet"), tiny)


def test_the_legacy_engine_takes_a_long_file(tiny, tmp_path):
    """It reads every layout (its runs on each are in tests/test_parity_inputs.py)."""
    tiny.write_parquet(tmp_path / "panel.parquet")
    check_engine_options(small_config(tmp_path / "panel.parquet", engine="legacy"), resume=False)
