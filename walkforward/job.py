"""The feature matrix and the fold job: what every executor's worker needs, in one picklable object.

`Matrix` holds every asset's rows sorted by (date, symbol) as contiguous numpy arrays; a fold's training and test
rows are slices `[lo, hi)` of it found by binary search (walkforward.folds.offsets), with purged and incomplete rows
masked. `FoldJob(task, previous)` fits one (fold, symbol) model on its slice and predicts the fold's test slice.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from walkforward import models
from walkforward.checkpoints import TaskResult
from walkforward.config import UNIFIED_SYMBOL, seed_for
from walkforward.errors import DataError
from walkforward.folds import Fold, FoldOffsets


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


@dataclass(frozen=True)
class FoldJob:
    """Fit and predict one task `(fold, symbol)`; `symbol` is '*' for the unified model."""

    matrix: Matrix
    offsets: FoldOffsets
    folds: tuple[Fold, ...]
    traded: np.ndarray  # (n,) bool: the row's symbol is a traded asset
    kind: str
    params: tuple[tuple[str, Any], ...]
    estimator: str | None  # import path for kind "sklearn"
    seed: int
    keep_models: bool  # warm start: results carry the model's state, for checkpoints

    def _rows(self, symbol: str, lo: int, hi: int) -> np.ndarray:
        keep = self.traded[lo:hi].copy()
        if symbol != UNIFIED_SYMBOL:
            keep &= self.matrix.symbol[lo:hi] == self.matrix.symbols.index(symbol)
        return keep

    def __call__(self, task: tuple[int, str], previous: Any) -> tuple[Any, tuple[TaskResult, bytes | None]]:
        f, symbol = task
        m = self.matrix
        (a, b), (c, d) = self.offsets.train[f], self.offsets.test[f]
        train = self._rows(symbol, a, b) & m.complete[a:b] & ~np.isnan(m.y[a:b])
        train &= m.label_end[a:b] < self.offsets.test_lo[f]  # purge: the label ends before the test window
        test = self._rows(symbol, c, d) & m.complete[c:d]
        if not train.any():
            fd = self.folds[f]
            raise DataError(
                f"fold {f} (train {fd.train_start}..{fd.train_end}, assets {symbol}) has no complete training "
                "rows; raise --fold-length or move --start-date later"
            )
        t0, cpu0 = time.perf_counter(), time.thread_time()
        model = models.fit(
            self.kind,
            dict(self.params),
            m.X[a:b][train],
            m.y[a:b][train],
            seed=seed_for(self.seed, f, symbol),
            init_model=previous,
            estimator=self.estimator,
        )
        t1 = time.perf_counter()
        pred = models.predict(self.kind, model, m.X[c:d][test])
        t2 = time.perf_counter()
        result = TaskResult(
            rows=np.flatnonzero(test) + c,
            prediction=pred,
            importance=models.importance(self.kind, model, m.X.shape[1]),
            fit_seconds=t1 - t0,
            predict_seconds=t2 - t1,
            cpu_seconds=time.thread_time() - cpu0,
        )
        return model, (result, models.dump_model(self.kind, model) if self.keep_models else None)
