"""A list of grids (scikit-learn's `ParameterGrid` form): keys that only go together (`strategy.k` with
`strategy.kind: topk`) swept in one sweep, so the DSR counts every trial; repeated values and configurations refused."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

import walkforward
from cli.main import app
from tests.small import make_small_data, small_config
from walkforward.compare import compare_runs
from walkforward.errors import ConfigError
from walkforward.sweeps.grid import read_grid, trials

LEAVES = {"model.params.num_leaves": [4, 8]}
TOPK = {"strategy.kind": ["topk"], "strategy.k": [1], "strategy.n_drop": [0, 1]}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_small_data(tmp_path_factory.mktemp("data"))


def test_a_list_of_grids_is_each_product_in_turn(data):
    chosen = trials(small_config(data), [LEAVES, TOPK])
    assert [t.params for t in chosen] == [
        {"model.params.num_leaves": 4},
        {"model.params.num_leaves": 8},
        {"strategy.kind": "topk", "strategy.k": 1, "strategy.n_drop": 0},
        {"strategy.kind": "topk", "strategy.k": 1, "strategy.n_drop": 1},
    ]
    assert [t.id.split("-")[0] for t in chosen] == ["0", "1", "2", "3"]
    assert [t.config.strategy.kind for t in chosen] == ["threshold", "threshold", "topk", "topk"]
    default = dict(small_config(data).model.params)["num_leaves"]  # a grid that does not set a key keeps the base's
    assert [dict(t.config.model.params)["num_leaves"] for t in chosen] == [4, 8, default, default]
    assert chosen[3].config.strategy.n_drop == 1
    # one grid alone keeps the ids it had (index in its product, hash of its values)
    assert [t.id for t in trials(small_config(data), LEAVES)] == [t.id for t in chosen[:2]]
    # a sample draws from every grid's configurations together
    drawn = trials(small_config(data), [LEAVES, TOPK], sample=3, seed=2)
    assert len(drawn) == 3 and {t.id for t in drawn} <= {t.id for t in chosen}


def test_a_product_cannot_do_what_a_list_does(data):
    """The single grid's product would give the threshold book a k: one line saying which configuration and why."""
    with pytest.raises(ConfigError, match=r"configuration 0-\w+ \(strategy.kind=\"threshold\", strategy.k=1\)"):
        trials(small_config(data), {"strategy.kind": ["threshold", "topk"], "strategy.k": [1]})


@pytest.mark.parametrize(
    ("grid", "match"),
    [
        ([], r"a list of grids needs at least one grid"),
        ([LEAVES, {}], r"grid 2 of the list: a grid must be a non-empty JSON object"),
        ([LEAVES, {"fold_length": []}], r"grid 2 of the list: grid key 'fold_length' needs a non-empty list"),
        ({"model.params.num_leaves": [4, 8, 4]}, r"grid key 'model.params.num_leaves' lists 4 twice"),
        ([LEAVES, {"model.params.num_leaves": [8, 16]}], r"configuration \(model.params.num_leaves=8\) twice"),
        ([LEAVES, {"fold_lenght": [100]}], r"Did you mean: 'fold_length'"),
    ],
)
def test_bad_lists_of_grids_are_one_line_errors(data, grid, match):
    with pytest.raises(ConfigError, match=match) as info:
        trials(small_config(data), grid)
    assert "\n" not in str(info.value)


def test_a_grid_file_may_hold_a_list(tmp_path):
    path = tmp_path / "grid.json"
    path.write_text(json.dumps([LEAVES, TOPK]))
    assert read_grid(path) == [LEAVES, TOPK]
    path.write_text(json.dumps(LEAVES))
    assert read_grid(path) == [LEAVES]


@pytest.fixture(scope="module")
def swept(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep") / "sweep"
    return walkforward.sweep(small_config(data), [{"model.params.num_leaves": [4]}, TOPK], output_dir=out)


def test_one_sweep_over_two_grids_counts_every_trial(swept, data, tmp_path):
    board = swept.leaderboard
    assert board.columns[:5] == ["id", "model.params.num_leaves", "strategy.kind", "strategy.k", "strategy.n_drop"]
    assert board["model.params.num_leaves"].to_list() == [4, None, None]
    assert board["strategy.kind"].to_list() == [None, "topk", "topk"]
    assert board["strategy.n_drop"].to_list() == [None, 0, 1]
    assert swept.overfitting["N"] == 3  # PBO (and the DSR's N) over all three trials, not per grid
    assert pl.read_parquet(swept.output_dir / "leaderboard.parquet").equals(board)
    for trial_id, params in swept.configs.items():  # each bitwise a separate run, the topk books included
        alone = tmp_path / trial_id
        walkforward.run(small_config(data, alone, **params))
        result = compare_runs(swept.run_dirs[trial_id], alone, 0.0)
        assert all(t.ok for t in result.tables), [t.message for t in result.tables if not t.ok]


def test_the_cli_prints_a_dash_where_a_grid_does_not_set_a_key_and_top_cuts_the_table(swept, data, tmp_path):
    base, grid = tmp_path / "base.json", tmp_path / "grid.json"
    base.write_text(json.dumps(small_config(data).to_dict()))
    grid.write_text(json.dumps([{"model.params.num_leaves": [4]}, TOPK]))
    args = ["sweep", "--config", str(base), "--grid", str(grid), "--output-dir", str(swept.output_dir), "--resume"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert result.output.count(": reuse") == 3
    row = next(line for line in result.output.splitlines() if swept.leaderboard["id"][0] in line and "│" in line)
    assert "—" in row  # the first configuration's grid sets no strategy key
    best = CliRunner().invoke(app, [*args, "--top", "1"])
    assert best.exit_code == 0, best.output
    assert "and 2 more, in leaderboard.parquet" in best.output
    shown = [i for i in swept.leaderboard["id"] if i in best.output.split(": reuse")[-1]]
    assert len(shown) == 1 and shown[0] == swept.leaderboard.sort("sharpe", descending=True)["id"][0]
    report = CliRunner().invoke(app, ["report", str(swept.output_dir), "--output", str(tmp_path / "report")])
    assert report.exit_code == 0, report.output
