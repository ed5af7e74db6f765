"""Bad input through the CLI: every problem is one line on stderr naming the file, row, date or key and the fix,
exit code 2, no traceback, and no partial output (no temporary file, no run.json, no checkpoints begun). Suspect but
usable data (unsorted rows, long gaps) runs, with one `warning: ...` line per problem, also when the Parquet store is
reused."""

from __future__ import annotations

import datetime as dt
import json
import shlex
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.bad_input import (
    DATA_ERRORS,
    ROW,
    assert_no_partial_output,
    assert_one_line_error,
    assert_warned,
    damage,
    lines,
    make_source,
    run_args,
    set_cell,
    wf,
    write_lines,
)
from walkforward.config import Config
from walkforward.errors import DataError
from walkforward.folds import WalkForwardSplit
from walkforward.legacy.folds import make_folds

G = 127  # AAA's gaps start after this row: no market holiday in the 30 sessions that follow


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    return make_source(tmp_path_factory.mktemp("source"))


@pytest.fixture
def data(tmp_path, source) -> Path:
    """A fresh copy of the generated CSVs, for a test to damage."""
    out = tmp_path / "data"
    shutil.copytree(source, out)
    return out


@pytest.mark.parametrize("case", list(DATA_ERRORS))
@pytest.mark.parametrize("command", ["run", "convert"])
def test_bad_csv_is_one_line_naming_file_row_and_fix(tmp_path, data, case, command):
    _, pattern = DATA_ERRORS[case]
    damage(data / "AAA.csv", case)
    out = tmp_path / "out"
    args = run_args(data, out) if command == "run" else ["data", "convert", "--data-dir", data]
    assert_one_line_error(wf(*args), pattern)
    assert_no_partial_output(out, data)
    assert not (data / ".wf" / "prices.parquet").exists()


def test_configured_symbol_without_a_file(tmp_path, data, source):
    out = tmp_path / "out"
    (data / "AAA.csv").unlink()
    result = wf(*run_args(data, out))
    assert_one_line_error(
        result,
        r"^error: no data for symbol 'AAA': .*AAA\.csv does not exist; .* has BTC-USD\.csv, SPY\.csv\. "
        r"Add the file or remove AAA from assets/benchmark \(--symbols of wf data convert\)\.$",
    )
    assert_no_partial_output(out, data)
    shutil.copy(source / "AAA.csv", data / "AAA.csv")
    result = wf(*run_args(data, out, "--benchmark", "QQQ"))
    assert_one_line_error(result, r"^error: no data for symbol 'QQQ': .*QQQ\.csv does not exist")
    assert_no_partial_output(out, data)


def test_missing_data_directory(tmp_path):
    out = tmp_path / "out"
    result = wf(*run_args(tmp_path / "nope", out))
    assert_one_line_error(result, r"^error: data directory '.*nope' does not exist; pass --data-path")
    assert_no_partial_output(out)


def test_corrupt_parquet_store_is_rebuilt(tmp_path, data):
    assert wf("data", "convert", "--data-dir", data).exit_code == 0
    store = data / ".wf" / "prices.parquet"
    good = store.read_bytes()
    store.write_bytes(good[: len(good) // 2])  # truncated
    result = wf(*run_args(data, tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert store.read_bytes() == good
    assert (tmp_path / "out" / "run.json").exists()


# --- warnings: the run goes on --------------------------------------------------------------------------------


def test_unsorted_rows_are_sorted_with_one_warning_line(tmp_path, data, source):
    path = data / "AAA.csv"
    rows = lines(path)
    rows[ROW], rows[ROW + 1] = rows[ROW + 1], rows[ROW]
    write_lines(path, rows)
    result = wf(*run_args(data, tmp_path / "out"))
    assert_warned(result, r"^warning: .*AAA\.csv: rows are not sorted by date; sorted them on reading$")
    reference = wf(*run_args(source, tmp_path / "ref"))
    assert reference.exit_code == 0 and reference.stderr == ""
    for name in ("predictions.parquet", "metrics.json"):  # sorting on reading: the same run as the sorted file
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "ref" / name).read_bytes()


def test_gap_warns_once_per_file_and_again_when_the_store_is_reused(tmp_path, data):
    path = data / "AAA.csv"
    rows = lines(path)
    before, after = rows[G].split(",")[0], rows[G + 31].split(",")[0]
    write_lines(path, rows[: G + 1] + rows[G + 31 :])  # 30 sessions missing
    btc = data / "BTC-USD.csv"
    crypto = lines(btc)
    write_lines(btc, crypto[:201] + crypto[212:])  # 11 days missing: more than 10
    days = (dt.date.fromisoformat(after) - dt.date.fromisoformat(before)).days
    assert np.busday_count(np.datetime64(before) + 1, np.datetime64(after)) == 30  # no holiday in between
    expected = (
        rf"^warning: .*AAA\.csv: {days} days without rows between {before} and {after} \(30 weekdays missing, more "
        r"than 10\); add the missing rows if AAA traded then$",
        r"^warning: .*BTC-USD\.csv: 12 days without rows between 2016-07-18 and 2016-07-30 \(11 days missing, more "
        r"than 10\); add the missing rows if BTC-USD traded then$",
    )
    first = assert_warned(wf(*run_args(data, tmp_path / "out")), *expected)
    manifest = json.loads((data / ".wf" / "prices.json").read_text())
    assert [f"warning: {w}" for w in manifest["warnings"]] == first
    store = (data / ".wf" / "prices.parquet").stat().st_mtime_ns
    again = assert_warned(wf(*run_args(data, tmp_path / "out2")), *expected)  # the store is reused: it still warns
    assert again == first
    assert (data / ".wf" / "prices.parquet").stat().st_mtime_ns == store
    assert_warned(wf("data", "convert", "--data-dir", data), *expected)


def test_gap_of_ten_sessions_or_holidays_does_not_warn(tmp_path, data):
    path = data / "AAA.csv"
    rows = lines(path)
    write_lines(path, rows[: G + 1] + rows[G + 11 :])  # exactly 10 weekdays missing
    assert np.busday_count(np.datetime64(rows[G][:10]) + 1, np.datetime64(rows[G + 11][:10])) == 10
    btc = data / "BTC-USD.csv"
    crypto = lines(btc)
    write_lines(btc, crypto[:201] + crypto[211:])  # exactly 10 days
    result = wf("data", "convert", "--data-dir", data)
    assert result.exit_code == 0 and result.stderr == "", result.stderr


# --- folds: dates outside the data, too little history ----------------------------------------------------------

FOLD_ERRORS = {
    "end-after-data": (
        ["--end-date", "2020-03-31"],
        r"^error: end_date 2020-03-31 is after the last date of the benchmark SPY \(2019-12-31\); set --end-date to "
        r"2019-12-31 or earlier, or add the missing data$",
    ),
    "start-before-data": (
        ["--start-date", "2015-06-01"],
        r"^error: not enough history before start_date 2015-06-01: the first fold needs 200 benchmark sessions "
        r"before it \(fold_length=200 \+ embargo=0\), the data has 0; lower --fold-length or move --start-date to "
        r"2016-10-18 or later$",
    ),
    "history-too-short": (
        ["--fold-length", 900],
        r"^error: not enough history before start_date 2019-01-01: the first fold needs 900 benchmark sessions "
        r"before it \(fold_length=900 \+ embargo=0\), the data has 755; lower --fold-length or move --start-date to "
        r"2019-07-31 or later$",
    ),
    "embargo-too-long": (
        ["--embargo", 600],
        r"needs 800 benchmark sessions before it \(fold_length=200 \+ embargo=600\), the data has 755; lower "
        r"--fold-length or --embargo or move --start-date to 2019-03-08 or later$",
    ),
    "period-outside-data": (
        ["--start-date", "2021-01-01", "--end-date", "2021-06-30"],
        r"^error: no benchmark sessions between start_date 2021-01-01 and end_date 2021-06-30: the data of the "
        r"benchmark SPY runs from 2016-01-04 to 2019-12-31; move --start-date and --end-date into that range$",
    ),
}


@pytest.mark.parametrize("case", list(FOLD_ERRORS))
def test_dates_outside_the_data_and_short_history(tmp_path, source, case):
    extra, pattern = FOLD_ERRORS[case]
    out = tmp_path / "out"
    assert_one_line_error(wf(*run_args(source, out, *extra)), pattern)
    assert_no_partial_output(out, source)


@pytest.mark.parametrize("case", ["end-after-data", "history-too-short", "period-outside-data"])
def test_both_engines_give_the_same_fold_errors(tmp_path, source, case):
    extra, _ = FOLD_ERRORS[case]
    polars = wf(*run_args(source, tmp_path / "p", *extra))
    legacy = wf(*run_args(source, tmp_path / "l", *extra, "--engine", "legacy"))
    assert polars.exit_code == legacy.exit_code == 2
    assert polars.stderr == legacy.stderr


CAL = np.array(
    [d for d in np.arange("2024-01-01", "2024-02-01", dtype="datetime64[D]") if np.is_busday(d)], "datetime64[D]"
)  # weekdays of January 2024: ends on Wednesday 31st


@pytest.mark.parametrize(
    ("calendar", "end", "ok"),
    [
        (CAL[:-3], "2024-01-28", True),  # data to Friday 26th, end on the Sunday after: no session is missing
        (CAL[:-3], "2024-01-29", False),  # ... end on Monday: one is
        (CAL, "2024-01-31", True),
        (np.arange("2024-01-01", "2024-01-27", dtype="datetime64[D]"), "2024-01-28", False),  # every day: a weekend
    ],
)
def test_end_date_may_pass_the_data_only_by_days_without_sessions(calendar, end, ok):
    end_date = dt.date.fromisoformat(end)
    start = dt.date(2024, 1, 15)
    config = Config(start_date=start, end_date=end_date, fold_length=5, horizon=1, step_size=5)
    messages = []
    for split in (
        lambda: WalkForwardSplit(5, step_size=5).folds(calendar, start, end_date, benchmark="SPY"),
        lambda: make_folds(pd.Series(pd.DatetimeIndex(calendar)), config),
    ):
        if ok:
            split()
        else:
            with pytest.raises(DataError, match=rf"^end_date {end} is after the last date of the benchmark SPY") as e:
                split()
            messages.append(str(e.value))
    assert len(set(messages)) <= 1  # both engines: the same words


# --- config ------------------------------------------------------------------------------------------------------


CONFIG_ERRORS = {
    "unknown-key": ({"fold_lenght": 200}, r"^error: unknown config key 'fold_lenght'\. Did you mean: 'fold_length'\?$"),
    "unknown-nested-key": (
        {"model": {"kind": "lightgbm", "parms": {}}},
        r"^error: unknown config key in model: 'parms'\. Did you mean: 'params'\?$",
    ),
    "wrong-type": ({"horizon": "5"}, r"^error: horizon must be an integer, got '5'$"),
    "wrong-type-bool": (
        {"model": {"kind": "lightgbm", "warm_start": "yes"}},
        r"^error: model\.warm_start must be true or false, got 'yes'$",
    ),
    "wrong-type-list": ({"features": {"ret": 5}}, r"^error: features\.ret must be a list of window lengths, got 5$"),
    "wrong-type-number": (
        {"strategy": {"cost_bps": "5"}},
        r"^error: strategy\.cost_bps must be a finite number, got '5'$",
    ),
    "unknown-model-kind": (
        {"model": {"kind": "lightgmb"}},
        r"^error: model\.kind must be one of .*; got 'lightgmb'\. Did you mean: 'lightgbm'\?$",
    ),
    "unknown-model-param": (
        {"model": {"kind": "lightgbm", "params": {"num_leafs": 7}}},
        r"^error: unknown lightgbm parameter 'num_leafs' in model\.params\. Did you mean: 'num_leaves'\? Known: ",
    ),
    "not-json": ("{not json", r"^error: config file '.*bad\.json' is not valid JSON: "),
}


@pytest.mark.parametrize("case", list(CONFIG_ERRORS))
def test_bad_config_file(tmp_path, source, case):
    content, pattern = CONFIG_ERRORS[case]
    bad = tmp_path / "bad.json"
    bad.write_text(content if isinstance(content, str) else json.dumps(content))
    out = tmp_path / "out"
    assert_one_line_error(wf(*run_args(source, out, "--config", bad)), pattern)
    assert not out.exists()  # config errors stop before anything is created


FLAG_ERRORS = {
    "fold-length-not-above-horizon": (
        ["--fold-length", 5],
        r"^error: fold_length=5 must be greater than horizon=5: purging would leave no training rows; raise "
        r"--fold-length or lower horizon$",
    ),
    "horizon-above-fold-length": (["--horizon", 300], r"^error: fold_length=200 must be greater than horizon=300"),
    "step-size-zero": (["--step-size", 0], r"^error: step_size must be >= 1, got 0$"),
    "step-size-negative": (["--step-size", -3], r"^error: step_size must be >= 1, got -3$"),
    "start-after-end": (
        ["--start-date", "2019-07-01"],
        r"^error: start_date 2019-07-01 is after end_date 2019-06-30; swap them or fix one$",
    ),
    "bad-date-flag": (
        ["--end-date", "30/06/2019"],
        r"^error: end_date must be a date as YYYY-MM-DD, got '30/06/2019'$",
    ),
    "unknown-model": (
        ["--model", "random_forrest"],
        r"^error: model\.kind must be one of .*; got 'random_forrest'\. Did you mean: 'random_forest'\?$",
    ),
    "unknown-window": (["--window", "sliding"], r"^error: window must be one of rolling, expanding; got 'sliding'\."),
}


@pytest.mark.parametrize("case", list(FLAG_ERRORS))
def test_bad_flag_value(tmp_path, source, case):
    extra, pattern = FLAG_ERRORS[case]
    out = tmp_path / "out"
    assert_one_line_error(wf(*run_args(source, out, *extra)), pattern)
    assert not out.exists()


def test_output_dir_that_is_a_file(tmp_path, source):
    target = tmp_path / "somefile"
    target.write_text("mine")
    result = wf(*run_args(source, target))
    assert_one_line_error(result, r"^error: output dir '.*somefile' is a file; pass --output-dir with a directory")
    assert target.read_text() == "mine"


def test_output_dir_under_a_file_cannot_be_created(tmp_path, source):
    target = tmp_path / "somefile"
    target.write_text("mine")
    result = wf(*run_args(source, target / "sub"))
    assert_one_line_error(
        result, r"^error: cannot create output dir '.*somefile/sub': Not a directory; pick another --output-dir$"
    )
    assert target.read_text() == "mine"


def test_a_failed_run_leaves_the_directory_free_for_the_next(tmp_path, data, source):
    """Bad data found while loading leaves no begun run behind: fixing the file and running again just works
    (no 'holds an interrupted run; pass --resume')."""
    out = tmp_path / "out"
    path = data / "AAA.csv"
    write_lines(path, set_cell("volume", "-1")(lines(path)))
    assert_one_line_error(wf(*run_args(data, out)), r"volume is -1\.0")
    assert_no_partial_output(out, data)
    shutil.copy(source / "AAA.csv", path)
    result = wf(*run_args(data, out))
    assert result.exit_code == 0, result.output
    assert (out / "run.json").exists()


def test_debug_shows_the_traceback_instead(tmp_path, data):
    path = data / "AAA.csv"
    write_lines(path, set_cell("volume", "-1")(lines(path)))
    result = wf(*run_args(data, tmp_path / "out", "--debug"))
    assert isinstance(result.exception, DataError)
    assert "error:" not in result.stderr


def test_commands_are_shell_quotable():
    """The run line above splits and joins like a shell command (what the resume hint prints)."""
    args = [str(a) for a in run_args(Path("data dir"), Path("out"))]
    assert shlex.split(shlex.join(args)) == args


@pytest.mark.parametrize("engine", ["polars", "legacy"])
def test_absurd_but_valid_prices_do_not_overflow_the_metrics(tmp_path, data, engine):
    """Regression: a row priced 1e300 (a unit error that passes every check) made the CAGR's power raise
    OverflowError, a traceback; an unrepresentable metric is null instead."""
    path = data / "AAA.csv"
    rows = lines(path)
    rows[800] = rows[800].split(",")[0] + ",1e300,1e300,1e300,1e300,1000"  # inside 2019H1's test windows
    write_lines(path, rows)
    out = tmp_path / "out"
    result = wf(*run_args(data, out, "--engine", engine))
    assert result.exit_code == 0, (result.output, result.exception)
    assert all(line.startswith("warning: ") for line in result.stderr.splitlines())
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["overall"]["n_days"] > 0
