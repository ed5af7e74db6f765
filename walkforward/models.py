"""Fit and predict one fold's model (docs/methodology.md §3). Every model runs single-threaded.

Model libraries are imported on first use, so a LightGBM run never imports scikit-learn.
"""

from __future__ import annotations

import copy
import pickle
import threading
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


# LightGBM's native set-up (dataset construction, booster creation, model (de)serialisation, prediction) is not
# safe to run from several threads at once: one large oversubscribed bench run (100 assets, 4 threads on 2 cores)
# segfaulted inside lib_lightgbm.so, and LightGBM's maintainers document races around booster and predictor
# initialisation. The boosting iterations, where the time goes, run concurrently; everything else takes this lock.
_LIGHTGBM_NATIVE = threading.Lock()


def train_lightgbm(params: dict[str, Any], X: np.ndarray, y: np.ndarray, rounds: int, init_model: Any) -> Any:
    """`lightgbm.train(params, Dataset(X, y), rounds, init_model=...)` step by step, as lightgbm.engine.train does it
    without validation sets or callbacks (the same native calls in the same order: the same model, bit for bit),
    with the native set-up serialised and the boosting iterations left parallel."""
    lgb = import_hiding("lightgbm")
    with _LIGHTGBM_NATIVE:
        predictor = None
        if init_model is not None:
            predictor = lgb.basic._InnerPredictor.from_booster(
                booster=init_model, pred_parameter=dict(init_model.params, **params)
            )
        data = lgb.Dataset(X, label=y, free_raw_data=True)
        data._update_params(params)._set_predictor(predictor)
        try:
            booster = lgb.Booster(params=params, train_set=data)
        finally:
            data._reverse_update_params()
    for _ in range(rounds):
        booster.update()
    with _LIGHTGBM_NATIVE:
        booster.model_from_string(booster.model_to_string()).free_dataset()
    return booster


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
        lgb_params, rounds = lightgbm_params(params, seed)
        return train_lightgbm(lgb_params, X, y, rounds, init_model)
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
    if kind == "lightgbm":
        with _LIGHTGBM_NATIVE:
            return np.asarray(model.predict(X), dtype=np.float64).reshape(len(X))
    return np.asarray(model.predict(X), dtype=np.float64).reshape(len(X))


def importance(kind: str, model: Any, n_features: int) -> np.ndarray:
    """LightGBM total gain; tree ensembles' impurity importance; linear models' |coef|; else NaN."""
    if kind == "lightgbm":
        with _LIGHTGBM_NATIVE:
            return np.asarray(model.feature_importance(importance_type="gain"), dtype=np.float64)
    if hasattr(model, "feature_importances_"):
        return np.asarray(model.feature_importances_, dtype=np.float64)
    if hasattr(model, "coef_"):
        return np.abs(np.asarray(model.coef_, dtype=np.float64)).reshape(-1)[:n_features]
    return np.full(n_features, np.nan)


def dump_model(kind: str, model: Any) -> bytes:
    """A model's exact state: LightGBM's text format (floats round-trip), anything else pickled."""
    if kind == "lightgbm":
        with _LIGHTGBM_NATIVE:
            return model.model_to_string().encode()
    return pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)


def load_model(kind: str, state: bytes) -> Any:
    if kind == "lightgbm":
        with _LIGHTGBM_NATIVE:
            return import_hiding("lightgbm").Booster(model_str=state.decode())
    return pickle.loads(state)  # noqa: S301 - our own checkpoint, written atomically by this run
