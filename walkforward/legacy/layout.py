"""What is at `data_path` (methodology §7), seen by the legacy engine: a folder of `<SYMBOL>.csv` files, one
long-format `.parquet`/`.pq` or `.csv` file, a folder of Parquet files under `symbol=<SYMBOL>/` folders (hive
partitioning, at any depth), or a folder of long-format Parquet files. Names starting with `.` or `_` are skipped.

The oracle's own walk over the path, worded as the Polars engine words it (walkforward/data/layout.py), sharing no
code with it: both engines must name the same layout and give the same one-line error for a path that is none.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from walkforward.errors import DataError, did_you_mean

CSV_DIR, LONG_CSV, LONG_PARQUET, HIVE, PARQUET_DIR = "csv_dir", "long_csv", "long_parquet", "hive", "parquet_dir"
PARQUET_SUFFIXES = (".parquet", ".pq")
FORMATS = (
    "wf reads a folder of <SYMBOL>.csv files, one long-format .parquet or .csv file (columns symbol, date, open, "
    "high, low, close, volume), or a folder of Parquet files (in symbol=<SYMBOL>/ folders, or long-format files)"
)


@dataclass(frozen=True)
class Layout:
    """`kind` of layout at `path`; `files`: the files holding the rows (sorted; none for a CSV folder); `symbols`:
    for a hive layout, the symbol of each file (from its `symbol=` folder), in the order of `files`."""

    kind: str
    path: Path
    files: tuple[Path, ...] = ()
    symbols: tuple[str, ...] = ()


def detect(data_path: str | os.PathLike[str]) -> Layout:
    """The layout at `data_path`; a one-line DataError listing the layouts when it is none of them."""
    path = Path(data_path)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in PARQUET_SUFFIXES or suffix == ".csv":
            return Layout(LONG_CSV if suffix == ".csv" else LONG_PARQUET, path, (path,))
        raise DataError(f"data path {str(path)!r} is a file but not a .parquet or .csv file; {FORMATS}")
    if not path.is_dir():
        if path.suffix.lower() in (*PARQUET_SUFFIXES, ".csv"):
            raise DataError(f"data file {str(path)!r} does not exist; check the path (--data-path)")
        raise DataError(missing_directory(path))
    if any(p.is_file() for p in path.glob("*.csv")):
        return Layout(CSV_DIR, path)
    files = _parquet_files(path)
    if not files:
        raise DataError(
            f"data path {str(path)!r} holds no <SYMBOL>.csv files, no .parquet files and no symbol=<SYMBOL>/ "
            f"folders; {FORMATS}. Sample data: `wf data generate --out {path}`"
        )
    symbols = [_partition_symbol(f.relative_to(path)) for f in files]
    if all(s is None for s in symbols):
        return Layout(PARQUET_DIR, path, files)
    for file, symbol in zip(files, symbols, strict=True):
        if symbol is None:
            raise DataError(
                f"{file}: is outside the symbol=<SYMBOL>/ folders that hold the other Parquet files of {path}; "
                "move it into its symbol's folder, or out of the data folder"
            )
    return Layout(HIVE, path, files, tuple(s for s in symbols if s is not None))


def missing_directory(path: Path) -> str:
    what = "is not a directory" if path.exists() else "does not exist"
    return (
        f"data directory {str(path)!r} {what}; pass --data-path with the folder holding <SYMBOL>.csv files "
        "(or a long-format .parquet or .csv file, or a folder of Parquet files), "
        "or create sample data with `wf data generate`"
    )


def _parquet_files(root: Path) -> tuple[Path, ...]:
    """The `.parquet`/`.pq` files under `root`, sorted by path, none under a name starting with `.` or `_`."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d[:1] not in (".", "_")]
        found += [
            Path(folder) / n for n in names if n[:1] not in (".", "_") and Path(n).suffix.lower() in PARQUET_SUFFIXES
        ]
    return tuple(sorted(found))


def _partition_symbol(relative: Path) -> str | None:
    """The symbol of the first `symbol=<SYMBOL>` folder above a file (percent-decoded, as Hive writes it)."""
    for part in relative.parts[:-1]:
        key, sep, value = part.partition("=")
        if sep and value and key.strip().lower() == "symbol":
            return unquote(value)
    return None


def missing_symbol(layout: Layout, symbol: str, present: list[str]) -> str:
    """The message for a configured symbol without rows in a long layout, listing the symbols there are."""
    shown = ", ".join(present[:12]) + (f" and {len(present) - 12} more" if len(present) > 12 else "")
    has = f"it has {shown}" if present else "it has no rows"
    where = f"no symbol={symbol}/ folder in {layout.path}" if layout.kind == HIVE else f"no rows in {layout.path}"
    same_case = [s for s in present if s.lower() == symbol.lower()]
    hint = f" Did you mean: {same_case[0]!r}?" if same_case else did_you_mean(symbol, present)
    return (
        f"no data for symbol {symbol!r}: {where}; {has}. Add its rows or remove {symbol} from assets/benchmark "
        f"(--symbols of wf data convert).{hint}"
    )


def hive_files(layout: Layout, symbols: list[str] | None) -> tuple[Path, ...]:
    """The files of a long layout that may hold `symbols`' rows: a hive layout's partitions of those symbols (a symbol
    without one is a DataError), else every file."""
    if layout.kind != HIVE or symbols is None:
        return layout.files
    present = sorted(set(layout.symbols))
    for symbol in symbols:
        if symbol not in layout.symbols:
            raise DataError(missing_symbol(layout, symbol, present))
    wanted = set(symbols)
    return tuple(f for f, s in zip(layout.files, layout.symbols, strict=True) if s in wanted)
