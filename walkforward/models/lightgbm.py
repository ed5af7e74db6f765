"""LightGBM (`model.kind: lightgbm`): deterministic, one thread, the fold seed; public API only.

LightGBM's native set-up (dataset construction, booster creation, model (de)serialisation) runs under one lock: one
large oversubscribed bench run (100 assets, 4 threads on 2 cores) segfaulted inside lib_lightgbm.so, LightGBM's
maintainers document races around booster and predictor initialisation on a shared booster (LightGBM#6142), and
since 4.2 every native call that reads a config sets the process-wide thread count. The boosting iterations, where
the time goes, run concurrently, and so do prediction and importances: each worker predicts with its own booster,
which LightGBM's maintainers call thread-safe for different models (LightGBM#666). That narrowing was measured
(2 s of 32 on the 16-configuration wide sweep, no change on one wide run) after `python -m bench.lock_stress` ran
fits, continuations, reloads and predictions from 16 threads on 2 cores with no lock at all, bitwise equal to serial.
The set-up stays locked until the same script has run on many cores.

Dataset reuse (`fit_shared`): configurations whose `share_key` (the seed, `max_bin`, `min_data_in_leaf`) agree, on
the same (X, y), train on one constructed Dataset. Of our params, construction reads only those (bins on a sample
drawn with `data_random_seed`, which LightGBM derives from `seed`; the pre-filter of features that no split leaving
`min_data_in_leaf` rows a side can cut); the others are the booster's alone, so every model is bit for bit its own
`fit`'s. tests/test_dataset_reuse.py checks each accepted param both ways.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable
from typing import Any

import numpy as np

from walkforward.errors import ConfigError
from walkforward.models.base import ModelKind

# Parameters `model.params` accepts (besides `n_estimators`, the rounds). LightGBM's determinism settings
# (`deterministic`, `force_row_wise`, `num_threads`, `seed`) are set by walkforward.
LIGHTGBM_PARAMS = (
    "n_estimators",
    "learning_rate",
    "num_leaves",
    "max_depth",
    "min_data_in_leaf",
    "min_sum_hessian_in_leaf",
    "feature_fraction",
    "bagging_fraction",
    "bagging_freq",
    "lambda_l1",
    "lambda_l2",
    "min_gain_to_split",
    "max_bin",
    "objective",
    "extra_trees",
    "path_smooth",
)

# The accepted params LightGBM's Dataset construction reads (besides the seed): fits agreeing on them share one.
DATASET_PARAMS = ("max_bin", "min_data_in_leaf")

# What each accepted param must be (LightGBM's documented types and ranges), checked when the config is built, so a
# bad value is a one-line config error before anything runs, not LightGBM's fatal error inside the first fit:
# (type, lowest, whether the lowest is allowed, highest). `objective` is any name LightGBM knows (it has many aliases);
# `n_estimators` is checked for every kind (config/sections.py).
PARAM_RULES: dict[str, tuple[type, float | None, bool, float | None]] = {
    "learning_rate": (float, 0, False, None),
    "num_leaves": (int, 2, True, 131072),
    "max_depth": (int, None, True, None),  # <= 0: no limit
    "min_data_in_leaf": (int, 0, True, None),
    "min_sum_hessian_in_leaf": (float, 0, True, None),
    "feature_fraction": (float, 0, False, 1),
    "bagging_fraction": (float, 0, False, 1),
    "bagging_freq": (int, 0, True, None),
    "lambda_l1": (float, 0, True, None),
    "lambda_l2": (float, 0, True, None),
    "min_gain_to_split": (float, 0, True, None),
    "max_bin": (int, 2, True, None),
    "objective": (str, None, True, None),
    "extra_trees": (bool, None, True, None),
    "path_smooth": (float, 0, True, None),
}

NATIVE = threading.Lock()


def lightgbm_module() -> Any:
    """The lightgbm package, imported on first use, as any user would import it (it imports scikit-learn and pandas
    too, when they are installed: lightgbm's `compat` module loads them eagerly)."""
    import lightgbm

    return lightgbm


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


class _NativeSetUp:
    """Holds NATIVE from entry until `lightgbm.train` first calls it, which it does as a before-iteration callback:
    after its native set-up (the init model's predictions, dataset construction, booster creation, the merge of the
    init model's trees) and before the first `update()`. Lets the lock go on exit if it has not yet (errors)."""

    before_iteration = True  # lightgbm.train: call before each iteration's update(), not after

    def __enter__(self) -> _NativeSetUp:
        NATIVE.acquire()
        self._held = True
        return self

    def __call__(self, env: Any) -> None:  # noqa: ARG002
        self._release()

    def __exit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        if self._held:
            self._held = False
            NATIVE.release()


def train_lightgbm(params: dict[str, Any], X: np.ndarray, y: np.ndarray, rounds: int, init_model: Any) -> Any:
    """`lightgbm.train(params, Dataset(X, y), rounds, init_model=...)`, public API only, with the native set-up
    serialised under NATIVE and the boosting iterations left parallel; then the training data let go (as
    `lightgbm.train` does without `keep_training_booster`), under NATIVE too."""
    lgb = lightgbm_module()
    with _NativeSetUp() as set_up:
        booster = lgb.train(
            params,
            lgb.Dataset(X, label=y, free_raw_data=True),
            num_boost_round=rounds,
            init_model=init_model,
            keep_training_booster=True,
            callbacks=[set_up],
        )
    with NATIVE:
        booster.model_from_string(booster.model_to_string()).free_dataset()
    return booster


def train_lightgbm_shared(runs: list[tuple[dict[str, Any], int]], X: np.ndarray, y: np.ndarray) -> list[Any]:
    """One booster per `(params, rounds)` of `runs`, as `train_lightgbm` (no init model) trains each, on one
    `Dataset(X, y)`: the first `lightgbm.train` constructs it (binning, pre-filter, bundling), the others find it
    constructed and only create their booster on it. Each booster is reloaded from its text and lets the Dataset go
    as soon as it is trained; the Dataset is freed when all are, under NATIVE. `runs` must agree on every Dataset
    parameter (`LightGBMModel.share_key`): LightGBM refuses some changes ("Cannot change max_bin after constructed
    Dataset handle") and lets others through, silently keeping the Dataset's (a larger `min_data_in_leaf`, a seed)."""
    lgb = lightgbm_module()
    data = lgb.Dataset(X, label=y, free_raw_data=True)
    boosters = []
    try:
        for params, rounds in runs:
            with _NativeSetUp() as set_up:
                booster = lgb.train(
                    params, data, num_boost_round=rounds, keep_training_booster=True, callbacks=[set_up]
                )
            with NATIVE:
                boosters.append(booster.model_from_string(booster.model_to_string()).free_dataset())
    finally:
        with NATIVE:
            del data  # the last reference (after an error, a booster still training may hold one): freed here
    return boosters


def check_param(key: str, value: Any, kind: type, low: float | None, low_ok: bool, high: float | None) -> None:
    """Raise ConfigError, naming `model.params.<key>` and the value, unless `value` is of `kind` within its range."""
    name = f"model.params.{key}"
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        return
    if kind is str:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(
                f"{name} must be a LightGBM objective name such as 'regression' or 'huber', got {value!r}"
            )
        return
    number = (int,) if kind is int else (int, float)
    if isinstance(value, bool) or not isinstance(value, number) or not math.isfinite(value):
        what = "an integer" if kind is int else "a finite number"
        raise ConfigError(f"{name} must be {what}, got {value!r}")
    if low is not None and (value < low or (value == low and not low_ok)):
        raise ConfigError(f"{name} must be {'>=' if low_ok else '>'} {low}, got {value!r}")
    if high is not None and value > high:
        raise ConfigError(f"{name} must be <= {high}, got {value!r}")


class LightGBMModel(ModelKind):
    name = "lightgbm"
    defaults = {"n_estimators": 100, "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 20}

    def accepted_params(self, estimator: str | None, warm_start: bool) -> tuple[str, ...]:  # noqa: ARG002
        return LIGHTGBM_PARAMS

    def check_params(self, params: dict[str, Any], estimator: str | None) -> None:  # noqa: ARG002
        for key, value in params.items():
            if key in PARAM_RULES:
                check_param(key, value, *PARAM_RULES[key])

    def prepare(self, estimator: str | None) -> None:  # noqa: ARG002
        lightgbm_module()

    def fit(
        self, params: dict[str, Any], X: np.ndarray, y: np.ndarray, *, seed: int, init_model: Any, estimator: str | None
    ) -> Any:
        lgb_params, rounds = lightgbm_params(params, seed)
        return train_lightgbm(lgb_params, X, y, rounds, init_model)

    def share_key(self, params: dict[str, Any], seed: int, estimator: str | None) -> Hashable:  # noqa: ARG002
        """What LightGBM's Dataset construction reads of our params: the seed (LightGBM derives `data_random_seed`,
        which draws the rows bins are found on, from it), `max_bin` and `min_data_in_leaf` (with `feature_pre_filter`,
        LightGBM's default, features that no split leaving `min_data_in_leaf` rows a side can cut are dropped). An
        absent param keys as None, apart from an explicit default (safe; a sweep's trials mostly all set it or none)."""
        return ("lightgbm", seed, *(params.get(name) for name in DATASET_PARAMS))

    def fit_shared(  # noqa: ARG002
        self, params_list: list[dict[str, Any]], X: np.ndarray, y: np.ndarray, *, seed: int, estimator: str | None
    ) -> list[Any]:
        return train_lightgbm_shared([lightgbm_params(params, seed) for params in params_list], X, y)

    def predict(self, model: Any, X: np.ndarray) -> np.ndarray:
        if len(X) == 0:
            return np.empty(0, dtype=np.float64)
        # outside NATIVE: predicting with a booster no other thread uses is thread-safe (LightGBM#666; the known race,
        # LightGBM#6142, is in a predictor's set-up on a booster shared between threads, which wf never has).
        # num_threads=1: LightGBM's thread count is one value for the whole process (since 4.2), and a predict
        # without it would set it to every core for the boosters other threads are still training
        return np.asarray(model.predict(X, num_threads=1), dtype=np.float64).reshape(len(X))

    def importance(self, model: Any, n_features: int) -> np.ndarray:  # noqa: ARG002
        """Total gain per feature (read from this thread's own booster: outside NATIVE, as `predict`)."""
        return np.asarray(model.feature_importance(importance_type="gain"), dtype=np.float64)

    def dump(self, model: Any) -> bytes:
        """LightGBM's text format: floats round-trip exactly."""
        with NATIVE:
            return model.model_to_string().encode()

    def load(self, state: bytes) -> Any:
        with NATIVE:
            return lightgbm_module().Booster(model_str=state.decode())
