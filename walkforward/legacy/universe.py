"""The universe (methodology §8) in the legacy engine: `assets: "all"`, the point-in-time membership file, and the
counts of listings, delistings and rows outside membership that run.json reports.

The membership file is a CSV of `symbol, start, end` (dates YYYY-MM-DD, inclusive; several rows for several windows
of one symbol), read with pandas. Asset `a` is a member on date `t` when `t` lies in one of its windows; a symbol
absent from the file is never a member. The oracle's own reading of §8: it shares no code with the Polars engine's.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from walkforward.config import Config
from walkforward.errors import DataError, DataWarning
from walkforward.legacy.checks import WHITESPACE
from walkforward.legacy.io import normalise

COLUMNS = ("symbol", "start", "end")
NEEDS = "a universe file needs columns symbol,start,end (dates YYYY-MM-DD, both inclusive), one row per window"
DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"


def resolve_assets(config: Config, every_symbol: list[str]) -> Config:
    """`config` with `assets: "all"` replaced by every symbol of the data but the benchmark (sorted)."""
    if not config.all_assets:
        return config
    assets = sorted(s for s in every_symbol if s != config.benchmark)
    if not assets:
        raise DataError(
            f'assets is "all" but {config.data_path} holds no symbol other than the benchmark {config.benchmark}; '
            "add the assets' rows or list the assets to trade"
        )
    return dataclasses.replace(config, assets=tuple(assets))


@dataclass(frozen=True)
class Membership:
    """The windows of a membership file: per symbol, (starts, ends) as datetime64[D], both inclusive; and the
    file line where each symbol first appears."""

    path: Path
    windows: dict[str, tuple[np.ndarray, np.ndarray]]
    lines: dict[str, int]

    def member(self, symbol: str, dates: pd.Series) -> np.ndarray:
        """Whether `symbol` is a member on each of `dates` (never, when the file does not name it)."""
        days = dates.to_numpy().astype("datetime64[D]")
        inside = np.zeros(len(days), dtype=bool)
        starts, ends = self.windows.get(symbol, ((), ()))
        for start, end in zip(starts, ends, strict=True):
            inside |= (days >= start) & (days <= end)
        return inside

    def warn_without_data(self, present: list[str], data_path: str) -> None:
        """A DataWarning naming the member symbols that have no rows in the data: they cannot be traded."""
        absent = sorted(set(self.windows) - set(present))
        if not absent:
            return
        listed = ", ".join(absent[:8]) + (f" and {len(absent) - 8} more" if len(absent) > 8 else "")
        warnings.warn(
            f"{self.path}: {len(absent)} member symbol{'s' if len(absent) > 1 else ''} without data in {data_path} "
            f"({listed}) cannot be traded; add their data or check the symbols",
            DataWarning,
            stacklevel=2,
        )


def read_membership(path: str) -> Membership:
    """The membership file at `path`, checked: its columns, a value in every cell, dates as YYYY-MM-DD, start <= end.
    Every problem is a one-line DataError naming the file, the line (the header is line 1) and the fix."""
    file = Path(path)
    if not file.is_file():
        state = "is not a file" if file.exists() else "does not exist"
        raise DataError(f"universe file {path!r} {state}; check the path (universe in the config), or drop the key")
    try:
        table = pd.read_csv(file, dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="utf-8-sig")
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{file}: cannot be read as CSV ({reason}); {NEEDS}") from None
    names = [normalise(str(n)) for n in table.columns]
    for col in COLUMNS:
        if col not in names:
            raise DataError(f"{file}: missing column {col!r} (found: {', '.join(map(str, table.columns))}); {NEEDS}")
    cells = {c: table.iloc[:, names.index(c)].fillna("").str.strip(WHITESPACE) for c in COLUMNS}
    lines = np.arange(2, len(table) + 2)
    kept = np.logical_or.reduce([cells[c].to_numpy() != "" for c in COLUMNS])  # a blank line is no row
    cells, lines = {c: v[kept].reset_index(drop=True) for c, v in cells.items()}, lines[kept]
    if not len(lines):
        raise DataError(f"{file}: has no rows; {NEEDS}")
    days = {c: _days(cells[c]) for c in ("start", "end")}
    checks = [(cells[c] == "", f"missing {c} value; fill it in or remove the row") for c in COLUMNS]
    checks += [(np.isnat(days[c]), f"{c} {{{c}!r}} is not a YYYY-MM-DD date; fix it or remove the row") for c in days]
    checks.append((days["start"] > days["end"], "start {start} is after end {end}; swap them or fix the row"))
    for bad, message in checks:
        if (bad := np.asarray(bad, dtype=bool)).any():
            i = int(np.argmax(bad))
            raise DataError(f"{file} line {lines[i]}: {message.format(**{c: cells[c][i] for c in COLUMNS})}")
    windows, first = {}, {}
    for symbol, group in pd.DataFrame({"symbol": cells["symbol"], "i": np.arange(len(lines))}).groupby("symbol"):
        at = group["i"].to_numpy()
        windows[symbol] = (days["start"][at], days["end"][at])
        first[symbol] = int(lines[at[0]])
    return Membership(file, windows, first)


def _days(text: pd.Series) -> np.ndarray:
    """`text` as datetime64[D]; NaT where it is not a calendar date written YYYY-MM-DD."""
    written = text.where(text.str.fullmatch(DAY).fillna(False))
    return pd.to_datetime(written, format="%Y-%m-%d", errors="coerce").to_numpy().astype("datetime64[D]")


def universe_counts(
    config: Config, prices: dict[str, pd.DataFrame], tests: dict[str, pd.DataFrame], skipped: int
) -> dict[str, int]:
    """run.json's `universe` (methodology §8): the traded assets, those listed after `start_date` (first row after
    it), those delisted before `end_date` (last row before it), the traded assets' rows in the test windows, those
    of them outside membership, and the per-asset (fold, asset) tasks without a training row."""
    start, end = pd.Timestamp(config.start_date), pd.Timestamp(config.end_date)
    return {
        "assets": len(config.assets),
        "listed_after_start": sum(int(prices[s]["date"].iloc[0] > start) for s in config.assets),
        "delisted_before_end": sum(int(prices[s]["date"].iloc[-1] < end) for s in config.assets),
        "test_rows": sum(len(tests[s]) for s in config.assets),
        "test_rows_outside_membership": sum(int((~tests[s]["member"]).sum()) for s in config.assets),
        "tasks_without_training_rows": skipped,
    }
