"""The series the charts draw, derived from a run's outputs with Polars (docs/methodology.md §4-§5 conventions).

Dates follow the backtest: a return row dated `t` is the return from close `t` to the next close, so equity at `t`
is the value at that next close. The benchmark's buy-and-hold is put on the same footing.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from walkforward.metrics.ranks import prediction_metrics

IC_WINDOW_DAYS = 91  # calendar days in the rolling IC window: 13 weeks, about 63 exchange sessions
IC_POINTS = 400  # at most this many windows on the chart's line


def portfolio(returns: pl.DataFrame) -> pl.DataFrame:
    """`date, return, equity, drawdown` of the portfolio series, by date.

    `drawdown` is `E_t / max(1, max_{s<=t} E_s) - 1`, the definition behind the `max_drawdown` metric.
    """
    return (
        returns.filter(pl.col("series") == "portfolio")
        .sort("date")
        .select(
            "date",
            "return",
            "equity",
            (pl.col("equity") / pl.max_horizontal(pl.lit(1.0), pl.col("equity").cum_max()) - 1).alias("drawdown"),
        )
    )


def buy_and_hold(closes: pl.DataFrame, first: dt.date, last: dt.date) -> pl.DataFrame:
    """`date, equity` of holding the benchmark over its sessions in `[first, last]` (the strategy's first and last
    return dates), dated as the backtest dates returns: when earned.

    Session `s` earns `close_s / close_prev - 1` from the previous session's close (0 for the first close in the
    data), and equity is the running product of `1 + return` from 1, as the strategy's equity is: it starts from the
    last close before `first`.
    """
    return (
        closes.sort("date")
        .with_columns((pl.col("close") / pl.col("close").shift(1) - 1).fill_null(0.0).alias("return"))
        .filter(pl.col("date").is_between(first, last))
        .select("date", (1 + pl.col("return")).cum_prod().alias("equity"))
    )


def rolling_ic(predictions: pl.DataFrame, days: int = IC_WINDOW_DAYS, points: int = IC_POINTS) -> pl.DataFrame:
    """`date, ic, n`: Spearman correlation of prediction and target over every row (all assets pooled) dated in
    the trailing `days` calendar days up to each date, the `ic` metric of a moving window.

    Only dates whose window lies wholly inside the run are kept (the first `days - 1` days are dropped), and at most
    `points` of them, evenly spread, the last always among them: a chart needs no more, and each window ranks all its
    rows (a window per row, as a rolling aggregation would make, is millions of windows on a universe of hundreds).
    """
    rows = predictions.drop_nulls(["prediction", "target"]).sort("date")
    empty = pl.DataFrame(schema={"date": pl.Date, "ic": pl.Float64, "n": pl.UInt32})
    if rows.is_empty():
        return empty
    date = rows["date"].to_numpy()
    prediction, target = rows["prediction"].to_numpy(), rows["target"].to_numpy()
    span = np.timedelta64(days - 1, "D")
    ends = np.unique(date)
    ends = ends[ends >= date[0] + span]
    if len(ends) == 0:
        return empty
    if len(ends) > points:
        ends = ends[np.unique(np.linspace(0, len(ends) - 1, points).round().astype(np.int64))]
    lo, hi = np.searchsorted(date, ends - span, side="left"), np.searchsorted(date, ends, side="right")
    ic = [prediction_metrics(prediction[a:b], target[a:b])["ic"] for a, b in zip(lo, hi, strict=True)]
    return pl.DataFrame(
        {"date": ends, "ic": ic, "n": (hi - lo).astype(np.uint32)},
        schema={"date": pl.Date, "ic": pl.Float64, "n": pl.UInt32},
    )


def importance_shares(importance: pl.DataFrame) -> tuple[list[str], list[int], np.ndarray]:
    """(features, folds, shares[feature, fold]): each model's importances as shares of its total, averaged over
    the models of a fold (one unified model, or one per asset), so every fold's column sums to 1.

    A model whose importances are all zero (it made no split) has no shares and is left out of the average;
    a fold without any model with shares is a NaN column. Features are ordered by their mean share, largest first.
    """
    total = pl.col("importance").sum().over("fold", "symbol")
    shares = (
        importance.with_columns(pl.when(total > 0).then(pl.col("importance") / total).alias("share"))
        .group_by("fold", "feature")
        .agg(pl.col("share").mean())
    )
    folds = sorted(shares["fold"].unique().to_list())
    order = (
        shares.group_by("feature")
        .agg(pl.col("share").fill_null(0.0).mean().alias("mean"))
        .sort(["mean", "feature"], descending=[True, False])
    )
    features = order["feature"].to_list()
    matrix = np.full((len(features), len(folds)), np.nan)
    row = {f: i for i, f in enumerate(features)}
    col = {f: j for j, f in enumerate(folds)}
    for fold, feature, share in shares.iter_rows():
        if share is not None:
            matrix[row[feature], col[fold]] = share
    # a feature missing from a fold whose other features have shares has a share of 0
    has = ~np.isnan(matrix).all(axis=0)
    matrix[:, has] = np.nan_to_num(matrix[:, has], nan=0.0)
    return features, folds, matrix
