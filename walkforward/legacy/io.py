"""Read one symbol's OHLCV CSV with pandas (`read_csv`) and check it (`validate`), methodology §7.

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
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from walkforward.errors import DataError, DataWarning, did_you_mean

COLUMNS = ("date", "open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")
PRICE_CHOICES = ("close", "adj_close")  # what `price_column` may name
RTOL = 1e-9  # relative rounding tolerated in the high/low checks
GAP_SESSIONS = 10  # more sessions than this without a row is a warning (methodology §7)
MISSING = frozenset({"", "null", "NULL", "None", "NA", "N/A", "NaN", "nan", "-"})  # a cell holding no value
# Unicode White_Space: what is trimmed from a cell. Python's str.strip would also take \x1c-\x1f, which are data.
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
# A decimal number in ASCII digits. `inf`, `nan` and overflowing exponents are not finite: "not a number" too.
NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# YYYY-MM-DD as strptime's %Y-%m-%d reads it: a year of 1-4 digits (any number with a sign), a month and a day of
# 1-2 digits; blanks may come before each number. `2020-1-2` is a date; `2020-01-02 00:00:00` is not.
_BLANKS = f"[{re.escape(WHITESPACE)}]*"
DATE = re.compile(rf"{_BLANKS}([+-][0-9]+|[0-9]{{1,4}})-{_BLANKS}([0-9]{{1,2}})-{_BLANKS}([0-9]{{1,2}})")
YEARS = (-262143, 262142)  # the calendar's range
NEEDS = "the CSV needs date,open,high,low,close,volume"


def csv_path(data_dir: str | os.PathLike[str], symbol: str) -> Path:
    """The CSV of `symbol`, `DATA_DIR/<SYMBOL>.csv`; a DataError when the directory or the file does not exist."""
    folder = Path(data_dir)
    if not folder.is_dir():
        state = "is not a directory" if folder.exists() else "does not exist"
        raise DataError(
            f"data directory {str(folder)!r} {state}; pass --data-dir with the folder holding "
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
            f"Add the file or remove {symbol} from assets/benchmark.{hint}"
        )
    return path


def _columns(price_column: str) -> tuple[str, ...]:
    """The columns read and checked: the six of §7, and `adj_close` when it is the price."""
    if price_column not in PRICE_CHOICES:
        raise DataError(f"price_column must be one of {', '.join(PRICE_CHOICES)}; got {price_column!r}")
    return (*COLUMNS, "adj_close") if price_column == "adj_close" else COLUMNS


def _normalise(name: str) -> str:
    """`'Adj Close'` -> `'adj_close'`, `' Date'` -> `'date'`."""
    return "_".join(name.strip().lstrip("\ufeff").lower().split())


def _header(path: Path) -> list[str]:
    """The normalised names of the header's columns (an unnamed one gets a placeholder, `_unnamed_<i>`)."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except UnicodeDecodeError:
        raise DataError(f"{path}: is not UTF-8 text; save it as a UTF-8 CSV") from None
    if not first.strip():
        raise DataError(f"{path}: the file is empty; {NEEDS} and one row per day")
    cells = next(csv.reader([first]))
    names: list[str] = []
    for i, cell in enumerate(cells):
        name = _normalise(cell)
        if name and name in names:
            earlier = cells[names.index(name)]
            raise DataError(f"{path}: columns {earlier!r} and {cell!r} both mean {name!r}; keep one")
        names.append(name or f"_unnamed_{i}")
    return names


def _require(path: Path, names: list[str], columns: tuple[str, ...]) -> None:
    """A DataError for the first of `columns` that the header lacks, suggesting a close misspelling."""
    shown = [n for n in names if not n.startswith("_unnamed_")]
    for col in columns:
        if col in names:
            continue
        unknown = [n for n in shown if n not in (*COLUMNS, "adj_close")]
        typo = difflib.get_close_matches(col, unknown, n=1, cutoff=0.6)
        if typo:
            fix = f"rename column {typo[0]!r} to {col!r}"
        else:
            fix = NEEDS if col != "adj_close" else "price_column 'adj_close' needs it"
        raise DataError(f"{path}: missing column {col!r} (found: {', '.join(shown)}); {fix}")


def read_csv(path: str | os.PathLike[str], *, price_column: str = "close") -> pd.DataFrame:
    """The cells of the columns `validate` checks, with the file line of each row (`line`).

    Columns may come in any order and capitalisation; the Yahoo layout (`Adj Close`) is accepted. A line ends at
    `\\n` (a `\\r` before it is trimmed with the cell); every line after the header is a row, blank ones too. The
    cells are text as written, except in the usual file, where every price and volume is a finite number: those
    columns are float64 (the value the text reads as, parsed by pandas' C parser rather than cell by cell).
    """
    path = Path(path)
    columns = _columns(price_column)
    if not path.is_file():
        raise DataError(f"{path}: file not found; create it or check the path")
    names = _header(path)
    _require(path, names, columns)
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
        raise DataError(f"{path}: cannot be read as CSV ({reason}); {NEEDS}") from None
    if cells.shape[1] != len(names):  # the header ends at a lone \r: this parser sees one long line
        reason = f"the header has {len(names)} fields, the file {cells.shape[1]} per line"
        raise DataError(f"{path}: cannot be read as CSV ({reason}); {NEEDS}")
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
    nums = [c for c in columns if c != "date"]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a row longer than the header is a ParserWarning
            frame = pd.read_csv(
                io.BytesIO(data),
                header=None,
                skiprows=1,
                names=names,
                dtype=dict.fromkeys(nums, "float64"),  # the dates' type is inferred: text, unless it is not
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


# --- validation ----------------------------------------------------------------------------------


def _dates(text: pd.Series) -> np.ndarray:
    """`text` as datetime64[D]; NaT where it is missing or not a calendar date written YYYY-MM-DD."""
    year, month, day = (np.full(len(text), np.nan) for _ in range(3))
    plain = text.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fillna(False).to_numpy(dtype=bool)
    if plain.any():  # the usual form, read as digits
        digits = np.frombuffer(text[plain].to_numpy().astype("S10").tobytes(), dtype=np.uint8).reshape(-1, 10) - 48
        year[plain] = digits[:, :4] @ np.array([1000, 100, 10, 1])
        month[plain] = digits[:, 5:7] @ np.array([10, 1])
        day[plain] = digits[:, 8:10] @ np.array([10, 1])
    other = ~plain & text.notna().to_numpy()
    if other.any():
        parts = text[other].str.extract(rf"\A(?:{DATE.pattern})\Z")
        year[other], month[other], day[other] = (pd.to_numeric(parts[k]).to_numpy(dtype=np.float64) for k in range(3))
    ok = (year >= YEARS[0]) & (year <= YEARS[1]) & (month >= 1) & (month <= 12) & (day >= 1)
    y, m, d = (np.where(ok, v, 1).astype(np.int64) for v in (year, month, day))
    first = (y - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (m - 1)
    days = first.astype("datetime64[D]") + (d - 1)
    ok &= days.astype("datetime64[M]") == first  # 2019-02-29 would fall in March
    return np.where(ok, days, np.datetime64("NaT", "D"))


def _numbers(text: pd.Series) -> np.ndarray:
    """`text` as float64; NaN where it is missing, not a decimal number or not finite."""
    decimal = text.str.fullmatch(NUMBER.pattern).fillna(False).to_numpy(dtype=bool)
    values = np.full(len(text), np.nan)
    values[decimal] = pc.cast(pa.array(text[decimal]), pa.float64()).to_numpy()  # correctly rounded, as float()
    values[~np.isfinite(values)] = np.nan
    return values


def _check_rows(text: dict[str, pd.Series], values: dict[str, np.ndarray], path: Path, lines: np.ndarray) -> None:
    """§7 row by row: a value in every cell, dates and numbers that read, prices > 0, volume >= 0, low <= open,
    close <= high. Each check runs over the whole file; the first check that fails names its first row (and how many
    more fail it). A message is a template over the row: `{close}` is its value, `{close_raw}` its text (`text` lacks
    the columns read as numbers: every cell of those holds one)."""
    nums = [c for c in values if c != "date"]
    checks = [
        (
            text[c].isna().to_numpy() if c in text else np.zeros(len(lines), dtype=bool),
            f"missing {c} value; fill it in or remove the row",
        )
        for c in values
    ]
    checks.append((np.isnat(values["date"]), "date {date_raw!r} is not a YYYY-MM-DD date; fix it or remove the row"))
    checks += [(np.isnan(values[c]), f"{c} {{{c}_raw!r}} is not a number; fix it or remove the row") for c in nums]
    v = {c: values[c] for c in nums}
    checks += [(v[c] <= 0, f"{c} is {{{c}}}; prices must be > 0, fix the row") for c in nums if c != "volume"]
    checks.append((v["volume"] < 0, "volume is {volume}; it must be >= 0, fix the row"))
    top, bottom = v["high"] * (1 + RTOL), v["low"] * (1 - RTOL)
    checks.append((v["high"] < bottom, "high {high} is below low {low}; fix the row"))
    for c in ("open", "close"):
        checks.append(
            ((v[c] > top) | (v[c] < bottom), f"{c} {{{c}}} is outside [low {{low}}, high {{high}}]; fix the row")
        )

    for bad, message in checks:
        n_bad = int(np.count_nonzero(bad))
        if n_bad:
            i = int(np.argmax(bad))
            row = {f"{c}_raw": text[c].iloc[i] for c in text} | {c: float(v[c][i]) for c in nums}
            more = f" ({n_bad - 1} more such row{'s' if n_bad > 2 else ''})" if n_bad > 1 else ""
            raise DataError(f"{path} line {lines[i]}: {message.format(**row)}{more}")


def _check_unique(days: np.ndarray, path: Path, lines: np.ndarray) -> None:
    """A date appears once: else name the earliest repeated date and its lines."""
    repeated = pd.Series(days).duplicated(keep=False).to_numpy()
    if repeated.any():
        first = days[repeated].min()
        where = ", ".join(str(n) for n in np.sort(lines[repeated & (days == first)]))
        n_dates = len(np.unique(days[repeated]))
        more = f" ({n_dates - 1} more repeated dates)" if n_dates > 1 else ""
        raise DataError(f"{path}: date {first} appears on lines {where}; keep one row per date{more}")


def _gap_warning(days: np.ndarray, path: Path, symbol: str) -> str | None:
    """The warning for the first stretch of more than `GAP_SESSIONS` missing sessions in sorted `days`, or None.

    Sessions (§7): every calendar day for an asset with a row on a weekend (crypto), else every weekday.
    """
    if len(days) < 2:
        return None
    weekends = not np.is_busday(days).all()
    before, after = days[:-1], days[1:]
    span = (after - before).astype(np.int64)
    missing = span - 1 if weekends else np.busday_count(before + 1, after)
    (gaps,) = np.nonzero(missing > GAP_SESSIONS)
    if not len(gaps):
        return None
    i = gaps[0]
    others = len(gaps) - 1
    more = f"; {others} more such gap{'s' if others > 1 else ''}" if others else ""
    unit = "days" if weekends else "weekdays"
    return (
        f"{path}: {span[i]} days without rows between {before[i]} and {after[i]} "
        f"({missing[i]} {unit} missing, more than {GAP_SESSIONS}{more}); add the missing rows if {symbol} traded then"
    )


def validate(
    raw: pd.DataFrame, *, path: str | os.PathLike[str], price_column: str = "close", symbol: str | None = None
) -> pd.DataFrame:
    """Check a frame from `read_csv` (§7); return `date, open, high, low, close, volume` sorted by date.

    `date` is datetime64; prices and volume are finite float64. With `price_column == "adj_close"` the `adj_close`
    column replaces `close` (the `low <= close <= high` check keeps the unadjusted close). Warns (`DataWarning`)
    when the rows were not sorted by date and when the data has a long gap; `symbol` (default: the file's name)
    is named in the gap warning.
    """
    path = Path(path)
    symbol = symbol if symbol is not None else path.stem
    columns = _columns(price_column)
    # the cells read as text, column after column in one series (one pass per operation), trimmed, NaN where a
    # cell holds no value; the columns read_csv read as numbers hold a finite number in every row
    n = len(raw)
    as_text = [c for c in columns if c == "date" or not pd.api.types.is_float_dtype(raw[c])]
    cells = pd.concat([raw[c] for c in as_text], ignore_index=True).fillna("").str.strip(WHITESPACE)
    cells = cells.mask(cells.isin(MISSING))
    if len(as_text) < len(columns):  # a column read as numbers holds a value in every row
        kept = np.ones(n, dtype=bool)
    else:  # a line with no value at all is skipped
        kept = cells.notna().to_numpy().reshape(len(as_text), n).any(axis=0)
    if not kept.any():
        raise DataError(f"{path}: has a header but no rows; add one row per trading day")
    text = {c: cells[j * n : (j + 1) * n][kept].reset_index(drop=True) for j, c in enumerate(as_text)}
    values = {"date": _dates(text["date"])}
    if len(as_text) > 1:  # prices and volume as text: parsed together
        values |= zip(as_text[1:], _numbers(cells[n:]).reshape(len(as_text) - 1, n)[:, kept], strict=True)
    values |= {c: raw[c].to_numpy()[kept] for c in columns if c not in as_text}
    values = {c: values[c] for c in columns}  # the order of the checks
    lines = raw["line"].to_numpy()[kept]
    _check_rows(text, values, path, lines)
    days = values["date"]
    _check_unique(days, path, lines)

    df = pd.DataFrame({"date": days.astype("datetime64[us]"), **{c: values[c] for c in columns if c != "date"}})
    if price_column == "adj_close":
        df["close"] = df.pop("adj_close")
    if not df["date"].is_monotonic_increasing:
        warnings.warn(f"{path}: rows are not sorted by date; sorted them on reading", DataWarning, stacklevel=2)
        df = df.sort_values("date", kind="stable")
    if (gap := _gap_warning(np.sort(days), path, symbol)) is not None:
        warnings.warn(gap, DataWarning, stacklevel=2)
    return df[list(COLUMNS)].reset_index(drop=True)


def load_prices(data_dir: str | os.PathLike[str], symbol: str, *, price_column: str = "close") -> pd.DataFrame:
    """`read_csv` then `validate` for one symbol (convenience for callers that need no timing)."""
    path = csv_path(data_dir, symbol)
    return validate(read_csv(path, price_column=price_column), path=path, price_column=price_column, symbol=symbol)
