"""Run configuration: JSON file + CLI overrides, validated in one place into a frozen `Config`.

Both engines read their settings from `Config`; nothing else parses user settings.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from walkforward.errors import ConfigError, did_you_mean

DEFAULT_CONFIG_PATH = Path(__file__).parent / "configs" / "default.json"

FEATURE_KINDS = ("ret", "sma_ratio", "rsi", "vol", "corr", "volume_z")
MODEL_KINDS = ("lightgbm", "random_forest", "sklearn")
FOREST_ESTIMATOR = "sklearn.ensemble.RandomForestRegressor"
# set by walkforward for every scikit-learn estimator: the fold seed, and one thread
FIXED_ESTIMATOR_PARAMS = ("random_state", "n_jobs")
SCOPES = ("unified", "per_asset")
WINDOWS = ("rolling", "expanding")
ENGINES = ("polars", "legacy")
EXECUTORS = ("threads", "processes", "dask")  # walkforward/execution.py
PRICE_COLUMNS = ("close", "adj_close")
UNIFIED_SYMBOL = "*"
# what people may call an engine, for the hint of an unknown `engine` (difflib would suggest 'polars' for 'pandas')
ENGINE_ALIASES = {"pandas": "legacy"}

# Parameters each model kind accepts in `model.params` (besides `n_estimators`). LightGBM's own
# determinism settings (`deterministic`, `force_row_wise`, `num_threads`, `seed`) are set by walkforward.
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
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "lightgbm": {
        "n_estimators": 100,
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_data_in_leaf": 20,
    },
    "random_forest": {"n_estimators": 100, "max_depth": 10},
    "sklearn": {},
}
MODEL_PARAMS = {"lightgbm": LIGHTGBM_PARAMS, "random_forest": RANDOM_FOREST_PARAMS}


@dataclass(frozen=True)
class Features:
    ret: tuple[int, ...] = (1, 5, 20)
    sma_ratio: tuple[int, ...] = (20, 50)
    rsi: tuple[int, ...] = (14,)
    vol: tuple[int, ...] = (20,)
    corr: tuple[int, ...] = (60,)
    volume_z: tuple[int, ...] = (20,)

    @property
    def names(self) -> tuple[str, ...]:
        """Feature column names in the order the model sees them."""
        return tuple(f"{kind}_{n}" for kind in FEATURE_KINDS for n in getattr(self, kind))

    @property
    def max_window(self) -> int:
        return max((n for kind in FEATURE_KINDS for n in getattr(self, kind)), default=1)


@dataclass(frozen=True)
class Model:
    kind: str = "lightgbm"
    scope: str = "unified"
    warm_start: bool = False
    estimator: str | None = None  # import path of a scikit-learn-compatible regressor, for kind "sklearn"
    params: tuple[tuple[str, Any], ...] = tuple(sorted(MODEL_DEFAULTS["lightgbm"].items()))  # as validation fills in

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True)
class Strategy:
    long_threshold: float = 0.0
    short_threshold: float = 0.0
    allow_short: bool = True
    cost_bps: float = 5.0


@dataclass(frozen=True)
class Config:
    data_dir: str = "data"
    assets: tuple[str, ...] = ("SPY", "AAPL", "TSLA", "GOOG", "BTC-USD")
    benchmark: str = "SPY"
    start_date: dt.date = dt.date(2015, 1, 1)
    end_date: dt.date = dt.date(2024, 12, 31)
    fold_length: int = 252
    step_size: int = 126
    embargo: int = 0
    window: str = "rolling"
    horizon: int = 5
    price_column: str = "close"
    features: Features = field(default_factory=Features)
    model: Model = field(default_factory=Model)
    strategy: Strategy = field(default_factory=Strategy)
    annualization: float = 252.0
    seed: int = 42
    engine: str = "polars"
    n_jobs: int | None = None
    executor: str = "threads"
    scheduler: str | None = None  # a Dask scheduler address, for executor "dask"
    output_dir: str = "results/latest"

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.features.names

    @property
    def symbols(self) -> tuple[str, ...]:
        """The assets, plus the benchmark when it is not traded (it is still read for `corr_n`)."""
        extra = () if self.benchmark in self.assets else (self.benchmark,)
        return self.assets + extra

    @property
    def resolved_n_jobs(self) -> int:
        return self.n_jobs if self.n_jobs is not None else available_cores()

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict; `Config.from_dict(c.to_dict()) == c`."""
        out = dataclasses.asdict(self)
        out["assets"] = list(self.assets)
        out["start_date"] = self.start_date.isoformat()
        out["end_date"] = self.end_date.isoformat()
        out["features"] = {k: list(v) for k, v in out["features"].items()}
        out["model"]["params"] = dict(self.model.params)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Config:
        return _build(raw)

    def replace(self, **changes: Any) -> Config:
        """A new validated config with keys changed (dotted keys reach into sections)."""
        return _build(apply_overrides(self.to_dict(), changes))


def available_cores() -> int:
    """Cores this process may run on (affinity-aware), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def load_config(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Config:
    """Read a JSON config (the shipped default when `path` is None) and apply non-None overrides.

    An override key may be dotted to reach into a section: `load_config(**{"model.warm_start": True})`.
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    if not path.exists():
        raise ConfigError(f"config file {str(path)!r} does not exist; pass --config with an existing JSON file")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a JSON object, got {type(raw).__name__}")
    return _build(apply_overrides(raw, overrides))


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of `raw` with the non-None `overrides` set; dotted keys set nested sections."""
    raw = json.loads(json.dumps(raw, default=str))
    for key, value in overrides.items():
        if value is None:
            continue
        *parents, leaf = key.split(".")
        node = raw
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return raw


def seed_for(seed: int, fold: int, symbol: str) -> int:
    """The model seed of (seed, fold, symbol): independent of execution order. Unified models use '*'."""
    words = np.random.SeedSequence([seed, fold, zlib.crc32(symbol.encode())]).generate_state(1)
    return int(words[0]) % (2**31 - 1)


# --- validation -------------------------------------------------------------------------------------


def _check_keys(raw: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in raw:
        if key not in known:
            raise ConfigError(f"unknown config key {where}{key!r}.{did_you_mean(key, known)}")


def _int(value: Any, name: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _text(value: Any, name: str) -> str:
    if value is None or not str(value).strip():
        raise ConfigError(f"{name} must be a non-empty string, got {value!r}")
    return str(value)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")
    return value


def parse_choice(value: Any, name: str, choices: tuple[str, ...], aliases: dict[str, str] | None = None) -> str:
    if value not in choices:
        alias = (aliases or {}).get(str(value))
        hint = f" Did you mean: {alias!r}?" if alias else did_you_mean(str(value), choices)
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}.{hint}")
    return value


def parse_date(value: Any, name: str) -> dt.date:
    if isinstance(value, dt.datetime):  # a datetime is a date too, but does not compare with one
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{name} must be a date as YYYY-MM-DD, got {value!r}") from None


def parse_symbols(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [s for s in value.split(",")]
    if not isinstance(value, list | tuple) or not value:
        raise ConfigError(f"{name} must be a non-empty list of symbols, got {value!r}")
    out = tuple(str(s).strip() for s in value)
    if any(not s for s in out):
        raise ConfigError(f"{name} has an empty symbol: {value!r}")
    if len(set(out)) != len(out):
        dupes = sorted({s for s in out if out.count(s) > 1})
        raise ConfigError(f"{name} lists {', '.join(dupes)} more than once; list each symbol once")
    return out


def _features(raw: Any) -> Features:
    if not isinstance(raw, dict):
        raise ConfigError(f"features must be an object like {{'ret': [1, 5, 20]}}, got {raw!r}")
    _check_keys(raw, FEATURE_KINDS, "in features: ")
    values = {}
    for kind in FEATURE_KINDS:
        windows = raw.get(kind, getattr(Features(), kind))
        if not isinstance(windows, list | tuple):
            raise ConfigError(f"features.{kind} must be a list of window lengths, got {windows!r}")
        minimum = 2 if kind in ("vol", "corr", "volume_z", "sma_ratio") else 1
        values[kind] = tuple(_int(w, f"features.{kind} window", minimum) for w in windows)
    out = Features(**values)
    if not out.names:
        raise ConfigError("features selects no feature; list at least one window in features")
    return out


def resolve_estimator(path: str) -> type:
    """The class at import path `path` ("sklearn.linear_model.Ridge"), checked to be a regressor we can drive."""
    from walkforward.imports import import_hiding

    module_name, _, name = str(path).rpartition(".")
    if not module_name:
        raise ConfigError(f"model.estimator must be an import path like 'sklearn.linear_model.Ridge', got {path!r}")
    try:
        module = import_hiding(module_name)
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


def _model(raw: Any) -> Model:
    if not isinstance(raw, dict):
        raise ConfigError(f"model must be an object with kind and params, got {raw!r}")
    _check_keys(raw, ("kind", "scope", "warm_start", "estimator", "params"), "in model: ")
    kind = parse_choice(raw.get("kind", "lightgbm"), "model.kind", MODEL_KINDS)
    params = raw.get("params", {}) or {}
    if not isinstance(params, dict):
        raise ConfigError(f"model.params must be an object, got {params!r}")
    warm_start = _bool(raw.get("warm_start", False), "model.warm_start")
    estimator = raw.get("estimator")
    if kind == "sklearn":
        if not estimator:
            raise ConfigError(
                "model.kind 'sklearn' needs model.estimator, an import path like 'sklearn.linear_model.Ridge'"
            )
        accepted = resolve_estimator(estimator)._get_param_names()
        known = tuple(p for p in accepted if p not in FIXED_ESTIMATOR_PARAMS)
        if warm_start and "warm_start" not in accepted:
            raise ConfigError(
                f"model.estimator {estimator!r} cannot warm-start (it has no warm_start parameter); "
                "set model.warm_start to false"
            )
    elif estimator is not None:
        raise ConfigError(f"model.estimator is only for model.kind 'sklearn' (kind is {kind!r}); remove it")
    else:
        known = MODEL_PARAMS[kind]
    for key in params:
        if key not in known:
            fixed = " walkforward sets it." if key in FIXED_ESTIMATOR_PARAMS else did_you_mean(key, known)
            raise ConfigError(f"unknown {kind} parameter {key!r} in model.params.{fixed} Known: {', '.join(known)}")
    merged = {**MODEL_DEFAULTS[kind], **params}
    if "n_estimators" in merged:
        _int(merged["n_estimators"], "model.params.n_estimators", 1)
    return Model(
        kind=kind,
        scope=parse_choice(raw.get("scope", "unified"), "model.scope", SCOPES),
        warm_start=warm_start,
        estimator=estimator,
        params=tuple(sorted(merged.items())),
    )


def _strategy(raw: Any) -> Strategy:
    if not isinstance(raw, dict):
        raise ConfigError(f"strategy must be an object, got {raw!r}")
    names = tuple(f.name for f in dataclasses.fields(Strategy))
    _check_keys(raw, names, "in strategy: ")
    d = Strategy()
    out = Strategy(
        long_threshold=_float(raw.get("long_threshold", d.long_threshold), "strategy.long_threshold"),
        short_threshold=_float(raw.get("short_threshold", d.short_threshold), "strategy.short_threshold"),
        allow_short=_bool(raw.get("allow_short", d.allow_short), "strategy.allow_short"),
        cost_bps=_float(raw.get("cost_bps", d.cost_bps), "strategy.cost_bps"),
    )
    if out.cost_bps < 0:
        raise ConfigError(f"strategy.cost_bps must be >= 0, got {out.cost_bps}")
    return out


def _build(raw: dict[str, Any]) -> Config:
    known = tuple(f.name for f in dataclasses.fields(Config))
    _check_keys(raw, known, "")
    d = Config()
    get = raw.get
    n_jobs = get("n_jobs", d.n_jobs)
    cfg = Config(
        data_dir=_text(get("data_dir", d.data_dir), "data_dir"),
        assets=parse_symbols(get("assets", list(d.assets)), "assets"),
        benchmark=_text(get("benchmark", d.benchmark), "benchmark").strip(),
        start_date=parse_date(get("start_date", d.start_date), "start_date"),
        end_date=parse_date(get("end_date", d.end_date), "end_date"),
        fold_length=_int(get("fold_length", d.fold_length), "fold_length", 1),
        step_size=_int(get("step_size", d.step_size), "step_size", 1),
        embargo=_int(get("embargo", d.embargo), "embargo", 0),
        window=parse_choice(get("window", d.window), "window", WINDOWS),
        horizon=_int(get("horizon", d.horizon), "horizon", 1),
        price_column=parse_choice(get("price_column", d.price_column), "price_column", PRICE_COLUMNS),
        features=_features(get("features", dataclasses.asdict(d.features))),
        model=_model(get("model", {})),
        strategy=_strategy(get("strategy", {})),
        annualization=_float(get("annualization", d.annualization), "annualization"),
        seed=_int(get("seed", d.seed), "seed", 0),
        engine=parse_choice(get("engine", d.engine), "engine", ENGINES, ENGINE_ALIASES),
        n_jobs=None if n_jobs is None else _int(n_jobs, "n_jobs", 1),
        executor=parse_choice(get("executor", d.executor), "executor", EXECUTORS),
        scheduler=None if get("scheduler") is None else _text(get("scheduler"), "scheduler").strip(),
        output_dir=_text(get("output_dir", d.output_dir), "output_dir"),
    )
    if cfg.scheduler is not None and cfg.executor != "dask":
        raise ConfigError(
            f"scheduler {cfg.scheduler!r} is for executor 'dask', but executor is {cfg.executor!r}; "
            "pass --executor dask or drop --scheduler"
        )
    if cfg.start_date > cfg.end_date:
        raise ConfigError(f"start_date {cfg.start_date} is after end_date {cfg.end_date}; swap them or fix one")
    if cfg.fold_length <= cfg.horizon:
        raise ConfigError(
            f"fold_length={cfg.fold_length} must be greater than horizon={cfg.horizon}: "
            "purging would leave no training rows; raise --fold-length or lower horizon"
        )
    if cfg.annualization <= 0:
        raise ConfigError(f"annualization must be > 0, got {cfg.annualization}")
    return cfg
