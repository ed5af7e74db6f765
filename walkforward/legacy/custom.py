"""Custom features (config `features.custom`) for the legacy engine: each asset's own rows as a one-asset Polars
frame, the expression selected over it (no `.over`: the frame is one asset, in date order), as a float column.

The oracle cannot run a Polars expression in pandas, so it evaluates the expression itself, on a frame it builds,
and imports and calls a named function itself: a second path that checks the Polars plan's wiring (the columns the
expression sees, their order, the params, the per-asset window and the cast), not the user's expression.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import pandas as pd

from walkforward.config import Config

COLUMNS = ("open", "high", "low", "close", "volume")


def _function(path: str) -> Any:
    """The callable at "module:attr" (attr may be dotted); the config has checked that it exists."""
    module, _, attr = path.partition(":")
    target: Any = importlib.import_module(module)
    for part in attr.split("."):
        target = getattr(target, part)
    return target


def custom_columns(prices: pd.DataFrame, config: Config) -> dict[str, pd.Series]:
    """One asset's custom feature columns (NaN = missing, as are infinities), in config order; `prices` is sorted by
    date."""
    if not config.features.custom:
        return {}
    import polars as pl  # only here: the one place the oracle runs Polars, on an expression the user wrote

    frame = pl.DataFrame(
        {
            "date": pl.Series(prices["date"].to_numpy().astype("datetime64[D]")).cast(pl.Date),
            **{c: pl.Series(prices[c].to_numpy(dtype=np.float64)) for c in COLUMNS},
        }
    )
    out = {}
    for feature in config.features.custom:
        expr = feature.expr if feature.function is None else _function(feature.function)(**feature.params)
        values = frame.with_columns(expr.cast(pl.Float64).alias("custom_")).get_column("custom_").to_numpy()
        values = np.where(np.isfinite(values), values, np.nan)  # NaN and infinities are missing
        out[feature.name] = pd.Series(values, index=prices.index, dtype=np.float64)
    return out
