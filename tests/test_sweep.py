"""`wf sweep` / `walkforward.sweep`: every configuration's outputs are bitwise those of a separate `walkforward.run` of
it; the leaderboard, configs.json and overfitting.json; bad grids are one-line errors; `--resume` reuses."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

import walkforward
from cli.main import app
from tests.small import make_small_data, small_config
from walkforward.compare import compare_runs
from walkforward.errors import ConfigError
from walkforward.features.plan import Plans
from walkforward.outputs import TABLES
from walkforward.sweeps import run as sweep_run
from walkforward.sweeps import stats
from walkforward.sweeps.grid import trials

GRID = {"model.params.num_leaves": [4, 8], "refit_every": [1, 2]}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_small_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def swept(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    return walkforward.sweep(small_config(data), GRID, output_dir=out / "sweep")


def test_every_configuration_matches_a_separate_run_bitwise(swept, data, tmp_path):
    assert len(swept.run_dirs) == 4
    for trial_id, params in swept.configs.items():
        alone = tmp_path / trial_id
        walkforward.run(small_config(data, alone, **params))
        result = compare_runs(swept.run_dirs[trial_id], alone, 0.0)
        assert all(t.ok for t in result.tables), [t.message for t in result.tables if not t.ok]
        for name in TABLES:
            a, b = swept.run_dirs[trial_id] / f"{name}.parquet", alone / f"{name}.parquet"
            assert a.read_bytes() == b.read_bytes()


def test_configs_json_and_ids(swept):
    configs = json.loads((swept.output_dir / "configs.json").read_text())
    assert configs == swept.configs
    assert [p for p in configs.values()] == [
        {"model.params.num_leaves": 4, "refit_every": 1},
        {"model.params.num_leaves": 4, "refit_every": 2},
        {"model.params.num_leaves": 8, "refit_every": 1},
        {"model.params.num_leaves": 8, "refit_every": 2},
    ]
    assert [i.split("-")[0] for i in configs] == ["0", "1", "2", "3"]
    assert all((swept.output_dir / i / "run.json").is_file() for i in configs)


def test_leaderboard_rows_columns_and_deflated_sharpe(swept):
    board = pl.read_parquet(swept.output_dir / "leaderboard.parquet")
    assert board.equals(swept.leaderboard)
    assert board["id"].to_list() == list(swept.configs)
    assert board.columns[:3] == ["id", "model.params.num_leaves", "refit_every"]
    assert {"sharpe", "total_return", "max_drawdown", "psr", "dsr", "sharpe_per_period"} <= set(board.columns)
    first = swept.run_dirs[board["id"][0]]
    metrics = json.loads((first / "metrics.json").read_text())["overall"]
    assert board["sharpe"][0] == metrics["sharpe"]
    r = pl.read_parquet(first / "returns.parquet").filter(pl.col("series") == "portfolio")["return"].to_numpy()
    assert board["psr"][0] == stats.probabilistic_sharpe(r)
    sr0 = stats.expected_max_sharpe(board["sharpe_per_period"].to_list())
    assert board["dsr"][0] == pytest.approx(stats.probabilistic_sharpe(r, sr0), rel=1e-12)
    assert (board["dsr"] <= board["psr"]).all()


def test_overfitting_json(swept):
    over = json.loads((swept.output_dir / "overfitting.json").read_text())
    assert over == swept.overfitting
    assert (over["S"], over["N"], over["combinations"]) == (16, 4, 12870)
    assert 0.0 <= over["pbo"] <= 1.0 and len(over["logits"]) == 12870
    assert over["pbo"] == np.mean(np.asarray(over["logits"]) <= 0)
    dates = set()
    for d in swept.run_dirs.values():
        dates |= set(pl.read_parquet(d / "returns.parquet").filter(pl.col("series") == "portfolio")["date"])
    assert over["T"] == len(dates)  # the union of the trials' dates


def test_a_sample_is_seeded_and_drawn_without_replacement(data):
    base = small_config(data)
    grid = {"fold_length": [150, 200, 250], "horizon": [1, 5], "refit_every": [1, 2]}
    a = [t.id for t in trials(base, grid, sample=5, seed=1)]
    assert a == [t.id for t in trials(base, grid, sample=5, seed=1)] and len(set(a)) == 5
    assert set(a) <= {t.id for t in trials(base, grid)}
    with pytest.raises(ConfigError, match="--sample 13 is more than the grid's 12 configurations"):
        trials(base, grid, sample=13)


@pytest.mark.parametrize(
    ("grid", "match"),
    [
        (
            {"fold_lenght": [100]},
            "grid key 'fold_lenght': unknown config key 'fold_lenght'. Did you mean: 'fold_length'",
        ),
        ({"model.params.num_leavs": [3]}, "Did you mean: 'num_leaves'"),
        ({"fold_length": []}, "grid key 'fold_length' needs a non-empty list"),
        ({"fold_length": [250, 3]}, r"configuration 1-\w+ \(fold_length=3\): fold_length=3 must be greater"),
        ({"output_dir": ["x"]}, "cannot be swept"),
        (
            {"model.params.num_leaves": [7, "seven"]},
            r"configuration 1-\w+ \(model\.params\.num_leaves=.seven.\): model\.params\.num_leaves must be an "
            r"integer, got 'seven'$",
        ),
        ([1], "a grid must be a non-empty JSON object"),
    ],
)
def test_bad_grids_are_one_line_errors(data, grid, match):
    with pytest.raises(ConfigError, match=match) as info:
        trials(small_config(data), grid)
    assert "\n" not in str(info.value)


def test_cli_exit_codes_and_resume(swept, data, tmp_path):
    out = tmp_path / "sweep"
    shutil.copytree(swept.output_dir, out)  # the other tests read the fixture's files: resume a copy
    base, grid = tmp_path / "base.json", tmp_path / "grid.json"
    base.write_text(json.dumps(small_config(data).to_dict()))
    grid.write_text(json.dumps(GRID))
    args = ["sweep", "--config", str(base), "--grid", str(grid), "--output-dir", str(out)]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2 and "pass --resume" in refused.output
    subset = CliRunner().invoke(app, [*args, "--resume", "--sample", "2", "--seed", "4"])  # would orphan two runs
    assert subset.exit_code == 2 and "holds a sweep of other configurations (2 of its 4" in subset.output
    resumed = CliRunner().invoke(app, [*args, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert resumed.output.count(": reuse") == 4 and "PBO" in resumed.output
    grid.write_text(json.dumps({"fold_length": []}))
    bad = CliRunner().invoke(app, args)
    assert bad.exit_code == 2 and "needs a non-empty list" in bad.output


def test_wf_report_on_a_sweep_draws_the_logits_and_the_degradation(swept, tmp_path):
    result = CliRunner().invoke(app, ["report", str(swept.output_dir), "--output", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    for name in ("logits.png", "is_oos.png"):
        assert (tmp_path / "report" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (tmp_path / "report" / "report.html").read_text()
    assert "Leaderboard" in page and f"{swept.overfitting['pbo']}" in page
    assert all(i in page for i in swept.configs)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("leaderboard.parquet", None, r"sweep dir '.*' has no leaderboard\.parquet; the sweep did not finish"),
        ("leaderboard.parquet", b"PAR1", r"leaderboard\.parquet: cannot be read as Parquet \(.*\); rerun `wf sweep`"),
        ("overfitting.json", b'{"pbo": ', r"overfitting\.json: not valid JSON \(.*\); rerun `wf sweep`"),
        ("overfitting.json", b"[1, 2]", r"overfitting\.json: not the object `wf sweep` writes; rerun `wf sweep`"),
        ("overfitting.json", b'{"logits": ["abc"]}', r"overfitting\.json: logits is not a list of numbers"),
    ],
)
def test_wf_report_on_a_broken_sweep_is_one_line_and_writes_nothing(swept, tmp_path, name, content, message):
    out = tmp_path / "sweep"
    shutil.copytree(swept.output_dir, out)
    if content is None:
        (out / name).unlink()
    else:
        (out / name).write_bytes(content)
    result = CliRunner().invoke(app, ["report", str(out), "--output", str(tmp_path / "report")])
    assert result.exit_code == 2, result.output
    assert re.search(message, result.stderr) and len(result.stderr.splitlines()) == 1, result.stderr
    assert not (tmp_path / "report").exists()


def test_a_sweep_report_leaves_out_null_logits(swept, tmp_path):
    """overfitting.json writes null for a NaN: the histogram and the scatter draw the finite values."""
    out = tmp_path / "sweep"
    shutil.copytree(swept.output_dir, out)
    over = json.loads((out / "overfitting.json").read_text())
    over["logits"] = [None, *over["logits"]]
    (out / "overfitting.json").write_text(json.dumps(over))
    assert CliRunner().invoke(app, ["report", str(out), "--output", str(tmp_path / "report")]).exit_code == 0


@pytest.mark.parametrize(("grid", "plans"), [({"model.params.num_leaves": [4, 8]}, 1), ({"horizon": [1, 5]}, 2)])
def test_configurations_with_the_same_feature_plan_collect_it_once(data, tmp_path, monkeypatch, grid, plans):
    """The plan is shared when only what it does not read changes (the model), not when the target's horizon does;
    the shared runs are bitwise separate runs (test_every_configuration_matches_a_separate_run_bitwise)."""
    made: list[Plans] = []

    class Recorded(Plans):
        def __init__(self) -> None:
            super().__init__()
            made.append(self)

    monkeypatch.setattr(sweep_run, "Plans", Recorded)
    walkforward.sweep(small_config(data), grid, output_dir=tmp_path / "sweep")
    assert len(made) == 1 and len(made[0]._frames) == plans
