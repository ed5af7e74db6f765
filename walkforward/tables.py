"""The engine's output tables, built from numpy arrays in their output order (outputs.SORT_KEYS), NaN as null:
predictions, trades and returns from the backtest, feature importance from the task results.

(Through Polars: pyarrow's own `pa.array` would import pandas on its first call.)
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from walkforward.execution.task import Task, TaskResult
from walkforward.portfolio.backtest import Backtest


def predictions_table(bt: Backtest) -> pa.Table:
    """Sorted by (fold, date, symbol); symbol codes sort as the names do (`symbols` is sorted)."""
    r = bt.rows
    order = np.lexsort((r.symbol, r.date, r.fold))
    return table(
        {
            "fold": r.fold[order],
            "symbol": names(r.symbols, r.symbol[order]),
            "date": r.date[order],
            "prediction": r.prediction[order],
            "target": r.target[order],
            "position": bt.position[order],
            "weight": bt.weight[order],
        }
    )


def trades_table(bt: Backtest) -> pa.Table:
    """Sorted by (fold, date, symbol)."""
    t = bt.trades
    order = np.lexsort((t["symbol"], t["date"], t["fold"]))
    columns = {k: v[order] for k, v in t.items()}
    columns["symbol"] = names(bt.rows.symbols, columns["symbol"])
    return table(columns)


def returns_table(bt: Backtest) -> pa.Table:
    """`fold, date, series, position, return, equity`: the portfolio and every asset, dated when earned (the asset's
    rows that have a next row, at `next_date`), equity compounded over the run per series; sorted by
    (fold, date, series)."""
    r, pf, earned = bt.rows, bt.portfolio, bt.earned
    series = ("portfolio", *r.symbols)  # code 0 is the portfolio, code k + 1 the asset k
    rank = np.argsort(np.argsort(np.asarray(series)))  # a series' place in name order
    code = np.concatenate([np.zeros(len(pf["fold"]), dtype=np.int64), r.symbol[earned].astype(np.int64) + 1])
    fold = np.concatenate([pf["fold"], bt.return_fold[earned]])
    date = np.concatenate([pf["date"], r.next_date[earned]])
    ret = np.concatenate([pf["return"], bt.asset_return[earned]])
    by_name = rank[code]
    by_series = np.lexsort((date, by_name))  # a series' rows in date order
    equity = np.empty(len(ret))
    equity[by_series] = segmented_cumprod(1.0 + ret[by_series], code[by_series])
    order = np.lexsort((by_name, date, fold))
    return table(
        {
            "fold": fold[order],
            "date": date[order],
            "series": names(series, code[order]),
            "position": np.concatenate([pf["exposure"], bt.exposure[earned]])[order],
            "return": ret[order],
            "equity": equity[order],
        }
    )


def table(columns: dict[str, np.ndarray | pl.Series]) -> pa.Table:
    """A pyarrow table of the columns as given, NaN as null."""
    return pl.DataFrame(columns, nan_to_null=True).to_arrow()


def segmented_cumprod(x: np.ndarray, segment: np.ndarray) -> np.ndarray:
    """Cumulative product restarting where `segment` changes (rows grouped by segment), without a loop: the
    segments become the rows of a grid padded with ones, multiplied along each row in order (the same sequential
    products as one `cumprod` per segment)."""
    n = len(x)
    if n == 0:
        return x.copy()
    starts = np.flatnonzero(np.concatenate([[True], segment[1:] != segment[:-1]]))
    lengths = np.diff(np.append(starts, n))
    seg = np.repeat(np.arange(len(starts)), lengths)
    pos = np.arange(n) - starts[seg]
    grid = np.ones((len(starts), lengths.max()))
    grid[seg, pos] = x
    np.cumprod(grid, axis=1, out=grid)
    return grid[seg, pos]


def names(symbols: tuple[str, ...], codes: np.ndarray) -> pl.Series:
    """The names of integer codes, as a string column (a gather, not a Python object array)."""
    return pl.Series(symbols, dtype=pl.String).gather(pl.Series(codes, dtype=pl.UInt32))


def importance_table(results: dict[Task, TaskResult], names: tuple[str, ...]) -> pa.Table:
    """Sorted by (fold, symbol, feature): tasks in (fold, symbol) order, features by name within each; a task that
    fitted no model (no training rows, methodology §3) has no rows."""
    keys = sorted(t for t, r in results.items() if r.fitted)
    order = sorted(range(len(names)), key=names.__getitem__)
    k = len(names)
    return pl.DataFrame(
        {
            "fold": np.repeat([f for f, _ in keys], k).astype(np.int32),
            "symbol": np.repeat([s for _, s in keys], k),
            "feature": np.tile(np.asarray(names, dtype=object)[order], len(keys)),
            "importance": np.concatenate([results[t].importance[order] for t in keys]) if keys else np.array([]),
        }
    ).to_arrow()


def output_tables(bt: Backtest, results: dict[Task, TaskResult], names: tuple[str, ...]) -> dict[str, pa.Table]:
    """Every table the engine writes, by name (outputs.TABLES)."""
    return {
        "predictions": predictions_table(bt),
        "trades": trades_table(bt),
        "returns": returns_table(bt),
        "feature_importance": importance_table(results, names),
    }
