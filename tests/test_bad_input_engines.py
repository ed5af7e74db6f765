"""The oracle checks what the contract checks: both engines give the same verdict on the same input (methodology §7).

Every case of the damaged-CSV catalogue (tests/bad_input.py) runs through `wf run` with the Polars engine and with
`--engine legacy`: both end with exit code 2 and the same one line on stderr, no traceback and no partial output. The
one difference allowed is the CSV parser's own reason for a file it cannot read, in the parentheses of "cannot be
read as CSV (...)". Suspect but usable data gives both engines the same warning lines. Below the CLI, the two readers
(walkforward/data/read.py and walkforward/legacy/io.py, which share no code) give the same error or the same prices
and warnings on the Polars reader's own cases and on files Hypothesis damages.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.bad_input import (
    DATA_ERRORS,
    ROW,
    assert_no_partial_output,
    assert_one_line_error,
    assert_warned,
    damage,
    date_of,
    lines,
    make_source,
    run_args,
    set_cell,
    wf,
    write_lines,
)
from tests.test_data_read import BAD as READER_CASES
from tests.test_malformed_csv import damage as damaged_text
from walkforward.data import read as polars_read
from walkforward.errors import DataError
from walkforward.legacy import checks as legacy_checks
from walkforward.legacy import io as legacy_io

ENGINES = ("polars", "legacy")
CSV_REASON = re.compile(r"cannot be read as CSV \(.*\); ")


def same_verdict(line: str) -> str:
    """The line with the CSV parser's own reason for an unreadable file left out (each engine has its parser)."""
    return CSV_REASON.sub("cannot be read as CSV (...); ", line)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return make_source(tmp_path_factory.mktemp("source"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """A config with a model of 5 rounds: the runs that succeed stay quick."""
    path = tmp_path_factory.mktemp("config") / "tiny.json"
    path.write_text(json.dumps({"model": {"kind": "lightgbm", "params": {"n_estimators": 5}}}))
    return path


@pytest.fixture
def data(tmp_path, source) -> Path:
    out = tmp_path / "data"
    shutil.copytree(source, out)
    return out


def run_both(tmp_path: Path, data: Path, *extra: object) -> dict[str, object]:
    """`wf run` with each engine on the same data (so the messages name the same files), each its own output dir."""
    return {engine: wf(*run_args(data, tmp_path / engine, "--engine", engine, *extra)) for engine in ENGINES}


@pytest.mark.parametrize("case", list(DATA_ERRORS))
def test_both_engines_reject_a_bad_csv_with_the_same_line(tmp_path, data, case):
    _, pattern = DATA_ERRORS[case]
    damage(data / "AAA.csv", case)
    results = run_both(tmp_path, data)
    verdicts = {engine: assert_one_line_error(result, pattern) for engine, result in results.items()}
    for engine in ENGINES:
        assert_no_partial_output(tmp_path / engine, data)
    assert same_verdict(verdicts["legacy"]) == same_verdict(verdicts["polars"])
    if "cannot be read as CSV" not in verdicts["polars"]:
        assert verdicts["legacy"] == verdicts["polars"]


def test_the_first_bad_file_in_symbol_order_is_named_after_the_warnings_of_the_others(tmp_path, data):
    """Both engines read every file before they run: the error names the first bad file in sorted symbol order, and
    the files that are usable but suspect still warn, before it."""
    for symbol, column in (("SPY", "volume"), ("AAA", "close")):
        path = data / f"{symbol}.csv"
        write_lines(path, set_cell(column, "-1")(lines(path)))
    btc = data / "BTC-USD.csv"
    rows = lines(btc)
    rows[ROW], rows[ROW + 1] = rows[ROW + 1], rows[ROW]
    write_lines(btc, rows)
    results = run_both(tmp_path, data)
    stderr = {engine: result.stderr for engine, result in results.items()}
    assert stderr["legacy"] == stderr["polars"]
    assert re.fullmatch(
        r"warning: \S*BTC-USD\.csv: rows are not sorted by date; sorted them on reading\n"
        r"error: \S*AAA\.csv line 11: close is -1\.0; prices must be > 0, fix the row\n",
        stderr["polars"],
    ), stderr["polars"]
    for engine, result in results.items():
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert_no_partial_output(tmp_path / engine, data)


def test_both_engines_give_the_same_warnings(tmp_path, data, tiny):
    """Unsorted rows and long gaps (of weekdays for AAA, of days for BTC-USD, which trades on weekends): one warning
    line each, the same from both engines, and the run goes on."""
    aaa = data / "AAA.csv"
    rows = lines(aaa)
    rows[ROW], rows[ROW + 1] = rows[ROW + 1], rows[ROW]
    write_lines(aaa, rows[:128] + rows[158:])  # 30 weekdays missing (no holiday among them)
    btc = data / "BTC-USD.csv"
    crypto = lines(btc)
    write_lines(btc, crypto[:201] + crypto[212:])  # 11 days missing
    # one fold of 63 sessions: the legacy engine re-reads every file for each fold
    results = run_both(tmp_path, data, "--config", tiny, "--end-date", "2019-03-31")
    expected = (
        r"^warning: \S*AAA\.csv: rows are not sorted by date; sorted them on reading$",
        r"^warning: \S*AAA\.csv: \d+ days without rows between \S+ and \S+ \(30 weekdays missing, more than 10\); "
        r"add the missing rows if AAA traded then$",
        r"^warning: \S*BTC-USD\.csv: 12 days without rows between 2016-07-18 and 2016-07-30 \(11 days missing, more "
        r"than 10\); add the missing rows if BTC-USD traded then$",
    )
    warned = {engine: assert_warned(result, *expected) for engine, result in results.items()}
    assert warned["legacy"] == warned["polars"]


@pytest.mark.parametrize(
    "date",
    ["2016-1-15", "+2016-01-15", "2016- 1-15", "2016-01-15 00:00:00-05:00", "2016-01-15T00:00:00", "2016-01-15 00:00"],
)
def test_both_engines_take_the_same_date_forms(tmp_path, data, tiny, date):
    """What strptime's %Y-%m-%d takes besides 2016-01-15 (the row's date), and a midnight time with or without a UTC
    offset (as yfinance writes dates), is the same date for both engines."""
    path = data / "AAA.csv"
    assert date_of(ROW)(lines(path)) == "2016-01-15"
    write_lines(path, set_cell("date", date)(lines(path)))
    results = run_both(tmp_path, data, "--config", tiny, "--end-date", "2019-03-31")
    for result in results.values():
        assert result.exit_code == 0 and result.stderr == "", (result.output, result.exception)


# --- the two readers, below the CLI ------------------------------------------------------------------------------


def read_with(engine: str, path: Path, price_column: str = "close") -> tuple[str | None, list[str], object]:
    """(error message or None, warnings, prices) of one engine's reader; the CSV parser's reason left out."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if engine == "polars":
                prices = polars_read.read_csv(path, "X", price_column).drop("symbol").to_pandas()
            else:
                raw = legacy_io.read_csv(path, price_column=price_column)
                prices = legacy_io.validate(raw, path=path, price_column=price_column, symbol="X")
            error = None
        except DataError as exc:
            prices, error = None, same_verdict(str(exc))
    return error, [str(w.message) for w in caught], prices


def assert_same_reading(path: Path, price_column: str = "close") -> str | None:
    """Both readers give the same error, or the same warnings and bitwise the same prices; returns the error."""
    (p_error, p_warned, p_prices), (l_error, l_warned, l_prices) = (
        read_with(engine, path, price_column) for engine in ENGINES
    )
    assert (l_error, l_warned) == (p_error, p_warned)
    if p_error is None:
        assert list(l_prices.columns) == list(p_prices.columns)
        days = [prices["date"].to_numpy().astype("datetime64[D]") for prices in (l_prices, p_prices)]
        assert (days[0] == days[1]).all()
        for col in ("open", "high", "low", "close", "volume"):  # the same bits, the sign of a zero included
            assert l_prices[col].to_numpy().tobytes() == p_prices[col].to_numpy().tobytes(), col
    return p_error


@pytest.mark.parametrize(("content", "match"), READER_CASES)
def test_both_readers_agree_on_the_polars_readers_cases(tmp_path, content, match):
    path = tmp_path / "B.csv"
    path.write_text(content if isinstance(content, str) else "\n".join(content) + "\n")
    error = assert_same_reading(path)
    assert error is not None and re.search(match, error)


# cells that are a value for both readers, or for neither
CELLS = ["12.5", " 12.5 ", "+12.5", "12.", "1.25e1", "1.25E+1", "0012.5", "\xa012.5", "12.5\t", "-0", "1e-400",
         "5e-324", "1.0000000000000000000001", "123456789012345678901234567890", "0x10", "1_2", "１２", "12e", "e1",
         ".", "-", "--1", "+-1", "NaN", "-nan", "inf", "Infinity", "1e999", "nan", "null", "None", "N/A", "#N/A", "n/a",
         "<NA>", "1.2.3"]  # fmt: skip


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("column", ["open", "volume"])
def test_both_readers_read_a_cell_the_same(tmp_path, cell, column):
    rows = ["date,open,high,low,close,volume", "2020-01-02,10,1e300,1e-300,10,1000", "2020-01-03,10,11,9,10,1000"]
    header = rows[0].split(",")
    cells = rows[1].split(",")
    cells[header.index(column)] = cell
    path = tmp_path / "C.csv"
    path.write_text("\n".join([rows[0], ",".join(cells), rows[2]]) + "\n")
    assert_same_reading(path)


def test_the_legacy_readers_shortcut_reads_as_its_text_path(tmp_path, monkeypatch):
    """The legacy reader reads the usual file's prices and volumes with pandas' C parser; with that shortcut turned
    off (every cell read as text and parsed on its own), they are bitwise the same, and what float() reads."""
    rng = np.random.default_rng(7)
    cells = [f"{v:.{rng.integers(1, 25)}g}" for v in np.exp(rng.uniform(-700, 700, 1000))]
    cells[:7] = ["+5", " 7 ", "1.5E+01", ".25", "12.", "-0", "123456789012345678901234567890"]
    dates = pd.date_range("2000-01-03", periods=200).strftime("%Y-%m-%d")
    body = [",".join([d, *cells[5 * i : 5 * i + 5]]) for i, d in enumerate(dates)]
    path = tmp_path / "S.csv"
    path.write_text("\n".join(["date,open,high,low,close,volume", *body]) + "\n")
    fast = legacy_io.read_csv(path)
    monkeypatch.setattr(legacy_io, "_read_numbers", lambda *args: None)
    slow = legacy_io.read_csv(path)
    for c in ("open", "high", "low", "close", "volume"):
        assert pd.api.types.is_float_dtype(fast[c]) and pd.api.types.is_string_dtype(slow[c])
        expected = np.array([float(text) for text in slow[c]])
        assert fast[c].to_numpy().tobytes() == expected.tobytes(), c
        assert legacy_checks.parse_numbers(slow[c].str.strip()).tobytes() == expected.tobytes(), c
    assert str(fast["open"].iloc[1]) == "-0.0"  # the sign of a zero is kept


@settings(max_examples=40, deadline=None)
@given(symbol=st.sampled_from(["SPY", "BTC-USD"]), data=st.data())
def test_both_readers_agree_on_damaged_files(source, tmp_path_factory, symbol, data):
    text = "\n".join(lines(source / f"{symbol}.csv")[:120]) + "\n"
    path = tmp_path_factory.mktemp("damaged") / "X.csv"
    path.write_bytes(data.draw(damaged_text(text), label="csv"))
    assert_same_reading(path)
