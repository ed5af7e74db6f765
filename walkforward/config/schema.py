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


def _default_windows() -> tuple[tuple[str, tuple[int, ...]], ...]:
    return tuple((name, kind.default) for name, kind in FEATURE_KINDS.items())


@dataclass(frozen=True)
class Features:
    """The windows of every feature kind (registry order; an empty tuple leaves the kind out), then the custom
    features (config/custom.py) in config order."""

    windows: tuple[tuple[str, tuple[int, ...]], ...] = field(default_factory=_default_windows)
    custom: tuple[CustomFeature, ...] = ()

    def of(self, kind: str) -> tuple[int, ...]:
        """The windows of one kind (`features.of("ret") == (1, 5, 20)`)."""
        return dict(self.windows).get(kind, ())

    @property
    def names(self) -> tuple[str, ...]:
        """Feature column names in the order the model sees them."""
        builtin = tuple(FEATURE_KINDS[kind].column(n) for kind, ws in self.windows for n in ws)
        return builtin + tuple(c.name for c in self.custom)

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
