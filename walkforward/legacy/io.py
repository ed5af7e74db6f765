"""Read one symbol's OHLCV CSV with pandas (`read_csv`) and check it (`validate`), methodology §7.

The two steps are separate so that the engine can time loading and validation apart.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from walkforward.errors import DataError

PRICE_COLUMNS = ("open", "high", "low", "close")
REQUIRED_COLUMNS = ("date", *PRICE_COLUMNS, "volume")


def csv_path(data_dir: str | os.PathLike[str], symbol: str) -> Path:
    """The CSV of `symbol`: `DATA_DIR/<SYMBOL>.csv`."""
    return Path(data_dir) / f"{symbol}.csv"


def _normalise(name: str) -> str:
    """`'Adj Close'` -> `'adj_close'`, `' Date'` -> `'date'`."""
    return "_".join(str(name).strip().lower().split())


def read_csv(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a price CSV as written, with column names normalised (lower case, `_` for spaces)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {str(path)!r} does not exist; generate the data or fix data_dir / the symbol")
    try:
        raw = pd.read_csv(path)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"data file {str(path)!r} could not be read as CSV: {first}") from None
    names = [_normalise(c) for c in raw.columns]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise DataError(
            f"data file {str(path)!r} has the column(s) {', '.join(dupes)} more than once "
            "(column names are case-insensitive); keep one of each"
        )
    return raw.set_axis(names, axis="columns")


def validate(raw: pd.DataFrame, *, path: str | os.PathLike[str], price_column: str = "close") -> pd.DataFrame:
    """Check a frame from `read_csv`; return `date, open, high, low, close, volume` sorted by date.

    `date` is datetime64; prices and volume are float64 (missing values are NaN). With
    `price_column == "adj_close"` the `adj_close` column replaces `close`; otherwise it is ignored.
    """
    where = f"data file {str(path)!r}"
    required = list(REQUIRED_COLUMNS)
    if price_column == "adj_close":
        required.append("adj_close")
    missing = [c for c in required if c not in raw.columns]
    if missing:
        hint = (
            " (price_column is 'adj_close': use a file with an 'Adj Close' column or set price_column to 'close')"
            if missing == ["adj_close"]
            else f"; expected {', '.join(REQUIRED_COLUMNS)} in any order"
        )
        raise DataError(f"{where} lacks the column(s) {', '.join(missing)}{hint}")
    if raw.empty:
        raise DataError(f"{where} has no rows")

    df = raw[required].copy()
    if price_column == "adj_close":
        df["close"] = df.pop("adj_close")

    dates = pd.to_datetime(df["date"].astype(str), format="%Y-%m-%d", errors="coerce")
    bad = dates.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{where} has a date that is not YYYY-MM-DD: {df['date'].iloc[row]!r} "
            f"(data row {row + 1}); fix or remove that row"
        )
    df["date"] = dates

    for col in (*PRICE_COLUMNS, "volume"):
        values = pd.to_numeric(df[col], errors="coerce")
        bad = values.isna() & df[col].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(f"{where} has a non-numeric {col} value {df[col].iloc[row]!r} (data row {row + 1})")
        df[col] = values.astype("float64")

    duplicated = df["date"].duplicated()
    if duplicated.any():
        first = df.loc[duplicated, "date"].iloc[0].date()
        raise DataError(f"{where} has {int(duplicated.sum())} duplicate date(s), first {first}; keep one row per date")

    for col in PRICE_COLUMNS:
        non_positive = df[col] <= 0
        if non_positive.any():
            row = df.loc[non_positive].iloc[0]
            raise DataError(
                f"{where} has a non-positive {col} price {float(row[col]):g} "
                f"on {row['date'].date()}; prices must be > 0"
            )
    negative = df["volume"] < 0
    if negative.any():
        row = df.loc[negative].iloc[0]
        raise DataError(
            f"{where} has a negative volume {float(row['volume']):g} on {row['date'].date()}; volume must be >= 0"
        )

    if not df["date"].is_monotonic_increasing:
        warnings.warn(f"{where} was not sorted by date; sorted it", UserWarning, stacklevel=2)
        df = df.sort_values("date", kind="stable")
    return df.reset_index(drop=True)


def load_prices(data_dir: str | os.PathLike[str], symbol: str, *, price_column: str = "close") -> pd.DataFrame:
    """`read_csv` then `validate` for one symbol (convenience for callers that need no timing)."""
    path = csv_path(data_dir, symbol)
    return validate(read_csv(path), path=path, price_column=price_column)
