"""The cross-sectional portfolio kinds, `topk` and `rank_weighted` (methodology §4.1), date by date in pandas.

`targets` returns the target weight of every test row. The cross-section of a date is the assets whose latest test
row at or before it has a prediction and a next return, ranked by that row's prediction (highest first, ties by
symbol name); targets are set every `rebalance_every`-th date of the union of test dates and held to the next.
"""

from __future__ import annotations

import math

import pandas as pd

from walkforward.config import Strategy


def latest(tests: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """(date x symbol): the prediction of the symbol's latest test row at or before the date, NaN where that row
    has no prediction or no next return, or there is none yet."""
    dates = pd.DatetimeIndex(sorted(set().union(*(set(rows["date"]) for rows in tests.values()))))
    columns = {}
    for symbol, rows in tests.items():
        usable = rows["prediction"].where(rows["prediction"].notna() & rows["next_ret"].notna())
        own = pd.Series(usable.to_numpy(dtype="float64"), index=pd.DatetimeIndex(rows["date"]))
        columns[symbol] = own.reindex(dates, method="ffill")  # the value at the latest row, NaN included
    return pd.DataFrame(columns, index=dates)


def per_leg(k: float, n: int, long_only: bool) -> int:
    """k_t: the count, or max(1, floor(k * N_t)) of a fraction; at most N_t (long only) or N_t // 2."""
    want = int(k) if k >= 1 else max(1, math.floor(k * n + 1e-9))
    return min(want, n if long_only else n // 2)


def dropout_step(held: list[str], ranked: list[str], k: int, n_drop: int) -> list[str]:
    """qlib TopkDropoutStrategy on one leg, `ranked` the eligible names best first: held names no longer eligible
    leave; the best `n_drop + k - |held|` others are candidates; held names among the last `n_drop` of held and
    candidates (in rank order) but not among their best `k` are sold, and the best `|sold| + k - |held|`
    candidates bought."""
    kept = [s for s in ranked if s in held]
    candidates = [s for s in ranked if s not in kept][: max(0, n_drop + k - len(kept))]
    pooled = [s for s in ranked if s in kept or s in candidates]
    sold = [s for s in pooled[k:][-n_drop:] if s in kept] if n_drop > 0 else []
    bought = candidates[: max(0, len(sold) + k - len(kept))]
    return [s for s in kept if s not in sold] + bought


def topk(section: pd.DataFrame, strategy: Strategy) -> pd.DataFrame:
    """Equal-weight legs on every rebalance date (rows of `section`)."""
    out = pd.DataFrame(0.0, index=section.index, columns=section.columns)
    long: list[str] = []
    short: list[str] = []
    half = strategy.gross if strategy.long_only else strategy.gross / 2
    for date, row in section.iterrows():
        known = row.dropna()
        ranked = sorted(known.index, key=lambda s: (-known[s], s))
        k = per_leg(strategy.k, len(ranked), strategy.long_only)
        backwards = ranked[::-1]
        if strategy.n_drop is None:
            long, short = ranked[:k], backwards[:k]
        else:
            long = dropout_step(long, ranked, k, strategy.n_drop)
            rest = [s for s in backwards if s not in long]
            short = dropout_step(short, rest, k, strategy.n_drop)
        if strategy.long_only:
            short = []
        for leg, sign in ((long, 1.0), (short, -1.0)):
            if leg:
                out.loc[date, leg] = sign * (half / len(leg))
    return out


def rank_weighted(section: pd.DataFrame, strategy: Strategy) -> pd.DataFrame:
    """`gross * c / sum |c|` with `c` the centred average rank (positive part when long only)."""
    out = pd.DataFrame(0.0, index=section.index, columns=section.columns)
    for date, row in section.iterrows():
        known = row.dropna()
        c = known.rank(method="average") - (len(known) + 1) / 2
        if strategy.long_only:
            c = c.clip(lower=0.0)
        total = c.abs().sum()
        if total > 0:
            out.loc[date, c.index] = strategy.gross * c / total
    return out


def targets(rows: pd.DataFrame, tests: dict[str, pd.DataFrame], strategy: Strategy) -> pd.Series:
    """The target weight of each row (`symbol`, `date`): its symbol's weight on the latest rebalance date."""
    grid = latest(tests)
    every = strategy.rebalance_every
    chosen = grid.iloc[::every]
    weights = topk(chosen, strategy) if strategy.kind == "topk" else rank_weighted(chosen, strategy)
    place = grid.index.get_indexer(pd.DatetimeIndex(rows["date"]))  # the row's date, then its rebalance date
    column = weights.columns.get_indexer(rows["symbol"])
    return pd.Series(weights.to_numpy()[place // every, column], index=rows.index)
