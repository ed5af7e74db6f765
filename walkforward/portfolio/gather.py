"""The backtest's input: every traded asset's test-window rows, with its fold and its prediction (NaN where none)."""

from __future__ import annotations

import numpy as np

from walkforward.execution.task import Task, TaskResult
from walkforward.features.matrix import Matrix
from walkforward.folds import FoldOffsets
from walkforward.portfolio.backtest import TestRows


def gather_test_rows(m: Matrix, off: FoldOffsets, traded: np.ndarray, results: dict[Task, TaskResult]) -> TestRows:
    """The test rows of the traded assets, in fold order, with the predictions the tasks made for them."""
    prediction = np.full(len(m.dates), np.nan)
    for r in results.values():
        prediction[r.rows] = r.prediction
    rows = np.concatenate([np.arange(c, d) for c, d in off.test])
    rows = rows[traded[rows]]
    return TestRows(
        fold=(np.searchsorted(off.test_lo, m.dates[rows], side="right") - 1).astype(np.int32),
        symbol=m.symbol[rows],
        date=m.dates[rows],
        prediction=prediction[rows],
        target=m.y[rows],
        next_ret=m.next_ret[rows],
        next_date=m.next_date[rows],
        symbols=m.symbols,
    )
