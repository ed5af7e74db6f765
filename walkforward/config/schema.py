"""The sections of the run configuration as frozen dataclasses, and the constants they are validated against.

The kinds a config may name (features, targets, models, portfolios, executors) come from each stage's registry.
"""

from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from walkforward.config.custom import CustomFeature
from walkforward.features.registry import FEATURE_KINDS
from walkforward.features.targets import VOL_WINDOW
from walkforward.models.registry import MODEL_KINDS

SCOPES = ("unified", "per_asset")
WEIGHTINGS = ("available", "equal")
AUTO = "auto"  # annualization: periods per year from the rows the series has
WINDOWS = ("rolling", "expanding")
ENGINES = ("polars", "legacy")
PRICE_COLUMNS = ("close", "adj_close")
UNIFIED_SYMBOL = "*"
# what people may call an engine, for the hint of an unknown `engine` (difflib would suggest 'polars' for 'pandas')
ENGINE_ALIASES = {"pandas": "legacy"}
MIN_ASSETS = 5  # a date with fewer non-null values in its cross-section gives a missing cross-sectional value


def _default_windows() -> tuple[tuple[str, tuple[int, ...]], ...]:
    return tuple((name, kind.default) for name, kind in FEATURE_KINDS.items())


@dataclass(frozen=True)
class CrossSection:
    """`features.cross_section`: the features ranked and z-scored per date across the traded universe (§2)."""

    rank: tuple[str, ...] = ()  # adds `<feature>_csrank`
    zscore: tuple[str, ...] = ()  # adds `<feature>_cszscore`
    min_assets: int = MIN_ASSETS  # also the cs_rank target's
    winsorize: float | None = None  # clip the z-score to [-winsorize, winsorize]

    @property
    def names(self) -> tuple[str, ...]:
        """The columns it adds: every rank, then every z-score, in listed order."""
        return (*(f"{n}_csrank" for n in self.rank), *(f"{n}_cszscore" for n in self.zscore))

    def to_dict(self) -> dict[str, Any]:
        return {
            "rank": list(self.rank),
            "zscore": list(self.zscore),
            "min_assets": self.min_assets,
            "winsorize": self.winsorize,
        }


@dataclass(frozen=True)
class Features:
    """The windows of every feature kind (registry order; an empty tuple leaves the kind out), then the custom
    features (config/custom.py) in config order, then the cross-sectional transforms."""

    windows: tuple[tuple[str, tuple[int, ...]], ...] = field(default_factory=_default_windows)
    custom: tuple[CustomFeature, ...] = ()
    cross_section: CrossSection = field(default_factory=CrossSection)

    def of(self, kind: str) -> tuple[int, ...]:
        """The windows of one kind (`features.of("ret") == (1, 5, 20)`)."""
        return dict(self.windows).get(kind, ())

    @property
    def per_asset_names(self) -> tuple[str, ...]:
        """The per-asset features' column names: the kinds in registry order, then the custom features."""
        builtin = tuple(FEATURE_KINDS[kind].column(n) for kind, ws in self.windows for n in ws)
        return builtin + tuple(c.name for c in self.custom)

    @property
    def names(self) -> tuple[str, ...]:
        """Feature column names in the order the model sees them: per asset, then cross-sectional."""
        return (*self.per_asset_names, *self.cross_section.names)

    def to_dict(self) -> dict[str, Any]:
        """`{kind: windows}` (kinds out of the default run and not chosen left out), `custom` as given (a pl.Expr given
        in Python stays one; run.json writes its text) and `cross_section`, when set."""
        out: dict[str, Any] = {k: list(v) for k, v in self.windows if v or FEATURE_KINDS[k].default}
        if self.custom:
            out["custom"] = [c.given() for c in self.custom]
        if self.cross_section != CrossSection():
            out["cross_section"] = self.cross_section.to_dict()
        return out

    @property
    def max_window(self) -> int:
        return max((n for _, ws in self.windows for n in ws), default=1)


@dataclass(frozen=True)
class Model:
    kind: str = "lightgbm"
    scope: str = "unified"
    warm_start: bool = False
    estimator: str | None = None  # import path of a scikit-learn-compatible regressor, for kind "sklearn"
    params: tuple[tuple[str, Any], ...] = tuple(sorted(MODEL_KINDS["lightgbm"].defaults.items()))  # as validated

    @property
    def params_dict(self) -> dict[str, Any]:
        return dict(self.params)


@dataclass(frozen=True)
class Target:
    kind: str = "return"
    vol_window: int = VOL_WINDOW  # rows of trailing volatility, for kind "vol_scaled"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **({"vol_window": self.vol_window} if self.kind == "vol_scaled" else {})}


@dataclass(frozen=True)
class Strategy:
    kind: str = "threshold"
    lag: int = 0  # sessions between the signal's close and the fill
    weighting: str = "available"  # 1/N_t over the available assets, or "equal": 1/N of the configured ones
    flat_between_folds: bool = False  # every fold ends flat and starts flat
    long_threshold: float = 0.0
    short_threshold: float = 0.0
    allow_short: bool = True
    cost_bps: float = 5.0  # per side: charged on every unit of weight bought or sold
    # the cross-sectional kinds (topk, rank_weighted; methodology §4.1)
    k: float | None = None  # topk: names per leg, a count (int) or a fraction in (0, 1) of the available ones
    n_drop: int | None = None  # topk: at most this many names replaced per leg and rebalance (None: no cap)
    gross: float = 1.0  # gross exposure of the book
    rebalance_every: int = 1  # dates between rebalances; targets are held in between
    long_only: bool = False  # the short leg is empty


def available_cores() -> int:
    """Cores this process may run on (affinity-aware), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def seed_for(seed: int, fold: int, symbol: str) -> int:
    """The model seed of (seed, fold, symbol): independent of execution order. Unified models use '*'."""
    words = np.random.SeedSequence([seed, fold, zlib.crc32(symbol.encode())]).generate_state(1)
    return int(words[0]) % (2**31 - 1)
