"""Long-format input (one file, or a folder of Parquet files) as lazy frames to check (methodology §7).

`Source(layout).rows(symbols)` scans the rows of some symbols lazily (`pl.scan_csv` / `pl.scan_parquet`; nothing is
read until collected) into the columns that `checks.row_checks` reads: `symbol`, `date`, the prices and volume, each
cell as read (`<col>_raw`), `intraday`, and where each row came from: `row` (its position in the input), `file`
(folder layouts) and `line` (a CSV's line, the header being line 1). Column names match in any order and
capitalisation, as in a per-symbol CSV. Text cells are parsed as a CSV's are; Parquet numbers are cast to Float64; a
Parquet Date is a date, a Datetime gives its date in its own time zone (a time of day other than midnight is an
intraday error). A Parquet symbol is matched as stored (a CSV's is trimmed); the symbol filter reaches the Parquet
reader, so row groups of other symbols are skipped by their statistics.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from walkforward.data.checks import intraday_datetime, raw_text, typed_from_text
from walkforward.data.layout import HIVE, LONG_CSV, Layout
from walkforward.data.read import COLUMNS, check_columns, header, normalise
from walkforward.errors import DataError

NEEDS = (
    "a long-format file needs symbol,date,open,high,low,close,volume "
    "(per-symbol CSVs without a symbol column go in a folder, passed as the data path)"
)


def wanted_columns(price_column: str) -> tuple[str, ...]:
    return ("symbol", *COLUMNS, *(("adj_close",) if price_column == "adj_close" else ()))


class Source:
    """The rows of a long layout. `cols`: the input columns checked (symbol, date, prices, volume[, adj_close]).

    Column names and types are checked when it is made (a DataError names the file); the rows when collected.
    `symbols`: for a hive layout, the partitions to read (a missing one is a DataError); all of them when None.
    """

    def __init__(self, layout: Layout, price_column: str = "close", symbols: list[str] | None = None):
        self.layout = layout
        self.cols = wanted_columns(price_column)
        self._schemas: dict[Path, pl.Schema] = {}
        if layout.kind == LONG_CSV:
            names = header(layout.path, NEEDS)
            check_columns(layout.path, names, self.cols, NEEDS)
            self._names = names
            return
        files = layout.files_of(symbols) if symbols is not None else layout.files
        self._symbol_of = dict(zip(layout.files, layout.symbols, strict=True)) if layout.kind == HIVE else {}
        for path in files:
            try:
                self._schemas[path] = pl.read_parquet_schema(path)
            except (pl.exceptions.PolarsError, OSError) as exc:
                raise DataError(f"{path}: cannot be read as Parquet ({first_line(exc)}); {NEEDS}") from None
        for schema, group in self._groups(list(files)):
            self._columns(group[0], schema)  # names and types, checked now

    def rows(self, symbols: list[str] | None = None) -> pl.LazyFrame:
        """The rows of `symbols` (and the rows without a symbol); every row when None."""
        if self.layout.kind == LONG_CSV:
            frame = self._scan_csv()
            return frame if symbols is None else frame.filter(_selected(pl.col("symbol"), symbols))
        files = list(self._schemas)
        if self._symbol_of and symbols is not None:
            wanted = set(symbols)
            files = [f for f in files if self._symbol_of[f] in wanted]
        frames, offset = [], 0
        groups = self._groups(files)
        for i, (schema, group) in enumerate(groups):
            frames.append(self._scan_group(group, schema, offset, symbols))
            if i + 1 < len(groups):
                offset += pl.scan_parquet([str(f) for f in group]).select(pl.len()).collect().item()
        return pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]

    @property
    def with_file(self) -> bool:
        return self.layout.kind != LONG_CSV and (len(self.layout.files) > 1 or self.layout.kind == HIVE)

    def _groups(self, files: list[Path]) -> list[tuple[pl.Schema, list[Path]]]:
        """Files with the same schema, in order of first appearance (usually one group)."""
        groups: dict[tuple, list[Path]] = {}
        for path in files:
            groups.setdefault(tuple(self._schemas[path].items()), []).append(path)
        return [(self._schemas[group[0]], group) for group in groups.values()]

    def _scan_csv(self) -> pl.LazyFrame:
        cols = self.cols
        return (
            pl.scan_csv(self.layout.path, new_columns=self._names, infer_schema=False)
            .select(cols)
            .with_row_index("row")
            .with_columns((pl.col("row") + 2).alias("line"), *(raw_text(c) for c in cols))
            .filter(pl.any_horizontal(pl.col(f"{c}_raw").is_not_null() for c in cols))  # a blank line is no row
            .with_columns(e for c in cols for e in typed_from_text(c))
        )

    def _scan_group(
        self, files: list[Path], schema: pl.Schema, offset: int, symbols: list[str] | None
    ) -> pl.LazyFrame:
        stage1, stage2, symbol_column = self._columns(files[0], schema)
        scan = pl.scan_parquet(
            [str(f) for f in files],
            hive_partitioning=False,
            row_index_name="row",
            row_index_offset=offset,
            include_file_paths="file" if self.with_file else None,
        )
        pushed = symbols is not None and symbol_column is not None and schema[symbol_column] == pl.String
        if pushed:  # on the stored column, so that the reader skips other symbols' row groups
            stored = pl.col(symbol_column)
            scan = scan.filter(stored.is_in(symbols) | stored.is_null() | (stored == ""))
        keep = [pl.col("row"), *([pl.col("file")] if self.with_file else [])]
        frame = scan.select(*keep, *stage1).with_columns(stage2)
        return frame if symbols is None or pushed else frame.filter(_selected(pl.col("symbol"), symbols))

    def _columns(self, path: Path, schema: pl.Schema) -> tuple[list[pl.Expr], list[pl.Expr], str | None]:
        """(expressions on the file's columns, expressions on their results, the file's symbol column)."""
        by_name: dict[str, str] = {}
        for name in schema:
            if (n := normalise(name)) in by_name:
                raise DataError(f"{path}: columns {by_name[n]!r} and {name!r} both mean {n!r}; keep one")
            by_name[n] = name
        check_columns(path, list(by_name), tuple(c for c in self.cols if c != "symbol" or not self._symbol_of), NEEDS)
        stage1: list[pl.Expr] = []
        stage2: list[pl.Expr] = []
        for c in self.cols:
            if c == "symbol" and self._symbol_of:  # from the partition folder; a symbol column in the file is ignored
                mapping = {str(f): s for f, s in self._symbol_of.items()}
                stage1.append(pl.col("file").replace_strict(mapping, return_dtype=pl.String).alias("symbol_raw"))
                stage2.append(pl.col("symbol_raw").alias("symbol"))
            else:
                first, second = _typed(path, c, by_name[c], schema[by_name[c]])
                stage1 += first
                stage2 += second
        return stage1, stage2, None if self._symbol_of else by_name["symbol"]


def _selected(symbol: pl.Expr, symbols: list[str]) -> pl.Expr:
    return symbol.is_null() | symbol.is_in(symbols)


def _typed(path: Path, col: str, name: str, dtype: pl.DataType) -> tuple[list[pl.Expr], list[pl.Expr]]:
    """(expressions on the file's column, expressions on their results) giving `col_raw` and the typed value."""
    value = pl.col(name)
    text = dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)
    if col == "symbol" and (text or dtype.is_integer()):
        symbol = value.cast(pl.String)
        return [pl.when(symbol == "").then(None).otherwise(symbol).alias("symbol_raw")], typed_from_text(col)
    if text:
        return [raw_text(col, name)], typed_from_text(col)
    shown = value.alias(f"{col}_raw")  # the value as stored (a message shows it as text)
    if col == "date" and dtype == pl.Date:
        return [shown, value.alias("date"), pl.lit(False).alias("intraday")], []
    if col == "date" and isinstance(dtype, pl.Datetime):
        return [shown, value.dt.date().alias("date"), intraday_datetime(value).alias("intraday")], []
    if col not in ("date", "symbol") and dtype.is_numeric():
        return [shown, value.cast(pl.Float64).alias(col)], []
    kinds = {"date": "a date, a datetime or YYYY-MM-DD text", "symbol": "text"}.get(col, "numbers")
    raise DataError(f"{path}: column {name!r} holds {dtype}; {col} must be {kinds}, convert the column")


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
