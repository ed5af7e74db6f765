"""Custom feature functions for the tests (config `features.custom` names them as "tests.custom_features:NAME")."""

from __future__ import annotations

import polars as pl


def momentum(long: int = 20, short: int = 5) -> pl.Expr:
    """`close_{t-short} / close_{t-long} - 1`: past returns only, skipping the last `short` rows."""
    close = pl.col("close")
    return close.shift(short) / close.shift(long) - 1


def range_ratio(n: int = 10) -> pl.Expr:
    """Mean over n rows of `(high - low) / close`: reads the whole bar."""
    return ((pl.col("high") - pl.col("low")) / pl.col("close")).rolling_mean(n, min_samples=n)


def leaky() -> pl.Expr:
    """Tomorrow's close over today's: looks ahead, and the look-ahead check must say so."""
    return pl.col("close").shift(-1) / pl.col("close") - 1


def broken(n: int = 1) -> pl.Expr:
    raise ValueError(f"n={n} is not supported")


def not_an_expr() -> float:
    return 1.5


NOT_CALLABLE = 3
