"""Validation of `features.cross_section`: the features ranked and z-scored per date (methodology §2)."""

from __future__ import annotations

from typing import Any

from walkforward.config.parse import check_keys, parse_float, parse_int
from walkforward.config.schema import CrossSection
from walkforward.errors import ConfigError, did_you_mean

KEYS = ("rank", "zscore", "min_assets", "winsorize")
EXAMPLE = '{"rank": ["ret_20"], "zscore": ["volume_z_20"], "min_assets": 5}'


def cross_section(raw: Any, known: tuple[str, ...]) -> CrossSection:
    """`raw` checked against the configured feature columns `known`: each listed name must be one of them."""
    if not isinstance(raw, dict):
        raise ConfigError(f"features.cross_section must be an object like {EXAMPLE}, got {raw!r}")
    check_keys(raw, KEYS, "in features.cross_section: ")
    lists = {key: _names(raw.get(key, []), f"features.cross_section.{key}", known) for key in ("rank", "zscore")}
    d = CrossSection()
    winsorize = raw.get("winsorize", d.winsorize)
    if winsorize is not None:
        winsorize = parse_float(winsorize, "features.cross_section.winsorize")
        if winsorize <= 0:
            raise ConfigError(
                f"features.cross_section.winsorize must be a number of standard deviations > 0 (like 3) or null, "
                f"got {winsorize}"
            )
    return CrossSection(
        rank=lists["rank"],
        zscore=lists["zscore"],
        min_assets=parse_int(raw.get("min_assets", d.min_assets), "features.cross_section.min_assets", 1),
        winsorize=winsorize,
    )


def _names(value: Any, key: str, known: tuple[str, ...]) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key} must be a list of feature names like ['ret_20'], got {value!r}")
    for name in value:
        if name not in known:
            raise ConfigError(
                f"{key} names {name!r}, which is not a configured feature.{did_you_mean(name, known)} "
                f"Configured: {', '.join(known)}"
            )
    if len(set(value)) != len(value):
        twice = sorted({v for v in value if value.count(v) > 1})
        raise ConfigError(f"{key} lists {', '.join(twice)} more than once; list each feature once")
    return tuple(value)
