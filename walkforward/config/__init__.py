"""The run configuration: sections (schema.py), value parsers (parse.py), section validation against the stages'
registries (sections.py), and `Config` with `load_config` (run.py)."""

from __future__ import annotations

from walkforward.config.parse import parse_choice, parse_date, parse_symbols
from walkforward.config.run import DEFAULT_CONFIG_PATH, Config, apply_overrides, load_config
from walkforward.config.schema import (
    ENGINES,
    PRICE_COLUMNS,
    SCOPES,
    UNIFIED_SYMBOL,
    WINDOWS,
    Features,
    Model,
    Strategy,
    Target,
    available_cores,
    seed_for,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "ENGINES",
    "PRICE_COLUMNS",
    "SCOPES",
    "UNIFIED_SYMBOL",
    "WINDOWS",
    "Config",
    "Features",
    "Model",
    "Strategy",
    "Target",
    "apply_overrides",
    "available_cores",
    "load_config",
    "parse_choice",
    "parse_date",
    "parse_symbols",
    "seed_for",
]
