"""A task is one (fold, symbol) model; `TaskResult` is what it produced. Symbol '*' is the unified model."""

from __future__ import annotations

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

    @property
    def fitted(self) -> bool:
        """False for a task skipped for want of training rows (methodology §3): no model, so no importances."""
        return len(self.importance) > 0
