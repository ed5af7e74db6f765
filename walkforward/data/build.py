"""Check a long layout and write its store with bounded memory (methodology §7).

1. `check_rows`: one streaming pass (a `group_by("symbol")` of lazy aggregations, collected with the streaming engine)
   counts, per symbol, the rows failing each row check and the first of them. Only the first failing check's first
   row is then fetched, for its message. Nothing of the panel is held but one row of counts per symbol.
2. `write_sorted`: the selected symbols, in buckets of at most `BUCKET_ROWS` rows, are each collected sorted by
   (symbol, date), checked for repeated dates, unsorted rows and long gaps, and appended to the store. Memory is
   bounded by one bucket, whatever the size of the input. A CSV that needs more than one bucket is first streamed
   into a typed Parquet file (`sink_parquet`), so it is parsed once.

Every error is one line naming the file (and a CSV's line), the symbol, the date and the fix.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from walkforward.data.checks import more_rows, row_checks
from walkforward.data.layout import LONG_CSV, missing_symbol
from walkforward.data.long import NEEDS, Source
from walkforward.data.read import SCHEMA, bar_columns, gap_warning
from walkforward.errors import DataError, DataWarning

BUCKET_ROWS = 2_000_000  # rows collected and sorted at once (about 150 MB)
ROW_GROUP_SIZE = 65_536  # rows; sorted by (symbol, date), so statistics prune symbols and dates


def check_rows(source: Source, symbols: list[str]) -> dict[str, int]:
    """Rows per symbol of `symbols`; a DataError for a symbol without rows or for the first failing row check."""
    checks = row_checks(source.cols)
    stats = _collect(
        source.rows(symbols).group_by("symbol").agg(
            pl.len().alias("_rows"),
            *(mask.sum().alias(f"_n{i}") for i, (mask, _) in enumerate(checks)),
            *(pl.when(mask).then(pl.col("row")).min().alias(f"_at{i}") for i, (mask, _) in enumerate(checks)),
        ),
        source,
    )
    counts = {s: n for s, n in zip(stats["symbol"], stats["_rows"], strict=True) if s is not None}
    for symbol in symbols:
        if symbol not in counts:
            raise DataError(missing_symbol(source.layout, symbol, available_symbols(source)))
    for i, (_, message) in enumerate(checks):
        if n_bad := int(stats[f"_n{i}"].sum()):
            at = pl.col("row") == stats[f"_at{i}"].min()
            first = _collect(source.rows(symbols).filter(at), source).row(0, named=True)
            first |= {k: str(v) for k, v in first.items() if k.endswith("_raw") and v is not None}  # as text
            raise DataError(f"{_where(source, first)}: {message.format(**first)}{more_rows(n_bad)}")
    return counts


def available_symbols(source: Source) -> list[str]:
    """Every symbol with rows, sorted (one streaming pass over the symbol column)."""
    if source.layout.symbols:
        return sorted(set(source.layout.symbols))
    found = _collect(source.rows().select(pl.col("symbol").drop_nulls().unique()), source)
    return sorted(found["symbol"].to_list())


def write_sorted(source: Source, counts: dict[str, int], price_column: str, out: Path) -> int:
    """Write the rows of the symbols in `counts` to `out`, sorted by (symbol, date), bucket by bucket; return the
    number of rows. Warns (DataWarning) about unsorted rows and long gaps; raises on a repeated (symbol, date)."""
    buckets = _buckets(counts)
    rows = partial(_store_rows, source, price_column)
    staged = _temporary(out) if source.layout.kind == LONG_CSV and len(buckets) > 1 else None
    writer = None
    unsorted: list[str] = []
    try:
        if staged is not None:  # parse the CSV once, not once per bucket
            _sink(rows(list(counts)), staged, source)
            rows = partial(_staged_rows, staged)
        for bucket in buckets:
            part = _collect(rows(bucket).sort("symbol", "date", "row"), source)
            unsorted += _check_bucket(part, source)
            table = part.select(list(SCHEMA)).to_arrow()
            writer = writer or pq.ParquetWriter(out, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=ROW_GROUP_SIZE)
    finally:
        if writer is not None:
            writer.close()
        if staged is not None:
            staged.unlink(missing_ok=True)
    if unsorted:
        shown = ", ".join(unsorted[:5]) + (f" and {len(unsorted) - 5} more symbols" if len(unsorted) > 5 else "")
        message = f"{source.layout.path}: rows of {shown} are not sorted by date; sorted them on reading"
        warnings.warn(message, DataWarning, stacklevel=2)
    return sum(counts.values())


def _store_rows(source: Source, price_column: str, symbols: list[str]) -> pl.LazyFrame:
    """The store's columns of `symbols`' rows, and where each came from (`row`, and `file`, `line` if known)."""
    extra = ["row", *(["file"] if source.with_file else []), *(["line"] if source.layout.kind == LONG_CSV else [])]
    columns = [pl.col("symbol"), pl.col("date"), *bar_columns(price_column), pl.col("volume")]
    return source.rows(symbols).filter(pl.col("symbol").is_not_null()).select(*columns, *extra)


def _staged_rows(path: Path, symbols: list[str]) -> pl.LazyFrame:
    return pl.scan_parquet(path).filter(pl.col("symbol").is_in(symbols))


def _check_bucket(part: pl.DataFrame, source: Source) -> list[str]:
    """Raise on a repeated (symbol, date); warn about long gaps; return the symbols whose rows were unsorted."""
    same_symbol = pl.col("symbol") == pl.col("symbol").shift(1)
    repeat = part.select(same_symbol & (pl.col("date") == pl.col("date").shift(1)))["symbol"]
    if repeat.any():
        _raise_repeat(part.filter(repeat), part, source)
    # unsorted: within one file, a later date on an earlier row
    keys = [c for c in ("symbol", "file") if c in part.columns]
    by_file = part.select(*keys, "date", "row").sort(*keys, "date") if len(keys) > 1 else part
    back = pl.all_horizontal(pl.col(k) == pl.col(k).shift(1) for k in keys) & (pl.col("row") < pl.col("row").shift(1))
    unsorted = by_file.filter(back)["symbol"].unique(maintain_order=True).to_list()
    starts = np.flatnonzero(part.select(~same_symbol.fill_null(False))["symbol"].to_numpy())
    for a, b in zip(starts, [*starts[1:], part.height], strict=True):
        rows = part.slice(int(a), int(b - a))
        if (gap := gap_warning(rows["date"], _where_symbol(source, rows), rows["symbol"][0])) is not None:
            warnings.warn(gap, DataWarning, stacklevel=2)
    return unsorted


def _raise_repeat(repeats: pl.DataFrame, part: pl.DataFrame, source: Source) -> None:
    symbol, date = repeats["symbol"][0], repeats["date"][0]
    rows = part.filter((pl.col("symbol") == symbol) & (pl.col("date") == date)).sort("row")
    lines = ", ".join(str(n) for n in rows["line"]) if "line" in rows.columns else ""
    where = f"on lines {lines}" if lines else f"{rows.height} times"
    files = _where_symbol(source, rows)
    n_more = repeats.select(pl.struct("symbol", "date").n_unique()).item() - 1
    more = f" ({n_more} more repeated dates)" if n_more else ""
    raise DataError(f"{files}: symbol {symbol} has date {date} {where}; keep one row per symbol and date{more}")


def _where(source: Source, row: dict) -> str:
    """`FILE[ line N] (symbol S, date D)` of one row, for a message."""
    line = f" line {row['line']}" if "line" in row else ""
    symbol = row["symbol"] if row.get("symbol") is not None else "missing"
    date = row["date"] if row.get("date") is not None else (repr(row["date_raw"]) if row["date_raw"] else "missing")
    return f"{row.get('file') or source.layout.path}{line} (symbol {symbol}, date {date})"


def _where_symbol(source: Source, rows: pl.DataFrame) -> str:
    """The file(s) that some rows of one symbol came from: `a.parquet and b.parquet`, or the layout's path."""
    if "file" not in rows.columns:
        return str(source.layout.path)
    files = sorted(set(rows["file"].to_list()))
    return " and ".join(files) if len(files) <= 2 else f"{len(files)} files of {source.layout.path}"


def _buckets(counts: dict[str, int]) -> list[list[str]]:
    """Consecutive runs of the sorted symbols holding at most BUCKET_ROWS rows (a bigger symbol stands alone)."""
    buckets: list[list[str]] = []
    size = BUCKET_ROWS
    for symbol in sorted(counts):
        if size + counts[symbol] > BUCKET_ROWS:
            buckets.append([])
            size = 0
        buckets[-1].append(symbol)
        size += counts[symbol]
    return buckets


def _collect(frame: pl.LazyFrame, source: Source) -> pl.DataFrame:
    try:
        return frame.collect(engine="streaming")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(_unreadable(source, exc)) from None


def _sink(frame: pl.LazyFrame, path: Path, source: Source) -> None:
    try:
        frame.sink_parquet(path, compression="lz4", statistics=False, engine="streaming")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise DataError(_unreadable(source, exc)) from None


def _temporary(beside: Path) -> Path:
    fd, name = tempfile.mkstemp(dir=beside.parent, prefix=f"{beside.name}.", suffix=".staged.tmp")
    os.close(fd)
    return Path(name)


def _unreadable(source: Source, exc: BaseException) -> str:
    kind = "CSV" if source.layout.kind == LONG_CSV else "Parquet"
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    return f"{source.layout.path}: cannot be read as {kind} ({first}); {NEEDS}"
