"""The feature matrix: every asset's rows sorted by (date, symbol) as contiguous numpy arrays.

A fold's training and test rows are slices `[lo, hi)` of it found by binary search (walkforward.folds.offsets): the
folds are offsets into one matrix, never copies of it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import polars as pl


@dataclass(frozen=True)
class Matrix:
    """Every asset's rows sorted by (date, symbol): one contiguous feature matrix and its columns."""

    X: np.ndarray  # (n, n_features) float64, C-contiguous, NaN = missing
    y: np.ndarray  # (n,) target, NaN = missing
    dates: np.ndarray  # datetime64[D]
    label_end: np.ndarray  # datetime64[D], NaT where the label does not exist
    next_ret: np.ndarray  # (n,) close_{t+1} / close_t - 1, NaN = missing
    next_date: np.ndarray  # datetime64[D], NaT past the last row
    symbol: np.ndarray  # (n,) int32 code into `symbols`
    symbols: tuple[str, ...]  # sorted
    complete: np.ndarray  # (n,) bool: every feature present

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, feature_names: tuple[str, ...]) -> Matrix:
        symbols = tuple(sorted(frame["symbol"].unique().to_list()))
        codes = frame["symbol"].cast(pl.Enum(symbols)).to_physical().to_numpy().astype(np.int32)
        X = np.ascontiguousarray(frame.select(feature_names).to_numpy(order="c"), dtype=np.float64)  # one copy
        days = lambda c: frame[c].to_numpy().astype("datetime64[D]")  # noqa: E731
        return cls(
            X=X,
            y=frame["target"].to_numpy().astype(np.float64),
            dates=days("date"),
            label_end=days("label_end"),
            next_ret=frame["next_ret"].to_numpy().astype(np.float64),
            next_date=days("next_date"),
            symbol=codes,
            symbols=symbols,
            complete=~np.isnan(X).any(axis=1),
        )

    def take(self, rows: slice | np.ndarray) -> Matrix:
        """The rows `rows` (a slice: views; indices: copies), in their order; `symbols` unchanged, so codes keep
        their meaning."""
        return replace(self, **{f.name: getattr(self, f.name)[rows] for f in fields(self) if f.name != "symbols"})
