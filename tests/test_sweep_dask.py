"""`wf sweep` on Dask (issue 16, item 5), on a LocalCluster with a real scheduler and two single-threaded worker
processes: outputs bitwise those of the sweep on threads; a worker receives its task's rows only, configurations
that share a matrix carried once; a worker killed mid-sweep loses no finished task; `--resume` continues a sweep
cancelled mid-way (threads and Dask) or killed outright, fitting nothing checkpointed again, and one whose
configurations were deleted, left unwritten or never started; the CLI path (a threads sweep finished on Dask) and an
unreachable scheduler's one-line error.

Groups of several configurations: `share_key` is patched to a constant for LightGBM (`grouped`), in the parent,
where the sweep is planned; the default `fit_shared` fits each configuration as `fit` does, so outputs stay bitwise.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import distributed
import numpy as np
import pytest
from typer.testing import CliRunner

import walkforward
from cli.main import app
from tests.small import small_config
from walkforward.cancel import Cancellation, Cancelled
from walkforward.config import UNIFIED_SYMBOL, Config
from walkforward.errors import ConfigError
from walkforward.execution import dask as execution_dask
from walkforward.execution.checkpoints import Checkpoints
from walkforward.models.registry import MODEL_KINDS
from walkforward.outputs import TABLES
from walkforward.sweeps import together
from walkforward.sweeps.shared import SweepJob

GRIDS = {
    "leaves-rate": {"model.params.num_leaves": [4, 8], "model.params.learning_rate": [0.05, 0.1]},
    "leaves-warm": {"model.params.num_leaves": [4, 8], "model.warm_start": [False, True]},
    # one model per task: fitted once, its prediction shared by the cost_bps twins, made again for refit_every 2
    "strategy": {"strategy.cost_bps": [0.0, 10.0], "refit_every": [1, 2]},
}
N_TASKS = 6  # per configuration: 2 folds (2019H1 in steps of 63 sessions) x 3 per-asset models
SWEEP_FILES = ("configs.json", "leaderboard.parquet", "overfitting.json")


def base(data: Path, **changes: Any):
    return small_config(data, **{"model.scope": "per_asset", **changes})


@pytest.fixture(scope="module")
def scheduler():
    """A LocalCluster shared by the module's Dask sweeps: its scheduler's address."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def reference(small_data, tmp_path_factory) -> dict[str, Path]:
    """Each grid swept on threads, ungrouped (share_key as shipped), made before any test patches anything."""
    root = tmp_path_factory.mktemp("threads")
    for name, grid in GRIDS.items():
        walkforward.sweep(base(small_data), grid, output_dir=root / name)
    return {name: root / name for name in GRIDS}


@pytest.fixture
def grouped(monkeypatch):
    """LightGBM configurations with the same rows share one group task (as Dataset sharing will group them)."""
    monkeypatch.setattr(MODEL_KINDS["lightgbm"], "share_key", lambda params, seed, estimator: "one Dataset")


def on_dask(data: Path, address: str):
    return base(data, executor="dask", scheduler=address)


def assert_same_sweep(a: Path, b: Path) -> None:
    """Every configuration's tables and metrics.json, and the sweep's own files, byte for byte."""
    ids = list(json.loads((a / "configs.json").read_text()))
    for trial_id in ids:
        for name in (*(f"{t}.parquet" for t in TABLES), "metrics.json"):
            assert (a / trial_id / name).read_bytes() == (b / trial_id / name).read_bytes(), f"{trial_id}/{name}"
    for name in SWEEP_FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def checkpointed(out: Path) -> dict[Path, int]:
    """Every configuration's task checkpoints and when each was written."""
    return {p: p.stat().st_mtime_ns for p in out.glob("*/checkpoints/fold-*.npz")}


def test_a_dask_sweep_matches_the_threads_sweep_bitwise_and_sends_each_task_its_cut(
    small_data, scheduler, reference, tmp_path, grouped, monkeypatch
):
    cuts: list[Any] = []  # the group tasks whose cut the pool sent (DaskPool.submit: `job.for_task(task)`)
    cut = SweepJob.for_task

    def recorded(self, task):
        cuts.append(task)
        return cut(self, task)

    monkeypatch.setattr(SweepJob, "for_task", recorded)
    walkforward.sweep(on_dask(small_data, scheduler), GRIDS["leaves-rate"], output_dir=tmp_path / "dask")
    assert_same_sweep(reference["leaves-rate"], tmp_path / "dask")
    # one group task per (fold, asset), carrying the 4 configurations: 6 cuts sent, not 24
    assert sorted(cuts) == sorted(((0, 1, 2, 3), f, s) for f in (0, 1) for s in ("AAA", "BTC-USD", "SPY"))


def test_a_warm_start_sweep_on_dask_matches_the_threads_sweep_bitwise(
    small_data, scheduler, reference, tmp_path, grouped
):
    walkforward.sweep(on_dask(small_data, scheduler), GRIDS["leaves-warm"], output_dir=tmp_path / "dask")
    assert_same_sweep(reference["leaves-warm"], tmp_path / "dask")


def test_a_strategy_sweep_on_dask_fits_each_model_once_and_matches_the_threads_sweep_bitwise(
    small_data, scheduler, reference, tmp_path
):
    walkforward.sweep(on_dask(small_data, scheduler), GRIDS["strategy"], output_dir=tmp_path / "dask")
    assert_same_sweep(reference["strategy"], tmp_path / "dask")


def sweep_job(data: Path, out: Path, monkeypatch) -> tuple[SweepJob, list]:
    """The SweepJob and group tasks a threads sweep of the leaves-rate grid hands its executor."""
    seen: list[tuple[SweepJob, list]] = []

    def recorded(chains, job, **kwargs):
        seen.append((job, chains))
        return run_chains(chains, job, **kwargs)

    run_chains = together.run_chains
    monkeypatch.setattr(together, "run_chains", recorded)
    walkforward.sweep(base(data), GRIDS["leaves-rate"], output_dir=out)
    ((job, chains),) = seen
    return job, [task for chain in chains for task in chain]


def test_a_worker_receives_the_rows_of_its_task_and_shared_rows_once(small_data, tmp_path, grouped, monkeypatch):
    job, tasks = sweep_job(small_data, tmp_path / "sweep", monkeypatch)
    whole = job.jobs[0].matrix
    assert all(j.matrix is whole for j in job.jobs.values())  # the 4 configurations share one matrix
    whole_bytes = len(pickle.dumps(job, protocol=5))
    for task in tasks:
        trials, f, symbol = task
        assert trials == (0, 1, 2, 3)
        sent = job.for_task(task)
        # the rows sent: that asset's rows only, a fraction of the whole matrix (3 assets over a longer span)
        rows = sent.jobs[0].row_index
        assert symbol != UNIFIED_SYMBOL and len(rows) < len(whole.X) / 3
        assert np.all(whole.symbol[rows] == whole.symbols.index(symbol))
        assert np.array_equal(sent.jobs[0].matrix.X, whole.X[rows])
        # ... carried once for the 4 configurations: about one configuration's cut, a fraction of the whole job
        size = len(pickle.dumps(sent, protocol=5))
        alone = len(pickle.dumps(SweepJob({0: job.jobs[0]}).for_task(((0,), f, symbol)), protocol=5))
        assert all(j.matrix is sent.jobs[0].matrix for j in sent.jobs.values())
        assert alone < size < 1.1 * alone and size < whole_bytes / 5
        # and the cut runs the task to the whole job's results
        for t, (result, _) in sent(task, None)[1].items():
            expected = job(((t,), f, symbol), None)[1][t][0]
            assert np.array_equal(result.rows, expected.rows) and np.array_equal(result.prediction, expected.prediction)


def test_a_worker_killed_mid_sweep_loses_no_finished_task(small_data, scheduler, reference, tmp_path, grouped):
    out = tmp_path / "dask"
    client = distributed.Client(scheduler, set_as_default=False)
    try:
        pids = client.run(os.getpid)
        assert len(pids) == 2
        before_kill: dict[Path, int] = {}

        def progress(done: int, total: int) -> None:  # noqa: ARG001
            if done >= 4 and not before_kill:
                before_kill.update(checkpointed(out))
                os.kill(next(iter(pids.values())), signal.SIGKILL)

        walkforward.sweep(on_dask(small_data, scheduler), GRIDS["leaves-warm"], output_dir=out, on_task=progress)
        assert before_kill  # the worker was killed mid-sweep, after some tasks had finished
        after = checkpointed(out)
        assert len(after) == 4 * N_TASKS  # every task's checkpoint is there
        assert {p: after[p] for p in before_kill} == before_kill  # those finished before the kill: not fitted again
        assert_same_sweep(reference["leaves-warm"], out)
        client.wait_for_workers(2, timeout=60)  # the nanny restarted it: the next tests have two workers again
        assert set(client.run(os.getpid).values()) != set(pids.values())
    finally:
        client.close()


def saved_tasks(monkeypatch) -> list[tuple[Path, tuple[int, str]]]:
    """Every task checkpointed from now on, by configuration folder."""
    saved: list[tuple[Path, tuple[int, str]]] = []
    save = Checkpoints.save

    def recorded(self, task, result, state):
        saved.append((self.out_dir, task))
        save(self, task, result, state)

    monkeypatch.setattr(Checkpoints, "save", recorded)
    return saved


@pytest.mark.parametrize("executor", ["threads", "dask"])
def test_a_cancelled_sweep_resumes_without_refitting_its_checkpointed_tasks(
    small_data, scheduler, reference, tmp_path, grouped, monkeypatch, executor
):
    out = tmp_path / "sweep"
    config = on_dask(small_data, scheduler) if executor == "dask" else base(small_data)
    cancel = Cancellation()

    def progress(done: int, total: int) -> None:  # noqa: ARG001
        if done >= 3:
            cancel.request()

    with pytest.raises(Cancelled) as stopped:
        walkforward.sweep(config, GRIDS["leaves-warm"], output_dir=out, on_task=progress, cancel=cancel)
    assert 3 <= stopped.value.done < stopped.value.total == 4 * N_TASKS
    first = checkpointed(out)
    assert len(first) == stopped.value.done
    assert not list(out.glob("*/run.json"))  # no configuration finished: every one is resumed, none reused

    saved = saved_tasks(monkeypatch)
    walkforward.sweep(config, GRIDS["leaves-warm"], output_dir=out, resume=True)
    assert len(saved) == len(set(saved)) == 4 * N_TASKS - len(first)  # only the tasks not checkpointed, once each
    after = checkpointed(out)
    assert len(after) == 4 * N_TASKS and {p: after[p] for p in first} == first
    assert_same_sweep(reference["leaves-warm"], out)


def test_a_sweep_killed_outright_resumes_without_refitting_its_checkpointed_tasks(
    small_data, reference, tmp_path, monkeypatch
):
    """The sweep's own process SIGKILLed after 5 tasks (nothing cleaned up), then resumed."""
    out = tmp_path / "sweep"
    code = (
        "import os, signal, sys, walkforward; from tests.test_sweep_dask import GRIDS, base; "
        "kill = lambda done, total: done >= 5 and os.kill(os.getpid(), signal.SIGKILL); "
        "walkforward.sweep(base(sys.argv[1]), GRIDS['leaves-warm'], output_dir=sys.argv[2], on_task=kill)"
    )
    root = Path(__file__).resolve().parent.parent  # this checkout's walkforward and tests
    killed = subprocess.run([sys.executable, "-c", code, str(small_data), str(out)], cwd=root, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    first = checkpointed(out)
    assert 5 <= len(first) < 4 * N_TASKS and not list(out.glob("*/run.json"))
    saved = saved_tasks(monkeypatch)
    walkforward.sweep(base(small_data), GRIDS["leaves-warm"], output_dir=out, resume=True)
    assert len(saved) == len(set(saved)) == 4 * N_TASKS - len(first)
    after = checkpointed(out)
    assert {p: after[p] for p in first} == first
    assert_same_sweep(reference["leaves-warm"], out)


def test_a_sweep_with_configurations_deleted_unwritten_or_never_started_resumes(
    small_data, reference, tmp_path, monkeypatch
):
    out = tmp_path / "sweep"
    shutil.copytree(reference["leaves-rate"], out)
    ids = list(json.loads((out / "configs.json").read_text()))
    shutil.rmtree(out / ids[1])  # deleted
    for name in ("run.json", *(f"{t}.parquet" for t in TABLES), "metrics.json"):  # stopped while writing outputs
        (out / ids[2] / name).unlink()
    shutil.rmtree(out / ids[3])  # never started
    (out / "leaderboard.parquet").unlink()
    modes: dict[str, str] = {}
    saved = saved_tasks(monkeypatch)
    walkforward.sweep(
        base(small_data),
        GRIDS["leaves-rate"],
        output_dir=out,
        resume=True,
        on_trial=lambda i, n, trial, mode: modes.update({trial.id: mode}),  # noqa: ARG005
    )
    assert modes == {ids[0]: "reuse", ids[1]: "run", ids[2]: "resume", ids[3]: "run"}
    assert {d.name for d, _ in saved} == {ids[1], ids[3]} and len(saved) == 2 * N_TASKS  # ids[2]: all checkpointed
    assert_same_sweep(reference["leaves-rate"], out)


def cli_args(data: Path, tmp_path: Path, out: Path, *extra: str) -> list[str]:
    config, grid = tmp_path / "base.json", tmp_path / "grid.json"
    config.write_text(json.dumps(base(data).to_dict()))
    grid.write_text(json.dumps(GRIDS["leaves-rate"]))
    return ["sweep", "--config", str(config), "--grid", str(grid), "--output-dir", str(out), *extra]


def test_wf_sweep_on_a_dask_scheduler_resumes_a_threads_sweep(small_data, scheduler, reference, tmp_path):
    """The CLI path: a sweep begun on threads (one configuration deleted) finished on the cluster; the finished
    configurations are reused though the executor changed (it does not change results)."""
    out = tmp_path / "sweep"
    shutil.copytree(reference["leaves-rate"], out)
    ids = list(json.loads((out / "configs.json").read_text()))
    shutil.rmtree(out / ids[2])
    args = cli_args(small_data, tmp_path, out, "--executor", "dask", "--scheduler", scheduler, "--resume", "-q")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    run = json.loads((out / ids[2] / "run.json").read_text())
    assert run["executor"] == "dask" and run["config"]["scheduler"] == scheduler
    assert json.loads((out / ids[0] / "run.json").read_text())["executor"] == "threads"  # reused, not rerun
    assert_same_sweep(reference["leaves-rate"], out)


def test_wf_sweep_with_an_unreachable_scheduler_is_one_line(small_data, tmp_path, monkeypatch):
    monkeypatch.setattr(execution_dask, "CONNECT_SECONDS", 1)
    out = tmp_path / "sweep"
    args = cli_args(small_data, tmp_path, out, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9")
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'")
    assert not out.exists()  # found before anything is written: no configs.json, no run that would ask for --resume


@pytest.mark.parametrize("address", ["notanaddress", "tcp://127.0.0.1", "http://127.0.0.1:9"])
def test_a_malformed_scheduler_address_is_refused_when_the_config_is_built(address):
    """Not after distributed's 40 s of retries and a traceback."""
    with pytest.raises(ConfigError, match=rf"^scheduler '{re.escape(address)}' is not a Dask scheduler address; pass"):
        Config.from_dict({"executor": "dask", "scheduler": address})
