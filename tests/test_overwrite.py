"""`--overwrite` replaces a run only once the new one has begun: a new run that stops on bad input puts the previous
run back as it was (execution/checkpoints.py, `Checkpoints`), and a run or sweep stopped on bad input leaves no
directory it created."""

from __future__ import annotations

import shutil

import pytest

import walkforward
from tests.small import small_config, snapshot
from walkforward.errors import WalkforwardError
from walkforward.execution.checkpoints import STASH, Checkpoints, RunDirError

LATE = "2030-01-01"  # after the data's last date: a one-line error once the data is loaded


@pytest.fixture(scope="module")
def finished(small_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("finished") / "run"
    walkforward.run(small_config(small_data, out, n_jobs=1))
    return out


@pytest.mark.parametrize("engine", ["polars", "legacy"])
def test_an_overwrite_stopped_by_bad_input_leaves_the_previous_run_as_it_was(small_data, finished, tmp_path, engine):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = snapshot(out)
    with pytest.raises(WalkforwardError, match="end_date 2030-01-01 is after the last date"):
        walkforward.run(small_config(small_data, out, n_jobs=1, engine=engine, end_date=LATE), overwrite=True)
    assert snapshot(out) == before
    assert (
        walkforward.RunResult.load(out).metrics == walkforward.RunResult.load(finished).metrics
    )  # still a finished run


def test_an_overwrite_that_runs_replaces_the_run_and_keeps_nothing_aside(small_data, finished, tmp_path):
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    walkforward.run(small_config(small_data, out, n_jobs=1, **{"model.params.num_leaves": 4}), overwrite=True)
    assert not (out / STASH).exists()
    assert walkforward.RunResult.load(out).config.model.params_dict["num_leaves"] == 4


def test_a_killed_overwrite_that_saved_nothing_gives_the_previous_run_back(small_data, finished, tmp_path):
    """The process dies after moving the previous run aside and before its first task: the next start finds the
    previous run again (refused without a flag, as any finished run)."""
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = snapshot(out)
    config = small_config(small_data, out, n_jobs=1)
    Checkpoints(out).prepare(config, "fingerprint", resume=False, overwrite=True)  # then killed
    assert (out / STASH).is_dir() and not (out / "run.json").exists()
    with pytest.raises(RunDirError, match="holds a finished run"):
        Checkpoints(out).prepare(config, "fingerprint", resume=False, overwrite=False)
    assert snapshot(out) == before


def test_bad_input_leaves_no_directory_it_created(small_data, tmp_path):
    with pytest.raises(WalkforwardError, match="end_date 2030-01-01"):
        walkforward.run(small_config(small_data, tmp_path / "new" / "run", end_date=LATE))
    assert not (tmp_path / "new" / "run").exists()
    with pytest.raises(WalkforwardError, match="end_date 2030-01-01"):
        walkforward.sweep(small_config(small_data, end_date=LATE), {"horizon": [1, 2]}, output_dir=tmp_path / "sweep")
    assert not (tmp_path / "sweep").exists()


def test_a_sweep_overwrite_stopped_by_bad_input_leaves_the_previous_sweep_whole(small_data, tmp_path):
    out = tmp_path / "sweep"
    walkforward.sweep(small_config(small_data, n_jobs=1), {"horizon": [1, 2]}, output_dir=out)
    before = snapshot(out)
    with pytest.raises(WalkforwardError, match="end_date 2030-01-01"):
        walkforward.sweep(
            small_config(small_data, n_jobs=1, end_date=LATE), {"horizon": [3]}, output_dir=out, overwrite=True
        )
    assert snapshot(out) == before


@pytest.mark.parametrize("bad", [{"assets": ["SPY", "NOPE"]}, {"data_dir": "/nonexistent/data"}])
def test_bad_input_found_while_opening_the_run_leaves_no_nested_folder(small_data, tmp_path, bad):
    """An unknown symbol or a missing data folder is found before the run begins: the nested output folder it had
    made (new/a/b) is removed, down to what existed."""
    with pytest.raises(WalkforwardError):
        walkforward.run(small_config(small_data, tmp_path / "new" / "a" / "b").replace(**bad))
    assert list(tmp_path.iterdir()) == []
