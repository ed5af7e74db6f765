"""Strategy and backtest (docs/methodology.md §4), vectorised over every fold and asset at once.

Numpy over the test rows sorted by (fold, symbol, date): a (fold, asset) window starts where fold or symbol
changes, so "starts flat" and "closes at the end" are masks, not loops. (A Polars version of this took ~18 ms on
the large workload, about 15x longer than these array operations: at this size per-node overhead dominates.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from walkforward.config import Strategy


@dataclass(frozen=True)
class TestRows:
    """Test rows with a prediction (NaN = none), as arrays; `symbol` codes index `symbols` (sorted names)."""

    fold: np.ndarray  # int32
    symbol: np.ndarray  # int32
    date: np.ndarray  # datetime64[D]
    prediction: np.ndarray
    target: np.ndarray
    next_ret: np.ndarray
    next_date: np.ndarray  # datetime64[D]
    symbols: tuple[str, ...]

    def take(self, order: np.ndarray) -> TestRows:
        arrays = {k: getattr(self, k)[order] for k in TestRows.__dataclass_fields__ if k != "symbols"}
        return TestRows(**arrays, symbols=self.symbols)


@dataclass(frozen=True)
class Backtest:
    rows: TestRows  # sorted by (fold, symbol, date)
    position: np.ndarray  # int8, per row
    asset_return: np.ndarray  # r_{a,t}
    exposure: np.ndarray  # |position|
    traded: np.ndarray  # |position change| + exit, unweighted
    portfolio: dict[str, np.ndarray]  # fold, date, return, exposure, traded: per (fold, date), sorted
    trades: dict[str, np.ndarray]  # fold, symbol (code), date, position_before, position_after, weight_traded, cost


def positions(prediction: np.ndarray, next_ret: np.ndarray, strategy: Strategy) -> np.ndarray:
    """+1 / -1 / 0 from the prediction; 0 without a prediction or a next return (NaN compares False)."""
    long = prediction > strategy.long_threshold
    short = (prediction < -strategy.short_threshold) & strategy.allow_short
    pos = np.where(long, 1, np.where(short, -1, 0)).astype(np.int8)
    pos[np.isnan(prediction) | np.isnan(next_ret)] = 0
    return pos


def run_backtest(test: TestRows, strategy: Strategy, n_assets: int) -> Backtest:
    w, c = 1.0 / n_assets, strategy.cost_bps / 10_000.0
    rows = test.take(np.lexsort((test.date, test.symbol, test.fold)))
    n = len(rows.fold)
    first = np.ones(n, dtype=bool)
    first[1:] = (rows.fold[1:] != rows.fold[:-1]) | (rows.symbol[1:] != rows.symbol[:-1])
    last = np.append(first[1:], True)

    pos = positions(rows.prediction, rows.next_ret, strategy)
    p = pos.astype(np.int64)
    before = np.concatenate([[0], p[:-1]]) if n else p.copy()
    before[first] = 0
    change = np.abs(p - before).astype(np.float64)
    exit_ = np.where(last, np.abs(p), 0).astype(np.float64)
    traded = change + exit_
    gross = np.where(p != 0, p * rows.next_ret, 0.0)
    asset_return = gross - c * traded
    exposure = np.abs(p).astype(np.float64)

    # portfolio: sum over the assets with a row on each (fold, date)
    by_day = np.lexsort((rows.date, rows.fold))
    f, d = rows.fold[by_day], rows.date[by_day]
    starts = np.flatnonzero(np.concatenate([[True], (f[1:] != f[:-1]) | (d[1:] != d[:-1])])) if n else np.array([], int)
    portfolio = {
        "fold": f[starts],
        "date": d[starts],
        "return": np.add.reduceat(w * asset_return[by_day], starts) if n else np.array([]),
        "exposure": np.add.reduceat(w * exposure[by_day], starts) if n else np.array([]),
        "traded": np.add.reduceat(w * traded[by_day], starts) if n else np.array([]),
    }

    # trades: position changes at their date, and the fold-end exit at the next row's date
    ch, ex = np.flatnonzero(change > 0), np.flatnonzero(exit_ > 0)
    before_all = np.concatenate([before[ch], p[ex]]).astype(np.int8)
    after_all = np.concatenate([p[ch], np.zeros(len(ex), dtype=np.int64)]).astype(np.int8)
    weight = w * np.abs(after_all.astype(np.int64) - before_all)
    trades = {
        "fold": np.concatenate([rows.fold[ch], rows.fold[ex]]),
        "symbol": np.concatenate([rows.symbol[ch], rows.symbol[ex]]),
        "date": np.concatenate([rows.date[ch], rows.next_date[ex]]),
        "position_before": before_all,
        "position_after": after_all,
        "weight_traded": weight,
        "cost": c * weight,
    }
    return Backtest(rows, pos, asset_return, exposure, traded, portfolio, trades)


# --- output tables: built from the arrays in their output order (outputs.SORT_KEYS), NaN as null ----------------
# (through Polars: pyarrow's own `pa.array` would import pandas on its first call)


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
    """`fold, date, series, position, return, equity`: the portfolio and every asset, equity compounded over the
    run per series; sorted by (fold, date, series)."""
    r, pf = bt.rows, bt.portfolio
    series = ("portfolio", *r.symbols)  # code 0 is the portfolio, code k + 1 the asset k
    rank = np.argsort(np.argsort(np.asarray(series)))  # a series' place in name order
    code = np.concatenate([np.zeros(len(pf["fold"]), dtype=np.int64), r.symbol.astype(np.int64) + 1])
    fold = np.concatenate([pf["fold"], r.fold])
    date = np.concatenate([pf["date"], r.date])
    ret = np.concatenate([pf["return"], bt.asset_return])
    by_name = rank[code]
    by_series = np.lexsort((date, fold, by_name))  # a series' rows in date order (folds do not overlap)
    equity = np.empty(len(ret))
    equity[by_series] = segmented_cumprod(1.0 + ret[by_series], code[by_series])
    order = np.lexsort((by_name, date, fold))
    return table(
        {
            "fold": fold[order],
            "date": date[order],
            "series": names(series, code[order]),
            "position": np.concatenate([pf["exposure"], bt.exposure])[order],
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
