"""Strategy and backtest (docs/methodology.md §4), vectorised over every fold and asset at once.

Input: one row per test row with `fold, symbol, date, prediction, target, next_ret, next_date`. Windows per
(fold, symbol) are `.over(...)` expressions; there is no loop over folds or assets.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from walkforward.config import Strategy

GROUP = ("fold", "symbol")


@dataclass(frozen=True)
class Backtest:
    rows: pl.DataFrame  # per (fold, symbol, date): position, traded, exit, return, ...
    trades: pl.DataFrame
    portfolio: pl.DataFrame  # per (fold, date): return, exposure, traded
    returns: pl.DataFrame  # the returns.parquet table


def position(prediction: pl.Expr, next_ret: pl.Expr, strategy: Strategy) -> pl.Expr:
    """+1 / -1 / 0 from the prediction; 0 without a prediction or a next return."""
    long = prediction > strategy.long_threshold
    short = (prediction < -strategy.short_threshold) & pl.lit(strategy.allow_short)
    pos = pl.when(long).then(1).when(short).then(-1).otherwise(0)
    return pl.when(prediction.is_null() | next_ret.is_null()).then(0).otherwise(pos).cast(pl.Int8)


def run_backtest(test: pl.DataFrame, strategy: Strategy, n_assets: int) -> Backtest:
    w = 1.0 / n_assets
    c = strategy.cost_bps / 10_000.0
    pos = pl.col("position").cast(pl.Int32)
    rows = (
        test.sort("fold", "symbol", "date")
        .with_columns(position(pl.col("prediction"), pl.col("next_ret"), strategy).alias("position"))
        .with_columns(
            pos.shift(1, fill_value=0).over(GROUP).alias("position_before"),
            pl.int_range(pl.len()).over(GROUP).alias("_row"),
            pl.len().over(GROUP).alias("_n"),
        )
        .with_columns(
            (pos - pl.col("position_before")).abs().cast(pl.Float64).alias("traded"),
            pl.when(pl.col("_row") == pl.col("_n") - 1).then(pos.abs()).otherwise(0).cast(pl.Float64).alias("exit"),
        )
        .with_columns(
            (pos.cast(pl.Float64) * pl.col("next_ret").fill_null(0.0) - c * (pl.col("traded") + pl.col("exit"))).alias(
                "return"
            ),
            pos.abs().cast(pl.Float64).alias("exposure"),
        )
        .drop("_row", "_n")
    )
    changes = rows.filter(pl.col("traded") > 0).select(
        "fold", "symbol", "date", pl.col("position_before").cast(pl.Int8), "position"
    )
    exits = rows.filter(pl.col("exit") > 0).select(
        "fold",
        "symbol",
        pl.col("next_date").alias("date"),
        pl.col("position").alias("position_before"),
        pl.lit(0, dtype=pl.Int8).alias("position"),
    )
    trades = (
        pl.concat([changes, exits])
        .rename({"position": "position_after"})
        .with_columns(
            (w * (pl.col("position_after").cast(pl.Int32) - pl.col("position_before")).abs()).alias("weight_traded")
        )
        .with_columns((c * pl.col("weight_traded")).alias("cost"))
        .sort("fold", "date", "symbol")
    )
    portfolio = (
        rows.group_by("fold", "date")
        .agg(
            (w * pl.col("return")).sum().alias("return"),
            (w * pl.col("exposure")).sum().alias("exposure"),
            (w * (pl.col("traded") + pl.col("exit"))).sum().alias("traded"),
        )
        .sort("fold", "date")
    )
    returns = returns_table(rows, portfolio)
    return Backtest(rows=rows, trades=trades, portfolio=portfolio, returns=returns)


def returns_table(rows: pl.DataFrame, portfolio: pl.DataFrame) -> pl.DataFrame:
    """`fold, date, series, position, return, equity`: the portfolio and every asset, equity over the run."""
    assets = rows.select(
        "fold",
        "date",
        pl.col("symbol").alias("series"),
        pl.col("exposure").alias("position"),
        "return",
    )
    port = portfolio.select(
        "fold",
        "date",
        pl.lit("portfolio").alias("series"),
        pl.col("exposure").alias("position"),
        "return",
    )
    return (
        pl.concat([port, assets])
        .sort("series", "fold", "date")
        .with_columns((1.0 + pl.col("return")).cum_prod().over("series").alias("equity"))
        .sort("fold", "date", "series")
    )
