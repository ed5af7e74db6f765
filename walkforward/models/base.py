"""What a model kind provides: validation of its parameters, fit, predict, importance and its exact state."""

from __future__ import annotations

import pickle
from collections.abc import Hashable
from typing import Any

import numpy as np


class ModelKind:
    """A model family. Subclasses set `name` and `defaults` and implement `accepted_params`, `prepare` and `fit`;
    the rest has scikit-learn's defaults (predict, importance from `feature_importances_` or `coef_`, pickle)."""

    name: str = ""
    defaults: dict[str, Any] = {}
    takes_estimator = False  # model.estimator (an import path) applies

    def accepted_params(self, estimator: str | None, warm_start: bool) -> tuple[str, ...]:
        """The keys `model.params` may hold; raises ConfigError when the estimator or warm start does not fit."""
        raise NotImplementedError

    def check_params(self, params: dict[str, Any], estimator: str | None) -> None:  # noqa: ARG002
        """Raise ConfigError for a value of `params` (accepted keys, defaults merged) that the model would refuse.
        The default checks nothing: the model's own fit reports it."""
        return

    def prepare(self, estimator: str | None) -> None:
        """Import the model library up front (outside the fit timer, before worker threads start)."""
        raise NotImplementedError

    def fit(
        self, params: dict[str, Any], X: np.ndarray, y: np.ndarray, *, seed: int, init_model: Any, estimator: str | None
    ) -> Any:
        """Fit on (X, y), one thread, seeded; with `init_model`, continue it (warm start)."""
        raise NotImplementedError

    def share_key(self, params: dict[str, Any], seed: int, estimator: str | None) -> Hashable | None:  # noqa: ARG002
        """Fits on the same (X, y) whose keys are equal and not None may share their preprocessing (`fit_shared`).
        None, the default: never share."""
        return None

    def fit_shared(
        self, params_list: list[dict[str, Any]], X: np.ndarray, y: np.ndarray, *, seed: int, estimator: str | None
    ) -> list[Any]:
        """One model per params on the same (X, y) and seed, no warm start, each the model `fit` would give; the
        caller passes only params with equal `share_key`s. The default: one `fit` each."""
        return [self.fit(params, X, y, seed=seed, init_model=None, estimator=estimator) for params in params_list]

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.empty(0, dtype=np.float64)
        return np.asarray(model.predict(X), dtype=np.float64).reshape(len(X))

    def importance(self, model: Any, n_features: int) -> np.ndarray:
        """Tree ensembles' impurity importance; linear models' |coef|; else NaN."""
        if hasattr(model, "feature_importances_"):
            return np.asarray(model.feature_importances_, dtype=np.float64)
        if hasattr(model, "coef_"):
            return np.abs(np.asarray(model.coef_, dtype=np.float64)).reshape(-1)[:n_features]
        return np.full(n_features, np.nan)

    def dump(self, model: Any) -> bytes:
        """The model's exact state, for checkpoints."""
        return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, state: bytes) -> Any:
        return pickle.loads(state)  # noqa: S301 - our own checkpoint, written atomically by this run
