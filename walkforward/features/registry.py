"""The feature kinds a config may name: `features: {"ret": [1, 5, 20], ...}` adds the columns `ret_1`, `ret_5`, ...

A kind is one `Expr -> Expr` function in expressions.py and one entry here. Config validation, the list of known
kinds, "did you mean" and the column names all read this registry. An entry's `build(n)` is the per-asset
expression of window `n` over the plan's prepared columns (`close`, `volume`, and `ret_1_` / `bench_ret_1_`, the
asset's and the benchmark's one-row returns; `open`, `high`, `low`); the plan applies
`.over("symbol")` to it. The kinds after the first six are not in the default run (`default=()`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from walkforward.features import expressions as ex

CLOSE, VOLUME = pl.col("close"), pl.col("volume")
OPEN, HIGH, LOW = pl.col("open"), pl.col("high"), pl.col("low")
RET_1, BENCH_RET_1 = pl.col("ret_1_"), pl.col("bench_ret_1_")


@dataclass(frozen=True)
class FeatureKind:
    name: str
    build: Callable[[int], pl.Expr]  # window n -> the per-asset expression
    default: tuple[int, ...]  # windows when the config does not list the kind
    minimum: int = 1  # the smallest window that means something

    def column(self, n: int) -> str:
        """The column's name: the kind and its window (`sma_ratio_20`)."""
        return f"{self.name}_{n}"


FEATURE_KINDS: dict[str, FeatureKind] = {
    kind.name: kind
    for kind in (
        FeatureKind("ret", lambda n: ex.ret(CLOSE, n), (1, 5, 20)),
        FeatureKind("sma_ratio", lambda n: ex.sma_ratio(CLOSE, n), (20, 50), minimum=2),
        FeatureKind("rsi", lambda n: ex.rsi(CLOSE, n), (14,)),
        FeatureKind("vol", lambda n: ex.volatility(RET_1, n), (20,), minimum=2),
        FeatureKind("corr", lambda n: ex.rolling_corr(RET_1, BENCH_RET_1, n), (60,), minimum=2),
        FeatureKind("volume_z", lambda n: ex.volume_z(VOLUME, n), (20,), minimum=2),
        FeatureKind("hl_range", lambda n: ex.hl_range(HIGH, LOW, CLOSE, n), ()),
        FeatureKind("gap", lambda n: ex.gap(OPEN, CLOSE, n), ()),
        FeatureKind("parkinson", lambda n: ex.parkinson(HIGH, LOW, n), ()),
        FeatureKind("beta", lambda n: ex.beta(RET_1, BENCH_RET_1, n), (), minimum=2),
        FeatureKind("max_drawdown", lambda n: ex.max_drawdown(CLOSE, n), (), minimum=2),
        FeatureKind("dollar_volume_z", lambda n: ex.dollar_volume_z(CLOSE, VOLUME, n), (), minimum=2),
        FeatureKind("dist_high", lambda n: ex.distance_to_high(CLOSE, HIGH, n), ()),
        FeatureKind("dist_low", lambda n: ex.distance_to_low(CLOSE, LOW, n), ()),
    )
}
