"""Fit and predict one fold's model (docs/methodology.md §3). Every model runs single-threaded.

Model libraries are imported on first use, so a LightGBM run never imports scikit-learn.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np


def lightgbm_params(params: dict[str, Any], seed: int) -> tuple[dict[str, Any], int]:
    """LightGBM training params (deterministic, one thread, the fold seed) and the number of rounds."""
    params = dict(params)
    rounds = int(params.pop("n_estimators"))
    fixed = {
        "objective": params.pop("objective", "regression"),
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "seed": seed,
        "verbose": -1,
    }
    return {**fixed, **params}, rounds


def fit(
    kind: str,
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    init_model: Any = None,
) -> Any:
    """Fit a model of `kind` on (X, y); with `init_model`, continue it (warm start)."""
    if kind == "lightgbm":
        import lightgbm as lgb

        lgb_params, rounds = lightgbm_params(params, seed)
        data = lgb.Dataset(X, label=y, free_raw_data=True)
        return lgb.train(lgb_params, data, num_boost_round=rounds, init_model=init_model)
    if kind == "random_forest":
        if init_model is None:
            from sklearn.ensemble import RandomForestRegressor

            model = RandomForestRegressor(**params, random_state=seed, n_jobs=1)
        else:
            model = copy.deepcopy(init_model)
            model.set_params(
                warm_start=True,
                n_estimators=init_model.n_estimators + int(params["n_estimators"]),
                random_state=seed,
            )
        return model.fit(X, y)
    raise ValueError(f"unknown model kind {kind!r}")  # Config validation makes this unreachable


def predict(kind: str, model: Any, X: np.ndarray) -> np.ndarray:
    if len(X) == 0:
        return np.empty(0, dtype=np.float64)
    return np.asarray(model.predict(X), dtype=np.float64)


def importance(kind: str, model: Any) -> np.ndarray:
    """LightGBM total gain per feature; the forest's impurity importance."""
    if kind == "lightgbm":
        return np.asarray(model.feature_importance(importance_type="gain"), dtype=np.float64)
    return np.asarray(model.feature_importances_, dtype=np.float64)
