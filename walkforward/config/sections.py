"""Validation of the config's sections (features, target, model, strategy) against the stages' registries."""

from __future__ import annotations

import dataclasses
from typing import Any

from walkforward.config.crosssection import cross_section
from walkforward.config.custom import parse_custom
from walkforward.config.parse import check_keys, parse_bool, parse_choice, parse_float, parse_int
from walkforward.config.portfolio import cross_sectional
from walkforward.config.schema import SCOPES, WEIGHTINGS, Features, Model, Strategy, Target
from walkforward.errors import ConfigError, did_you_mean
from walkforward.features.registry import FEATURE_KINDS
from walkforward.features.targets import TARGETS
from walkforward.models.registry import MODEL_KINDS
from walkforward.models.sklearn import FIXED_ESTIMATOR_PARAMS
from walkforward.portfolio.registry import PORTFOLIOS


def features(raw: Any) -> Features:
    if not isinstance(raw, dict):
        raise ConfigError(f"features must be an object like {{'ret': [1, 5, 20]}}, got {raw!r}")
    check_keys(raw, (*FEATURE_KINDS, "custom", "cross_section"), "in features: ")
    windows = []
    for name, kind in FEATURE_KINDS.items():
        listed = raw.get(name, kind.default)
        if not isinstance(listed, list | tuple):
            raise ConfigError(f"features.{name} must be a list of window lengths, got {listed!r}")
        windows.append((name, tuple(parse_int(w, f"features.{name} window", kind.minimum) for w in listed)))
    out = Features(tuple(windows))
    out = dataclasses.replace(out, custom=parse_custom(raw.get("custom"), out.names))
    out = dataclasses.replace(out, cross_section=cross_section(raw.get("cross_section", {}), out.per_asset_names))
    if not out.names:
        raise ConfigError("features selects no feature; list at least one window in features")
    return out


def target(raw: Any) -> Target:
    if not isinstance(raw, dict):
        raise ConfigError(f"target must be an object like {{'kind': 'return'}}, got {raw!r}")
    check_keys(raw, ("kind", "vol_window"), "in target: ")
    kind = parse_choice(raw.get("kind", Target().kind), "target.kind", tuple(TARGETS))
    if "vol_window" in raw and not TARGETS[kind].uses_vol_window:
        raise ConfigError(f"target.vol_window is for target.kind 'vol_scaled' (kind is {kind!r}); remove it")
    return Target(kind=kind, vol_window=parse_int(raw.get("vol_window", Target().vol_window), "target.vol_window", 2))


def model(raw: Any) -> Model:
    if not isinstance(raw, dict):
        raise ConfigError(f"model must be an object with kind and params, got {raw!r}")
    check_keys(raw, ("kind", "scope", "warm_start", "estimator", "params"), "in model: ")
    name = parse_choice(raw.get("kind", "lightgbm"), "model.kind", tuple(MODEL_KINDS))
    kind = MODEL_KINDS[name]
    params = raw.get("params", {}) or {}
    if not isinstance(params, dict):
        raise ConfigError(f"model.params must be an object, got {params!r}")
    warm_start = parse_bool(raw.get("warm_start", False), "model.warm_start")
    estimator = raw.get("estimator")
    if estimator is not None and not kind.takes_estimator:
        raise ConfigError(f"model.estimator is only for model.kind 'sklearn' (kind is {name!r}); remove it")
    known = kind.accepted_params(estimator, warm_start)
    for key in params:
        if key not in known:
            fixed = " walkforward sets it." if key in FIXED_ESTIMATOR_PARAMS else did_you_mean(key, known)
            raise ConfigError(f"unknown {name} parameter {key!r} in model.params.{fixed} Known: {', '.join(known)}")
    merged = {**kind.defaults, **params}
    if "n_estimators" in merged:
        parse_int(merged["n_estimators"], "model.params.n_estimators", 1)
    kind.check_params(merged, estimator)
    return Model(
        kind=name,
        scope=parse_choice(raw.get("scope", "unified"), "model.scope", SCOPES),
        warm_start=warm_start,
        estimator=estimator,
        params=tuple(sorted(merged.items())),
    )


def strategy(raw: Any) -> Strategy:
    if not isinstance(raw, dict):
        raise ConfigError(f"strategy must be an object, got {raw!r}")
    names = tuple(f.name for f in dataclasses.fields(Strategy))
    check_keys(raw, names, "in strategy: ")
    d = Strategy()
    kind = parse_choice(raw.get("kind", d.kind), "strategy.kind", tuple(PORTFOLIOS))
    out = Strategy(
        kind=kind,
        long_threshold=parse_float(raw.get("long_threshold", d.long_threshold), "strategy.long_threshold"),
        short_threshold=parse_float(raw.get("short_threshold", d.short_threshold), "strategy.short_threshold"),
        allow_short=parse_bool(raw.get("allow_short", d.allow_short), "strategy.allow_short"),
        cost_bps=parse_float(raw.get("cost_bps", d.cost_bps), "strategy.cost_bps"),
        lag=parse_int(raw.get("lag", d.lag), "strategy.lag", 0),
        weighting=parse_choice(raw.get("weighting", d.weighting), "strategy.weighting", WEIGHTINGS),
        flat_between_folds=parse_bool(
            raw.get("flat_between_folds", d.flat_between_folds), "strategy.flat_between_folds"
        ),
        **cross_sectional(raw, kind),
    )
    if out.cost_bps < 0:
        raise ConfigError(f"strategy.cost_bps must be >= 0, got {out.cost_bps}")
    return out
