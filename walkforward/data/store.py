"""The columnar store: the CSVs converted once into `DATA_DIR/.wf/prices.parquet`, reused while
their content is unchanged.

`DATA_DIR/.wf/prices.json` records what the Parquet file was built from (the CSVs' content
fingerprint, the symbols, the price column) and the sha256 of the Parquet file itself, so a stale,
corrupt or truncated store is detected and rebuilt. Modification times are never trusted. It also keeps the
warnings that validating the CSVs gave (unsorted rows, long gaps): a run that reuses the store warns again.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tempfile
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl

from walkforward.data.read import load_panel, symbol_paths
from walkforward.errors import DataError, DataWarning

STORE_DIR = ".wf"
PARQUET_NAME = "prices.parquet"
MANIFEST_NAME = "prices.json"
LOCK_NAME = ".lock"
FORMAT_VERSION = 2  # bump when the Parquet layout or the validation changes: every store is rebuilt
ROW_GROUP_SIZE = 65_536  # rows; sorted by (symbol, date), so statistics prune symbols and dates
_CHUNK = 1 << 20


def fingerprint(data_dir: str | os.PathLike[str], symbols: Iterable[str]) -> str:
    """sha256 over each symbol's CSV (file name, size, bytes), in sorted symbol order."""
    paths = symbol_paths(data_dir, symbols)
    digest = hashlib.sha256()
    for symbol in sorted(paths):
        path = paths[symbol]
        data = path.read_bytes()
        digest.update(f"{path.name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def store_paths(data_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """(parquet path, manifest path) of the store of `data_dir`."""
    root = Path(data_dir) / STORE_DIR
    return root / PARQUET_NAME, root / MANIFEST_NAME


def convert(data_dir: str | os.PathLike[str], symbols: Iterable[str], price_column: str = "close") -> Path:
    """Read and validate the CSVs, write the Parquet store and its manifest; return its path."""
    symbols = sorted(set(symbols))
    return _convert(data_dir, symbols, price_column, fingerprint(data_dir, symbols))


def _convert(data_dir: str | os.PathLike[str], symbols: list[str], price_column: str, fp: str) -> Path:
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            panel = load_panel(data_dir, symbols, price_column)
    finally:
        for w in caught:  # passed on as they came
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    notes = list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, DataWarning)))
    parquet, manifest = store_paths(data_dir)
    buf = io.BytesIO()
    panel.write_parquet(buf, compression="zstd", statistics=True, row_group_size=ROW_GROUP_SIZE)
    data = buf.getvalue()
    record = {
        "format_version": FORMAT_VERSION,
        "fingerprint": fp,
        "symbols": symbols,
        "price_column": price_column,
        "rows": panel.height,
        "parquet_sha256": hashlib.sha256(data).hexdigest(),
        "warnings": notes,
    }
    try:
        parquet.parent.mkdir(exist_ok=True)
        with _exclusive(parquet.parent) as locked:
            if locked:  # no other conversion is writing: any temporary file here was left by a killed one
                for stray in (
                    *parquet.parent.glob(f".{PARQUET_NAME}.*.tmp"),
                    *parquet.parent.glob(f".{MANIFEST_NAME}.*.tmp"),
                ):
                    stray.unlink(missing_ok=True)
            # The manifest goes first: a crash between the two writes leaves no manifest, so the
            # next `ensure_store` rebuilds instead of trusting a half-replaced store.
            manifest.unlink(missing_ok=True)
            _write_atomic(parquet, data)
            _write_atomic(manifest, (json.dumps(record, indent=2) + "\n").encode())
    except OSError as exc:
        raise DataError(
            f"cannot write the data store in {parquet.parent}: {exc.strerror or exc}; make the data directory writable"
        ) from None
    return parquet


def ensure_store(
    data_dir: str | os.PathLike[str],
    symbols: Iterable[str],
    price_column: str = "close",
    known_fingerprint: str | None = None,
) -> tuple[Path, str]:
    """(Parquet path, CSV fingerprint); converts only when the store is missing, stale or bad.

    `known_fingerprint`: the CSVs' fingerprint when the caller has just computed it (saves hashing twice).
    """
    symbols = sorted(set(symbols))
    fp = known_fingerprint or fingerprint(data_dir, symbols)
    parquet, manifest = store_paths(data_dir)
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
        and record.get("parquet_sha256") == _file_sha256(parquet)
    )
    if not fresh:
        _convert(data_dir, symbols, price_column, fp)
    else:
        for note in record.get("warnings") or []:  # what validating these CSVs warned when the store was built
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


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


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


def _write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to a temp file beside `path`, then rename it over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
