"""`wf compare RUN_A RUN_B` through typer's CliRunner: equal runs match (exit 0); a prediction changed beyond the
tolerance is named with both values (exit 1), within it matches; a missing table names its file (exit 1); a run dir
that does not exist is one line (exit 2); runs of different engines and worker counts compare."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import cli.compare
import walkforward.compare
from cli.main import app
from tests.small import small_config
from walkforward.outputs import TABLES
from walkforward.runner import execute

ALL_TABLES = [*TABLES, "metrics"]
WIDE = {"COLUMNS": "200"}  # long enough for both values on one line (narrow terminals fold them)

runner = CliRunner()


def wf_compare(*args: object):
    return runner.invoke(app, ["compare", *map(str, args)], env=WIDE)


def status(output: str) -> dict[str, str]:
    """{table: ✓ or ✗} from the summary table."""
    rows = [line.split("│") for line in output.splitlines() if line.startswith("│")]
    return {cells[1].strip(): cells[2].strip() for cells in rows if cells[1].strip() in ALL_TABLES}


@pytest.fixture(scope="module")
def data_dir(small_data) -> Path:
    return small_data


@pytest.fixture(scope="module")
def base_run(data_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "polars"
    execute(small_config(data_dir, out))
    return out


@pytest.fixture
def copy(base_run, tmp_path) -> Path:
    out = tmp_path / "copy"
    shutil.copytree(base_run, out)
    return out


def nudge_prediction(run: Path, factor: float) -> tuple[float, float]:
    """Multiply one prediction by `factor`; return its old and new value."""
    path = run / "predictions.parquet"
    frame = pl.read_parquet(path)
    row = frame.with_row_index().filter(pl.col("prediction").abs() > 1e-6)["index"][3]
    old = frame["prediction"][row]
    new = old * factor
    assert new != old
    frame.with_columns(frame["prediction"].scatter(row, new)).write_parquet(path)
    return old, new


def test_equal_runs_match(base_run, copy):
    result = wf_compare(base_run, copy)
    assert result.exit_code == 0, result.output
    assert status(result.output) == dict.fromkeys(ALL_TABLES, "✓")
    assert "runs match" in result.output


def test_a_prediction_changed_beyond_the_tolerance_is_shown_with_both_values(base_run, copy):
    old, new = nudge_prediction(copy, 1 + 1e-6)
    result = wf_compare(base_run, copy)
    assert result.exit_code == 1, result.output
    assert status(result.output)["predictions"] == "✗"
    assert re.search(r"1 of \d+ rows differ in prediction", result.output)
    assert re.search(r"predictions: first 1 differing row\b", result.output)
    assert "prediction (A)" in result.output and "prediction (B)" in result.output
    assert repr(old) in result.output and repr(new) in result.output
    assert "differ: predictions" in result.output


@pytest.mark.parametrize(
    ("factor", "extra"),
    [(1 + 1e-12, []), (1 + 1e-6, ["--tolerance", "1e-5"])],
    ids=["below-default-tolerance", "below-given-tolerance"],
)
def test_a_prediction_changed_within_the_tolerance_matches(base_run, copy, factor, extra):
    nudge_prediction(copy, factor)
    result = wf_compare(base_run, copy, *extra)
    assert result.exit_code == 0, result.output
    assert status(result.output)["predictions"] == "✓"


def test_tolerance_zero_is_bitwise(base_run, copy):
    nudge_prediction(copy, 1 + 1e-15)
    assert wf_compare(base_run, copy).exit_code == 0
    assert wf_compare(base_run, copy, "--tolerance", "0").exit_code == 1


def test_a_changed_metric_is_shown_with_both_values(base_run, copy):
    metrics = json.loads((copy / "metrics.json").read_text())
    metrics["overall"]["sharpe"] += 0.5
    (copy / "metrics.json").write_text(json.dumps(metrics))
    result = wf_compare(base_run, copy)
    assert result.exit_code == 1, result.output
    assert status(result.output)["metrics"] == "✗"
    assert "overall.sharpe" in result.output
    assert str(metrics["overall"]["sharpe"]) in result.output


def test_a_missing_table_names_the_file(base_run, copy):
    (copy / "trades.parquet").unlink()
    result = wf_compare(base_run, copy)
    assert result.exit_code == 1, result.output
    assert status(result.output)["trades"] == "✗"
    assert status(result.output)["predictions"] == "✓"
    assert f"missing: {copy / 'trades.parquet'}" in result.output


@pytest.mark.parametrize("side", ["a", "b"])
def test_a_run_dir_that_does_not_exist_is_one_line(base_run, tmp_path, side):
    nope = tmp_path / "nope"
    args = (nope, base_run) if side == "a" else (base_run, nope)
    result = wf_compare(*args)
    assert result.exit_code == 2, result.output
    assert result.stdout.strip() == ""
    assert result.stderr.strip() == f"error: run dir {str(nope)!r} does not exist; pass the --output-dir of a `wf run`"
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "predictions.parquet",
            b"PAR1 truncated",
            r"predictions\.parquet: cannot be read as Parquet \(.*\); rerun `wf run`",
        ),
        ("metrics.json", b'{"overall": ', r"metrics\.json: not valid JSON \(.*\); rerun `wf run`"),
    ],
)
def test_a_corrupt_output_file_is_one_line_naming_it(base_run, copy, name, content, message):
    (copy / name).write_bytes(content)
    result = wf_compare(base_run, copy)
    assert result.exit_code == 2, result.output
    assert re.fullmatch(rf"error: {re.escape(str(copy))}/{message}", result.stderr.strip()), result.stderr
    assert "Traceback" not in result.output


def test_a_negative_tolerance_is_one_line(base_run):
    result = wf_compare(base_run, base_run, "--tolerance", "-1")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == "error: tolerance must be a number >= 0, got -1.0; pass e.g. --tolerance 1e-9"


def test_a_legacy_run_and_a_polars_run_of_the_same_config_match(data_dir, base_run, tmp_path):
    legacy = tmp_path / "legacy"
    execute(small_config(data_dir, legacy, engine="legacy", n_jobs=1))
    result = wf_compare(legacy, base_run)
    assert result.exit_code == 0, result.output
    assert status(result.output) == dict.fromkeys(ALL_TABLES, "✓")


def test_runs_with_different_worker_counts_are_bitwise_equal(data_dir, base_run, tmp_path):
    one = tmp_path / "n1"
    execute(small_config(data_dir, one, n_jobs=1))
    result = wf_compare(one, base_run, "--tolerance", "0")
    assert result.exit_code == 0, result.output


def test_the_cli_default_tolerance_is_the_library_default():
    assert cli.compare.DEFAULT_TOLERANCE == walkforward.compare.DEFAULT_TOLERANCE
