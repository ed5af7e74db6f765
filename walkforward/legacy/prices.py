"""Each symbol's checked prices for the legacy engine, whatever the layout at `data_path` (methodology §7).

A folder of per-symbol CSVs keeps the old tool's shape: every read re-reads and re-checks the symbol's file (the
engine reads each asset and the benchmark again in every fold). A long file or a Parquet folder is read and checked
once per run and each symbol's rows are kept: re-reading the whole file for every symbol of every fold would make
the oracle quadratic in the number of symbols.
"""

from __future__ import annotations

import pandas as pd

from walkforward.config import Config
from walkforward.errors import DataError
from walkforward.legacy.io import csv_path, read_csv, validate
from walkforward.legacy.layout import CSV_DIR, HIVE, detect
from walkforward.legacy.long import Rows, read_long
from walkforward.legacy.panel import check_panel, present_symbols
from walkforward.timing import Timer


class Prices:
    """The prices at `config.data_path`; `clock` times reading (`load`) and checking (`validate`)."""

    def __init__(self, config: Config, clock: Timer):
        self.data_path = config.data_path
        self.price_column = config.price_column
        self.clock = clock
        self.layout = detect(config.data_path)
        self._rows: Rows | None = None  # a long layout's rows, read once
        self._present: list[str] | None = None  # the symbols in them
        self._frames: dict[str, pd.DataFrame] = {}

    @property
    def long(self) -> bool:
        return self.layout.kind != CSV_DIR

    def every_symbol(self) -> list[str]:
        """Every symbol the data holds, sorted: the CSV names of a folder, a hive layout's partitions, else those in
        the rows (a DataError when there are none)."""
        if not self.long:
            return sorted(p.stem for p in self.layout.path.glob("*.csv"))
        if self.layout.kind == HIVE:  # the partitions: nothing to read
            return sorted(set(self.layout.symbols))
        if self._present is None:
            self._present = present_symbols(self._read_long(None), self.layout)
        if not self._present:
            raise DataError(f"{self.layout.path}: holds no rows; add one row per symbol and trading day")
        return list(self._present)

    def read_all(self, symbols: list[str] | tuple[str, ...]) -> dict[str, pd.DataFrame]:
        """Every one of `symbols`' prices, read and checked before any fold: a bad input stops the run before it
        begins, with the verdict of the Polars engine (which reads everything at once): of several bad per-symbol
        CSVs the first in sorted order, while every good file still gives its warnings."""
        symbols = sorted(set(symbols))
        if self.long:
            rows = self._read_long(symbols)
            if self._present is None:
                self._present = present_symbols(rows, self.layout)
            with self.clock("validate"):
                self._frames = check_panel(rows, self.layout, symbols, self.price_column)
            self._rows = None  # the checked frames are what the folds read
            return {symbol: self._frames[symbol].copy() for symbol in symbols}
        frames: dict[str, pd.DataFrame] = {}
        first_error: DataError | None = None
        for symbol in symbols:
            try:
                frames[symbol] = self.read(symbol)
            except DataError as exc:
                first_error = first_error or exc
        if first_error is not None:
            raise first_error
        return frames

    def read(self, symbol: str) -> pd.DataFrame:
        """One symbol's prices (`date, open, high, low, close, volume`, sorted by date)."""
        if self.long:
            return self._frames[symbol].copy()
        with self.clock("load"):
            path = csv_path(self.data_path, symbol)
            raw = read_csv(path, price_column=self.price_column)
        with self.clock("validate"):
            return validate(raw, path=path, price_column=self.price_column, symbol=symbol)

    def _read_long(self, symbols: list[str] | None) -> Rows:
        if self._rows is None or self.layout.kind == HIVE:  # a hive layout reads only the symbols' partitions
            with self.clock("load"):
                self._rows = read_long(self.layout, self.price_column, symbols)
        return self._rows
