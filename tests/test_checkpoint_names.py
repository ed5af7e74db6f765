"""Checkpoint file names and the resume manifest's package versions.

Regression: a checkpoint's name was the symbol with '*' as `all` and other characters as `_`, so `BRK/B` and `BRK_B`
shared a file, and so did `*` and `all` (or `ALL`, on a case-insensitive file system): a resume read one symbol's
fold as the other's. Names are now a readable prefix and a hash of the exact symbol, in lowercase hex.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from walkforward.config import Config
from walkforward.execution.checkpoints import RESULT_PACKAGES, Checkpoints, RunDirError, task_name
from walkforward.execution.task import TaskResult
from walkforward.versions import package_versions

SYMBOLS = [
    "*", "all", "ALL", "All", "BRK/B", "BRK_B", "BRK.B", "BRK-B", "brk/b", "日経", "日経225", "Ä", "ä",
    unicodedata.normalize("NFD", "Ä"), "A", "a", "_", "/", "\\", ":", "CON", "x" * 200, "x" * 199 + "y",
    "ETH-USD", "eth-usd", "\udcff",  # a lone surrogate: what Python makes of an undecodable file name
]  # fmt: skip
# a fold and a model file name: ASCII letters, digits and `-_.`, a prefix of at most 24, then 16 lowercase hex digits
FOLD_NAME = re.compile(r"fold-\d{4}-[A-Za-z0-9._-]{0,24}-[0-9a-f]{16}\.npz")
MODEL_NAME = re.compile(r"model-[A-Za-z0-9._-]{0,24}-[0-9a-f]{16}-\d{4}\.bin")


def names(symbol: str, fold: int = 3) -> tuple[str, str]:
    cp = Checkpoints("run")
    return cp._path(fold, symbol).name, cp._model_path(fold, symbol).name


def result_for(k: int) -> TaskResult:
    rows = np.arange(k, k + 5, dtype=np.int64)
    stamps = (1.7e9 + k, 1.7e9 + k + 0.25, 1.7e9 + k + 0.5)  # when it fitted and predicted (time.time())
    return TaskResult(rows, rows * 0.5 - k, np.full(4, float(k)), 0.25 * k, 0.125, 1.0 + k, *stamps, 4242, 99.0)


def test_names_of_distinct_symbols_differ_even_ignoring_case():
    files = [names(s) for s in SYMBOLS]
    for (a, fa), (b, fb) in itertools.combinations(zip(SYMBOLS, files, strict=True), 2):
        for x, y in zip(fa, fb, strict=True):
            assert x.casefold() != y.casefold(), (a, b, x, y)


def test_names_are_short_portable_ascii_with_a_readable_prefix():
    for symbol in SYMBOLS:
        fold, model = names(symbol)
        assert FOLD_NAME.fullmatch(fold) and MODEL_NAME.fullmatch(model), (symbol, fold, model)
        assert len(fold) <= 64 and len(model) <= 64
    assert task_name("*").startswith("all-") and task_name("BRK/B").startswith("BRK_B-")
    assert task_name("日経").startswith("__-") and task_name("ETH-USD").startswith("ETH-USD-")
    assert task_name("AAA") == task_name("AAA")  # a pure function of the symbol: a resume finds the same names


@given(st.text(), st.text())
def test_any_two_distinct_symbols_get_distinct_portable_names(a, b):
    assert FOLD_NAME.fullmatch(names(a)[0]) and MODEL_NAME.fullmatch(names(a)[1])
    if a != b:
        assert task_name(a).casefold() != task_name(b).casefold()


def test_every_symbol_round_trips_from_one_checkpoint_directory(tmp_path):
    saved = Checkpoints(tmp_path)
    saved.dir.mkdir()
    for k, symbol in enumerate(SYMBOLS):
        for fold in (0, 1):  # a warm-start chain: saving fold 1 drops fold 0's model
            saved.save((fold, symbol), result_for(k + fold), f"model {k} {fold} {symbol!r}".encode("utf-8", "replace"))
    assert len(list(saved.dir.glob("fold-*.npz"))) == 2 * len(SYMBOLS)
    assert len(list(saved.dir.glob("model-*.bin"))) == len(SYMBOLS)

    tasks = [(fold, s) for s in SYMBOLS for fold in (0, 1, 2)]
    loaded = Checkpoints(tmp_path).load(tasks)
    assert set(loaded) == {(fold, s) for s in SYMBOLS for fold in (0, 1)}
    for k, symbol in enumerate(SYMBOLS):
        for fold in (0, 1):
            got, want = loaded[(fold, symbol)], result_for(k + fold)
            for field in ("rows", "prediction", "importance"):
                np.testing.assert_array_equal(getattr(got, field), getattr(want, field))
                assert getattr(got, field).dtype == getattr(want, field).dtype
            timings = ("fit_seconds", "predict_seconds", "cpu_seconds", "fit_start", "fit_end", "predict_end")
            assert [getattr(got, t) for t in timings] == [getattr(want, t) for t in timings]
            assert (got.pid, got.peak_rss_mb) == (0, 0.0)  # another process's: not kept
        state = Checkpoints(tmp_path).model_state((1, symbol))
        assert state == f"model {k} 1 {symbol!r}".encode("utf-8", "replace")
        assert Checkpoints(tmp_path).model_state((0, symbol)) is None


def test_a_file_holding_another_symbol_is_not_loaded_as_this_one(tmp_path):
    cp = Checkpoints(tmp_path)
    cp.dir.mkdir()
    cp.save((0, "BRK/B"), result_for(1), None)
    cp._path(0, "BRK_B").write_bytes(cp._path(0, "BRK/B").read_bytes())  # copied by hand, or a hash collision
    assert set(cp.load([(0, "BRK/B"), (0, "BRK_B")])) == {(0, "BRK/B")}


def test_a_checkpoint_of_an_older_walkforward_without_task_times_loads_with_none_recorded(tmp_path):
    cp = Checkpoints(tmp_path)
    cp.dir.mkdir()
    rows = np.arange(3, dtype=np.int64)
    np.savez(cp._path(2, "AAA"), symbol=np.array("AAA"), rows=rows, prediction=rows * 1.5, importance=np.ones(4),
             timings=np.array([0.5, 0.25, 0.75]))  # fmt: skip
    got = cp.load([(2, "AAA")])[(2, "AAA")]
    assert (got.fit_seconds, got.predict_seconds, got.cpu_seconds) == (0.5, 0.25, 0.75)
    assert (got.fit_start, got.fit_end, got.predict_end) == (0.0, 0.0, 0.0)


# --- package versions in the manifest --------------------------------------------------------------------------------


def started(out: Path) -> Path:
    """A run directory as a run that started and was interrupted leaves it; its manifest's path."""
    Checkpoints(out).prepare(Config(output_dir=str(out)), "fp", resume=False, overwrite=False)
    return out / "checkpoints" / "manifest.json"


def resume(out: Path) -> None:
    Checkpoints(out).prepare(Config(output_dir=str(out)), "fp", resume=True, overwrite=False)


def edit(manifest: Path, change) -> None:
    data = json.loads(manifest.read_text())
    change(data)
    manifest.write_text(json.dumps(data))


def test_the_manifest_records_the_versions_that_change_results_and_resume_accepts_them(tmp_path):
    recorded = json.loads(started(tmp_path).read_text())["packages"]
    assert set(recorded) == {"walkforward", "lightgbm", "scikit-learn", "numpy", "polars"} == set(RESULT_PACKAGES)
    assert recorded == package_versions(RESULT_PACKAGES)
    assert recorded["walkforward"] == __import__("walkforward").__version__
    resume(tmp_path)  # same versions: no complaint


def test_resume_is_refused_when_a_package_version_changed(tmp_path):
    manifest = started(tmp_path)
    edit(manifest, lambda m: m["packages"].update(lightgbm="0.0.1"))
    now = package_versions(RESULT_PACKAGES)["lightgbm"]
    with pytest.raises(RunDirError) as caught:
        resume(tmp_path)
    assert re.fullmatch(
        rf"cannot resume the run in '.*': lightgbm was 0\.0\.1 when the run started, now {re.escape(now)}; "
        r"reinstall the versions the run started with to resume it, or rerun with --overwrite",
        str(caught.value),
    )
    assert "\n" not in str(caught.value)


def test_resume_names_every_package_that_changed(tmp_path):
    manifest = started(tmp_path)
    edit(manifest, lambda m: m["packages"].update({"walkforward": "0.0.9", "scikit-learn": None}))
    now = package_versions(RESULT_PACKAGES)
    with pytest.raises(
        RunDirError,
        match=rf": walkforward was 0\.0\.9 when the run started, now {re.escape(now['walkforward'])}; scikit-learn was "
        rf"not installed when the run started, now {re.escape(now['scikit-learn'])}; reinstall",
    ):
        resume(tmp_path)


def test_resume_of_a_manifest_without_versions_is_refused(tmp_path):
    """A manifest written before versions were recorded: its folds may come from any version, so start over."""
    manifest = started(tmp_path)
    edit(manifest, lambda m: m.pop("packages"))
    with pytest.raises(
        RunDirError,
        match=r"^cannot resume the run in '.*': its checkpoints record no package versions \(written by an older "
        r"walkforward\), so its folds could differ from new ones; rerun with --overwrite$",
    ):
        resume(tmp_path)


def test_reading_the_versions_imports_no_model_library():
    code = (
        "import sys; from walkforward.execution.checkpoints import RESULT_PACKAGES; "
        "from walkforward.versions import package_versions; v = package_versions(RESULT_PACKAGES); "
        "assert v['lightgbm'] and v['scikit-learn'], v; print(sorted({'lightgbm', 'sklearn'} & set(sys.modules)))"
    )
    root = Path(__file__).resolve().parent.parent  # this checkout's walkforward, whatever is installed
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
