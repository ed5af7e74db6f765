"""The columnar store: the input data converted once into `prices.parquet`, reused while its content is unchanged.

The store lives in `DATA_DIR/.wf/` for a folder (per-symbol CSVs or Parquet files) and in
`<parent>/.wf/<file name>.store/` for a single long-format file (`layout.store_root`); `.wf/.gitignore` keeps it out
of git. `prices.json` beside it records what the Parquet file was built from (the data's content fingerprint, the
symbols, the price column) and the sha256 of the Parquet file itself, so a stale, corrupt or truncated store is
detected and rebuilt. It also keeps the warnings that validating the data gave (unsorted rows, long gaps): a run
that reuses the store warns again.

Per-symbol CSVs are read and checked file by file (`read.py`); a long file or a Parquet folder is scanned lazily,
checked in one streaming pass and written bucket by bucket with bounded memory (`long.py`, `build.py`).
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path

import polars as pl

from walkforward.data.build import ROW_GROUP_SIZE, available_symbols, check_rows, write_sorted
from walkforward.data.fingerprint import file_sha256, fingerprint, write_atomic
from walkforward.data.layout import CSV_DIR, detect, make_store_root, store_root
from walkforward.data.long import Source
from walkforward.data.read import load_panel
from walkforward.errors import DataError, DataWarning

__all__ = ["convert", "ensure_store", "every_symbol", "fingerprint", "scan", "store_paths"]

PARQUET_NAME = "prices.parquet"
MANIFEST_NAME = "prices.json"
LOCK_NAME = ".lock"
FORMAT_VERSION = 3  # bump when the Parquet layout or the validation changes: every store is rebuilt


def store_paths(data_path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(parquet path, manifest path) of the store of `data_path`."""
    root = store_root(data_path)
    return root / PARQUET_NAME, root / MANIFEST_NAME


def convert(data_path: str | os.PathLike[str], symbols: Iterable[str], price_column: str = "close") -> Path:
    """Read and validate the data of `symbols`, write the Parquet store and its manifest; return its path."""
    symbols = sorted(set(symbols))
    return _convert(data_path, symbols, price_column, fingerprint(data_path, symbols))


def every_symbol(data_path: str | os.PathLike[str], price_column: str = "close") -> tuple[str, ...]:
    """Every symbol the data holds: the CSV names of a folder, a hive layout's partitions, else those in the rows."""
    layout = detect(data_path)
    if layout.kind == CSV_DIR:  # names starting with "." or "_" are skipped, as everywhere in the layouts
        return tuple(
            sorted(p.stem for p in layout.path.glob("*.csv") if p.is_file() and not p.name.startswith((".", "_")))
        )
    found = available_symbols(Source(layout, price_column))
    if not found:
        raise DataError(f"{layout.path}: holds no rows; add one row per symbol and trading day")
    return tuple(found)


def _convert(data_path: str | os.PathLike[str], symbols: list[str], price_column: str, fp: str) -> Path:
    layout = detect(data_path)
    record = {
        "format_version": FORMAT_VERSION,
        "fingerprint": fp,
        "symbols": symbols,
        "price_column": price_column,
        "layout": layout.kind,
    }
    with _recorded() as caught:
        if layout.kind == CSV_DIR:
            build: Callable[[Path], int] = partial(_write_frame, load_panel(data_path, symbols, price_column))
        else:
            source = Source(layout, price_column, symbols)
            build = partial(write_sorted, source, check_rows(source, symbols), price_column)
        return _install(store_paths(data_path), build, record, caught)


def _install(
    paths: tuple[Path, Path], build: Callable[[Path], int], record: dict, caught: list[warnings.WarningMessage]
) -> Path:
    """Under the store's lock: build the Parquet file into a temporary file, rename it into place, write the
    manifest last (a crash in between leaves no manifest, so the next `ensure_store` rebuilds)."""
    parquet, manifest = paths
    try:
        make_store_root(parquet.parent)
        with _exclusive(parquet.parent) as locked:
            if locked:  # no other conversion is writing: any temporary file here was left by a killed one
                for stray in (
                    *parquet.parent.glob(f".{PARQUET_NAME}.*.tmp"),
                    *parquet.parent.glob(f".{MANIFEST_NAME}.*.tmp"),
                ):
                    stray.unlink(missing_ok=True)
            manifest.unlink(missing_ok=True)
            fd, name = tempfile.mkstemp(dir=parquet.parent, prefix=f".{PARQUET_NAME}.", suffix=".tmp")
            os.close(fd)
            tmp = Path(name)
            try:
                record["rows"] = build(tmp)
                record["parquet_sha256"] = file_sha256(tmp)
                os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
                os.replace(tmp, parquet)
            finally:
                tmp.unlink(missing_ok=True)
            notes = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
            record["warnings"] = list(dict.fromkeys(notes))
            write_atomic(manifest, (json.dumps(record, indent=2) + "\n").encode())
    except OSError as exc:
        raise DataError(
            f"cannot write the data store in {parquet.parent}: {exc.strerror or exc}; make the data directory writable"
        ) from None
    return parquet


def _write_frame(panel: pl.DataFrame, path: Path) -> int:
    panel.write_parquet(path, compression="zstd", statistics=True, row_group_size=ROW_GROUP_SIZE)
    return panel.height


@contextlib.contextmanager
def _recorded() -> Iterator[list[warnings.WarningMessage]]:
    """Record the warnings given inside, then pass them on as they came."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield caught
    finally:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def ensure_store(
    data_path: str | os.PathLike[str],
    symbols: Iterable[str],
    price_column: str = "close",
    known_fingerprint: str | None = None,
) -> tuple[Path, str]:
    """(Parquet path, data fingerprint); converts only when the store is missing, stale or bad.

    `known_fingerprint`: the data's fingerprint when the caller has just computed it (saves hashing twice).
    """
    symbols = sorted(set(symbols))
    fp = known_fingerprint or fingerprint(data_path, symbols)
    parquet, manifest = store_paths(data_path)
    expected = {
        "format_version": FORMAT_VERSION,
        "fingerprint": fp,
        "symbols": symbols,
        "price_column": price_column,
    }
    record = _read_manifest(manifest)
    fresh = (
        record is not None
        and all(record.get(k) == v for k, v in expected.items())
        and parquet.is_file()
        and record.get("parquet_sha256") == file_sha256(parquet)
    )
    if not fresh:
        _convert(data_path, symbols, price_column, fp)
    else:
        for note in record.get("warnings") or []:  # what validating the data warned when the store was built
            warnings.warn(str(note), DataWarning, stacklevel=2)
    return parquet, fp


def scan(path: str | os.PathLike[str]) -> pl.LazyFrame:
    """A lazy view of the Parquet store (projection/predicate pushdown, row-group statistics)."""
    return pl.scan_parquet(path)


# --- helpers -------------------------------------------------------------------------------------


def _read_manifest(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


@contextlib.contextmanager
def _exclusive(root: Path) -> Iterator[bool]:
    """Hold an exclusive lock on the store (`root/.lock`) while it is written, so that `wf` runs converting one data
    directory at once take turns; yields False where there are no POSIX file locks (nothing is locked)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield False
        return
    with open(root / LOCK_NAME, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
