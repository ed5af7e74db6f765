"""Fit and predict one fold's model (docs/methodology.md §3). Every model runs single-threaded.

Model libraries are imported on first use, so a LightGBM run never imports scikit-learn.
"""

from __future__ import annotations

import copy
import importlib
import sys
from typing import Any

import numpy as np

# lightgbm's package imports scikit-learn, pandas and dask at import time, for its scikit-learn estimators and
# DataFrame inputs, and scikit-learn imports pandas. walkforward gives them numpy arrays only, so it imports them
# with those hidden: start-up drops from ~0.9 s to ~0.1 s and the Polars path never loads pandas.
_HIDDEN = {"lightgbm": ("sklearn", "pandas", "dask", "distributed"), "sklearn.ensemble": ("pandas",)}


def import_hiding(module: str) -> Any:
    """Import `module` while the optional packages it would pull in are hidden (unless already loaded)."""
    if module in sys.modules:
        return sys.modules[module]
    hidden = [name for name in _HIDDEN.get(module, ()) if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        return importlib.import_module(module)
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]


def import_model_library(kind: str) -> None:
    """Import what `kind` needs up front, outside the fit timer and before worker threads start."""
    import_hiding("lightgbm" if kind == "lightgbm" else "sklearn.ensemble")


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
        lgb = import_hiding("lightgbm")
        lgb_params, rounds = lightgbm_params(params, seed)
        data = lgb.Dataset(X, label=y, free_raw_data=True)
        return lgb.train(lgb_params, data, num_boost_round=rounds, init_model=init_model)
    if kind == "random_forest":
        if init_model is None:
            RandomForestRegressor = import_hiding("sklearn.ensemble").RandomForestRegressor  # noqa: N806
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
