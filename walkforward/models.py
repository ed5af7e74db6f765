"""Fit and predict one fold's model (docs/methodology.md §3). Every model runs single-threaded.

Model libraries are imported on first use, so a LightGBM run never imports scikit-learn.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from walkforward.config import FOREST_ESTIMATOR, resolve_estimator
from walkforward.imports import import_hiding


def import_model_library(kind: str, estimator: str | None = None) -> None:
    """Import what the model needs up front, outside the fit timer and before worker threads start."""
    if kind == "lightgbm":
        import_hiding("lightgbm")
    else:
        resolve_estimator(estimator or FOREST_ESTIMATOR)


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
    estimator: str | None = None,
) -> Any:
    """Fit a model of `kind` on (X, y); with `init_model`, continue it (warm start)."""
    if kind == "lightgbm":
        lgb = import_hiding("lightgbm")
        lgb_params, rounds = lightgbm_params(params, seed)
        data = lgb.Dataset(X, label=y, free_raw_data=True)
        return lgb.train(lgb_params, data, num_boost_round=rounds, init_model=init_model)
    # random_forest is the scikit-learn estimator RandomForestRegressor with walkforward's defaults
    cls = resolve_estimator(estimator or FOREST_ESTIMATOR)
    accepted = set(cls._get_param_names())
    fixed = {k: v for k, v in (("random_state", seed), ("n_jobs", 1)) if k in accepted}
    if init_model is None:
        model = cls(**params, **fixed)
    else:  # warm start: continue a copy; ensembles grow by the configured number of estimators
        model = copy.deepcopy(init_model)
        grow = {}
        if "n_estimators" in accepted:
            grow["n_estimators"] = init_model.n_estimators + int(params.get("n_estimators", cls().n_estimators))
        model.set_params(warm_start=True, **grow, **{k: v for k, v in fixed.items() if k == "random_state"})
    return model.fit(X, y)


def predict(kind: str, model: Any, X: np.ndarray) -> np.ndarray:
    if len(X) == 0:
        return np.empty(0, dtype=np.float64)
    return np.asarray(model.predict(X), dtype=np.float64).reshape(len(X))


def importance(kind: str, model: Any, n_features: int) -> np.ndarray:
    """LightGBM total gain; tree ensembles' impurity importance; linear models' |coef|; else NaN."""
    if kind == "lightgbm":
        return np.asarray(model.feature_importance(importance_type="gain"), dtype=np.float64)
    if hasattr(model, "feature_importances_"):
        return np.asarray(model.feature_importances_, dtype=np.float64)
    if hasattr(model, "coef_"):
        return np.abs(np.asarray(model.coef_, dtype=np.float64)).reshape(-1)[:n_features]
    return np.full(n_features, np.nan)
