"""A task is one (fold, symbol) model; `TaskResult` is what it produced. Symbol '*' is the unified model.

A result also says when its model was fitted and predicted (`fit_start`, `fit_end`, `predict_end`: `time.time()`, a
clock every process of the machine reads alike, unlike each process's `perf_counter`) and which process ran it, with
that process's peak RSS so far (`pid`, `peak_rss_mb`), so the run measures its fit and predict stages over the tasks
of every executor (docs/methodology.md §6, run.json timings) and the bench counts worker processes' memory.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass

import numpy as np

Task = tuple[int, str]


@dataclass
class TaskResult:
    """What one (fold, symbol) model produced: row indices into the feature matrix and their predictions."""

    rows: np.ndarray  # int64
    prediction: np.ndarray  # float64
    importance: np.ndarray  # float64, one per feature
    fit_seconds: float
    predict_seconds: float
    cpu_seconds: float
    fit_start: float = 0.0  # time.time() when the fit began (0: no model, or not recorded)
    fit_end: float = 0.0  # ... when the fit ended and the prediction began
    predict_end: float = 0.0  # ... when the prediction ended
    pid: int = 0  # the process that ran the task; 0 when not known (loaded from a checkpoint)
    peak_rss_mb: float = 0.0  # that process's peak resident set size when the task ended (0: not known)

    @property
    def fitted(self) -> bool:
        """False for a task skipped for want of training rows (methodology §3): no model, so no importances."""
        return len(self.importance) > 0


def process_peak() -> tuple[int, float]:
    """(this process's id, its peak RSS in MB so far: `getrusage(RUSAGE_SELF).ru_maxrss`; 0 where not POSIX)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return os.getpid(), 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return os.getpid(), peak / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0)


def wall_clock() -> float:
    """The clock of the tasks' `fit_start`/`fit_end`/`predict_end`: `time.time()`, the same in every process."""
    return time.time()
