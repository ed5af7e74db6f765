"""The backtest (docs/methodology.md §4), vectorised over every asset and fold at once.

Numpy over the traded assets' test rows sorted by (symbol, date): an asset's test rows are one run of its rows, so
segments, the lag, "flat before the first row" and "closed after the last" are masks and shifts, not loops. The
portfolio sums the rows that earn on the same date (`next_date`): one row per date, dated when earned.
(A Polars version of the old backtest took ~15x longer than these array operations: at this size per-node overhead
dominates.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from walkforward.config import Strategy
from walkforward.portfolio import book
from walkforward.portfolio.registry import PORTFOLIOS
from walkforward.portfolio.rows import Benchmark, TestRows, fold_of

__all__ = ["Backtest", "Benchmark", "TestRows", "by_asset", "run_backtest", "run_sorted"]


@dataclass(frozen=True)
class Backtest:
    rows: TestRows  # sorted by (symbol, date)
    position: np.ndarray  # int8 p_t, per row
    weight: np.ndarray  # q_t, per row
    earned: np.ndarray  # bool: the row has a return row, dated rows.next_date (it has a next row)
    return_fold: np.ndarray  # int32: the fold of the return row's date (§4.6); meaningless where not earned
    asset_return: np.ndarray  # r_{a,t}, unweighted; meaningless where not earned
    exposure: np.ndarray  # |p_t|
    traded: np.ndarray  # |p_t - p_prev| + exit_t, unweighted
    traded_long: np.ndarray  # its long leg's part (methodology §5), unweighted
    traded_short: np.ndarray  # its short leg's part
    portfolio: dict[str, np.ndarray]  # fold, date, start, return, exposure, traded(_long, _short): a row a date
    trades: dict[str, np.ndarray]  # fold, symbol (code), date, position/weight before and after, weight_traded, cost
    benchmark: Benchmark
    fold_starts: np.ndarray  # test_lo of each fold


def by_asset(test: TestRows) -> TestRows:
    """The test rows sorted by (symbol, date), as the backtest and the prediction metrics read them."""
    return test.take(np.lexsort((test.date, test.symbol)))


def run_backtest(
    test: TestRows, strategy: Strategy, n_assets: int, *, fold_starts: np.ndarray, benchmark: Benchmark
) -> Backtest:
    """Positions, weights, trades and returns of every traded asset's test rows, and the portfolio."""
    return run_sorted(by_asset(test), strategy, n_assets, fold_starts=fold_starts, benchmark=benchmark)


def run_sorted(
    rows: TestRows, strategy: Strategy, n_assets: int, *, fold_starts: np.ndarray, benchmark: Benchmark
) -> Backtest:
    """`run_backtest` of test rows already sorted by (symbol, date) (`by_asset`)."""
    c = strategy.cost_bps / 10_000.0
    first_of_asset = book.starts(rows.symbol)
    first = book.starts(rows.symbol, rows.fold) if strategy.flat_between_folds else first_of_asset
    targets = PORTFOLIOS[strategy.kind](rows, strategy, first_of_asset, n_assets)
    b = book.hold(targets.side, targets.size, rows.next_ret, first, strategy.lag)

    earned = ~np.isnat(rows.next_date)
    traded = b.traded_unweighted
    gross = b.p * np.where(earned, rows.next_ret, 0.0)  # p_t * next_ret_t (p = 0 on a row without a next row)
    traded_long, traded_short = b.legs(weighted=False)
    return Backtest(
        rows=rows,
        position=b.p.astype(np.int8),
        weight=b.q,
        earned=earned,
        return_fold=fold_of(rows.next_date, fold_starts),
        asset_return=gross - c * traded,
        exposure=np.abs(b.p).astype(np.float64),
        traded=traded,
        traded_long=traded_long,
        traded_short=traded_short,
        portfolio=portfolio_rows(rows, b, earned, c, fold_starts),
        trades=trade_rows(rows, b, c),
        benchmark=benchmark,
        fold_starts=np.asarray(fold_starts),
    )


def portfolio_rows(rows: TestRows, b: book.Book, earned: np.ndarray, c: float, fold_starts: np.ndarray) -> dict:
    """One row per date on which a traded asset earns: `R_d = sum (q_t * next_ret_t - c * (traded_t + exit_t))`
    over the rows with `next_date_t = d`; gross exposure `sum |q_t|`, traded weight `sum (traded_t + exit_t)`; `start`
    is the earliest close those rows were decided at."""
    idx = np.flatnonzero(earned)
    idx = idx[np.argsort(rows.next_date[idx], kind="stable")]  # by date earned, then symbol
    day = rows.next_date[idx]
    at = np.flatnonzero(np.concatenate([[True], day[1:] != day[:-1]]))[: len(idx)]  # first row of each date
    q, ret = b.q[idx], rows.next_ret[idx]
    moved = b.traded[idx] + b.exit[idx]
    long, short = (leg[idx] for leg in b.legs(weighted=True))
    return {
        "fold": fold_of(day[at], fold_starts),
        "date": day[at],
        "start": np.minimum.reduceat(rows.date[idx], at),
        "return": np.add.reduceat(q * ret - c * moved, at),
        "exposure": np.add.reduceat(np.abs(q), at),
        "traded": np.add.reduceat(moved, at),
        "traded_long": np.add.reduceat(long, at),
        "traded_short": np.add.reduceat(short, at),
    }


def trade_rows(rows: TestRows, b: book.Book, c: float) -> dict[str, np.ndarray]:
    """A trade where the weighted position changes, at close t in the fold of row t; an exit after a segment's
    last row l, at close next(l), in the fold of row l. Unsorted (the trades table sorts them)."""
    traded, exit_ = b.traded, b.exit
    ch, ex = np.flatnonzero(traded > 0), np.flatnonzero(exit_ > 0)
    weight = np.concatenate([traded[ch], exit_[ex]])
    return {
        "fold": np.concatenate([rows.fold[ch], rows.fold[ex]]),
        "symbol": np.concatenate([rows.symbol[ch], rows.symbol[ex]]),
        "date": np.concatenate([rows.date[ch], rows.next_date[ex]]),
        "position_before": np.concatenate([b.p_before[ch], b.p[ex]]).astype(np.int8),
        "position_after": np.concatenate([b.p[ch], np.zeros(len(ex), dtype=np.int64)]).astype(np.int8),
        "weight_before": np.concatenate([b.q_before[ch], b.q[ex]]),
        "weight_after": np.concatenate([b.q[ch], np.zeros(len(ex))]),
        "weight_traded": weight,
        "cost": c * weight,
    }
