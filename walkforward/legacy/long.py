"""Read a long layout (methodology §7) for the legacy engine: one long-format CSV or Parquet file, or a folder of
Parquet files (under `symbol=<SYMBOL>/` folders, or each long-format), into the typed cells that
`walkforward.legacy.panel` checks.

The CSV is read by `walkforward.legacy.io.read_csv` (pandas); Parquet files one by one with pyarrow. Column names
match in any order and capitalisation. Text cells are read as a per-symbol CSV's are (trimmed; `NA`, `-`... hold no
value; a symbol only when blank); Parquet numbers are cast to float64; a Parquet date is a date, a datetime gives its
date in its own time zone (a time of day other than midnight is marked intraday). A Parquet symbol is kept as stored;
a hive layout's comes from its folder. Rows keep the order in which the Polars engine numbers them (files of one
schema together, in order of first appearance), so that both engines report the same first bad row.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from walkforward.errors import DataError
from walkforward.legacy.checks import MISSING, WHITESPACE, columns_of, parse_dates, parse_numbers
from walkforward.legacy.io import LONG_NEEDS, normalise, read_csv, require_columns
from walkforward.legacy.layout import HIVE, LONG_CSV, Layout, hive_files

NEEDS = LONG_NEEDS
KINDS = {"date": "a date, a datetime or YYYY-MM-DD text", "symbol": "text"}  # else "numbers"


class Column(NamedTuple):
    """One column of one file: the typed `value`, where the cell holds no value (`missing`), the cells as `written`
    (text as trimmed, or the Parquet values; for messages) and, for the date, where it has a time of day."""

    value: np.ndarray
    missing: np.ndarray
    written: np.ndarray | pa.ChunkedArray
    intraday: np.ndarray | None = None

    def take(self, kept: np.ndarray) -> Column:
        return Column(*(None if a is None else a[kept] for a in self))


@dataclass
class Rows:
    """The rows of a long layout. `values`: per column in the order checked (symbol, date, prices, volume[,
    adj_close]) the typed value (symbol: str; date: datetime64[D], NaT where not a date; others float64, NaN where
    not a finite number); `missing`: the cells that hold no value; `intraday`: dates with a time of day; `line`: a
    CSV's line; `file`: each row's file (a folder of several files, or a hive layout); `parts`: (first row, columns)
    of each file, for the cells as written."""

    values: dict[str, np.ndarray]
    missing: dict[str, np.ndarray]
    intraday: np.ndarray
    parts: list[tuple[int, dict[str, Column]]]
    line: np.ndarray | None = None
    file: np.ndarray | None = None

    def shown(self, column: str, i: int) -> str | None:
        """Row `i`'s cell of `column` as written (text as trimmed, a Parquet value as Python prints it)."""
        start, columns = self.parts[bisect.bisect_right([s for s, _ in self.parts], i) - 1]
        value = columns[column].written[i - start]
        if isinstance(value, pa.Scalar):  # a Parquet value, NaN included
            return None if (value := value.as_py()) is None else str(value)
        return value if isinstance(value, str) else None  # text, or NaN where it holds no value


def read_long(layout: Layout, price_column: str, symbols: list[str] | None = None) -> Rows:
    """Every row of the layout (a hive layout: of the partitions of `symbols`, every one when None)."""
    cols = ("symbol", *columns_of(price_column))
    if layout.kind == LONG_CSV:
        return _read_long_csv(layout.path, price_column, cols)
    files = hive_files(layout, symbols)
    schemas = {}
    for path in files:
        try:
            schemas[path] = pq.read_schema(path)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError(f"{path}: cannot be read as Parquet ({_first_line(exc)}); {NEEDS}") from None
    groups: dict[tuple, list[Path]] = {}  # files of one schema, read together: the Polars engine numbers rows so
    for path in files:
        groups.setdefault(tuple((f.name, _polars_name(f.type)) for f in schemas[path]), []).append(path)
    hive = layout.kind == HIVE
    names = [(group, _columns(group[0], schemas[group[0]], cols, hive)) for group in groups.values()]
    symbol_of = dict(zip(layout.files, layout.symbols, strict=True)) if hive else {}
    parts = []
    for group, by_name in names:
        for path in group:
            try:
                table = pq.ParquetFile(path).read(columns=list(by_name.values()))
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise DataError(f"{layout.path}: cannot be read as Parquet ({_first_line(exc)}); {NEEDS}") from None
            parts.append((path, {c: _parquet_column(c, table, by_name, symbol_of.get(path)) for c in cols}))
    return _joined(parts, cols, with_file=hive or len(layout.files) > 1)


def _columns(path: Path, schema: pa.Schema, cols: tuple[str, ...], hive: bool) -> dict[str, str]:
    """The file's column of each of `cols` (a hive file's symbol comes from its folder); a DataError for two columns
    of one name, a missing column or a column of a type that cannot hold its values."""
    by_name: dict[str, str] = {}
    for name in schema.names:
        if (n := normalise(name)) in by_name:
            raise DataError(f"{path}: columns {by_name[n]!r} and {name!r} both mean {n!r}; keep one")
        by_name[n] = name
    wanted = tuple(c for c in cols if c != "symbol" or not hive)
    require_columns(path, list(by_name), wanted, NEEDS)
    for col in wanted:
        kind = _kind(schema.field(by_name[col]).type)
        ok = kind == "text" or (col == "symbol" and kind == "integer")
        ok |= col == "date" and kind in ("date", "datetime")
        ok |= col not in ("date", "symbol") and kind in ("integer", "float", "decimal")
        if not ok:
            holds = _polars_name(schema.field(by_name[col]).type)
            kinds = KINDS.get(col, "numbers")
            raise DataError(f"{path}: column {by_name[col]!r} holds {holds}; {col} must be {kinds}, convert the column")
    return {c: by_name[c] for c in wanted}


def _parquet_column(col: str, table: pa.Table, by_name: dict[str, str], symbol: str | None) -> Column:
    """Column `col` of one Parquet file (`symbol`: a hive partition's)."""
    if col not in by_name:
        symbols = np.full(table.num_rows, symbol, dtype=object)
        return Column(symbols, np.zeros(table.num_rows, dtype=bool), symbols)
    data = table.column(by_name[col])
    kind = _kind(data.type)
    if kind == "text" or (col == "symbol" and kind == "integer"):
        return _text_column(col, pc.cast(data, pa.string()).to_pandas().astype(object), trimmed=col != "symbol")
    missing = data.is_null().to_numpy(zero_copy_only=False)
    if kind in ("date", "datetime"):
        days, intraday = _dates(data, kind)
        return Column(days, missing, data, intraday)
    values = pc.cast(data, pa.float64()).to_numpy(zero_copy_only=False).copy()
    values[~np.isfinite(values)] = np.nan
    return Column(values, missing, data)


def _text_column(col: str, text: pd.Series, trimmed: bool = True) -> Column:
    """A text column (object, None where null): trimmed, with the `MISSING` cells holding no value (a symbol: blank
    ones only; a Parquet symbol is not trimmed); dates and numbers parsed as a per-symbol CSV's are."""
    text = text.fillna("")
    if trimmed:
        text = text.str.strip(WHITESPACE)
    text = text.mask(text.isin(MISSING if col != "symbol" else ("",)))
    missing, written = text.isna().to_numpy(), text.to_numpy(dtype=object)
    if col == "symbol":
        return Column(written, missing, written)
    if col == "date":
        days, intraday = parse_dates(text)
        return Column(days, missing, written, intraday)
    return Column(parse_numbers(text), missing, written)


def _dates(data: pa.ChunkedArray, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(date, intraday) of a Parquet date or datetime column: a datetime's local date in its own time zone, intraday
    when its local time is not midnight."""
    if kind == "date":
        days = pc.cast(data, pa.date32()).to_numpy(zero_copy_only=False).astype("datetime64[D]")
        return days, np.zeros(len(days), dtype=bool)
    stamps = data.to_pandas()
    if getattr(stamps.dt, "tz", None) is not None:
        stamps = stamps.dt.tz_localize(None)  # the wall time in the column's own zone
    wall = stamps.to_numpy()
    days = wall.astype("datetime64[D]")
    return days, ~np.isnat(wall) & (wall != days.astype(wall.dtype))


def _read_long_csv(path: Path, price_column: str, cols: tuple[str, ...]) -> Rows:
    raw = read_csv(path, price_column=price_column, long=True)
    columns = {}
    for col in cols:
        if pd.api.types.is_float_dtype(raw[col]):  # read as numbers: every cell holds a finite one
            n = len(raw)
            columns[col] = Column(raw[col].to_numpy(), np.zeros(n, dtype=bool), np.full(n, None, dtype=object))
        else:
            columns[col] = _text_column(col, raw[col].astype(object))
    kept = ~np.logical_and.reduce([columns[c].missing for c in cols])  # a blank line is no row
    rows = _joined([(path, {c: v.take(kept) for c, v in columns.items()})], cols, with_file=False)
    rows.line = raw["line"].to_numpy()[kept]
    return rows


def _joined(parts: list[tuple[Path, dict[str, Column]]], cols: tuple[str, ...], with_file: bool) -> Rows:
    """One `Rows` of the files' columns, in order."""
    n = [len(columns["date"].value) for _, columns in parts]
    starts = np.cumsum([0, *n[:-1]])
    return Rows(
        values={c: np.concatenate([columns[c].value for _, columns in parts]) for c in cols},
        missing={c: np.concatenate([columns[c].missing for _, columns in parts]) for c in cols},
        intraday=np.concatenate([columns["date"].intraday for _, columns in parts]),
        parts=[(int(s), columns) for s, (_, columns) in zip(starts, parts, strict=True)],
        file=np.repeat(np.array([str(p) for p, _ in parts], dtype=object), n) if with_file else None,
    )


def _kind(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        return "text" if _kind(t.value_type) == "text" else "other"
    checks = [
        ("text", pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)),
        ("integer", pa.types.is_integer(t)),
        ("float", pa.types.is_floating(t)),
        ("decimal", pa.types.is_decimal(t)),
        ("date", pa.types.is_date(t)),
        ("datetime", pa.types.is_timestamp(t)),
    ]
    return next((kind for kind, ok in checks if ok), "other")


def _polars_name(t: pa.DataType) -> str:
    """The name Polars gives the type (as the Polars engine's messages show it)."""
    simple = {"bool": "Boolean", "string": "String", "large_string": "String", "binary": "Binary", "null": "Null"}
    simple |= {"large_binary": "Binary", "date32[day]": "Date", "halffloat": "Float16", "float": "Float32"}
    simple |= {"double": "Float64", "time64[us]": "Time", "time64[ns]": "Time", "time32[ms]": "Time"}
    if str(t) in simple:
        return simple[str(t)]
    if pa.types.is_integer(t):
        return str(t).replace("uint", "UInt").replace("int", "Int")
    if pa.types.is_timestamp(t) or pa.types.is_duration(t):
        zone = f", time_zone={t.tz!r}" if pa.types.is_timestamp(t) else ""
        return f"{'Datetime' if pa.types.is_timestamp(t) else 'Duration'}(time_unit={t.unit!r}{zone})"
    if pa.types.is_decimal(t):
        return f"Decimal(precision={t.precision}, scale={t.scale})"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return f"List({_polars_name(t.value_type)})"
    if pa.types.is_dictionary(t):
        return "Categorical" if _kind(t.value_type) == "text" else str(t)
    return str(t)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
