"""The book of each asset (methodology §4.2-§4.4) on its test rows sorted by (symbol, date), as masks and shifts.

A *segment* is what positions carry through: the asset's test rows of the whole run, or of one fold with
`flat_between_folds`. The lag is a shift by `L` rows that does not cross a segment's first row.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Book:
    """Per row: `p_t` and `q_t`, their values on the segment's previous row (0 on its first) and the exits."""

    p: np.ndarray  # int64, the position held from close t to close next(t)
    q: np.ndarray  # float64, the weighted position w * p_t
    p_before: np.ndarray  # p_{prev(t)}
    q_before: np.ndarray  # q_{prev(t)}
    last: np.ndarray  # bool: the segment's last row (its position is closed at close next(t))

    @property
    def traded(self) -> np.ndarray:
        """|q_t - q_prev|: weight traded at close t."""
        return np.abs(self.q - self.q_before)

    @property
    def exit(self) -> np.ndarray:
        """|q_l| on the segment's last row l (filled at close next(l)), else 0."""
        return np.where(self.last, np.abs(self.q), 0.0)

    @property
    def traded_unweighted(self) -> np.ndarray:
        """|p_t - p_prev| + exit_t: the asset as a book of its own."""
        return (np.abs(self.p - self.p_before) + np.where(self.last, np.abs(self.p), 0)).astype(np.float64)

    def legs(self, *, weighted: bool) -> tuple[np.ndarray, np.ndarray]:
        """The traded weight of `q` (or of `p`, unweighted), exits included, split by leg (methodology §5): the
        long leg trades `|max(x_t, 0) - max(x_prev, 0)|`, the short leg `|min(x_t, 0) - min(x_prev, 0)|`."""
        x, before = (self.q, self.q_before) if weighted else (self.p.astype(np.float64), self.p_before)
        exit_ = np.where(self.last, x, 0.0)  # closed after the segment's last row
        long = np.abs(np.maximum(x, 0) - np.maximum(before, 0)) + np.maximum(exit_, 0.0)
        short = np.abs(np.minimum(x, 0) - np.minimum(before, 0)) + np.maximum(-exit_, 0.0)
        return long, short


def starts(symbol: np.ndarray, fold: np.ndarray | None = None) -> np.ndarray:
    """Where a new segment starts: a new symbol (and, given `fold`, a new fold) in rows sorted by (symbol, date)."""
    first = np.ones(len(symbol), dtype=bool)
    first[1:] = symbol[1:] != symbol[:-1]
    if fold is not None:
        first[1:] |= fold[1:] != fold[:-1]
    return first


def shifted(x: np.ndarray, first: np.ndarray) -> np.ndarray:
    """x of the segment's previous row; 0 on each segment's first row."""
    out = np.empty_like(x)
    out[1:] = x[:-1]
    out[first] = 0
    return out


def hold(signal: np.ndarray, weight: np.ndarray, next_ret: np.ndarray, first: np.ndarray, lag: int) -> Book:
    """`p_t = s_{t-L}` with weight `w_{t-L}` (nothing for the segment's first L rows), `p_t = 0` without a next
    return; `q_t = w * p_t`."""
    n = len(signal)
    row = np.arange(n)
    segment_start = np.maximum.accumulate(np.where(first, row, 0))
    source = row - lag
    filled = source >= segment_start
    source = np.where(filled, source, 0)
    p = np.where(filled, signal[source], 0).astype(np.int64)
    p[np.isnan(next_ret)] = 0
    q = np.where(p != 0, weight[source] * p, 0.0)
    last = np.append(first[1:], True)[:n]
    return Book(p=p, q=q, p_before=shifted(p, first), q_before=shifted(q, first), last=last)
