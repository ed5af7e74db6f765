"""Validation of the strategy keys that belong to one kind of portfolio: the threshold rule's and the cross-sectional
kinds' (methodology §4.1). A key of another kind is an error unless it keeps its default value (a config written
out in full, like the shipped one, names every key)."""

from __future__ import annotations

from typing import Any

from walkforward.config.parse import parse_bool, parse_float, parse_int
from walkforward.config.schema import Strategy
from walkforward.errors import ConfigError
from walkforward.portfolio.registry import CROSS_SECTIONAL

THRESHOLD_KEYS = ("long_threshold", "short_threshold", "allow_short", "weighting")
TOPK_KEYS = ("k", "n_drop")
CROSS_SECTION_KEYS = (*TOPK_KEYS, "gross", "rebalance_every", "long_only")
INSTEAD = {"allow_short": "long_only: true", "long_only": "allow_short: false"}  # the other kinds' way to say it


def cross_sectional(raw: dict[str, Any], kind: str) -> dict[str, Any]:
    """The cross-sectional fields of `Strategy` for `kind`, checked; the other kinds' keys must keep defaults."""
    d = Strategy()
    mine = {"threshold": THRESHOLD_KEYS, "topk": CROSS_SECTION_KEYS}.get(kind, CROSS_SECTION_KEYS[2:])
    for key in (*THRESHOLD_KEYS, *CROSS_SECTION_KEYS):
        if key not in mine and key in raw and raw[key] != getattr(d, key):
            users = "threshold" if key in THRESHOLD_KEYS else "topk" if key in TOPK_KEYS else ", ".join(CROSS_SECTIONAL)
            fix = f"set strategy.{INSTEAD[key]} instead" if key in INSTEAD else "remove it"
            raise ConfigError(f"strategy.{key} is for kind {users} (kind is {kind!r}); {fix}")
    out = {
        "k": parse_k(raw.get("k", d.k), kind),
        "n_drop": None if raw.get("n_drop") is None else parse_int(raw["n_drop"], "strategy.n_drop", 0),
        "gross": parse_float(raw.get("gross", d.gross), "strategy.gross"),
        "rebalance_every": parse_int(raw.get("rebalance_every", d.rebalance_every), "strategy.rebalance_every", 1),
        "long_only": parse_bool(raw.get("long_only", d.long_only), "strategy.long_only"),
    }
    if not out["gross"] > 0:
        raise ConfigError(f"strategy.gross must be > 0 (the book's gross exposure, 1.0 by default), got {out['gross']}")
    return out


def parse_k(value: Any, kind: str) -> float | None:
    """`k`: a count >= 1 or a fraction in (0, 1); required for topk."""
    if value is None:
        if kind == "topk":
            raise ConfigError(
                "strategy.k is required for kind 'topk': a count of names per leg like 10, or a fraction like 0.1"
            )
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return parse_int(value, "strategy.k", 1)
    k = parse_float(value, "strategy.k")
    if not 0 < k < 1:
        raise ConfigError(f"strategy.k must be a count >= 1 (an integer) or a fraction in (0, 1), got {value!r}")
    return k


def check_k(strategy: Strategy, n_assets: int) -> None:
    """A count `k` must leave room for both legs among the configured assets."""
    if strategy.kind != "topk" or strategy.k is None or strategy.k < 1:
        return
    room = n_assets if strategy.long_only else n_assets // 2
    if strategy.k > room:
        legs = "" if strategy.long_only else " (two legs: at most half the assets each)"
        raise ConfigError(
            f"strategy.k={int(strategy.k)} is more than the {room} names a leg can hold with {n_assets} assets{legs}; "
            "lower k or give a fraction like 0.2"
        )
