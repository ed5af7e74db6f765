"""A job's large arrays handed to local worker processes as memory-mapped `.npy` files, not as pickled copies.

`spill(job, folder)` writes every numpy array of at least `MIN_BYTES` found in the job (a dataclass, searched
through its dataclass fields: the fold job's feature matrix, its `traded` mask) to `folder` once, and returns the job
with `OnDisk` placeholders in their place: a few hundred bytes to pickle. A worker calls `unspill(job)`, which maps
each file read-only (`np.load(..., mmap_mode="r")`): every worker reads the same pages of the operating system's file
cache, so the matrix is in memory once for all the workers, whatever their number, beside the parent's own copy.

The arrays come back with the same dtype, shape and values, so the fits are bitwise those of the thread pool. The
folder is made by `SpillFolder` under the temporary directory (`TMPDIR`, else /tmp: a disk, or a tmpfs that holds it
in memory) and removed when the pool closes, on errors and cancellation too; an abort (a second Ctrl-C) removes it
before exiting. Only a killed `wf` process (SIGKILL, out of memory) leaves it behind, as `wf-matrix-*` there.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from walkforward import cancel

MIN_BYTES = 1 << 16  # smaller arrays travel in the pickle
PREFIX = "wf-matrix-"


@dataclass(frozen=True)
class OnDisk:
    """Where a spilled array is: a `.npy` file to map read-only."""

    path: str

    def load(self) -> np.ndarray:
        # a plain ndarray view of the memmap (the map stays open through its base): numpy functions and LightGBM
        # see an ndarray, as they do under the thread pool
        return np.asarray(np.load(self.path, mmap_mode="r", allow_pickle=False))


def spill(value: Any, folder: Path, name: str = "job", _seen: dict[int, Any] | None = None) -> Any:
    """`value` with each large array under it (through dataclass fields and dict values) saved to
    `folder/<path>.npy` and replaced by an `OnDisk`; an array reached twice (jobs sharing a matrix) is saved once."""
    seen = {} if _seen is None else _seen
    if id(value) in seen:
        return seen[id(value)][1]
    if isinstance(value, np.ndarray) and value.nbytes >= MIN_BYTES and not value.dtype.hasobject:
        path = folder / f"{name}.npy"
        np.save(path, value, allow_pickle=False)
        out: Any = OnDisk(str(path))
    elif isinstance(value, dict):
        out = {k: spill(v, folder, f"{name}.{k}", seen) for k, v in value.items()}
    elif is_dataclass(value) and not isinstance(value, type):
        changes = {
            f.name: spill(getattr(value, f.name), folder, f"{name}.{f.name}", seen) for f in fields(value) if f.init
        }
        out = replace(value, **changes)
    else:
        return value
    seen[id(value)] = (value, out)  # the value is held, so its id is not reused while spilling
    return out


def unspill(value: Any, _seen: dict[Any, Any] | None = None) -> Any:
    """The inverse of `spill`: each `OnDisk` mapped back as a read-only array (a file once, however often named)."""
    seen = {} if _seen is None else _seen
    if isinstance(value, OnDisk):
        if value.path not in seen:
            seen[value.path] = value.load()
        return seen[value.path]
    if isinstance(value, dict):
        return {k: unspill(v, seen) for k, v in value.items()}
    if is_dataclass(value) and not isinstance(value, type):
        if id(value) not in seen:  # one object (a matrix two jobs share) comes back as one object
            fresh = {f.name: unspill(getattr(value, f.name), seen) for f in fields(value) if f.init}
            seen[id(value)] = (value, replace(value, **fresh))
        return seen[id(value)][1]
    return value


class SpillFolder:
    """A temporary folder for a pool's spilled arrays, removed by `remove()` (again is harmless) or, failing that,
    by an abort of the run."""

    def __init__(self) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=PREFIX))
        cancel.on_abort(self.remove)

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
        cancel.forget_on_abort(self.remove)
