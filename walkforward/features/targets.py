"""The targets a config may name (`target.kind`): what the model learns, per asset and date (methodology §2).

A target's `build(context)` is a per-asset expression over the plan's prepared columns (`close`, `bench_close`: the
benchmark's close as of the row's date, `ret_1_`: the asset's one-row return); the plan applies `.over("symbol")`
to it. A `cross_sectional` target is then ranked per date across the traded universe (features/crosssection.py),
with the cross-section's `min_assets`. Every target uses rows up to `horizon` ahead only, so purging (label end =
the date `horizon` rows later) covers it. The backtest always trades the real forward return, whatever the model
learns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from walkforward.features.expressions import forward_return, volatility

CLOSE, BENCH_CLOSE, RET_1 = pl.col("close"), pl.col("bench_close"), pl.col("ret_1_")
VOL_WINDOW = 20  # rows of trailing volatility for `vol_scaled` (target.vol_window)


@dataclass(frozen=True)
class TargetContext:
    """What a target may depend on besides the columns: the horizon and the trailing-volatility window."""

    horizon: int
    vol_window: int = VOL_WINDOW


@dataclass(frozen=True)
class TargetKind:
    name: str
    build: Callable[[TargetContext], pl.Expr]  # the per-asset expression
    cross_sectional: bool = False  # then ranked per date across the traded universe (centred percentile rank)
    uses_vol_window: bool = False


def excess(ctx: TargetContext) -> pl.Expr:
    """The forward return less the benchmark's over the same rows: `close_{t+h} / close_t - bench_close_{t+h} /
    bench_close_t`, the benchmark's closes taken as of the asset's dates."""
    return forward_return(CLOSE, ctx.horizon) - forward_return(BENCH_CLOSE, ctx.horizon)


def vol_scaled(ctx: TargetContext) -> pl.Expr:
    """The forward return over the trailing volatility of one-row returns (ddof = 1, `vol_window` rows ending at t;
    null over a flat window)."""
    return forward_return(CLOSE, ctx.horizon) / volatility(RET_1, ctx.vol_window)


TARGETS: dict[str, TargetKind] = {
    kind.name: kind
    for kind in (
        TargetKind("return", lambda ctx: forward_return(CLOSE, ctx.horizon)),  # close_{t+h} / close_t - 1
        TargetKind("excess", excess),
        TargetKind("cs_rank", lambda ctx: forward_return(CLOSE, ctx.horizon), cross_sectional=True),
        TargetKind("vol_scaled", vol_scaled, uses_vol_window=True),
    )
}
