"""Where the price data is and how it is laid out, detected from what is at `data_path` (methodology §7).

- `csv_dir`: a folder with `<SYMBOL>.csv` files at its top (Parquet files beside them are ignored);
- `long_parquet`, `long_csv`: one long-format file (a `.parquet`/`.pq` or `.csv` file with a symbol column);
- `hive`: a folder of Parquet files under `symbol=<SYMBOL>/` folders (at any depth), the symbol taken from the folder;
- `parquet_dir`: a folder of long-format Parquet files, each with a symbol column.

Files and folders whose names start with `.` or `_` are skipped (the store's `.wf/`, Spark's `_SUCCESS`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from walkforward.data.read import missing_directory
from walkforward.errors import DataError, did_you_mean

CSV_DIR, LONG_CSV, LONG_PARQUET, HIVE, PARQUET_DIR = "csv_dir", "long_csv", "long_parquet", "hive", "parquet_dir"
PARQUET_SUFFIXES = (".parquet", ".pq")
STORE_DIR = ".wf"
FORMATS = (
    "wf reads a folder of <SYMBOL>.csv files, one long-format .parquet or .csv file (columns symbol, date, open, "
    "high, low, close, volume), or a folder of Parquet files (in symbol=<SYMBOL>/ folders, or long-format files)"
)
DESCRIPTIONS = {
    CSV_DIR: "a folder of <SYMBOL>.csv files",
    LONG_CSV: "a long-format CSV file",
    LONG_PARQUET: "a long-format Parquet file",
    HIVE: "a folder of Parquet files partitioned by symbol=<SYMBOL>/",
    PARQUET_DIR: "a folder of long-format Parquet files",
}


@dataclass(frozen=True)
class Layout:
    """What is at `path`. `files`: the Parquet or CSV files that hold the rows (all of them, sorted; none for
    `csv_dir`); `symbols`: for `hive`, each file's symbol (from its folder), in the order of `files`."""

    kind: str
    path: Path
    files: tuple[Path, ...] = ()
    symbols: tuple[str, ...] = ()

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.kind]

    @property
    def is_file(self) -> bool:
        return self.kind in (LONG_CSV, LONG_PARQUET)

    def files_of(self, symbols: list[str]) -> tuple[Path, ...]:
        """The files that may hold rows of `symbols`: a hive layout's partitions of those symbols, else every file.

        A symbol with no partition in a hive layout is a DataError listing the partitions there are.
        """
        if self.kind != HIVE:
            return self.files
        present = set(self.symbols)
        for symbol in symbols:
            if symbol not in present:
                raise DataError(missing_symbol(self, symbol, sorted(present)))
        wanted = set(symbols)
        return tuple(f for f, s in zip(self.files, self.symbols, strict=True) if s in wanted)


def detect(data_path: str | os.PathLike[str]) -> Layout:
    """The layout of what is at `data_path`; a one-line DataError when it is none of them."""
    path = Path(data_path)
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in PARQUET_SUFFIXES:
            return Layout(LONG_PARQUET, path, (path,))
        if suffix == ".csv":
            return Layout(LONG_CSV, path, (path,))
        raise DataError(f"data path {str(path)!r} is a file but not a .parquet or .csv file; {FORMATS}")
    if not path.is_dir():
        if path.suffix.lower() in (*PARQUET_SUFFIXES, ".csv"):
            raise DataError(f"data file {str(path)!r} does not exist; check the path (--data-path)")
        raise DataError(missing_directory(path))
    if any(p.is_file() for p in path.glob("*.csv")):
        return Layout(CSV_DIR, path)
    files = parquet_files(path)
    if not files:
        raise DataError(
            f"data path {str(path)!r} holds no <SYMBOL>.csv files, no .parquet files and no symbol=<SYMBOL>/ "
            f"folders; {FORMATS}. Sample data: `wf data generate --out {path}`"
        )
    symbols = [partition_symbol(f.relative_to(path)) for f in files]
    if all(s is None for s in symbols):
        return Layout(PARQUET_DIR, path, files)
    outside = [f for f, s in zip(files, symbols, strict=True) if s is None]
    if outside:
        raise DataError(
            f"{outside[0]}: is outside the symbol=<SYMBOL>/ folders that hold the other Parquet files of {path}; "
            "move it into its symbol's folder, or out of the data folder"
        )
    return Layout(HIVE, path, files, tuple(s for s in symbols if s is not None))


def store_root(data_path: str | os.PathLike[str]) -> Path:
    """The folder of the Parquet store built from `data_path`: `<folder>/.wf/` for a folder, and
    `<parent>/.wf/<file name>.store/` for a single file (so several files in one folder keep separate stores)."""
    path = Path(data_path)
    if path.is_file():
        return path.parent / STORE_DIR / f"{path.name}.store"
    return path / STORE_DIR


def make_store_root(root: Path) -> None:
    """Create the store's folder, with a `.gitignore` in `.wf/` that keeps the whole store out of git."""
    root.mkdir(parents=True, exist_ok=True)
    top = next(p for p in (root, *root.parents) if p.name == STORE_DIR)
    ignore = top / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# built by walkforward from the data beside it; never committed\n*\n")


def parquet_files(root: Path) -> tuple[Path, ...]:
    """Every `.parquet`/`.pq` file under `root` (sorted by path), skipping names that start with `.` or `_`."""
    found = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        found += [
            Path(folder) / n
            for n in names
            if not n.startswith((".", "_")) and Path(n).suffix.lower() in PARQUET_SUFFIXES
        ]
    return tuple(sorted(found))


def partition_symbol(relative: Path) -> str | None:
    """The symbol of a file under a `symbol=<SYMBOL>` folder (percent-decoded, as Hive writes it), else None."""
    for part in relative.parts[:-1]:
        key, sep, value = part.partition("=")
        if sep and key.strip().lower() == "symbol" and value:
            return unquote(value)
    return None


def missing_symbol(layout: Layout, symbol: str, present: list[str]) -> str:
    """The message for a configured symbol that has no rows in a long layout, listing what there is."""
    shown = ", ".join(present[:12]) + (f" and {len(present) - 12} more" if len(present) > 12 else "")
    has = f"it has {shown}" if present else "it has no rows"
    where = f"no symbol={symbol}/ folder in {layout.path}" if layout.kind == HIVE else f"no rows in {layout.path}"
    same_case = [s for s in present if s.lower() == symbol.lower()]
    hint = f" Did you mean: {same_case[0]!r}?" if same_case else did_you_mean(symbol, present)
    fix = f"Add its rows or remove {symbol} from assets/benchmark (--symbols of wf data convert)."
    return f"no data for symbol {symbol!r}: {where}; {has}. {fix}{hint}"
