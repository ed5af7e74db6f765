"""Read and validate per-symbol OHLCV CSVs into one Polars panel (methodology section 7).

Every problem is a `DataError` with one line that names the file, the row and the fix. Line numbers
count the header as line 1, as an editor does. Validation is vectorised: each check is one Polars
expression over the whole file.
"""

from __future__ import annotations

import csv
import difflib
import os
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import polars as pl

from walkforward.config import available_cores
from walkforward.data.checks import raise_first_failure, raw_text, row_checks, typed_from_text
from walkforward.errors import DataError, DataWarning, did_you_mean

COLUMNS = ("date", "open", "high", "low", "close", "volume")
PRICES = ("open", "high", "low", "close")
PRICE_COLUMNS = ("close", "adj_close")
SCHEMA = {
    "symbol": pl.String,
    "date": pl.Date,
    **{c: pl.Float64 for c in (*PRICES, "volume")},
}
GAP_SESSIONS = 10  # more sessions than this without a row is a warning (methodology §7)
_NEEDS = "the CSV needs date,open,high,low,close,volume"


def read_csv(path: str | os.PathLike[str], symbol: str, price_column: str = "close") -> pl.DataFrame:
    """One symbol's rows: `symbol, date, open, high, low, close, volume`, sorted by date.

    Columns may come in any order and capitalisation; the Yahoo layout (`Adj Close`) is accepted.
    With `price_column="adj_close"` the adjusted close replaces `close` and open, high and low are
    scaled by `adj_close / close` (`bar_columns`; the OHLC checks run on the unadjusted bar).
    """
    path = Path(path)
    if price_column not in PRICE_COLUMNS:
        choices = ", ".join(PRICE_COLUMNS)
        raise DataError(f"price_column must be one of {choices}; got {price_column!r}")
    if not path.is_file():
        raise DataError(f"{path}: file not found; create it or check the path")
    names = header(path)
    wanted = (*COLUMNS, "adj_close") if price_column == "adj_close" else COLUMNS
    check_columns(path, names, wanted, _NEEDS)
    raw = read_text_columns(path, names, wanted, _NEEDS)

    df = _parse(raw, wanted)
    if df.height == 0:
        raise DataError(f"{path}: has a header but no rows; add one row per trading day")
    _validate(df, path, wanted)

    if not df["date"].is_sorted():
        warnings.warn(f"{path}: rows are not sorted by date; sorted them on reading", DataWarning, stacklevel=2)
        df = df.sort("date")
    if (gap := gap_warning(df["date"], path, symbol)) is not None:
        warnings.warn(gap, DataWarning, stacklevel=2)
    return df.select(pl.lit(symbol, dtype=pl.String).alias("symbol"), "date", *bar_columns(price_column), "volume")


def bar_columns(price_column: str) -> list[pl.Expr]:
    """open, high, low, close as stored (methodology §7): as read; with `price_column="adj_close"` the adjusted close
    and the rest of the bar scaled by the same factor `adj_close / close` (high at least, low at most the adjusted
    close, so rounding cannot put the close outside its bar)."""
    if price_column != "adj_close":
        return [pl.col(c) for c in PRICES]
    adjusted, factor = pl.col("adj_close"), pl.col("adj_close") / pl.col("close")
    return [
        (pl.col("open") * factor).alias("open"),
        pl.max_horizontal(pl.col("high") * factor, adjusted).alias("high"),
        pl.min_horizontal(pl.col("low") * factor, adjusted).alias("low"),
        adjusted.alias("close"),
    ]


def load_panel(data_dir: str | os.PathLike[str], symbols: Iterable[str], price_column: str = "close") -> pl.DataFrame:
    """All symbols' rows in one frame (`SCHEMA`), sorted by (symbol, date)."""
    symbols = list(symbols)
    if not symbols:
        raise DataError("no symbols to load; list at least one in assets")
    paths = symbol_paths(data_dir, symbols)
    order = sorted(set(symbols))
    workers = min(8, available_cores(), len(order))
    # Polars releases the GIL while parsing, so files read in parallel; `map` keeps the order, and
    # the first failing symbol (in sorted order) is the one reported. Warnings are passed on in symbol order.
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with ThreadPoolExecutor(max_workers=workers) as pool:
                frames = list(pool.map(lambda s: read_csv(paths[s], s, price_column), order))
    finally:
        _relay_in_order(caught, [paths[s] for s in order])
    return pl.concat(frames, how="vertical")


def symbol_paths(data_dir: str | os.PathLike[str], symbols: Iterable[str]) -> dict[str, Path]:
    """`DATA_DIR/<SYMBOL>.csv` per symbol; a missing one is a DataError listing what exists."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(missing_directory(data_dir))
    out = {}
    for symbol in symbols:
        path = data_dir / f"{symbol}.csv"
        if not path.is_file():
            raise DataError(_missing_file(data_dir, symbol))
        out[symbol] = path
    return out


def check_columns(path: Path | str, names: list[str], wanted: tuple[str, ...], needs: str) -> None:
    """A DataError for the first column of `wanted` missing from `names` (normalised), with the fix."""
    for col in wanted:
        if col not in names:
            fix = needs if col != "adj_close" else "price_column 'adj_close' needs it"
            found = ", ".join(_display(names))
            unknown = [n for n in _display(names) if n not in (*wanted, *COLUMNS, "adj_close")]
            if typo := difflib.get_close_matches(col, unknown, n=1, cutoff=0.6):
                fix = f"rename column {typo[0]!r} to {col!r}"
            raise DataError(f"{path}: missing column {col!r} (found: {found}); {fix}")


def missing_directory(path: Path) -> str:
    """The message for a data directory that is not there (or is not a directory)."""
    what = "is not a directory" if path.exists() else "does not exist"
    return (
        f"data directory {str(path)!r} {what}; pass --data-path with the folder holding <SYMBOL>.csv files "
        "(or a long-format .parquet or .csv file, or a folder of Parquet files), "
        "or create sample data with `wf data generate`"
    )


def _relay_in_order(caught: list[warnings.WarningMessage], paths: list[Path]) -> None:
    """Warn again what the reading threads warned, ordered by file (a file's own warnings keep their order)."""

    def rank(w: warnings.WarningMessage) -> int:
        text = str(w.message)
        return next((i for i, p in enumerate(paths) if text.startswith(f"{p}: ")), len(paths))

    for w in sorted(caught, key=rank):
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


# --- parsing -------------------------------------------------------------------------------------


def normalise(name: str) -> str:
    """'Adj Close' -> 'adj_close', ' Date ' -> 'date'."""
    return "_".join(name.strip().lstrip("\ufeff").lower().split())


def header(path: Path, needs: str = _NEEDS) -> list[str]:
    """Normalised column names of the file's header; DataError when empty or ambiguous."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except UnicodeDecodeError:
        raise DataError(f"{path}: is not UTF-8 text; save it as a UTF-8 CSV") from None
    if not first.strip():
        raise DataError(f"{path}: the file is empty; {needs} and one row per day")
    raw = next(csv.reader([first]))
    names = [normalise(n) for n in raw]
    seen: dict[str, str] = {}
    for original, name in zip(raw, names, strict=True):
        if name and name in seen:
            raise DataError(f"{path}: columns {seen[name]!r} and {original!r} both mean {name!r}; keep one")
        seen[name] = original
    # Unnamed columns (a trailing comma, a pandas index) get unique placeholder names.
    return [n or f"_unnamed_{i}" for i, n in enumerate(names)]


def _display(names: list[str]) -> list[str]:
    return [n for n in names if not n.startswith("_unnamed_")]


def _parse(raw: pl.DataFrame, cols: tuple[str, ...]) -> pl.DataFrame:
    """Typed columns plus the raw text (`<col>_raw`) and the file line (`line`) for messages.

    Fully blank lines are dropped; cells in `MISSING` (after trimming) are null.
    """
    return (
        raw.with_row_index("line", offset=2)
        .with_columns(raw_text(c) for c in cols)
        .filter(pl.any_horizontal(pl.col(f"{c}_raw").is_not_null() for c in cols))
        .with_columns(e for c in cols for e in typed_from_text(c))
    )


# --- validation ----------------------------------------------------------------------------------


def _validate(df: pl.DataFrame, path: Path, cols: tuple[str, ...]) -> None:
    """Raise a DataError for the first problem found, in the order of `checks.row_checks`."""
    raise_first_failure(df, row_checks(cols), path)

    dupes = df.filter(pl.col("date").is_duplicated()).sort("date", "line")
    if dupes.height:
        first = dupes.filter(pl.col("date") == dupes["date"][0])
        lines = ", ".join(str(n) for n in first["line"])
        n_dates = dupes["date"].n_unique()
        more = f" ({n_dates - 1} more repeated dates)" if n_dates > 1 else ""
        raise DataError(f"{path}: date {dupes['date'][0]} appears on lines {lines}; keep one row per date{more}")


def gap_warning(dates: pl.Series, path: Path, symbol: str) -> str | None:
    """A warning naming the first gap of more than `GAP_SESSIONS` missing sessions in sorted `dates`, or None.

    An asset with a row on a Saturday or Sunday trades every day (crypto): every calendar day is a session. Other
    assets trade Monday to Friday: weekdays are sessions (a market holiday counts as one missing session).
    """
    days = dates.to_numpy().astype("datetime64[D]")
    if len(days) < 2:
        return None
    prev, cur = days[:-1], days[1:]
    every_day = not np.is_busday(days).all()  # a row on a weekend
    step = np.timedelta64(1, "D")
    missing = (cur - prev).astype(np.int64) - 1 if every_day else np.busday_count(prev + step, cur)
    big = np.flatnonzero(missing > GAP_SESSIONS)
    if not len(big):
        return None
    i = big[0]
    unit = "days" if every_day else "weekdays"
    more = f"; {len(big) - 1} more such gap{'s' if len(big) > 2 else ''}" if len(big) > 1 else ""
    return (
        f"{path}: {int((cur[i] - prev[i]).astype(np.int64))} days without rows between {prev[i]} and {cur[i]} "
        f"({missing[i]} {unit} missing, more than {GAP_SESSIONS}{more}); add the missing rows if {symbol} traded then"
    )


def _missing_file(data_dir: Path, symbol: str) -> str:
    stems = sorted(p.stem for p in data_dir.glob("*.csv"))
    if not stems:
        listing = f"{data_dir} holds no .csv files"
    else:
        shown = ", ".join(f"{s}.csv" for s in stems[:12])
        extra = f" and {len(stems) - 12} more" if len(stems) > 12 else ""
        listing = f"{data_dir} has {shown}{extra}"
    same_case = [s for s in stems if s.lower() == symbol.lower()]
    hint = f" Did you mean: {same_case[0]!r}?" if same_case else did_you_mean(symbol, stems)
    return (
        f"no data for symbol {symbol!r}: {data_dir / (symbol + '.csv')} does not exist; "
        f"{listing}. Add the file or remove {symbol} from assets/benchmark (--symbols of wf data convert).{hint}"
    )


def read_text_columns(path: Path, names: list[str], wanted: tuple[str, ...], needs: str) -> pl.DataFrame:
    """The `wanted` columns of a CSV as text (its header's normalised `names`); a file the CSV parser cannot read is a
    one-line DataError naming it, the parser's reason and what the file `needs`."""
    try:
        return pl.read_csv(path, new_columns=names, infer_schema=False).select(wanted)
    except pl.exceptions.PolarsError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot be read as CSV ({first}); {needs}") from None
