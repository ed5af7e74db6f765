"""The plan's hook for custom features (config `features.custom`, walkforward/config/custom.py): each configured
expression evaluated per asset, in date order, as a float column named after the feature; a NaN or an infinity is
missing (methodology §2)."""

from __future__ import annotations

import polars as pl

from walkforward.config import Config


def custom_exprs(config: Config) -> list[pl.Expr]:
    """The custom features as named per-asset expressions, in config order (after the built-in kinds)."""
    out = []
    for feature in config.features.custom:
        value = feature.expr.cast(pl.Float64)
        out.append(pl.when(value.is_finite()).then(value).over("symbol").alias(feature.name))
    return out
