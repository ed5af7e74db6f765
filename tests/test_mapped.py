"""Process workers read the feature matrix from one memory-mapped file, not from a pickled copy each: the outputs
are the thread pool's bit for bit, and the temporary folder is gone after the run, whether it finished, failed or was
cancelled."""

from __future__ import annotations

import datetime as dt
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest

from walkforward import cancel
from walkforward.cancel import Cancellation, Cancelled
from walkforward.config import Config
from walkforward.data.generate import generate
from walkforward.errors import FoldFailed
from walkforward.execution import mapped
from walkforward.execution.mapped import OnDisk, SpillFolder, spill, unspill
from walkforward.features.matrix import Matrix
from walkforward.outputs import TABLES
from walkforward.runner import execute

SYMBOLS = ["SPY", "AAA", "BTC-USD"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    generate(out, SYMBOLS, dt.date(2016, 1, 1), dt.date(2019, 12, 31), seed=3)
    return out


def config(data: Path, out: Path, executor: str, **model: object) -> Config:
    return Config.from_dict(
        {
            "data_path": str(data),
            "assets": SYMBOLS,
            "benchmark": "SPY",
            "start_date": "2018-07-01",
            "end_date": "2019-06-30",
            "fold_length": 200,
            "step_size": 63,
            "model": {"kind": "lightgbm", "params": {"n_estimators": 10}, **model},
            "n_jobs": 2,
            "executor": executor,
            "output_dir": str(out),
        }
    )


@pytest.fixture
def temp_dir(tmp_path, monkeypatch) -> Path:
    """The temporary directory the run's spill folder goes to (tempfile's, for this test)."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def spilled(root: Path) -> list[Path]:
    return sorted(root.glob(f"{mapped.PREFIX}*"))


def matrix(n: int = 4000, k: int = 3) -> Matrix:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, k))
    days = np.arange(n).astype("datetime64[D]")
    return Matrix(X, X[:, 0].copy(), days, days, X[:, 1].copy(), days, np.zeros(n, np.int32), ("A",), X[:, 2] > 0)


def test_spill_writes_every_large_array_once_and_unspill_maps_it_back_read_only(tmp_path, monkeypatch):
    monkeypatch.setattr(mapped, "MIN_BYTES", 1_000)
    m = matrix()
    light = spill(m, tmp_path)
    assert isinstance(light.X, OnDisk) and isinstance(light.complete, OnDisk) and light.symbols == ("A",)
    assert len(pickle.dumps(light)) < 2_000 < m.X.nbytes  # what a worker receives
    # `matrix()` passes one array as dates, label_end and next_date: written once, under its first name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        f"job.{name}.npy" for name in ("X", "y", "dates", "next_ret", "symbol", "complete")
    )
    back = unspill(light)
    assert back.label_end is back.dates and back.next_date is back.dates
    for name in ("X", "y", "dates", "label_end", "next_ret", "next_date", "symbol", "complete"):
        a, b = getattr(m, name), getattr(back, name)
        assert type(b) is np.ndarray and b.dtype == a.dtype and b.shape == a.shape
        assert a.tobytes() == b.tobytes()
        assert isinstance(b.base, np.memmap) and not b.flags.writeable
    assert back.X.flags.c_contiguous


def test_small_arrays_and_other_values_travel_in_the_pickle(tmp_path):
    small = matrix(n=10)
    assert spill(small, tmp_path).X is small.X
    assert spill((1, "x"), tmp_path) == (1, "x")
    assert not list(tmp_path.iterdir())


def test_process_workers_map_the_matrix_and_match_the_thread_pool_bitwise(dataset, tmp_path, temp_dir, monkeypatch):
    monkeypatch.setattr(mapped, "MIN_BYTES", 0)  # every array of the job goes through a file
    seen: list[Path] = []
    init = SpillFolder.__init__

    def record(self):  # noqa: ANN001
        init(self)
        seen.append(self.path)

    monkeypatch.setattr(SpillFolder, "__init__", record)
    execute(config(dataset, tmp_path / "threads", "threads"))
    execute(config(dataset, tmp_path / "proc", "processes"))
    for name in TABLES:
        assert (tmp_path / "threads" / f"{name}.parquet").read_bytes() == (
            tmp_path / "proc" / f"{name}.parquet"
        ).read_bytes(), name
    assert len(seen) == 1 and seen[0].parent == temp_dir
    assert not seen[0].exists() and spilled(temp_dir) == []
    assert cancel._ON_ABORT == []  # nothing left for an abort to remove


def test_the_spill_folder_is_removed_when_a_fold_fails(dataset, tmp_path, temp_dir):
    # LightGBM refuses an unknown objective when it fits, inside the worker
    params = {"n_estimators": 10, "objective": "no_such_objective"}
    with pytest.raises(FoldFailed, match="no_such_objective"):
        execute(config(dataset, tmp_path / "out", "processes", params=params))
    assert spilled(temp_dir) == []


def test_the_spill_folder_is_removed_when_the_run_is_cancelled(dataset, tmp_path, temp_dir):
    stop = Cancellation()

    def progress(done: int, total: int) -> None:  # noqa: ARG001
        if done >= 1:
            stop.request()

    with pytest.raises(Cancelled):
        execute(config(dataset, tmp_path / "out", "processes", scope="per_asset"), progress=progress, cancel=stop)
    assert spilled(temp_dir) == []


def test_an_abort_removes_a_spill_folder_still_open(temp_dir, monkeypatch):
    folder = SpillFolder()
    (folder.path / "job.X.npy").write_bytes(b"x")
    monkeypatch.setattr("walkforward.outputs.refuse_writes", lambda wait_seconds: None)
    monkeypatch.setattr("os._exit", lambda code: None)
    cancel.abort()
    assert not folder.path.exists() and spilled(temp_dir) == []


def test_jobs_sharing_a_matrix_spill_it_once_and_get_one_object_back(tmp_path, monkeypatch):
    """A sweep's jobs (a dict of fold jobs) share their matrix: one set of files, one matrix in the worker."""
    monkeypatch.setattr(mapped, "MIN_BYTES", 1_000)
    m, other = matrix(), matrix(n=3000)
    light = spill({0: m, 1: m, 2: other}, tmp_path)
    assert light[0] is light[1] and isinstance(light[2].X, OnDisk)
    assert len(list(tmp_path.iterdir())) == 2 * 6  # two matrices, six distinct arrays each
    back = pickle.loads(pickle.dumps(light))  # as a process-pool worker receives it
    back = unspill(back)
    assert back[0] is back[1] and back[0] is not back[2]
    assert back[0].X.tobytes() == m.X.tobytes() and back[2].X.tobytes() == other.X.tobytes()
