"""The targets a config may name (`target.kind`): what the model learns, per asset and date (methodology §2).

A target is a function `(close, horizon) -> Expr` applied per asset; it must use rows up to `horizon` ahead only,
so that purging (label end = the date `horizon` rows later) covers it. The backtest always trades the real
forward return, whatever the model learns.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from walkforward.features.expressions import forward_return

TARGETS: dict[str, Callable[[pl.Expr, int], pl.Expr]] = {
    "return": forward_return,  # close_{t+h} / close_t - 1
}
