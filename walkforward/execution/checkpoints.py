"""Fold checkpoints: each finished fold model's results are saved as it completes, so `--resume` can skip it.

A run directory's `checkpoints/` holds `manifest.json` (the resolved config that matters for results, the data
fingerprint and the versions of the packages that compute results) and one `.npz` per finished task (fold, symbol):
the symbol, the rows it predicted, the predictions, the feature importance, its timings (seconds, and when it fitted
and predicted) and — for warm-start chains — the model itself, so the chain can continue from it. Every file is
written atomically. Resuming with another config, other data or other package versions is refused with what differs.

A task's files are named by `fold-FOLD-NAME.npz` and `model-NAME-FOLD.bin`, NAME from `task_name(symbol)`: a
readable ASCII prefix of the symbol and a hash of its exact bytes in lowercase hex, so no two symbols share a file,
even on a case-insensitive file system, and every name is short, portable ASCII.
"""

from __future__ import annotations

import glob
import hashlib
import io
import json
import shutil
import string
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from walkforward.config import UNIFIED_SYMBOL, Config
from walkforward.errors import WalkforwardError
from walkforward.execution.task import TaskResult
from walkforward.outputs import TABLES, atomic_write, write_json
from walkforward.versions import package_versions

# keys that may change between an interrupted run and its resumption without changing any result
RESULT_NEUTRAL = ("output_dir", "n_jobs", "executor", "scheduler")
FINISHED_MARKER = "run.json"
STASH = ".overwritten"  # where `--overwrite` keeps the previous run until the new one saves a task (Checkpoints)
# what computes results: a resume under other versions of these could mix their results (pandas and pyarrow only
# read, write or serve the legacy engine, which keeps no checkpoints)
RESULT_PACKAGES = ("walkforward", "lightgbm", "scikit-learn", "numpy", "polars")
NAME_PREFIX = 24  # characters of the symbol kept readable in a checkpoint's file name
NAME_HASH = 16  # lowercase hex digits (64 bits) of the SHA-256 of the symbol's UTF-8 bytes
NAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + "-_.")
# what a run writes into its output directory (atomically: a killed write leaves `.NAME.XXXXXXXX.tmp`)
OUTPUT_NAMES = (*(f"{t}.parquet" for t in TABLES), "features.parquet", "metrics.json", FINISHED_MARKER)


class RunDirError(WalkforwardError):
    """The output directory holds a run that this one would overwrite, or cannot be resumed."""


def result_config(config: Config) -> dict[str, Any]:
    out = config.to_dict()
    for key in RESULT_NEUTRAL:
        out.pop(key, None)
    if config.features.custom:  # what each computes, not only where it came from: a changed function body too
        out["features"]["custom"] = [{**c.given(), "expr": c.identity} for c in config.features.custom]
    return out


def task_name(symbol: str) -> str:
    """The symbol's part of its checkpoint file names: `AAA-<hash>`, `BRK_B-<hash>`, `all-<hash>` for the unified
    model '*', `__-<hash>` for '日経'. The prefix is for people (ASCII letters, digits and `-_.`, others as `_`, at
    most NAME_PREFIX of them); the hash of the exact symbol makes the name unique, and being lowercase hex and of
    fixed length, unique regardless of case and short. Lone surrogates (undecodable file names) hash as they are."""
    readable = "all" if symbol == UNIFIED_SYMBOL else "".join(c if c in NAME_CHARACTERS else "_" for c in symbol)
    digest = hashlib.sha256(symbol.encode("utf-8", "surrogatepass")).hexdigest()[:NAME_HASH]
    return f"{readable[:NAME_PREFIX]}-{digest}"


def _version_differences(recorded: dict[str, str | None], current: dict[str, str | None]) -> list[str]:
    diffs = []
    for name in current:
        was = recorded.get(name, "unrecorded")
        if was != current[name]:
            now = current[name] or "not installed"
            diffs.append(f"{name} was {was or 'not installed'} when the run started, now {now}")
    return diffs


def _differences(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    diffs = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            diffs.append(f"{prefix}{key} was {a!r}, now {b!r}")
    return diffs


class Checkpoints:
    """A run directory's checkpoints, and what `--overwrite` replaces: the previous run's run.json and checkpoints
    are moved aside (STASH) and only deleted once the new run saves its first task or finishes, so a new run that
    stops on bad input (`discard_if_unused`) puts the previous one back as it was; its outputs are replaced only by
    the new run's, atomically, when it writes them."""

    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)
        self.dir = self.out_dir / "checkpoints"
        self.stash = self.out_dir / STASH
        self.created = False  # `prepare` began this run's checkpoints (wrote the manifest)
        self.stashed = False  # `prepare` moved an overwritten run aside, not yet dropped

    # --- the run directory's state ----------------------------------------------------------------
    def prepare(self, config: Config, fingerprint: str, *, resume: bool, overwrite: bool) -> None:
        """Refuse to clobber a finished or interrupted run unless asked; check a resume matches."""
        self._settle_stash()
        finished = (self.out_dir / FINISHED_MARKER).exists()
        interrupted = not finished and (self.dir / "manifest.json").exists()
        where = str(self.out_dir)
        if overwrite:
            self._stash_previous()
        elif resume:
            if not (finished or interrupted):
                raise RunDirError(f"nothing to resume in {where!r}: no checkpoints; run without --resume")
            self._check_manifest(config, fingerprint)
        elif finished:
            raise RunDirError(
                f"{where!r} holds a finished run; pass --overwrite to replace it or choose another --output-dir"
            )
        elif interrupted:
            raise RunDirError(
                f"{where!r} holds an interrupted run; pass --resume to continue it or --overwrite to start over"
            )
        (self.out_dir / FINISHED_MARKER).unlink(missing_ok=True)  # the directory is no longer a finished run
        self.remove_stray_temporaries()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.created = not (self.dir / "manifest.json").exists()
        if self.created:
            manifest = {
                "config": result_config(config),
                "fingerprint": fingerprint,
                "packages": package_versions(RESULT_PACKAGES),
            }
            write_json(self.dir / "manifest.json", manifest)

    def remove_stray_temporaries(self) -> None:
        """Delete the temporary files of atomic writes that a killed run (SIGKILL, power loss) left behind: any in
        checkpoints/, and those of the run's own outputs in the output directory."""
        strays = list(self.dir.glob(".*.tmp")) if self.dir.is_dir() else []
        for name in OUTPUT_NAMES:
            strays += self.out_dir.glob(f".{glob.escape(name)}.*.tmp")
        for path in strays:
            path.unlink(missing_ok=True)

    def discard_if_unused(self) -> None:
        """Undo `prepare` when the run stopped before saving any fold (bad input found while loading): a directory
        that this run only began is left as it was, not as an interrupted run that `--resume` would be asked for,
        and a run it was to overwrite is put back."""
        if self.created and self._unused():
            shutil.rmtree(self.dir, ignore_errors=True)
            self._restore_stash()

    def _unused(self) -> bool:
        """The checkpoints hold no task (only the manifest, or nothing)."""
        return not self.dir.is_dir() or all(p.name == "manifest.json" for p in self.dir.iterdir())

    def _stash_previous(self) -> None:
        """`--overwrite`: move the previous run's run.json and checkpoints aside (see the class)."""
        shutil.rmtree(self.stash, ignore_errors=True)
        for name, path in ((FINISHED_MARKER, self.out_dir / FINISHED_MARKER), ("checkpoints", self.dir)):
            if path.exists():
                self.stash.mkdir(exist_ok=True)
                path.replace(self.stash / name)
                self.stashed = True

    def _restore_stash(self) -> None:
        if self.stash.is_dir():
            for name, path in ((FINISHED_MARKER, self.out_dir / FINISHED_MARKER), ("checkpoints", self.dir)):
                if (self.stash / name).exists():
                    (self.stash / name).replace(path)
            shutil.rmtree(self.stash, ignore_errors=True)
        self.stashed = False

    def _drop_stash(self) -> None:
        """The overwrite took effect: the new run saved a task or finished."""
        if self.stashed:
            shutil.rmtree(self.stash, ignore_errors=True)
            self.stashed = False

    def _settle_stash(self) -> None:
        """A stash that a killed `--overwrite` left: put back if its new run saved nothing, else drop."""
        if not self.stash.is_dir():
            return
        if not (self.out_dir / FINISHED_MARKER).exists() and self._unused():
            shutil.rmtree(self.dir, ignore_errors=True)
            self._restore_stash()
        else:
            shutil.rmtree(self.stash, ignore_errors=True)

    def _check_manifest(self, config: Config, fingerprint: str) -> None:
        manifest = json.loads((self.dir / "manifest.json").read_text())
        self._check_versions(manifest.get("packages"))
        diffs = _differences(manifest["config"], result_config(config))
        if manifest["fingerprint"] != fingerprint:
            diffs.insert(0, "the data changed (content fingerprint differs)")
        if diffs:
            raise RunDirError(
                f"cannot resume the run in {str(self.out_dir)!r}: {'; '.join(diffs[:3])}"
                f"{' (and more)' if len(diffs) > 3 else ''}; rerun with the same settings, or --overwrite"
            )

    def _check_versions(self, recorded: dict[str, str | None] | None) -> None:
        """Refuse to mix results of other package versions, or of a manifest that recorded none (an older run)."""
        where = str(self.out_dir)
        if not isinstance(recorded, dict):
            raise RunDirError(
                f"cannot resume the run in {where!r}: its checkpoints record no package versions (written by an "
                "older walkforward), so its folds could differ from new ones; rerun with --overwrite"
            )
        diffs = _version_differences(recorded, package_versions(RESULT_PACKAGES))
        if diffs:
            raise RunDirError(
                f"cannot resume the run in {where!r}: {'; '.join(diffs)}; reinstall the versions the run started "
                "with to resume it, or rerun with --overwrite"
            )

    # --- tasks ---------------------------------------------------------------------------------------
    def _path(self, fold: int, symbol: str) -> Path:
        return self.dir / f"fold-{fold:04d}-{task_name(symbol)}.npz"

    def _model_path(self, fold: int, symbol: str) -> Path:
        return self.dir / f"model-{task_name(symbol)}-{fold:04d}.bin"

    def save(self, task: tuple[int, str], result: TaskResult, model_state: bytes | None) -> None:
        """Persist a finished task. A warm-start chain keeps only its latest model: the model is written before
        the task's results, and the previous model removed after, so a crash anywhere leaves a consistent pair."""
        fold, symbol = task
        self._drop_stash()
        if model_state is not None:
            atomic_write(self._model_path(fold, symbol), lambda tmp: Path(tmp).write_bytes(model_state))
        buffer = io.BytesIO()
        np.savez(
            buffer,
            symbol=np.array(symbol),
            rows=result.rows,
            prediction=result.prediction,
            importance=result.importance,
            timings=np.array(
                [result.fit_seconds, result.predict_seconds, result.cpu_seconds]
                + [result.fit_start, result.fit_end, result.predict_end]
            ),
        )
        data = buffer.getvalue()
        atomic_write(self._path(fold, symbol), lambda tmp: Path(tmp).write_bytes(data))
        if model_state is not None and fold > 0:
            self._model_path(fold - 1, symbol).unlink(missing_ok=True)

    def load(self, tasks: list[tuple[int, str]]) -> dict[tuple[int, str], TaskResult]:
        """The checkpointed tasks among `tasks` (a missing or unreadable file, or one of another symbol, is simply not
        finished)."""
        out = {}
        for task in tasks:
            path = self._path(*task)
            if not path.exists():
                continue
            try:
                with np.load(path) as z:
                    if z["symbol"].item() != task[1]:  # a file of another symbol under this name: not this task's
                        continue
                    # fit, predict and CPU seconds, then when it fitted and predicted (absent from older files)
                    timings = z["timings"].tolist()[:6]
                    out[task] = TaskResult(z["rows"], z["prediction"], z["importance"], *timings)
            except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
                continue
        return out

    def model_state(self, task: tuple[int, str]) -> bytes | None:
        """The saved model of a finished warm-start task, if kept."""
        path = self._model_path(*task)
        return path.read_bytes() if path.exists() else None

    def finish(self) -> None:
        """The run is complete: drop the chains' models (every fold is done, nothing will continue them) and any run
        it overwrote."""
        self._drop_stash()
        for path in self.dir.glob("model-*.bin"):
            path.unlink(missing_ok=True)
