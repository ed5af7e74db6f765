"""Fit, predict and explain one model (methodology §3): LightGBM, a random forest or any scikit-learn
regressor named by import path, one thread.

`fit` optionally continues a previous model of the same chain (warm start): LightGBM passes it as
`init_model` and adds `n_estimators` rounds; the forest is copied and grows `n_estimators` trees
more.
"""

from __future__ import annotations

import copy
import importlib
from typing import Any

import lightgbm as lgb
import numpy as np
from sklearn.ensemble import RandomForestRegressor

from walkforward.config import Config

Model = Any  # a LightGBM Booster or a scikit-learn regressor


def estimator_class(path: str) -> type:
    """The class at an import path the config has already checked ("sklearn.linear_model.Ridge")."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def lightgbm_params(config_params: dict[str, Any], seed: int) -> tuple[dict[str, Any], int]:
    """LightGBM's params (walkforward's fixed settings plus the configured ones) and its rounds."""
    params = {k: v for k, v in config_params.items() if k != "n_estimators"}
    fixed = {
        "objective": "regression",
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "seed": seed,
        "verbose": -1,
    }
    return {**fixed, **params}, int(config_params["n_estimators"])


def fit(
    config: Config,
    X: np.ndarray,
    y: np.ndarray,
    *,
    seed: int,
    previous: Model | None = None,
) -> Model:
    """Fit `config.model.kind` on `X` (float64, features in `config.feature_names` order), `y`."""
    params = config.model.params_dict
    if config.model.kind == "lightgbm":
        lgb_params, rounds = lightgbm_params(params, seed)
        data = lgb.Dataset(X, label=y, feature_name=list(config.feature_names), params=lgb_params)
        return lgb.train(lgb_params, data, num_boost_round=rounds, init_model=previous)

    if config.model.kind == "random_forest":
        n_estimators = int(params["n_estimators"])
        if previous is None:
            forest = RandomForestRegressor(**{**params, "random_state": seed, "n_jobs": 1})
        else:
            forest = copy.deepcopy(previous)
            forest.set_params(
                warm_start=True,
                n_estimators=previous.n_estimators + n_estimators,
                random_state=seed,
            )
        return forest.fit(X, y)

    # any scikit-learn regressor by import path: the fold seed and one thread where it takes them
    cls = estimator_class(config.model.estimator)
    names = cls().get_params()
    if previous is None:
        settings = dict(params)
        if "random_state" in names:
            settings["random_state"] = seed
        if "n_jobs" in names:
            settings["n_jobs"] = 1
        return cls(**settings).fit(X, y)
    model = copy.deepcopy(previous)
    changes: dict[str, Any] = {"warm_start": True}
    if "n_estimators" in names:
        changes["n_estimators"] = previous.n_estimators + int(params.get("n_estimators", names["n_estimators"]))
    if "random_state" in names:
        changes["random_state"] = seed
    model.set_params(**changes)
    return model.fit(X, y)


def predict(model: Model, X: np.ndarray) -> np.ndarray:
    """Predictions for the rows of `X` (float64)."""
    return np.asarray(model.predict(X), dtype=np.float64).ravel()


def importance(model: Model) -> np.ndarray:
    """Feature importance in feature order: LightGBM total gain, forest impurity importance."""
    if isinstance(model, lgb.Booster):
        return np.asarray(model.feature_importance(importance_type="gain"), dtype=np.float64)
    if hasattr(model, "feature_importances_"):
        return np.asarray(model.feature_importances_, dtype=np.float64)
    if hasattr(model, "coef_"):  # linear models: the size of each coefficient
        return np.abs(np.ravel(model.coef_)).astype(np.float64)
    return np.full(model.n_features_in_, np.nan)
