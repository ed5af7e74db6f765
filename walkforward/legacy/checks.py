"""Check one symbol's cells read by `walkforward.legacy.io.read_csv` (methodology §7): dates and numbers that read, a
value in every cell, prices > 0, volume >= 0, low <= open, close <= high, one row per date; warnings for unsorted
rows and long gaps. Every problem is a one-line `DataError` worded as the Polars reader words it."""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from walkforward.errors import DataError, DataWarning

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
# a YYYY-MM-DD date, then a time of day and an optional UTC offset: group 0 the date, group 1 the time
CLOCKED = (
    r"\A([0-9]{4}-[0-9]{2}-[0-9]{2})[ T]([0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)"
    r"(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?\Z"
)
INTRADAY = (
    "date {date_raw!r} has a time of day; intraday bars are not supported: give one row per day, "
    "dated YYYY-MM-DD or at midnight"
)


def adjust(df: pd.DataFrame) -> pd.DataFrame:
    """`adj_close` as the close, and open, high, low scaled by the same factor `adj_close / close` (§7); high at least
    and low at most the adjusted close, so rounding cannot put the close outside its bar."""
    adjusted = df["adj_close"].to_numpy(dtype=float)
    factor = adjusted / df["close"].to_numpy(dtype=float)
    return df.drop(columns="adj_close").assign(
        open=df["open"].to_numpy(dtype=float) * factor,
        high=np.maximum(df["high"].to_numpy(dtype=float) * factor, adjusted),
        low=np.minimum(df["low"].to_numpy(dtype=float) * factor, adjusted),
        close=adjusted,
    )


def columns_of(price_column: str) -> tuple[str, ...]:
    """The columns read and checked: the six of §7, and `adj_close` when it is the price."""
    if price_column not in PRICE_CHOICES:
        raise DataError(f"price_column must be one of {', '.join(PRICE_CHOICES)}; got {price_column!r}")
    return (*COLUMNS, "adj_close") if price_column == "adj_close" else COLUMNS


def parse_dates(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """`text` as datetime64[D] (NaT where it is missing or not a calendar date written YYYY-MM-DD), and where the
    cell carries a time of day. A time and a UTC offset after a YYYY-MM-DD date, as yfinance writes them
    (`2020-01-02 00:00:00-05:00`), leave the date as written (the local date); a time other than midnight is marked."""
    year, month, day = (np.full(len(text), np.nan) for _ in range(3))
    intraday = np.zeros(len(text), dtype=bool)
    plain = np.array(text.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").fillna(False), dtype=bool)  # writable
    clocked = ~plain & text.notna().to_numpy()
    if clocked.any():  # a date with a time of day (and an offset): the date is its first ten characters
        parts = text[clocked].str.extract(CLOCKED)
        found = parts[0].notna().to_numpy()
        where = np.flatnonzero(clocked)[found]
        text = text.copy()
        text.iloc[where] = parts[0][found].to_numpy()
        intraday[where] = parts[1][found].str.contains("[1-9]").to_numpy(dtype=bool)
        plain[where] = True
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
    return np.where(ok, days, np.datetime64("NaT", "D")), intraday


def parse_numbers(text: pd.Series) -> np.ndarray:
    """`text` as float64; NaN where it is missing, not a decimal number or not finite."""
    decimal = text.str.fullmatch(NUMBER.pattern).fillna(False).to_numpy(dtype=bool)
    values = np.full(len(text), np.nan)
    values[decimal] = pc.cast(pa.array(text[decimal]), pa.float64()).to_numpy()  # correctly rounded, as float()
    values[~np.isfinite(values)] = np.nan
    return values


def check_rows(
    values: dict[str, np.ndarray],
    missing: dict[str, np.ndarray],
    intraday: np.ndarray,
    shown: Callable[[str, int], str | None],
    where: Callable[[int], str],
) -> None:
    """§7 row by row: a value in every cell, dates and numbers that read, prices > 0, volume >= 0, low <= open,
    close <= high. `values`: each column's typed values in the order checked (`date` datetime64 with NaT where it is
    not a date, prices and volume float64 with NaN where not a finite number, a long layout's `symbol` first);
    `missing`: the cells holding no value. Each check runs over every row; the first check that fails names its first
    row (`where(i)`: its file, line...) and how many more fail it. A message is a template over the row: `{close}` is
    its value, `{close_raw}` the cell as written (`shown(column, i)`)."""
    nums = [c for c in values if c not in ("date", "symbol")]
    checks = [(missing[c], f"missing {c} value; fill it in or remove the row") for c in values]
    checks.append((np.isnat(values["date"]), "date {date_raw!r} is not a YYYY-MM-DD date; fix it or remove the row"))
    checks.append((intraday, INTRADAY))
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
            row = {f"{c}_raw": shown(c, i) for c in values} | {c: float(v[c][i]) for c in nums}
            more = f" ({n_bad - 1} more such row{'s' if n_bad > 2 else ''})" if n_bad > 1 else ""
            raise DataError(f"{where(i)}: {message.format(**row)}{more}")


def _check_unique(days: np.ndarray, path: Path, lines: np.ndarray) -> None:
    """A date appears once: else name the earliest repeated date and its lines."""
    repeated = pd.Series(days).duplicated(keep=False).to_numpy()
    if repeated.any():
        first = days[repeated].min()
        where = ", ".join(str(n) for n in np.sort(lines[repeated & (days == first)]))
        n_dates = len(np.unique(days[repeated]))
        more = f" ({n_dates - 1} more repeated dates)" if n_dates > 1 else ""
        raise DataError(f"{path}: date {first} appears on lines {where}; keep one row per date{more}")


def gap_warning(days: np.ndarray, path: Path, symbol: str) -> str | None:
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
    column replaces `close` and scales open, high and low (`adjust`; the `low <= close <= high` check keeps the
    unadjusted bar). Warns (`DataWarning`)
    when the rows were not sorted by date and when the data has a long gap; `symbol` (default: the file's name)
    is named in the gap warning.
    """
    path = Path(path)
    symbol = symbol if symbol is not None else path.stem
    columns = columns_of(price_column)
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
    days, intraday = parse_dates(text["date"])
    values = {"date": days}
    if len(as_text) > 1:  # prices and volume as text: parsed together
        values |= zip(as_text[1:], parse_numbers(cells[n:]).reshape(len(as_text) - 1, n)[:, kept], strict=True)
    values |= {c: raw[c].to_numpy()[kept] for c in columns if c not in as_text}
    values = {c: values[c] for c in columns}  # the order of the checks
    lines = raw["line"].to_numpy()[kept]
    missing = {c: text[c].isna().to_numpy() if c in text else np.zeros(len(lines), dtype=bool) for c in values}
    check_rows(
        values,
        missing,
        intraday,
        lambda c, i: text[c].iloc[i] if c in text else None,
        lambda i: f"{path} line {lines[i]}",
    )
    days = values["date"]
    _check_unique(days, path, lines)

    df = pd.DataFrame({"date": days.astype("datetime64[us]"), **{c: values[c] for c in columns if c != "date"}})
    if price_column == "adj_close":
        df = adjust(df)
    if not df["date"].is_monotonic_increasing:
        warnings.warn(f"{path}: rows are not sorted by date; sorted them on reading", DataWarning, stacklevel=2)
        df = df.sort_values("date", kind="stable")
    if (gap := gap_warning(np.sort(days), path, symbol)) is not None:
        warnings.warn(gap, DataWarning, stacklevel=2)
    return df[list(COLUMNS)].reset_index(drop=True)
