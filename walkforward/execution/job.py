"""The fold job: what every executor's worker needs, in one picklable object.

`FoldJob(task, previous)` fits one (fold, symbol) model on its training slice of the feature matrix (purged,
incomplete and non-member rows masked) and predicts the fold's test slice (its member rows: methodology §8) and,
with `refit_every` k > 1, the test slices of the k - 1 folds after it, which fit no model of their own.
`job.for_task(task)` is the same job holding only the rows that task reads, for a worker that should not receive the
whole matrix (Dask).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from walkforward.config import UNIFIED_SYMBOL, seed_for
from walkforward.errors import DataError
from walkforward.execution.task import TaskResult, process_peak, wall_clock
from walkforward.features.matrix import Matrix
from walkforward.folds import Fold, FoldOffsets
from walkforward.models.registry import MODEL_KINDS


@dataclass(frozen=True)
class FitClock:
    """When a fit ran (`time.time()` at its start and end), its seconds and its thread's CPU seconds."""

    wall_start: float
    wall_end: float = 0.0
    seconds: float = 0.0
    cpu: float = 0.0
    _t0: float = 0.0
    _cpu0: float = 0.0

    @classmethod
    def start(cls) -> FitClock:
        return cls(wall_clock(), _t0=time.perf_counter(), _cpu0=time.thread_time())

    def stop(self) -> FitClock:
        """This clock stopped now; `cpu`: the thread's CPU seconds since it started."""
        seconds, cpu = time.perf_counter() - self._t0, time.thread_time() - self._cpu0
        return replace(self, wall_end=wall_clock(), seconds=seconds, cpu=cpu)


@dataclass(frozen=True)
class FoldJob:
    """Fit and predict one task `(fold, symbol)`; `symbol` is '*' for the unified model."""

    matrix: Matrix
    offsets: FoldOffsets
    folds: tuple[Fold, ...]
    traded: np.ndarray  # (n,) bool: the row's symbol is a traded asset
    member: np.ndarray  # (n,) bool: the row's asset is a member of the universe on its date (methodology §8)
    kind: str
    params: tuple[tuple[str, Any], ...]
    estimator: str | None  # import path for kind "sklearn"
    seed: int
    keep_models: bool  # warm start: results carry the model's state, for checkpoints
    refit_every: int = 1  # task f fits on fold f and predicts folds f .. f + refit_every - 1 (methodology §3)
    row_index: np.ndarray | None = None  # a cut job's (`for_task`): each matrix row's index in the whole matrix

    def _rows(self, symbol: str, lo: int, hi: int) -> np.ndarray:
        keep = self.traded[lo:hi] & self.member[lo:hi]
        if symbol != UNIFIED_SYMBOL:
            keep &= self.matrix.symbol[lo:hi] == self.matrix.symbols.index(symbol)
        return keep

    def predicted_folds(self, f: int) -> range:
        """The folds whose test rows task `f` predicts: its own and, with `refit_every` k, the k - 1 after it."""
        return range(f, min(f + self.refit_every, len(self.offsets.test)))

    def _test(self, symbol: str, f: int) -> tuple[np.ndarray, np.ndarray]:
        """The matrix rows task `f` predicts (its test windows' complete member rows) and their features."""
        m = self.matrix
        windows = [(int(c), int(d)) for c, d in self.offsets.test[list(self.predicted_folds(f))]]
        keep = [self._rows(symbol, c, d) & m.complete[c:d] for c, d in windows]
        if len(windows) == 1:  # one window (refit_every 1): its slice, as always
            (c, d), test = windows[0], keep[0]
            return np.flatnonzero(test) + c, m.X[c:d][test]
        rows = np.concatenate([np.flatnonzero(k) + c for (c, _), k in zip(windows, keep, strict=True)])
        return rows, m.X[rows]

    def training(self, f: int, symbol: str) -> tuple[np.ndarray, np.ndarray] | None:
        """Task (f, symbol)'s training rows (X, y): its window's complete member rows with a label, purged (the
        label ends before the test window); None when there is none."""
        m = self.matrix
        a, b = self.offsets.train[f]
        train = self._rows(symbol, a, b) & m.complete[a:b] & ~np.isnan(m.y[a:b])
        train &= m.label_end[a:b] < self.offsets.test_lo[f]  # purge: the label ends before the test window
        if not train.any():
            return None
        return m.X[a:b][train], m.y[a:b][train]

    def __call__(self, task: tuple[int, str], previous: Any) -> tuple[Any, tuple[TaskResult, bytes | None]]:
        f, symbol = task
        data = self.training(f, symbol)
        if data is None:
            return self._without_model(f, symbol, previous)
        clock = FitClock.start()
        model = MODEL_KINDS[self.kind].fit(
            dict(self.params),
            *data,
            seed=seed_for(self.seed, f, symbol),
            init_model=previous,
            estimator=self.estimator,
        )
        return model, self.predicted(model, f, symbol, clock.stop())

    def predicted(self, model: Any, f: int, symbol: str, fit: FitClock) -> tuple[TaskResult, bytes | None]:
        """Task (f, symbol)'s result: `model` (fitted as `fit` measured) predicts the task's test rows."""
        kind = MODEL_KINDS[self.kind]
        t1, cpu1 = time.perf_counter(), time.thread_time()
        rows, X_test = self._test(symbol, f)
        pred = kind.predict(model, X_test)
        w2, t2 = wall_clock(), time.perf_counter()
        result = TaskResult(
            rows=rows if self.row_index is None else self.row_index[rows],
            prediction=pred,
            importance=kind.importance(model, self.matrix.X.shape[1]),
            fit_seconds=fit.seconds,
            predict_seconds=t2 - t1,
            cpu_seconds=fit.cpu + time.thread_time() - cpu1,
            fit_start=fit.wall_start,
            fit_end=fit.wall_end,
            predict_end=w2,
        )
        result.pid, result.peak_rss_mb = process_peak()
        return result, kind.dump(model) if self.keep_models else None

    def for_task(self, task: tuple[int, str]) -> FoldJob:
        """This job cut to the rows `task` reads, in the same order: its fold's training and test windows and, for one
        asset's model, that asset's rows of them. The cut job runs `task` (and only it) to the same result, its rows
        mapped back to the whole matrix's."""
        f, symbol = task
        folds = self.predicted_folds(f)
        (a, b), c, d = self.offsets.train[f], self.offsets.test[folds[0]][0], self.offsets.test[folds[-1]][1]
        lo, hi = int(min(a, c)), int(max(b, d))
        rows = np.arange(lo, hi)
        if symbol != UNIFIED_SYMBOL:
            rows = rows[self.matrix.symbol[lo:hi] == self.matrix.symbols.index(symbol)]
        take = slice(lo, hi) if symbol == UNIFIED_SYMBOL else rows  # one window: views, pickled as their rows only
        at = lambda offsets: np.searchsorted(rows, offsets, side="left").astype(np.int64)  # noqa: E731
        offsets = replace(self.offsets, train=at(self.offsets.train), test=at(self.offsets.test))
        index = rows if self.row_index is None else self.row_index[rows]
        return replace(
            self,
            matrix=self.matrix.take(take),
            offsets=offsets,
            traded=self.traded[take],
            member=self.member[take],
            row_index=index,
        )

    def _without_model(self, f: int, symbol: str, previous: Any) -> tuple[Any, tuple[TaskResult, bytes | None]]:
        """No complete, unpurged training row (methodology §3). Per asset: no model in this fold, so no prediction and
        no importance, and a warm-start chain carries its previous model over the fold. Unified: an error."""
        if symbol == UNIFIED_SYMBOL:
            fd = self.folds[f]
            raise DataError(
                f"fold {f} (train {fd.train_start}..{fd.train_end}, assets {symbol}) has no complete training "
                "rows; raise --fold-length or move --start-date later"
            )
        nothing = np.array([], dtype=np.float64)
        result = TaskResult(np.array([], dtype=np.int64), nothing, nothing, 0.0, 0.0, 0.0)
        result.pid, result.peak_rss_mb = process_peak()
        keep = self.keep_models and previous is not None
        return previous, (result, MODEL_KINDS[self.kind].dump(previous) if keep else None)
