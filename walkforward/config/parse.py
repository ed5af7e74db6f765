"""Parsers for config values: each checks one value and names the key, the value and the fix when it is wrong."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from walkforward.errors import ConfigError, did_you_mean


def check_keys(raw: dict[str, Any], known: tuple[str, ...], where: str) -> None:
    for key in raw:
        if key not in known:
            hint = did_you_mean(key, known) or f" Known keys: {', '.join(known)}."
            raise ConfigError(f"unknown config key {where}{key!r}.{hint}")


def parse_int(value: Any, name: str, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def parse_float(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def parse_text(value: Any, name: str) -> str:
    if value is None or not str(value).strip():
        raise ConfigError(f"{name} must be a non-empty string, got {value!r}")
    return str(value)


def parse_bool(value: Any, name: str) -> bool:
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
        raise ConfigError(f"{name} has an empty symbol: {value!r}; remove the empty entry (a stray comma?)")
    if len(set(out)) != len(out):
        dupes = sorted({s for s in out if out.count(s) > 1})
        raise ConfigError(f"{name} lists {', '.join(dupes)} more than once; list each symbol once")
    return out
