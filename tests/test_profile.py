"""`wf run --profile DIR` through typer's CliRunner: the whole run under cProfile, the model-fitting threads included,
saved atomically as DIR/profile.pstats (which pstats loads) and the top 20 functions by cumulative time printed; and
`profiled` itself: threads it starts are profiled, the thread hook is restored, a failing call writes nothing."""

from __future__ import annotations

import json
import pstats
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.small import make_small_data, small_config
from walkforward.profiling import PROFILE_FILE, profiled

STATS_ROW = re.compile(r"^\s*\d+(/\d+)?\s+\d+\.\d{3}\s+\d+\.\d{3}\s+\d+\.\d{3}\s+\d+\.\d{3} \S")

runner = CliRunner()


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("profile")
    # two folds, two chains: the models fit on the pool's threads
    cfg = small_config(make_small_data(root / "data"))
    path = root / "config.json"
    path.write_text(json.dumps(cfg.to_dict()))
    return path


def names(stats: pstats.Stats) -> set[tuple[str, str]]:
    """(file name, function) of every profiled function, with '/' separators."""
    return {(Path(file).as_posix(), func) for file, _, func in stats.stats}  # type: ignore[attr-defined]


def test_profile_writes_pstats_and_prints_the_top_20(config_file, tmp_path):
    prof = tmp_path / "prof" / "deeper"  # created, parents too
    args = ["run", "--config", str(config_file), "--output-dir", str(tmp_path / "out"), "--profile", str(prof), "-q"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in prof.iterdir()) == [PROFILE_FILE]  # no temporary file left
    stats = pstats.Stats(str(prof / PROFILE_FILE))
    seen = names(stats)
    assert any(f.endswith("walkforward/runner.py") and fn == "execute" for f, fn in seen)
    # the fits ran on worker threads, and their calls are in the file
    assert any(f.endswith("concurrent/futures/thread.py") and fn == "_worker" for f, fn in seen)
    assert any(f.endswith("walkforward/models/lightgbm.py") and fn == "fit" for f, fn in seen)

    out = result.stdout
    assert "top 20 functions by cumulative time" in out
    assert "--n-jobs 1" in out  # the note on threads
    assert "Ordered by: cumulative time" in out
    rows = [line for line in out.splitlines() if STATS_ROW.match(line)]
    assert len(rows) == 20, out
    assert any("walkforward/runner.py" in row and "(execute)" in row for row in rows), out
    assert (tmp_path / "out" / "predictions.parquet").is_file()  # the run itself wrote its outputs


def test_a_single_threaded_profile_prints_no_note_on_threads(config_file, tmp_path):
    args = ["run", "--config", str(config_file), "--output-dir", str(tmp_path / "out"), "--n-jobs", "1", "-q"]
    result = runner.invoke(app, [*args, "--profile", str(tmp_path / "prof")])
    assert result.exit_code == 0, result.output
    assert "top 20 functions by cumulative time" in result.stdout and "note:" not in result.stdout


def test_profile_dir_that_is_a_file_is_one_line(config_file, tmp_path):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    args = ["run", "--config", str(config_file), "--output-dir", str(tmp_path / "out"), "--profile", str(not_a_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert (
        result.stderr.strip()
        == f"error: profile dir {str(not_a_dir)!r} is a file; pass --profile with a directory path"
    )
    assert not (tmp_path / "out" / "run.json").exists()  # refused before the run


def spin(n: int) -> int:
    return sum(range(n))


def test_profiled_sees_the_threads_it_starts_and_restores_the_hook(tmp_path):
    def work() -> list[int]:
        with ThreadPoolExecutor(2) as pool:
            return list(pool.map(spin, [1000, 2000, 3000]))

    before = threading.getprofile()
    assert profiled(work, tmp_path / "p.pstats") == [spin(1000), spin(2000), spin(3000)]
    assert threading.getprofile() is before
    stats = pstats.Stats(str(tmp_path / "p.pstats"))
    calls = {func: nc for (_, _, func), (_, nc, *_) in stats.stats.items()}  # type: ignore[attr-defined]
    assert calls["spin"] == 3  # every call, though none ran on this thread


def test_profiled_writes_nothing_when_the_call_raises(tmp_path):
    def boom() -> None:
        raise RuntimeError("boom")

    before = threading.getprofile()
    with pytest.raises(RuntimeError, match="boom"):
        profiled(boom, tmp_path / "p.pstats")
    assert list(tmp_path.iterdir()) == []
    assert threading.getprofile() is before
