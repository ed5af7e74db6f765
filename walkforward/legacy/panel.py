"""Check the rows of a long layout (methodology §7) and split them by symbol, for the legacy engine.

Only the configured symbols' rows are checked (and rows without a symbol): first that each symbol has rows, then the
row checks of `walkforward.legacy.checks.check_rows` over all of them (the first failing check names its first row
in input order: `FILE[ line N] (symbol S, date D): ...`), then one row per symbol and date. Warnings: a long gap, per
symbol in sorted order, then the symbols whose rows were not in date order within their file. Every message is
worded as the Polars engine words it (walkforward/data/build.py), with code of the oracle's own.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from walkforward.errors import DataError, DataWarning
from walkforward.legacy.checks import COLUMNS, adjust, check_rows, gap_warning
from walkforward.legacy.layout import Layout, missing_symbol
from walkforward.legacy.long import Rows


def present_symbols(rows: Rows, layout: Layout) -> list[str]:
    """Every symbol the layout holds, sorted: a hive layout's partitions, else the symbols in its rows."""
    if layout.symbols:
        return sorted(set(layout.symbols))
    return sorted(set(rows.values["symbol"][~rows.missing["symbol"]]))


def check_panel(rows: Rows, layout: Layout, symbols: list[str], price_column: str) -> dict[str, pd.DataFrame]:
    """Each of `symbols`' rows (`date, open, high, low, close, volume`, sorted by date) after every check of §7."""
    named = ~rows.missing["symbol"]
    chosen = ~named | np.isin(rows.values["symbol"], np.array(symbols, dtype=object))
    having = set(rows.values["symbol"][named & chosen])
    for symbol in symbols:
        if symbol not in having:
            raise DataError(missing_symbol(layout, symbol, present_symbols(rows, layout)))
    at = np.flatnonzero(chosen)
    check_rows(
        {c: v[at] for c, v in rows.values.items()},
        {c: m[at] for c, m in rows.missing.items()},
        rows.intraday[at],
        lambda c, i: rows.shown(c, int(at[i])),
        lambda i: _where(rows, layout, int(at[i])),
    )
    frame = pd.DataFrame({c: v[at] for c, v in rows.values.items()}).assign(row=at)
    if rows.line is not None:
        frame["line"] = rows.line[at]
    if rows.file is not None:
        frame["file"] = rows.file[at]
    frame = frame.sort_values(["symbol", "date", "row"], kind="stable", ignore_index=True)
    _check_repeats(frame, layout)
    unsorted = []
    for symbol, part in frame.groupby("symbol", sort=True):
        by_file = part.sort_values("row").groupby("file") if "file" in part else [(None, part.sort_values("row"))]
        if any(not p["date"].is_monotonic_increasing for _, p in by_file):
            unsorted.append(symbol)
        days = part["date"].to_numpy().astype("datetime64[D]")
        if (gap := gap_warning(days, _files(part, layout), symbol)) is not None:
            warnings.warn(gap, DataWarning, stacklevel=2)
    if unsorted:
        shown = ", ".join(unsorted[:5]) + (f" and {len(unsorted) - 5} more symbols" if len(unsorted) > 5 else "")
        message = f"{layout.path}: rows of {shown} are not sorted by date; sorted them on reading"
        warnings.warn(message, DataWarning, stacklevel=2)
    return {symbol: _prices(part, price_column) for symbol, part in frame.groupby("symbol", sort=True)}


def _prices(part: pd.DataFrame, price_column: str) -> pd.DataFrame:
    """The columns the engine reads, as `walkforward.legacy.checks.validate` gives them for a per-symbol CSV."""
    out = part.assign(date=part["date"].to_numpy().astype("datetime64[us]"))
    if price_column == "adj_close":
        out = adjust(out)
    return out[list(COLUMNS)].reset_index(drop=True)


def _check_repeats(frame: pd.DataFrame, layout: Layout) -> None:
    """One row per symbol and date: else name the first repeated pair (in symbol, date order), its lines or how many
    times it appears, and its files."""
    symbol, date = frame["symbol"].to_numpy(), frame["date"].to_numpy().astype("datetime64[D]")
    repeat = np.zeros(len(frame), dtype=bool)
    repeat[1:] = (symbol[1:] == symbol[:-1]) & (date[1:] == date[:-1])
    if not repeat.any():
        return
    i = int(np.argmax(repeat))
    rows = frame[(symbol == symbol[i]) & (date == date[i])].sort_values("row")
    where = f"on lines {', '.join(str(n) for n in rows['line'])}" if "line" in rows else f"{len(rows)} times"
    n_more = len(set(zip(symbol[repeat], date[repeat], strict=True))) - 1
    more = f" ({n_more} more repeated dates)" if n_more else ""
    raise DataError(
        f"{_files(rows, layout)}: symbol {symbol[i]} has date {date[i]} {where}; keep one row per symbol and date{more}"
    )


def _where(rows: Rows, layout: Layout, i: int) -> str:
    """`FILE[ line N] (symbol S, date D)` of row `i`, for a message."""
    line = f" line {rows.line[i]}" if rows.line is not None else ""
    symbol = "missing" if rows.missing["symbol"][i] else rows.values["symbol"][i]
    day = rows.values["date"][i]
    if np.isnat(day):
        written = rows.shown("date", i)
        date = repr(written) if written else "missing"
    else:
        date = str(day)
    file = rows.file[i] if rows.file is not None else layout.path
    return f"{file}{line} (symbol {symbol}, date {date})"


def _files(rows: pd.DataFrame, layout: Layout) -> str:
    """The file(s) some rows of one symbol came from: `a.parquet and b.parquet`, or the layout's path."""
    if "file" not in rows:
        return str(layout.path)
    files = sorted(set(rows["file"]))
    return " and ".join(files) if len(files) <= 2 else f"{len(files)} files of {layout.path}"
