"""The universe (methodology §8): which assets a run trades, and on which dates each is a member.

- `assets: "all"` is resolved once, before the store and the plan are built: every symbol in the data at `data_path`
  (`data.store.every_symbol`: a CSV folder's file names, else one lazy pass over the symbol column) except the
  benchmark, sorted.
- A membership file (`universe: path`, columns `symbol, start, end`, dates inclusive) is read and checked once into
  windows; `Membership.member` marks every matrix row whose date lies in one of its symbol's windows, vectorised:
  windows sorted by (symbol, start), their ends' running maximum, one `searchsorted` of every row.
- `counts` is run.json's `universe` section: listings, delistings, test rows outside membership, skipped tasks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from walkforward.config import Config
from walkforward.data.checks import raise_first_failure, raw_text
from walkforward.data.read import check_columns, header, read_text_columns
from walkforward.data.store import every_symbol
from walkforward.errors import DataError, DataWarning
from walkforward.features.matrix import Matrix

COLUMNS = ("symbol", "start", "end")
NEEDS = "a membership file needs columns symbol,start,end (dates YYYY-MM-DD, both inclusive), one row per window"
DAY = r"^\d{4}-\d{2}-\d{2}$"
SHOWN = 8  # member symbols without data named in the warning


@dataclass(frozen=True)
class Membership:
    """A membership file's windows, sorted by (symbol, start): `symbol[i]` is a member on `start[i] <= t <= end[i]`."""

    path: str
    symbol: np.ndarray  # str
    start: np.ndarray  # datetime64[D]
    end: np.ndarray  # datetime64[D]
    sha256: str  # of the file's bytes: a resumed run must use the same windows

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(np.unique(self.symbol).tolist())

    def member(self, codes: np.ndarray, names: tuple[str, ...], dates: np.ndarray) -> np.ndarray:
        """Per row (`codes` index the sorted `names`): is its asset a member on its `dates`? (bool, one per row)."""
        sorted_names = np.asarray(names, dtype=str)
        at = np.searchsorted(sorted_names, self.symbol)
        known = at < len(sorted_names)
        known[known] = sorted_names[at[known]] == self.symbol[known]
        if not known.any() or not len(dates):
            return np.zeros(len(dates), dtype=bool)
        w_code, w_start, w_end = at[known], _days(self.start[known]), _days(self.end[known])
        day = _days(dates)
        base = min(int(day.min()), int(w_start.min()))
        span = max(int(day.max()), int(w_end.max())) - base + 1  # every offset below lies in [0, span)
        lo = w_code * span + (w_start - base)
        hi = w_code * span + (w_end - base)
        order = np.lexsort((lo, w_code))
        lo, reach = lo[order], np.maximum.accumulate(hi[order])  # a symbol's keys exceed every earlier symbol's
        key = codes.astype(np.int64) * span + (day - base)
        i = np.searchsorted(lo, key, side="right") - 1  # the last window starting on or before the row's date
        return (i >= 0) & (reach[np.maximum(i, 0)] >= key)  # ... or any before it: reach is their furthest end


@dataclass(frozen=True)
class Universe:
    """A run's universe: its config with `assets` resolved (an explicit tuple), and the membership, if any."""

    config: Config
    membership: Membership | None = None

    def member(self, m: Matrix) -> np.ndarray:
        """Per matrix row: a member on its date (every row when there is no membership file)."""
        if self.membership is None:
            return np.ones(len(m.dates), dtype=bool)
        return self.membership.member(m.symbol, m.symbols, m.dates)

    @property
    def windows(self) -> pl.DataFrame | None:
        """The membership windows (symbol, start, end) for the plan's cross-section; None without a file."""
        if self.membership is None:
            return None
        m = self.membership
        return pl.DataFrame({"symbol": m.symbol.tolist(), "start": m.start, "end": m.end})

    @property
    def fingerprint(self) -> str:
        """What a resumed run must match besides the data: the membership file's content ('' without one)."""
        return "" if self.membership is None else self.membership.sha256


def resolve(config: Config) -> Universe:
    """Resolve `assets: "all"` against the data and read the membership file (methodology §8); once per run."""
    present = every_symbol(config.data_path, config.price_column) if config.all_assets or config.universe else None
    resolved = resolve_assets(config, present)
    if config.universe is None:
        return Universe(resolved)
    membership = read_membership(config.universe)
    warn_without_data(membership, present or (), config.data_path)
    return Universe(resolved, membership)


def resolve_assets(config: Config, present: tuple[str, ...] | None = None) -> Config:
    """`config` with `assets: "all"` replaced by every symbol in the data but the benchmark, sorted (`present`: the
    data's symbols, when already listed); an explicit list as it is (checked against the data when it is read)."""
    if not config.all_assets:
        return config
    present = every_symbol(config.data_path, config.price_column) if present is None else present
    assets = tuple(sorted(s for s in present if s != config.benchmark))
    if not assets:
        raise DataError(
            f'assets "all": the data at {config.data_path} holds no symbol but the benchmark {config.benchmark}; '
            "add the assets' data, or list the assets to trade"
        )
    return dataclasses.replace(config, assets=assets)  # the symbols as the data holds them (no re-parsing)


def warn_without_data(membership: Membership, present: tuple[str, ...], data_path: str) -> None:
    """A DataWarning naming the member symbols that have no data: they cannot be traded."""
    missing = sorted(set(membership.symbols) - set(present))
    if missing:
        shown = ", ".join(missing[:SHOWN]) + (f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else "")
        warnings.warn(
            f"{membership.path}: {len(missing)} member symbol{'s' if len(missing) > 1 else ''} without data in "
            f"{data_path} ({shown}) cannot be traded; add their data or check the symbols",
            DataWarning,
            stacklevel=2,
        )


def read_membership(path: str | os.PathLike[str]) -> Membership:
    """Read and check a membership file: a one-line DataError naming the file, the line and the fix."""
    p = Path(path)
    if not p.is_file():
        what = "is not a file" if p.exists() else "does not exist"
        raise DataError(f"membership file {str(p)!r} {what}; pass --universe with a CSV of symbol,start,end")
    names = header(p, NEEDS)
    check_columns(p, names, COLUMNS, NEEDS)
    raw = read_text_columns(p, names, COLUMNS, NEEDS)
    rows = (
        raw.with_row_index("line", offset=2)  # the header is line 1
        .with_columns(raw_text(c) for c in COLUMNS)
        .filter(pl.any_horizontal(pl.col(f"{c}_raw").is_not_null() for c in COLUMNS))  # a blank line is no row
        .with_columns(pl.col(f"{c}_raw").str.to_date("%Y-%m-%d", strict=False).alias(c) for c in ("start", "end"))
    )
    if rows.height == 0:
        raise DataError(f"{p}: has a header but no rows; add one row per membership window (symbol,start,end)")
    _check_rows(rows, p)
    rows = rows.sort("symbol_raw", "start")
    return Membership(
        path=str(p),
        symbol=np.asarray(rows["symbol_raw"].to_list(), dtype=str),
        start=rows["start"].to_numpy().astype("datetime64[D]"),
        end=rows["end"].to_numpy().astype("datetime64[D]"),
        sha256=hashlib.sha256(p.read_bytes()).hexdigest(),
    )


def _check_rows(rows: pl.DataFrame, path: Path) -> None:
    """Raise for the first failing check's first row, in this order: a missing cell, a date not written YYYY-MM-DD,
    a start after its end."""
    checks = [(pl.col(f"{c}_raw").is_null(), f"missing {c}; fill it in or remove the row") for c in COLUMNS]
    for c in ("start", "end"):
        bad = pl.col(c).is_null() | ~pl.col(f"{c}_raw").str.contains(DAY)
        checks.append((bad, f"{c} {{{c}_raw!r}} is not a YYYY-MM-DD date; write it like 2020-01-31"))
    checks.append((pl.col("start") > pl.col("end"), "start {start} is after end {end}; swap them or fix the row"))
    raise_first_failure(rows, checks, path)


def counts(m: Matrix, config: Config, test_rows: np.ndarray, member: np.ndarray, skipped: int) -> dict[str, Any]:
    """run.json's `universe` counts (methodology §8). `test_rows`: the traded assets' rows in the test windows (matrix
    indices); `member`: per matrix row; `skipped`: per-asset tasks without training rows."""
    traded = np.flatnonzero(np.isin(np.asarray(m.symbols), config.assets))  # codes; every asset has rows
    _, first = np.unique(m.symbol, return_index=True)  # rows sorted by (date, symbol): first and last dates
    _, from_end = np.unique(m.symbol[::-1], return_index=True)
    last = len(m.symbol) - 1 - from_end
    start, end = np.datetime64(config.start_date, "D"), np.datetime64(config.end_date, "D")
    return {
        "assets": len(traded),
        "listed_after_start": int((m.dates[first[traded]] > start).sum()),
        "delisted_before_end": int((m.dates[last[traded]] < end).sum()),
        "test_rows": len(test_rows),
        "test_rows_outside_membership": int((~member[test_rows]).sum()),
        "tasks_without_training_rows": skipped,
    }


def _days(dates: np.ndarray) -> np.ndarray:
    return np.asarray(dates, dtype="datetime64[D]").astype(np.int64)
