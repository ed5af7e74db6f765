"""Files around a run's outputs: reading them back with one-line errors (wf compare, wf report), and making the
folders that commands write into."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import polars as pl

from walkforward.errors import WalkforwardError


def make_folder(path: str | os.PathLike[str], name: str, flag: str, error: type[WalkforwardError]) -> Path:
    """Create the folder `path` (and its parents) to write into. A file there, or a folder that cannot be made or
    written, is a one-line `error` naming it (`name`: "output dir") and the `flag` that picks another."""
    out = Path(path)
    where = f"{name} {str(path)!r}"
    if out.exists() and not out.is_dir():
        raise error(f"{where} is a file; pass {flag} with a directory path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error(f"cannot create {where}: {exc.strerror}; pick another {flag}") from None
    if not os.access(out, os.W_OK):
        raise error(f"{where} is not writable; pick another {flag}")
    return out


def read_table(path: Path, fix: str = "rerun `wf run`") -> pl.DataFrame:
    """An output table; one that cannot be read (truncated, not Parquet) is a one-line WalkforwardError naming it and
    `fix`."""
    try:
        return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WalkforwardError(f"{path}: cannot be read as Parquet ({first}); {fix}") from None


def read_json(path: Path, fix: str = "rerun `wf run`") -> Any:
    """An output JSON file; invalid JSON is a one-line WalkforwardError naming it and `fix`."""
    try:
        return json.loads(path.read_text())
    except (ValueError, OSError) as exc:
        raise WalkforwardError(f"{path}: not valid JSON ({exc}); {fix}") from None
