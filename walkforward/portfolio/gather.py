"""The backtest's input: every traded asset's test-window rows, with its fold and its prediction (NaN where none),
and the benchmark's return rows."""

from __future__ import annotations

import numpy as np

from walkforward.execution.task import Task, TaskResult
from walkforward.features.matrix import Matrix
from walkforward.folds import FoldOffsets
from walkforward.portfolio.rows import Benchmark, TestRows, fold_of
from walkforward.sorting import stable_order


def window_rows(off: FoldOffsets) -> np.ndarray:
    """Indices of every row in a test window, in fold (and so date) order."""
    return np.concatenate([np.arange(c, d) for c, d in off.test])


def gather_test_rows(m: Matrix, off: FoldOffsets, traded: np.ndarray, results: dict[Task, TaskResult]) -> TestRows:
    """The test rows of the traded assets, sorted by (symbol, date) as the backtest reads them (`by_asset`), with the
    predictions the tasks made for them."""
    prediction = np.full(len(m.dates), np.nan)
    for r in results.values():
        prediction[r.rows] = r.prediction
    rows = window_rows(off)
    rows = rows[traded[rows]]  # in date order, the matrix's: a stable sort by symbol puts them in (symbol, date) order
    rows = rows[stable_order(m.symbol[rows])]  # so each column is gathered once, in the backtest's order
    return TestRows(
        fold=fold_of(m.dates[rows], off.test_lo),
        symbol=m.symbol[rows],
        date=m.dates[rows],
        prediction=prediction[rows],
        target=m.y[rows],
        next_ret=m.next_ret[rows],
        next_date=m.next_date[rows],
        symbols=m.symbols,
    )


def gather_benchmark(m: Matrix, off: FoldOffsets, benchmark: str) -> Benchmark:
    """The benchmark's test rows that have a next row: `next_ret` dated `next_date` (sorted: one asset's rows)."""
    rows = window_rows(off)
    rows = rows[(m.symbol[rows] == m.symbols.index(benchmark)) & ~np.isnat(m.next_date[rows])]
    return Benchmark(date=m.next_date[rows], ret=m.next_ret[rows])
