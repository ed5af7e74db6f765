"""A sweep's output folder: every refusal comes before anything is written; another sweep's configurations are
never orphaned silently (its leaderboard replaced, its runs left behind); `--overwrite` replaces a sweep whole."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import walkforward
from tests.small import small_config, snapshot
from walkforward.errors import ConfigError, WalkforwardError

GRID = {"model.params.num_leaves": [4, 8]}
OTHER = {"model.params.num_leaves": [6]}


@pytest.fixture(scope="module")
def finished(small_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("finished") / "sweep"
    walkforward.sweep(small_config(small_data, n_jobs=1), GRID, output_dir=out)
    return out


def copy(finished: Path, tmp_path: Path) -> Path:
    out = tmp_path / "sweep"
    shutil.copytree(finished, out)
    return out


@pytest.mark.parametrize(
    ("grid", "flags", "match"),
    [
        (
            OTHER,
            {},
            r"holds a sweep of other configurations \(2 of its 2 are not in this one, e\.g\. '0-\w+'\); "
            r"pass --overwrite to replace that sweep, or choose another --output-dir$",
        ),
        (OTHER, {"resume": True}, "holds a sweep of other configurations"),
        (
            GRID,
            {},
            r"^configuration 0-\w+: '.*' holds a finished run; pass --resume to reuse the sweep's runs, or "
            r"--overwrite to run them again$",
        ),
        (GRID, {"resume": True, "overwrite": True}, r"^pass --resume .* or --overwrite .*, not both$"),
    ],
)
def test_a_refused_sweep_changes_nothing_in_its_folder(small_data, finished, tmp_path, grid, flags, match):
    out = copy(finished, tmp_path)
    before = snapshot(out)
    with pytest.raises(WalkforwardError, match=match) as info:
        walkforward.sweep(small_config(small_data, n_jobs=1), grid, output_dir=out, **flags)
    assert "\n" not in str(info.value)
    assert snapshot(out) == before


def test_a_refusal_found_at_the_last_configuration_leaves_no_folder_for_the_first(small_data, finished, tmp_path):
    """A new folder holding only the second configuration's finished run: the first one's folder is not created,
    configs.json not written."""
    out = tmp_path / "sweep"
    second = next(p for p in sorted(finished.iterdir()) if p.name.startswith("1-"))
    shutil.copytree(second, out / second.name)
    with pytest.raises(WalkforwardError, match=rf"configuration {second.name}: .* holds a finished run"):
        walkforward.sweep(small_config(small_data, n_jobs=1), GRID, output_dir=out)
    assert sorted(p.name for p in out.iterdir()) == [second.name]


def test_overwrite_replaces_another_sweep_and_removes_its_runs(small_data, finished, tmp_path):
    out = copy(finished, tmp_path)
    user_file = out / "notes.txt"
    user_file.write_text("mine")
    result = walkforward.sweep(small_config(small_data, n_jobs=1), OTHER, output_dir=out, overwrite=True)
    kept = sorted(p.name for p in out.iterdir())
    assert kept == sorted([*result.run_dirs, "configs.json", "leaderboard.parquet", "overfitting.json", "notes.txt"])
    assert json.loads((out / "configs.json").read_text()) == result.configs


def test_resume_may_continue_a_sweep_into_a_larger_grid(small_data, finished, tmp_path):
    """A sample of the grid, then the whole grid with --resume: the sampled configurations are reused, bitwise."""
    out = tmp_path / "sweep"
    part = walkforward.sweep(small_config(small_data, n_jobs=1), GRID, sample=1, seed=3, output_dir=out)
    (only,) = part.run_dirs
    before = snapshot(out / only)
    whole = walkforward.sweep(small_config(small_data, n_jobs=1), GRID, output_dir=out, resume=True)
    assert set(whole.run_dirs) == {p.name for p in finished.iterdir() if p.is_dir()}
    assert snapshot(out / only) == before
    assert (out / "leaderboard.parquet").read_bytes() == (finished / "leaderboard.parquet").read_bytes()


def test_a_run_folder_or_a_file_is_not_a_sweep_folder(small_data, tmp_path):
    run = tmp_path / "run"
    walkforward.run(small_config(small_data, run, n_jobs=1))
    with pytest.raises(WalkforwardError, match=r"holds a wf run, not a sweep; choose another --output-dir$"):
        walkforward.sweep(small_config(small_data, n_jobs=1), GRID, output_dir=run, overwrite=True)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ConfigError, match="is a file; pass --output-dir with a directory path"):
        walkforward.sweep(small_config(small_data, n_jobs=1), GRID, output_dir=a_file)


def test_a_grid_path_that_is_a_directory_says_so(small_data, tmp_path):
    with pytest.raises(ConfigError, match=r"grid file '.*' is a directory, not a file; pass --grid with a JSON file"):
        walkforward.sweep(small_config(small_data), tmp_path, output_dir=tmp_path / "out")
