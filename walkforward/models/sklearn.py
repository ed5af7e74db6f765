"""scikit-learn models: `random_forest` (RandomForestRegressor with walkforward's defaults) and `sklearn`, any
scikit-learn-compatible regressor named by import path (`model.estimator`)."""

from __future__ import annotations

import copy
import importlib
from typing import Any

import numpy as np

from walkforward.errors import ConfigError, did_you_mean
from walkforward.models.base import ModelKind

FOREST_ESTIMATOR = "sklearn.ensemble.RandomForestRegressor"
# set by walkforward for every scikit-learn estimator: the fold seed, and one thread
FIXED_ESTIMATOR_PARAMS = ("random_state", "n_jobs")
RANDOM_FOREST_PARAMS = (
    "n_estimators",
    "max_depth",
    "min_samples_split",
    "min_samples_leaf",
    "max_features",
    "max_leaf_nodes",
    "min_impurity_decrease",
    "bootstrap",
    "max_samples",
    "criterion",
    "ccp_alpha",
)


def resolve_estimator(path: str) -> type:
    """The class at import path `path` ("sklearn.linear_model.Ridge"), checked to be a regressor we can drive."""
    module_name, _, name = str(path).rpartition(".")
    if not module_name:
        raise ConfigError(f"model.estimator must be an import path like 'sklearn.linear_model.Ridge', got {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"model.estimator {path!r}: cannot import {module_name!r} ({exc}); check the path or install the package"
        ) from None
    cls = getattr(module, name, None)
    if cls is None:
        public = [n for n in dir(module) if not n.startswith("_")]
        raise ConfigError(f"model.estimator {path!r}: {module_name!r} has no {name!r}.{did_you_mean(name, public)}")
    if not (isinstance(cls, type) and all(hasattr(cls, a) for a in ("fit", "predict", "_get_param_names"))):
        raise ConfigError(
            f"model.estimator {path!r} is not a scikit-learn-compatible regressor class "
            "(it needs fit, predict and get_params); name an estimator class"
        )
    return cls


class SklearnModel(ModelKind):
    """Any scikit-learn regressor by import path; the fold seed and one thread where it takes them."""

    name = "sklearn"
    defaults: dict[str, Any] = {}
    takes_estimator = True

    def accepted_params(self, estimator: str | None, warm_start: bool) -> tuple[str, ...]:
        if not estimator:
            raise ConfigError(
                "model.kind 'sklearn' needs model.estimator, an import path like 'sklearn.linear_model.Ridge'"
            )
        accepted = resolve_estimator(estimator)._get_param_names()
        if warm_start and "warm_start" not in accepted:
            raise ConfigError(
                f"model.estimator {estimator!r} cannot warm-start (it has no warm_start parameter); "
                "set model.warm_start to false"
            )
        return tuple(p for p in accepted if p not in FIXED_ESTIMATOR_PARAMS)

    def estimator_class(self, estimator: str | None) -> type:
        return resolve_estimator(estimator or FOREST_ESTIMATOR)

    def prepare(self, estimator: str | None) -> None:
        self.estimator_class(estimator)

    def fit(
        self, params: dict[str, Any], X: np.ndarray, y: np.ndarray, *, seed: int, init_model: Any, estimator: str | None
    ) -> Any:
        cls = self.estimator_class(estimator)
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


class RandomForestModel(SklearnModel):
    """scikit-learn's RandomForestRegressor with walkforward's defaults."""

    name = "random_forest"
    defaults = {"n_estimators": 100, "max_depth": 10}
    takes_estimator = False

    def accepted_params(self, estimator: str | None, warm_start: bool) -> tuple[str, ...]:  # noqa: ARG002
        return RANDOM_FOREST_PARAMS

    def estimator_class(self, estimator: str | None) -> type:  # noqa: ARG002
        return resolve_estimator(FOREST_ESTIMATOR)
