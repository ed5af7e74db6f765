"""Read one symbol's OHLCV CSV with pandas (`read_csv`); `walkforward.legacy.checks.validate` checks it (§7).

The two steps are separate so that the engine can time loading and validation apart. Every problem is a `DataError`
of one line naming the file, the line (the header is line 1, as in an editor) and the fix, worded as the Polars
reader words it, so that both engines give the same verdict on the same file. This module shares no code with that
reader (walkforward/data/read.py): it is the oracle's own reading of §7, and the tests hold the two to each other.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from walkforward.errors import DataError, did_you_mean
from walkforward.legacy.checks import COLUMNS, columns_of, validate

NEEDS = "the CSV needs date,open,high,low,close,volume"
LONG_NEEDS = (
    "a long-format file needs symbol,date,open,high,low,close,volume "
    "(per-symbol CSVs without a symbol column go in a folder, passed as the data path)"
)
__all__ = ["csv_path", "load_prices", "read_csv", "validate"]


def csv_path(data_dir: str | os.PathLike[str], symbol: str) -> Path:
    """The CSV of `symbol`, `DATA_DIR/<SYMBOL>.csv`; a DataError when the directory or the file does not exist."""
    folder = Path(data_dir)
    if not folder.is_dir():
        state = "is not a directory" if folder.exists() else "does not exist"
        raise DataError(
            f"data directory {str(folder)!r} {state}; pass --data-path with the folder holding "
            "<SYMBOL>.csv files, or create sample data with `wf data generate`"
        )
    path = folder / f"{symbol}.csv"
    if not path.is_file():
        names = sorted(p.stem for p in folder.glob("*.csv"))
        if names:
            listed = ", ".join(f"{n}.csv" for n in names[:12])
            listed += f" and {len(names) - 12} more" if len(names) > 12 else ""
            listing = f"{folder} has {listed}"
        else:
            listing = f"{folder} holds no .csv files"
        other_case = next((n for n in names if n.lower() == symbol.lower()), None)
        hint = f" Did you mean: {other_case!r}?" if other_case else did_you_mean(symbol, names)
        raise DataError(
            f"no data for symbol {symbol!r}: {path} does not exist; {listing}. "
            f"Add the file or remove {symbol} from assets/benchmark (--symbols of wf data convert).{hint}"
        )
    return path


def normalise(name: str) -> str:
    """`'Adj Close'` -> `'adj_close'`, `' Date'` -> `'date'`."""
    return "_".join(name.strip().lstrip("\ufeff").lower().split())


def _header(path: Path, needs: str) -> list[str]:
    """The normalised names of the header's columns (an unnamed one gets a placeholder, `_unnamed_<i>`)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except UnicodeDecodeError:
        raise DataError(f"{path}: is not UTF-8 text; save it as a UTF-8 CSV") from None
    if not first.strip():
        raise DataError(f"{path}: the file is empty; {needs} and one row per day")
    cells = next(csv.reader([first]))
    names: list[str] = []
    for i, cell in enumerate(cells):
        name = normalise(cell)
        if name and name in names:
            earlier = cells[names.index(name)]
            raise DataError(f"{path}: columns {earlier!r} and {cell!r} both mean {name!r}; keep one")
        names.append(name or f"_unnamed_{i}")
    return names


def require_columns(path: Path, names: list[str], columns: tuple[str, ...], needs: str) -> None:
    """A DataError for the first of `columns` that the header lacks, suggesting a close misspelling."""
    shown = [n for n in names if not n.startswith("_unnamed_")]
    for col in columns:
        if col in names:
            continue
        unknown = [n for n in shown if n not in (*columns, *COLUMNS, "adj_close")]
        typo = difflib.get_close_matches(col, unknown, n=1, cutoff=0.6)
        if typo:
            fix = f"rename column {typo[0]!r} to {col!r}"
        else:
            fix = needs if col != "adj_close" else "price_column 'adj_close' needs it"
        raise DataError(f"{path}: missing column {col!r} (found: {', '.join(shown)}); {fix}")


def read_csv(path: str | os.PathLike[str], *, price_column: str = "close", long: bool = False) -> pd.DataFrame:
    """The cells of the columns `validate` checks, with the file line of each row (`line`); `long`: a long-format
    file, whose `symbol` column comes first (read as text).

    Columns may come in any order and capitalisation; the Yahoo layout (`Adj Close`) is accepted. A line ends at
    `\\n` (a `\\r` before it is trimmed with the cell); every line after the header is a row, blank ones too. The
    cells are text as written, except in the usual file, where every price and volume is a finite number: those
    columns are float64 (the value the text reads as, parsed by pandas' C parser rather than cell by cell).
    """
    path = Path(path)
    columns = ("symbol", *columns_of(price_column)) if long else columns_of(price_column)
    needs = LONG_NEEDS if long else NEEDS
    if not path.is_file():
        raise DataError(f"{path}: file not found; create it or check the path")
    names = _header(path, needs)
    require_columns(path, names, columns, needs)
    data = path.read_bytes()
    if (numbers := _read_numbers(data, names, columns)) is not None:
        return numbers
    try:
        if b'"' in data:
            _check_quotes(data)
        with warnings.catch_warnings():
            # a row longer than the header: pandas would drop its last cells with a ParserWarning
            warnings.simplefilter("error", pd.errors.ParserWarning)
            cells = pd.read_csv(
                io.BytesIO(data),
                header=None,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                index_col=False,
                lineterminator="\n",
                encoding="utf-8-sig",
            )
    except (ValueError, pd.errors.ParserWarning) as exc:  # a ParserError, bytes that are not UTF-8
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot be read as CSV ({reason}); {needs}") from None
    if cells.shape[1] != len(names):  # the header ends at a lone \r: this parser sees one long line
        reason = f"the header has {len(names)} fields, the file {cells.shape[1]} per line"
        raise DataError(f"{path}: cannot be read as CSV ({reason}); {needs}")
    rows = cells.iloc[1:].set_axis(names, axis="columns")[list(columns)]
    return rows.assign(line=np.arange(2, len(rows) + 2)).reset_index(drop=True)


def _read_numbers(data: bytes, names: list[str], columns: tuple[str, ...]) -> pd.DataFrame | None:
    """The file read with its prices and volumes as float64, when that is the whole story: no quotes, a header line
    that ends at its line break, no row longer than the header, and every price and volume a finite number. None
    otherwise: the text path then reads the file and names what is wrong.

    pandas' C parser reads a decimal number as the float that Python's float() gives (correctly rounded), and reads
    as a finite number only what the text path does (a decimal number, blanks around it trimmed); the tests check
    both on many strings.
    """
    header = data.split(b"\n", 1)[0]
    if b'"' in data or b"\r" in header[:-1]:
        return None
    nums = [c for c in columns if c not in ("date", "symbol")]
    types = dict.fromkeys(nums, "float64") | ({"symbol": str} if "symbol" in columns else {})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a row longer than the header is a ParserWarning
            frame = pd.read_csv(
                io.BytesIO(data),
                header=None,
                skiprows=1,
                names=names,
                dtype=types,  # the dates' type is inferred: text, unless it is not
                keep_default_na=False,
                skip_blank_lines=False,
                index_col=False,
                lineterminator="\n",
                encoding="utf-8-sig",
            )
    except (ValueError, Warning):  # a ParserError, a cell that is no number, bytes that are not UTF-8
        return None
    if frame.empty or not pd.api.types.is_string_dtype(frame["date"]) or not np.isfinite(frame[nums].to_numpy()).all():
        return None
    return frame[list(columns)].assign(line=np.arange(2, len(frame) + 2))


def _check_quotes(data: bytes) -> None:
    """Quoting that pandas would forgive but CSV (and the Polars reader) does not; raises pandas' ParserError.

    A quote opens a field only at its start, and the closing quote ends the field (`"12"5` is an error). A quote
    inside a field is data, unless a line break follows it before the next quote: a reader that splits the file at
    line breaks outside quotes would then split it elsewhere than where its rows end (`12"5` ... `"`).
    """
    quotes = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord('"'))
    breaks = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == ord("\n"))
    first_field = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    header_end = breaks[0] if len(breaks) else len(data)
    fields: list[tuple[int, int]] = []  # (opening quote, closing quote) of each quoted field
    stray: list[int] = []  # quotes inside fields that do not begin with one
    pos = 0
    for q in quotes:
        if q < pos:
            continue  # inside a quoted field
        if not (q == first_field or data[q - 1 : q] in (b",", b"\n")):
            stray.append(q)
            continue
        close = q + 1
        while (close := data.find(b'"', close)) >= 0 and data[close + 1 : close + 2] == b'"':
            close += 2  # "" is a quote inside the field
        if close < 0:
            raise pd.errors.ParserError(f"a quote on line {_line(breaks, q)} is not closed")
        after = close + 1 + (data[close + 1 : close + 2] == b"\r")
        if q > header_end and after < len(data) and data[after : after + 1] not in (b",", b"\n"):
            raise pd.errors.ParserError(f"a quoted field on line {_line(breaks, q)} goes on after its closing quote")
        fields.append((q, close))
        pos = close + 1
    # the line breaks inside quotes as this parser sees them, and as a reader toggling at every quote sees them
    quoted = np.zeros(len(breaks), dtype=bool)
    for lo, hi in fields:
        quoted[np.searchsorted(breaks, lo) : np.searchsorted(breaks, hi)] = True
    toggled = np.searchsorted(quotes, breaks) % 2 == 1
    if (differ := np.flatnonzero(quoted != toggled)).size:
        culprit = stray[int(np.searchsorted(stray, breaks[differ[0]])) - 1]
        raise pd.errors.ParserError(
            f"a quote inside a field on line {_line(breaks, culprit)} is followed by a line break before the next "
            "quote; quote the whole field or remove that quote"
        )


def _line(breaks: np.ndarray, offset: int) -> int:
    """The file line (from 1) of the byte at `offset`."""
    return int(np.searchsorted(breaks, offset)) + 1


def load_prices(data_dir: str | os.PathLike[str], symbol: str, *, price_column: str = "close") -> pd.DataFrame:
    """`read_csv` then `validate` for one symbol (convenience for callers that need no timing)."""
    path = csv_path(data_dir, symbol)
    return validate(read_csv(path, price_column=price_column), path=path, price_column=price_column, symbol=symbol)
