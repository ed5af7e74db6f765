"""Interrupting and resuming `wf run`: SIGINT, SIGTERM, a second SIGINT, SIGKILL and a fold that raises.

The signal tests run `python -m cli.main run ...` in a subprocess on a run that takes several seconds (per-asset
warm-start forests over 14 folds of 5 assets), wait until at least two folds are checkpointed, then signal it.
Whatever the way it stopped, the output directory holds no temporary file, and `--resume` finishes the run with
outputs byte-identical to a run that was never interrupted.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from walkforward.config import seed_for
from walkforward.data.generate import generate
from walkforward.models.registry import MODEL_KINDS
from walkforward.outputs import TABLES

SYMBOLS = ["SPY", "AAA", "BBB", "CCC", "ETH-USD"]
OUTPUTS = [f"{t}.parquet" for t in TABLES] + ["metrics.json"]
TREES = 12  # per fold and asset: the whole run takes a few seconds on 2 cores (about 6 s here)


def temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def checkpointed(out: Path) -> list[Path]:
    return sorted((out / "checkpoints").glob("fold-*.npz"))


def assert_same_outputs(out: Path, reference: Path) -> None:
    for name in OUTPUTS:
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    assert not temporaries(out)


# --- signals, in a real process ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("interrupt")
    generate(root / "data", SYMBOLS, dt.date(2012, 1, 1), dt.date(2019, 12, 31), seed=5)
    (root / "forest.json").write_text(
        json.dumps({"model": {"kind": "random_forest", "params": {"n_estimators": TREES}}})
    )
    return root


def wf_run(out: str, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "cli.main", "run", "--config", "forest.json", "--data-dir", "data",
        "--assets", ",".join(SYMBOLS), "--benchmark", "SPY", "--start-date", "2016-01-01", "--end-date", "2019-06-30",
        "--fold-length", "252", "--step-size", "63", "--model", "random_forest", "--scope", "per_asset",
        "--warm-start", "--n-jobs", "2", "--output-dir", out, "--quiet", *extra,
    ]  # fmt: skip


def finish(workdir: Path, out: str, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(wf_run(out, *extra), cwd=workdir, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def reference(workdir) -> Path:
    """The same run, never interrupted."""
    done = finish(workdir, "reference")
    assert done.returncode == 0, done.stderr
    return workdir / "reference"


def n_tasks(reference: Path) -> int:
    return len(json.loads((reference / "run.json").read_text())["folds"]) * len(SYMBOLS)


def start(workdir: Path, out: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(wf_run(out, *extra), cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(condition, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the run ended (code {proc.returncode}) before it could be interrupted: {proc.communicate()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("the run did not get far enough in time")
        time.sleep(0.02)


def interrupt(workdir: Path, out: str, signum: int) -> tuple[subprocess.CompletedProcess, float]:
    """Start the run, send `signum` once two folds are checkpointed; (result, seconds from signal to exit)."""
    proc = start(workdir, out)
    wait_until(lambda: len(checkpointed(workdir / out)) >= 2, proc)
    proc.send_signal(signum)
    t0 = time.monotonic()
    stdout, stderr = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr), time.monotonic() - t0


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_after_the_running_folds_and_resume_finishes_identically(workdir, reference, signum):
    out = f"stopped-{signum.name}"
    result, _ = interrupt(workdir, out, signum)
    assert result.returncode == 130, result.stderr
    assert f"{signum.name}: stopping after the running folds finish; finished folds are kept" in result.stderr
    assert re.search(r"cancelled after \d+ of \d+ fold models; finished folds are kept\. Resume with: wf run .*"
                     rf"--output-dir {out} .*--resume$", result.stderr.strip())  # fmt: skip
    assert "Traceback" not in result.stderr
    saved = checkpointed(workdir / out)
    assert 2 <= len(saved) < n_tasks(reference)  # some, not all
    assert not temporaries(workdir / out)
    assert not (workdir / out / "run.json").exists() and not (workdir / out / "predictions.parquet").exists()

    again = finish(workdir, out)  # without --resume: refused, nothing touched
    assert again.returncode == 2 and "holds an interrupted run; pass --resume" in again.stderr
    assert checkpointed(workdir / out) == saved

    resumed = finish(workdir, out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert_same_outputs(workdir / out, reference)


@pytest.mark.slow
def test_sigkill_then_resume_from_the_last_checkpoints(workdir, reference):
    out = workdir / "killed"
    result, _ = interrupt(workdir, "killed", signal.SIGKILL)
    assert result.returncode == -signal.SIGKILL
    assert 2 <= len(checkpointed(out)) < n_tasks(reference)
    # what a kill in the middle of atomic writes leaves: temporary files next to their targets
    (out / "checkpoints" / ".fold-0013-AAA.npz.k1ll3d.tmp").write_bytes(b"half a checkpoint")
    (out / ".predictions.parquet.k1ll3d.tmp").write_bytes(b"half a table")
    resumed = finish(workdir, "killed", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert_same_outputs(out, reference)
    assert not temporaries(out)
    assert not list((out / "checkpoints").glob("model-*.bin"))  # a finished run keeps no chain models


@pytest.mark.slow
def test_second_sigint_aborts_at_once_without_partial_files(workdir):
    """Each fit takes over a second here: after the first Ctrl-C the run would wait for the running ones; the second
    one leaves at once (after any write in flight has landed)."""
    out = workdir / "aborted"
    slow = {"model": {"kind": "random_forest", "params": {"n_estimators": 500}}}
    (workdir / "slow.json").write_text(json.dumps(slow))
    proc = start(workdir, "aborted", "--config", "slow.json")
    wait_until(lambda: len(checkpointed(out)) >= 1, proc)  # that worker has just started its chain's next fit
    proc.send_signal(signal.SIGINT)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    t0 = time.monotonic()
    _, stderr = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 3
    assert proc.returncode == 130, stderr
    assert "SIGINT: stopping after the running folds finish" in stderr
    assert "aborted; no partial files were left. Finished folds can be resumed with --resume" in stderr
    assert "Traceback" not in stderr
    assert not temporaries(out)
    assert not (out / "run.json").exists()


ABORT_DURING_OWN_WRITE = """
import os, signal, sys, time
from pathlib import Path
from walkforward.cancel import Cancellation
from walkforward.outputs import atomic_write

def write(tmp):
    Path(tmp).write_text("half")
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.2)
    os.kill(os.getpid(), signal.SIGINT)  # the handler aborts while this (main) thread is writing
    time.sleep(30)

with Cancellation().signals_installed():
    atomic_write(Path(sys.argv[1]) / "metrics.json", write)
"""


def test_abort_during_the_main_threads_own_write_leaves_no_temporary_file(tmp_path):
    """Regression: the abort waited (5 s) for every write in flight, including the one its own thread was making,
    which cannot finish while the handler runs; then exited and left that write's temporary file behind."""
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", ABORT_DURING_OWN_WRITE, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 130, done.stderr
    assert time.monotonic() - t0 < 4.5  # no wait for itself
    assert "aborted; no partial files were left" in done.stderr
    assert list(tmp_path.iterdir()) == []


# --- a fold that raises, in this process ---------------------------------------------------------------------------

runner = CliRunner()
SMALL = ["SPY", "AAA", "BTC-USD"]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("small")
    generate(out, SMALL, dt.date(2016, 1, 1), dt.date(2019, 12, 31), seed=3)
    return out


def small_run(data: Path, out: Path, scope: str, *extra: str):
    args = [
        "run", "--data-dir", str(data), "--assets", ",".join(SMALL), "--benchmark", "SPY", "--start-date",
        "2018-07-01", "--end-date", "2019-06-30", "--fold-length", "200", "--step-size", "63", "--scope", scope,
        "--n-jobs", "2", "--output-dir", str(out), "--quiet", *extra,
    ]  # fmt: skip
    return runner.invoke(app, args)


@pytest.mark.parametrize(("scope", "symbol", "named"), [("unified", "*", "all"), ("per_asset", "AAA", "AAA")])
def test_fold_that_raises_fails_the_run_and_resume_completes_it(tmp_path, small, monkeypatch, scope, symbol, named):
    reference = tmp_path / "reference"
    assert small_run(small, reference, scope).exit_code == 0
    info = json.loads((reference / "run.json").read_text())
    assert len(info["folds"]) >= 4

    fit, bad_seed = MODEL_KINDS["lightgbm"].fit, seed_for(info["config"]["seed"], 2, symbol)

    def failing(*args, **kwargs):
        if kwargs.get("seed") == bad_seed:
            raise RuntimeError("simulated out of memory")
        return fit(*args, **kwargs)

    out = tmp_path / "out"
    monkeypatch.setattr(MODEL_KINDS["lightgbm"], "fit", failing)
    result = small_run(small, out, scope)
    monkeypatch.undo()

    assert result.exit_code == 1, (result.output, result.exception)
    fold = info["folds"][2]
    (line,) = result.stderr.splitlines()
    assert line == (
        f"error: fold 2 (train {fold['train_start']}..{fold['train_end']}, test {fold['test_start']}.."
        f"{fold['test_end']}, assets {named}) failed: RuntimeError: simulated out of memory; finished folds are "
        "kept, fix the cause and rerun with --resume"
    )
    saved = [p.name for p in checkpointed(out)]
    assert saved and not [s for s in saved if s.startswith(f"fold-0002-{'all' if symbol == '*' else symbol}")]
    assert not temporaries(out) and not (out / "run.json").exists()

    resumed = small_run(small, out, scope, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert_same_outputs(out, reference)


def test_resume_is_refused_when_the_config_changed(tmp_path, small):
    out = tmp_path / "out"
    assert small_run(small, out, "unified").exit_code == 0
    (out / "run.json").unlink()  # as if interrupted
    result = small_run(small, out, "unified", "--resume", "--step-size", "42")
    assert result.exit_code == 2
    assert re.search(r"^error: cannot resume the run in '.*out': step_size was 63, now 42; rerun with the same "
                     r"settings, or --overwrite$", result.stderr.strip())  # fmt: skip


def test_stray_temporaries_are_removed_when_a_run_starts(tmp_path):
    """`--resume` and `--overwrite` (and a fresh run) sweep the temporary files a killed run left; other files stay."""
    from walkforward.config import Config
    from walkforward.execution.checkpoints import Checkpoints

    out = tmp_path / "out"
    (out / "checkpoints").mkdir(parents=True)
    strays = [out / ".metrics.json.abc.tmp", out / ".run.json.x.tmp", out / "checkpoints" / ".model-AAA-0003.bin.q.tmp"]
    keep = [out / "notes.tmp", out / ".mine.tmp", out / "checkpoints" / "fold-0000-all.npz"]
    for path in strays + keep:
        path.write_text("x")
    Checkpoints(out).prepare(Config(output_dir=str(out)), "fp", resume=False, overwrite=False)
    assert not any(p.exists() for p in strays)
    assert all(p.exists() for p in keep)
    assert os.path.exists(out / "checkpoints" / "manifest.json")
