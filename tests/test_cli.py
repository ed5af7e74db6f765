"""`wf` end to end through typer's CliRunner: `wf data generate|convert`, `wf run` with each engine, model, scope
and flag writing every output; the performance plan's command; bad input as one line on stderr with exit code 2,
a traceback only with --debug."""

from __future__ import annotations

import datetime as dt
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.run import SUMMARY
from walkforward.config import Config
from walkforward.data.generate import generate
from walkforward.errors import WalkforwardError
from walkforward.outputs import METRIC_NAMES, SCHEMAS, TABLES

ROOT = Path(__file__).resolve().parent.parent
SYMBOLS = ["SPY", "AAA", "BTC-USD"]
PERF_SYMBOLS = ["SPY", "AAPL", "TSLA", "GOOG", "BTC-USD"]  # the default config's assets
OUTPUT_FILES = [f"{t}.parquet" for t in TABLES] + ["metrics.json", "run.json"]
RUN_JSON_KEYS = {"config", "folds", "universe", "data_fingerprint", "packages", "engine", "n_jobs", "timings"}

runner = CliRunner()


def wf(line: str):
    """Run `wf LINE` (split like a shell would) in this process."""
    return runner.invoke(app, shlex.split(line))


def q(path: Path) -> str:
    return shlex.quote(str(path))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    generate(out, SYMBOLS, dt.date(2016, 1, 1), dt.date(2019, 12, 31), seed=3)
    return out


def run_line(data_dir: Path, out: Path, extra: str = "") -> str:
    """`wf run` on the module's data: 2019H1 out of sample, two folds."""
    return (
        f"run --data-dir {q(data_dir)} --assets {','.join(SYMBOLS)} --benchmark SPY --start-date 2019-01-01 "
        f"--end-date 2019-06-30 --fold-length 200 --step-size 63 --output-dir {q(out)} {extra}"
    )


def assert_one_line_error(result, pattern: str) -> None:
    """Exit code 2, nothing but blank lines on stdout, exactly one line on stderr, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert result.stdout.strip() == "", result.stdout  # no progress bar left above the error
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert "Traceback" not in result.output
    assert re.search(pattern, lines[0]), lines[0]


# --- wf data ---------------------------------------------------------------------------------------


def test_data_generate_writes_one_csv_per_symbol(tmp_path, data_dir):
    out = tmp_path / "gen"
    result = wf(f"data generate --out {q(out)} --symbols SPY,AAA,BTC-USD --start 2016-01-01 --end 2019-12-31 --seed 3")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "wrote 3 files" in result.stdout
    assert sorted(p.name for p in out.iterdir()) == ["AAA.csv", "BTC-USD.csv", "SPY.csv"]
    for symbol in SYMBOLS:  # the same seed gives byte-identical files
        assert (out / f"{symbol}.csv").read_bytes() == (data_dir / f"{symbol}.csv").read_bytes()
    spy = pl.read_csv(out / "SPY.csv", try_parse_dates=True)
    btc = pl.read_csv(out / "BTC-USD.csv", try_parse_dates=True)
    assert spy.columns == ["date", "open", "high", "low", "close", "volume"]
    assert spy["date"].min() >= dt.date(2016, 1, 1) and spy["date"].max() <= dt.date(2019, 12, 31)
    assert spy["date"].dt.weekday().max() <= 5  # equities: no weekends
    assert btc["date"].dt.weekday().max() == 7 and btc.height == (dt.date(2019, 12, 31) - dt.date(2016, 1, 1)).days + 1


def test_data_generate_rejects_start_after_end(tmp_path):
    result = wf(f"data generate --out {q(tmp_path)} --symbols SPY --start 2019-02-01 --end 2019-01-01")
    assert_one_line_error(result, r"^error: --start 2019-02-01 is after --end 2019-01-01; swap them$")
    assert not (tmp_path / "SPY.csv").exists()


def test_data_generate_refuses_to_replace_a_users_file_without_overwrite(tmp_path):
    (tmp_path / "AAA.csv").write_text("my own data\n")
    args = f"data generate --out {q(tmp_path)} --symbols SPY,AAA --start 2019-01-01 --end 2019-03-01"
    refused = wf(args)
    assert_one_line_error(
        refused,
        r"^error: --out '.*' already holds AAA\.csv; pass --overwrite to replace them, or pick another --out$",
    )
    assert (tmp_path / "AAA.csv").read_text() == "my own data\n" and not (tmp_path / "SPY.csv").exists()
    assert wf(args + " --overwrite").exit_code == 0
    assert (tmp_path / "AAA.csv").read_text().startswith("date,open,high,low,close,volume")


@pytest.mark.parametrize("command", ["generate", "universe -n 3 --start 2020-01-01 --end 2020-02-01"])
def test_data_generators_name_a_bad_out_folder_and_the_fix(tmp_path, command):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert_one_line_error(wf(f"data {command} --out {q(a_file)}"), r"^error: --out '.*file' is a file; pass --out with")
    assert_one_line_error(
        wf(f"data {command} --out {q(a_file / 'sub')}"),
        r"^error: cannot create --out '.*sub': .*; pick another --out$",
    )


def test_data_convert_writes_the_parquet_store(tmp_path, data_dir):
    for symbol in SYMBOLS:
        shutil.copy(data_dir / f"{symbol}.csv", tmp_path / f"{symbol}.csv")
    result = wf(f"data convert --data-dir {q(tmp_path)}")
    assert result.exit_code == 0, result.output
    path = tmp_path / ".wf" / "prices.parquet"
    assert path.is_file()
    assert " ".join(result.stdout.split()).endswith("/.wf/prices.parquet (3 symbols)")  # rich wraps long paths
    prices = pl.read_parquet(path)
    assert sorted(prices["symbol"].unique().to_list()) == sorted(SYMBOLS)
    assert {"symbol", "date", "open", "high", "low", "close", "volume"} <= set(prices.columns)
    assert prices.filter(pl.col("symbol") == "SPY").height == pl.read_csv(tmp_path / "SPY.csv").height


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (
            lambda p: p / "nope",
            r"^error: data directory '.*nope' does not exist; pass --data-path with the folder holding <SYMBOL>\.csv",
        ),
        (
            lambda p: p,
            r"^error: data path '.*' holds no <SYMBOL>\.csv files, no \.parquet files and no symbol=<SYMBOL>/ "
            r"folders; .*`wf data generate --out .*`$",
        ),
    ],
    ids=["missing-dir", "no-csv"],
)
def test_data_convert_bad_input(tmp_path, make, pattern):
    assert_one_line_error(wf(f"data convert --data-dir {q(make(tmp_path))}"), pattern)


# --- wf run ----------------------------------------------------------------------------------------


def check_outputs(out: Path, symbols: list[str] = SYMBOLS) -> dict:
    files = [p.name for p in out.iterdir() if p.is_file()]
    assert sorted(f for f in files if f != "features.parquet") == sorted(OUTPUT_FILES)  # no temporary files left
    for name in TABLES:
        assert pq.read_schema(out / f"{name}.parquet").remove_metadata() == SCHEMAS[name]
    assert pq.read_table(out / "predictions.parquet").num_rows > 0
    info = json.loads((out / "run.json").read_text())
    assert set(info) >= RUN_JSON_KEYS
    assert Config.from_dict(info["config"]).output_dir == str(out)
    assert isinstance(info["data_fingerprint"], str) and info["data_fingerprint"]
    assert {"polars", "numpy", "lightgbm", "pyarrow"} <= set(info["packages"])
    assert info["n_jobs"] >= 1
    assert info["timings"]["total"] > 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"overall", "per_fold", "per_asset"}
    assert set(METRIC_NAMES) <= set(metrics["overall"])
    assert len(metrics["per_fold"]) == len(info["folds"])
    assert set(metrics["per_asset"]) == set(symbols)
    return info


@pytest.mark.parametrize(
    ("extra", "expect"),
    [
        ("", {"engine": "polars"}),
        ("--engine legacy", {"engine": "legacy"}),
        ("--model random_forest", {"model.kind": "random_forest"}),
        ("--scope per_asset", {"model.scope": "per_asset"}),
        ("--warm-start", {"model.warm_start": True}),
        ("--save-features", {"engine": "polars"}),
    ],
    ids=["polars", "legacy", "random_forest", "per_asset", "warm_start", "save_features"],
)
def test_run_writes_every_output_and_prints_the_summary(tmp_path, data_dir, extra, expect):
    out = tmp_path / "out"
    result = wf(run_line(data_dir, out, extra))
    assert result.exit_code == 0, (result.output, result.exception)
    assert result.stderr == ""
    for _, label, _ in SUMMARY:
        assert label in result.stdout, label
    assert f"{expect.get('engine', 'polars')} engine · 2 folds · 2019-01-01..2019-06-30" in result.stdout
    info = check_outputs(out)
    for key, value in expect.items():
        section, _, leaf = key.rpartition(".")
        assert (info["config"][section] if section else info["config"])[leaf] == value
    assert info["engine"] == info["config"]["engine"]
    assert [f["fold"] for f in info["folds"]] == [0, 1]
    assert info["folds"][0]["test_start"] == "2019-01-02" and info["folds"][-1]["test_end"] <= "2019-06-30"
    assert (out / "features.parquet").exists() == ("--save-features" in extra)


def test_run_model_flag_takes_the_kinds_default_params(tmp_path, data_dir):
    """--model random_forest drops the config file's LightGBM params rather than failing on them."""
    result = wf(run_line(data_dir, tmp_path, "--model random_forest --quiet"))
    assert result.exit_code == 0, result.output
    params = json.loads((tmp_path / "run.json").read_text())["config"]["model"]["params"]
    assert params == {"n_estimators": 100, "max_depth": 10}


def test_run_save_features_writes_symbol_date_every_feature_and_target(tmp_path, data_dir):
    result = wf(run_line(data_dir, tmp_path, "--save-features --quiet"))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == ""  # --quiet
    features = pl.read_parquet(tmp_path / "features.parquet")
    assert features.columns == ["symbol", "date", *Config().feature_names, "target"]
    assert sorted(features["symbol"].unique().to_list()) == sorted(SYMBOLS)
    assert features.schema["date"] == pl.Date
    assert all(features.schema[c] == pl.Float64 for c in features.columns[2:])
    assert features.height > 0 and features["target"].drop_nulls().len() > 0


def test_run_performance_plan_command_gives_four_half_year_folds(tmp_path, monkeypatch):
    """The performance plan's small workload: 2020-2021 out of sample, 252-session training, 126-session steps.

    Test windows are counted in benchmark sessions (docs/methodology.md §1), not calendar halves: 2020 has 253
    sessions and H1 2020 has 125, so the windows run 2020-01-02..07-01, 07-02..12-30, 12-31..2021-07-01 and
    2021-07-02..12-31 (the last window takes the one-session remainder of the 505).
    """
    data = tmp_path / "data"
    generate(data, PERF_SYMBOLS, dt.date(2017, 1, 1), dt.date(2022, 12, 31), seed=1)
    out = tmp_path / "perf"
    monkeypatch.chdir(ROOT)  # the command names the config relative to the repository
    result = wf(
        f"run --data-dir {q(data)} --start-date 2020-01-01 --end-date 2021-12-31 --fold-length 252 --step-size 126 "
        f"--config walkforward/configs/default.json --output-dir {q(out)}"
    )
    assert result.exit_code == 0, (result.output, result.exception)
    info = check_outputs(out, PERF_SYMBOLS)
    windows = [(f["test_start"], f["test_end"]) for f in info["folds"]]
    assert windows == [
        ("2020-01-02", "2020-07-01"),
        ("2020-07-02", "2020-12-30"),
        ("2020-12-31", "2021-07-01"),
        ("2021-07-02", "2021-12-31"),
    ]
    halves = [dt.date(2020, 1, 1), dt.date(2020, 7, 1), dt.date(2021, 1, 1), dt.date(2021, 7, 1)]
    for (start, _), half in zip(windows, halves, strict=True):  # each window starts within a few days of its half
        assert abs((dt.date.fromisoformat(start) - half).days) <= 3
    assert info["folds"][0]["train_start"] == "2019-01-02" and info["folds"][0]["train_end"] == "2019-12-31"
    assert info["config"]["fold_length"] == 252 and info["config"]["step_size"] == 126
    assert info["config"]["assets"] == PERF_SYMBOLS  # from the config file
    assert "4 folds" in result.stdout


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        (
            "--assets SPY,XYZ",
            r"^error: no data for symbol 'XYZ': .*XYZ\.csv does not exist; .* has AAA\.csv, BTC-USD\.csv, SPY\.csv\. "
            r"Add the file or remove XYZ from assets/benchmark \(--symbols of wf data convert\)\.$",
        ),
        ("--assets SPY,AAAA", r"no data for symbol 'AAAA'.* Did you mean: 'AAA'\?$"),
        ("--benchmark QQQ", r"^error: no data for symbol 'QQQ'"),
        (
            "--start-date 2019-07-01",
            r"^error: start_date 2019-07-01 is after end_date 2019-06-30; swap them or fix one$",
        ),
        (
            "--start-date 2016-03-01",
            r"^error: not enough history before start_date 2016-03-01: the first fold needs 200 benchmark sessions "
            r"before it \(fold_length=200 \+ embargo=0\), the data has \d+; lower --fold-length or move --start-date",
        ),
        ("--fold-length 2000", r"needs 2000 benchmark sessions before it .* the data has \d+;"),
        ("--embargo 800", r"needs 1000 benchmark sessions before it \(fold_length=200 \+ embargo=800\)"),
        ("--start-date 2021-01-01 --end-date 2021-06-30", r"^error: no benchmark sessions between"),
        (
            "--engine pandas",
            r"^error: engine must be one of polars, legacy; got 'pandas'\. Did you mean: 'legacy'\?$",
        ),
        ("--model random_forrest", r"got 'random_forrest'\. Did you mean: 'random_forest'\?$"),
        ("--scope per-asset", r"^error: model\.scope must be one of unified, per_asset; got 'per-asset'\."),
        ("--step-size 0", r"^error: step_size must be >= 1, got 0$"),
        ("--fold-length 5", r"^error: fold_length=5 must be greater than horizon=5"),
        ("--config nope.json", r"^error: config file 'nope\.json' does not exist; pass --config with an existing"),
    ],
    ids=lambda v: v if v.startswith("--") else None,
)
def test_run_bad_input_is_one_line_and_exit_code_2(tmp_path, data_dir, extra, pattern):
    assert_one_line_error(wf(run_line(data_dir, tmp_path / "out", extra)), pattern)


def test_run_missing_data_dir(tmp_path):
    result = wf(run_line(tmp_path / "nope", tmp_path / "out"))
    assert_one_line_error(
        result,
        r"^error: data directory '.*nope' does not exist; pass --data-path with the folder holding <SYMBOL>\.csv",
    )


def test_run_output_dir_that_is_a_file(tmp_path, data_dir):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    result = wf(run_line(data_dir, target))
    assert_one_line_error(result, r"^error: output dir '.*taken' is a file; pass --output-dir with a directory path$")
    assert target.read_text() == "not a folder"


def test_run_bad_config_file(tmp_path, data_dir):
    bad = tmp_path / "bad.json"
    bad.write_text('{"fold_lenght": 200}')
    result = wf(run_line(data_dir, tmp_path / "out", f"--config {q(bad)}"))
    assert_one_line_error(result, r"^error: unknown config key 'fold_lenght'\. Did you mean: 'fold_length'\?$")
    bad.write_text("{not json")
    result = wf(run_line(data_dir, tmp_path / "out", f"--config {q(bad)}"))
    assert_one_line_error(result, r"^error: config file '.*bad\.json' is not valid JSON: ")


def test_run_debug_raises_instead_of_one_line(tmp_path):
    result = wf(run_line(tmp_path / "nope", tmp_path / "out", "--debug"))
    assert result.exit_code == 1
    assert isinstance(result.exception, WalkforwardError)
    assert "does not exist" in str(result.exception)
    assert "error:" not in result.stderr


def test_debug_prints_a_traceback_in_a_real_process(tmp_path):
    args = [sys.executable, "-m", "cli.main", *shlex.split(run_line(tmp_path / "nope", tmp_path / "out"))]
    plain = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert plain.returncode == 2
    assert len(plain.stderr.splitlines()) == 1 and "Traceback" not in plain.stderr
    debug = subprocess.run([*args, "--debug"], capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-1].startswith("walkforward.errors.DataError: data directory")


@pytest.mark.parametrize(
    ("argv", "pattern"),
    [
        (["run", "--fold-length", "abc"], r"^error: Invalid value for '--fold-length': .* \(see `wf run --help`\)$"),
        (["run", "--bogus"], r"^error: No such option: --bogus .*\(see `wf run --help`\)$"),
        (["runn"], r"^error: No such command 'runn'\. Did you mean 'run'\? \(see `wf --help`\)$"),
    ],
    ids=["bad-value", "unknown-option", "unknown-command"],
)
def test_usage_errors_of_the_console_script_are_one_line(tmp_path, argv, pattern):
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", *argv], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and re.match(pattern, lines[0]), proc.stderr


def test_ctrl_c_while_a_command_starts_says_so_and_exits_130(monkeypatch):
    """Before a run installs its own SIGINT handler (imports, loading), Ctrl-C is a KeyboardInterrupt: one line, not
    typer's silent exit."""
    import typer

    import cli.common

    monkeypatch.setattr(cli.common, "exit_on_signal", lambda: None)  # not this test process's handlers
    tiny = typer.Typer()

    @tiny.command()
    @cli.common.handle_errors
    def start(debug: bool = False) -> None:  # noqa: ARG001
        raise KeyboardInterrupt

    result = CliRunner().invoke(tiny, [])
    assert result.exit_code == 130
    assert result.stderr == "interrupted (Ctrl-C) while starting; run the command again\n"
