"""Reading and validating per-symbol CSVs (methodology section 7): layouts and every bad input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from walkforward.data.generate import generate
from walkforward.data.read import SCHEMA, load_panel, read_csv
from walkforward.errors import DataError

HEADER = "date,open,high,low,close,volume"
GOOD_ROWS = [
    "2020-01-02,10,11,9.5,10.5,1000",
    "2020-01-03,10.5,10.8,10.1,10.2,1200",
    "2020-01-06,10.2,10.4,9.9,10.3,900",
]


def write(tmp_path: Path, name: str, lines: list[str] | str) -> Path:
    path = tmp_path / name
    path.write_text(lines if isinstance(lines, str) else "\n".join(lines) + "\n")
    return path


def standard(tmp_path: Path, symbol: str = "AAA") -> Path:
    return write(tmp_path, f"{symbol}.csv", [HEADER, *GOOD_ROWS])


def test_standard_layout(tmp_path: Path) -> None:
    df = read_csv(standard(tmp_path), "AAA")
    assert df.schema == pl.Schema(SCHEMA)
    assert df["date"].to_list() == [dt.date(2020, 1, 2), dt.date(2020, 1, 3), dt.date(2020, 1, 6)]
    assert df.row(0) == ("AAA", dt.date(2020, 1, 2), 10.0, 11.0, 9.5, 10.5, 1000.0)


def test_columns_in_any_order_and_case(tmp_path: Path) -> None:
    lines = ["VOLUME, Close ,LOW,High,Open,DATE", "1000,10.5,9.5,11,10,2020-01-02"]
    df = read_csv(write(tmp_path, "A.csv", lines), "A")
    assert df.row(0) == ("A", dt.date(2020, 1, 2), 10.0, 11.0, 9.5, 10.5, 1000.0)


YAHOO = [
    "date,OPEN,High,low,Close,ADJ CLOSE,Volume",
    "2020-01-02,10,11,9.5,10.5,10.1,1000",
    "2020-01-03,10.5,10.8,10.1,10.2,9.9,1200",
]


def test_yahoo_layout_ignores_adj_close_by_default(tmp_path: Path) -> None:
    df = read_csv(write(tmp_path, "Y.csv", YAHOO), "Y")
    assert df.columns == list(SCHEMA)
    assert df["close"].to_list() == [10.5, 10.2]


@pytest.mark.parametrize("adj_header", ["Adj Close", "adj_close", " ADJ  close "])
def test_adj_close_option_replaces_close(tmp_path: Path, adj_header: str) -> None:
    lines = [f"Date,Open,High,Low,Close,{adj_header},Volume", *YAHOO[1:]]
    df = read_csv(write(tmp_path, "Y.csv", lines), "Y", price_column="adj_close")
    assert df["close"].to_list() == [10.1, 9.9]
    # the rest of the bar scaled by adj_close / close: row 1 by 10.1 / 10.5, row 2 by 9.9 / 10.2
    assert df["open"].to_list() == [10.0 * (10.1 / 10.5), 10.5 * (9.9 / 10.2)]
    assert df["high"].to_list() == [11.0 * (10.1 / 10.5), 10.8 * (9.9 / 10.2)]
    assert df["low"].to_list() == [9.5 * (10.1 / 10.5), 10.1 * (9.9 / 10.2)]


def test_adj_close_option_without_the_column(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"AAA.csv: missing column 'adj_close' .*price_column"):
        read_csv(standard(tmp_path), "AAA", price_column="adj_close")


def test_unused_adj_close_is_not_validated(tmp_path: Path) -> None:
    lines = [YAHOO[0], "2020-01-02,10,11,9.5,10.5,null,1000"]
    assert read_csv(write(tmp_path, "Y.csv", lines), "Y").height == 1
    with pytest.raises(DataError, match=r"line 2: missing adj_close value"):
        read_csv(write(tmp_path, "Y.csv", lines), "Y", price_column="adj_close")


def test_tolerated_noise(tmp_path: Path) -> None:
    # Extra columns, blank lines, spaces, a Windows BOM, CRLF line ends, exponents.
    text = (
        "\ufeffDate,Open,High,Low,Close,Volume,Dividends\r\n"
        " 2020-01-02 , 10 ,11,9.5,10.5,1000,0\r\n"
        "\r\n"
        "2020-01-03,10.5,10.8,10.1,10.2,1.2e3,\r\n"
        "\r\n"
    )
    df = read_csv(write(tmp_path, "N.csv", text), "N")
    assert df["date"].to_list() == [dt.date(2020, 1, 2), dt.date(2020, 1, 3)]
    assert df["volume"].to_list() == [1000.0, 1200.0]


def test_high_low_rounding_is_tolerated(tmp_path: Path) -> None:
    lines = [HEADER, "2020-01-02,10.0000000001,10,9,9.9999999999,5"]
    assert read_csv(write(tmp_path, "R.csv", lines), "R").height == 1


def test_unsorted_rows_warn_and_are_sorted(tmp_path: Path) -> None:
    path = write(tmp_path, "U.csv", [HEADER, GOOD_ROWS[2], GOOD_ROWS[0], GOOD_ROWS[1]])
    with pytest.warns(UserWarning, match=r"U.csv: rows are not sorted by date; sorted them"):
        df = read_csv(path, "U")
    assert df["date"].is_sorted()
    assert_frame_equal(df, read_csv(standard(tmp_path, "U"), "U"))


BAD = [
    # (file content, message pinned)
    (
        ["date,open,high,low,volume", "2020-01-02,10,11,9,5"],
        r"B.csv: missing column 'close' \(found: date, open, high, low, volume\); "
        r"the CSV needs date,open,high,low,close,volume",
    ),
    ("", r"B.csv: the file is empty; the CSV needs date,open,high,low,close,volume"),
    ("\n\n", r"B.csv: the file is empty"),
    ([HEADER], r"B.csv: has a header but no rows"),
    (
        [HEADER, GOOD_ROWS[0], "2020-13-01,10,11,9,10,5"],
        r"B.csv line 3: date '2020-13-01' is not a YYYY-MM-DD date; fix it or remove the row$",
    ),
    (
        [HEADER, "02/01/2020,10,11,9,10,5", "03/01/2020,10,11,9,10,5"],
        r"B.csv line 2: date '02/01/2020' is not a YYYY-MM-DD date.*\(1 more such row\)$",
    ),
    (
        [HEADER, GOOD_ROWS[0], "2020-01-03,10,11,9,ten,5"],
        r"B.csv line 3: close 'ten' is not a number; fix it or remove the row",
    ),
    (
        [HEADER, "2020-01-02 15:30:00,10,11,9,10,5"],
        r"line 2: date '2020-01-02 15:30:00' has a time of day; intraday bars are not supported",
    ),
    ([HEADER, "2020-01-02,10,11,9,10,inf"], r"line 2: volume 'inf' is not a number"),
    ([HEADER, "2020-01-02,10,,9,10,5"], r"B.csv line 2: missing high value; fill it in"),
    ([HEADER, "2020-01-02,null,11,9,10,5"], r"B.csv line 2: missing open value"),
    ([HEADER, ",10,11,9,10,5"], r"B.csv line 2: missing date value"),
    (
        [HEADER, GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[0]],
        r"B.csv: date 2020-01-02 appears on lines 2, 4; keep one row per date$",
    ),
    ([HEADER, "2020-01-02,0,11,9,10,5"], r"B.csv line 2: open is 0.0; prices must be > 0"),
    ([HEADER, "2020-01-02,-1,-0.5,-2,-1,5"], r"B.csv line 2: open is -1.0; prices must be > 0"),
    ([HEADER, "2020-01-02,10,9,11,10,5"], r"B.csv line 2: high 9.0 is below low 11.0"),
    (
        [HEADER, "2020-01-02,12,11,9,10,5"],
        r"B.csv line 2: open 12.0 is outside \[low 9.0, high 11.0\]; fix the row",
    ),
    ([HEADER, "2020-01-02,10,11,9,8.5,5"], r"B.csv line 2: close 8.5 is outside \[low 9.0"),
    ([HEADER, "2020-01-02,10,11,9,10,-5"], r"B.csv line 2: volume is -5.0; it must be >= 0"),
    ([HEADER, "2020-01-02,10,11,9,10,5,7"], r"B.csv: cannot be read as CSV"),
    (["date,Close,open,high,low,close,volume"], r"columns 'Close' and 'close' both mean 'close'"),
]


@pytest.mark.parametrize(("content", "match"), BAD)
def test_bad_input_is_one_clear_data_error(tmp_path: Path, content, match: str) -> None:
    path = write(tmp_path, "B.csv", content)
    with pytest.raises(DataError, match=match) as info:
        read_csv(path, "B")
    assert "\n" not in str(info.value)


def test_binary_file(tmp_path: Path) -> None:
    (tmp_path / "B.csv").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(DataError, match=r"B.csv: is not UTF-8 text"):
        read_csv(tmp_path / "B.csv", "B")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope.csv: file not found"):
        read_csv(tmp_path / "nope.csv", "nope")


def test_unknown_price_column(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"price_column must be one of close, adj_close; got 'op"):
        read_csv(standard(tmp_path), "AAA", price_column="open")


# --- load_panel ----------------------------------------------------------------------------------


def test_load_panel_schema_and_order(tmp_path: Path) -> None:
    generate(tmp_path, ["ZZZ", "BTC-USD", "AAA"], "2020-01-01", "2020-03-31", seed=5)
    panel = load_panel(tmp_path, ["ZZZ", "BTC-USD", "AAA"])
    assert panel.schema == pl.Schema(SCHEMA)
    assert panel["symbol"].unique(maintain_order=True).to_list() == ["AAA", "BTC-USD", "ZZZ"]
    assert panel.equals(panel.sort("symbol", "date"))
    assert panel.filter(symbol="BTC-USD").height == 91


def test_load_panel_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"directory '.*nowhere' does not exist; pass --data-path"):
        load_panel(tmp_path / "nowhere", ["SPY"])


def test_load_panel_directory_is_a_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"data directory '.*AAA.csv' is not a directory"):
        load_panel(standard(tmp_path), ["SPY"])


def test_load_panel_missing_symbol_lists_files_and_suggests(tmp_path: Path) -> None:
    standard(tmp_path, "SPY")
    standard(tmp_path, "AAPL")
    with pytest.raises(
        DataError,
        match=r"no data for symbol 'AAPLE': .*AAPLE.csv does not exist; .* has AAPL.csv, SPY.csv\. "
        r"Add the file or remove AAPLE from assets/benchmark \(--symbols of wf data convert\)\. Did you mean: 'AAPL'\?",
    ):
        load_panel(tmp_path, ["SPY", "AAPLE"])
    with pytest.raises(DataError, match=r"no data for symbol 'spy'.*Did you mean: 'SPY'\?"):
        load_panel(tmp_path, ["spy"])


def test_load_panel_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"holds no \.csv files"):
        load_panel(tmp_path, ["SPY"])


def test_load_panel_names_the_bad_file(tmp_path: Path) -> None:
    standard(tmp_path, "GOOD")
    write(tmp_path, "BAD.csv", [HEADER, "2020-01-02,10,11,9,-10,5"])
    with pytest.raises(DataError, match=r"BAD.csv line 2: close is -10.0"):
        load_panel(tmp_path, ["GOOD", "BAD"])


def test_load_panel_adj_close(tmp_path: Path) -> None:
    write(tmp_path, "Y.csv", YAHOO)
    panel = load_panel(tmp_path, ["Y"], price_column="adj_close")
    assert panel["close"].to_list() == [10.1, 9.9]
