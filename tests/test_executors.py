"""Every executor gives the thread pool's outputs bit for bit: a Dask cluster (a shared LocalCluster of two
single-threaded worker processes, and one started by the run), and a spawned process pool; for unified and
per-asset models, with and without warm start. A Dask worker killed mid-run is survived with the same outputs;
an interrupted run resumes on Dask; without dask.distributed, `--executor dask` says how to install it."""

from __future__ import annotations

import datetime as dt
import functools
import os
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import distributed
import pytest
from typer.testing import CliRunner

from cli.main import app
from walkforward import engine
from walkforward.cancel import Cancellation, Cancelled
from walkforward.compare import compare_runs
from walkforward.config import Config
from walkforward.data.generate import generate
from walkforward.errors import ConfigError
from walkforward.execution.job import FoldJob
from walkforward.outputs import TABLES
from walkforward.runner import execute

SYMBOLS = ["SPY", "AAA", "BTC-USD"]
SHAPES = {
    "unified": ("unified", False),
    "per_asset": ("per_asset", False),
    "per_asset-warm": ("per_asset", True),
    "unified-warm": ("unified", True),
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    generate(out, SYMBOLS, dt.date(2016, 1, 1), dt.date(2019, 12, 31), seed=2)
    return out


@pytest.fixture(scope="module")
def scheduler():
    """A LocalCluster shared by the module's Dask runs: its scheduler's address."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def config(data_dir: Path, out: Path, shape: str, **overrides: Any) -> Config:
    scope, warm = SHAPES[shape]
    return Config.from_dict(
        {
            "data_dir": str(data_dir),
            "assets": SYMBOLS,
            "benchmark": "SPY",
            "start_date": "2018-07-01",
            "end_date": "2019-06-30",
            "fold_length": 200,
            "step_size": 63,
            "model": {"kind": "lightgbm", "params": {"n_estimators": 10}, "scope": scope, "warm_start": warm},
            "n_jobs": 2,
            "output_dir": str(out),
            **overrides,
        }
    )


@pytest.fixture(scope="module")
def reference(dataset, tmp_path_factory):
    """The thread pool's run of a shape, made once."""
    root = tmp_path_factory.mktemp("threads")

    @functools.cache
    def run(shape: str) -> Path:
        execute(config(dataset, root / shape, shape))
        return root / shape

    return run


def assert_identical(a: Path, b: Path) -> None:
    result = compare_runs(a, b, tolerance=0.0)
    problems = [f"{t.name}: {t.message}\n{t.rows}" for t in result.tables if not t.ok]
    assert result.ok, "\n".join(problems)
    for name in TABLES:
        assert (a / f"{name}.parquet").read_bytes() == (b / f"{name}.parquet").read_bytes(), name


def assert_counts_its_workers(result: Any, info: dict[str, Any]) -> None:
    """Each of the (at most n_jobs = 2) worker processes reported its peak RSS, and the fit and predict stages, timed
    in the workers, lie inside the models' wall time."""
    peaks = result.worker_peaks_mb
    assert 1 <= len(peaks) <= 2 and os.getpid() not in peaks and all(mb > 10 for mb in peaks.values())
    timings = info["timings"]
    assert 0 < timings["fit"] <= timings["models"] + 0.01 and 0 < timings["predict"] <= timings["models"] + 0.01


@pytest.mark.parametrize("shape", list(SHAPES))
def test_dask_matches_the_thread_pool_bitwise(dataset, scheduler, reference, tmp_path, shape):
    _, info = execute(config(dataset, tmp_path / "dask", shape, executor="dask", scheduler=scheduler))
    assert info["executor"] == "dask" and info["config"]["scheduler"] == scheduler
    assert_identical(reference(shape), tmp_path / "dask")


def test_dask_without_a_scheduler_runs_on_a_local_cluster_of_n_jobs_workers(dataset, reference, tmp_path):
    result, info = execute(config(dataset, tmp_path / "dask", "per_asset-warm", executor="dask"))
    assert info["timings"]["executor"] > 0  # the LocalCluster started and stopped for the run
    assert_counts_its_workers(result, info)
    assert_identical(reference("per_asset-warm"), tmp_path / "dask")


@pytest.mark.parametrize("shape", ["unified", "per_asset-warm"])
def test_processes_match_the_thread_pool_bitwise(dataset, reference, tmp_path, shape):
    result, info = execute(config(dataset, tmp_path / "proc", shape, executor="processes"))
    assert info["executor"] == "processes"
    assert_counts_its_workers(result, info)
    assert_identical(reference(shape), tmp_path / "proc")


@dataclass(frozen=True)
class CrashOnce(FoldJob):
    """The fold job, except that the first task to run anywhere kills its worker process (creating `marker`
    first, atomically, so that exactly one worker dies and the rerun succeeds)."""

    marker: str = ""

    def __call__(self, task, previous):
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return super().__call__(task, previous)
        os.close(fd)
        os._exit(1)


def test_a_dask_worker_killed_mid_run_is_survived_with_identical_outputs(
    dataset, scheduler, reference, tmp_path, monkeypatch
):
    marker = tmp_path / "killed"
    monkeypatch.setattr(engine, "FoldJob", functools.partial(CrashOnce, marker=str(marker)))
    execute(config(dataset, tmp_path / "dask", "per_asset-warm", executor="dask", scheduler=scheduler))
    assert marker.exists()  # a worker did die
    assert_identical(reference("per_asset-warm"), tmp_path / "dask")


@pytest.mark.parametrize("first", ["dask", "processes"])
def test_an_interrupted_run_resumes_on_dask_with_identical_outputs(dataset, scheduler, reference, tmp_path, first):
    out = tmp_path / "run"
    cancel = Cancellation()

    def progress(done: int, total: int) -> None:  # noqa: ARG001
        if done >= 2:
            cancel.request()

    settings = {"executor": first, "scheduler": scheduler if first == "dask" else None}
    with pytest.raises(Cancelled) as stopped:
        execute(config(dataset, out, "per_asset-warm", **settings), progress=progress, cancel=cancel)
    assert 2 <= stopped.value.done < stopped.value.total
    assert len(list((out / "checkpoints").glob("fold-*.npz"))) == stopped.value.done
    assert list((out / "checkpoints").glob("model-*.bin"))  # chains to continue from their saved models

    execute(config(dataset, out, "per_asset-warm", executor="dask", scheduler=scheduler), resume=True)
    assert_identical(reference("per_asset-warm"), out)


def test_executor_dask_without_distributed_says_how_to_install_it(dataset, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now raises ImportError
    line = (
        f"run --data-dir {shlex.quote(str(dataset))} --assets {','.join(SYMBOLS)} --benchmark SPY "
        f"--start-date 2019-01-01 --end-date 2019-06-30 --fold-length 200 --step-size 63 "
        f"--output-dir {shlex.quote(str(tmp_path / 'out'))} --executor dask"
    )
    result = CliRunner().invoke(app, shlex.split(line))
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0] == (
        "error: executor 'dask' needs dask.distributed, which is not installed; install it with "
        "pip install -e '.[dask]'"
    )


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        ({"executor": "dusk"}, r"^executor must be one of threads, processes, dask; got 'dusk'\. Did you mean: 'dask'"),
        ({"scheduler": "tcp://h:8786"}, r"^scheduler 'tcp://h:8786' is for executor 'dask', but executor is 'threads'"),
    ],
)
def test_bad_executor_settings_are_config_errors(dataset, tmp_path, overrides, pattern):
    with pytest.raises(ConfigError, match=pattern):
        config(dataset, tmp_path, "unified", **overrides)


def test_the_legacy_engine_refuses_another_executor(dataset, tmp_path):
    cfg = config(dataset, tmp_path / "out", "unified", engine="legacy", executor="processes")
    with pytest.raises(ConfigError, match=r"^--executor processes needs the polars engine"):
        execute(cfg)


def test_an_unreachable_scheduler_is_a_config_error(dataset, tmp_path, monkeypatch):
    from walkforward.execution import dask as execution_dask

    monkeypatch.setattr(execution_dask, "CONNECT_SECONDS", 1)
    cfg = config(dataset, tmp_path / "out", "unified", executor="dask", scheduler="tcp://127.0.0.1:9")
    with pytest.raises(ConfigError, match=r"^cannot reach the Dask scheduler at 'tcp://127\.0\.0\.1:9'"):
        execute(cfg)


def test_bench_with_another_executor_also_runs_the_thread_pool_and_reports_the_overhead():
    from bench.harness import executor_overhead, plan

    cases = plan(["small"], [1, 2], "dask")
    assert [c.label for c in cases] == ["legacy", "polars x1", "polars x2", "polars/dask x1", "polars/dask x2"]
    assert [c.label for c in plan(["small"], [1], "threads")] == ["legacy", "polars x1"]

    def row(executor: str, workers: int, wall: float, run: float) -> dict[str, Any]:
        return {
            "workload": "small",
            "engine": "polars",
            "executor": executor,
            "workers": workers,
            "wall_seconds": {"median": wall},
            "run_seconds": {"median": run},
            "stages": {"executor": 0.5},
        }

    rows = [row("threads", 1, 2.0, 1.5), row("threads", 2, 1.0, 0.8)]
    rows += [row("dask", 1, 3.0, 2.0), row("dask", 2, 3.0, 2.4)]
    overhead = executor_overhead(rows)
    assert [(o["workers"], o["wall_overhead"], o["run_overhead"]) for o in overhead] == [
        (1, pytest.approx(0.5), pytest.approx(1 / 3)),
        (2, pytest.approx(2.0), pytest.approx(2.0)),
    ]
