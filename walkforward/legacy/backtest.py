"""The book over the whole run: signals, positions, weights and trades (methodology §4.1-§4.4).

`book` takes every traded asset's test rows of the whole run (`fold, date, prediction, target, next_ret,
next_date`, in date order) and returns one frame with a row per test row, sorted by (symbol, date):

- `signal` s_t, `weight` w_t (before the lag), `position` p_t and `weighted` q_t (after it);
- `position_before` p_prev(t) and `weighted_before` q_prev(t) within the segment (0 before its first row);
- `last`: the segment's last row; `exit` |p_l| and `weighted_exit` |q_l| there (0 elsewhere);
- `traded` |p_t - p_prev(t)| and `weighted_traded` |q_t - q_prev(t)|.

A segment is the asset's test rows of the whole run, or of one fold with `strategy.flat_between_folds`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from walkforward.config import Config, Strategy
from walkforward.legacy import portfolios

TRADE_COLUMNS = [
    "fold",
    "symbol",
    "date",
    "position_before",
    "position_after",
    "weight_before",
    "weight_after",
    "weight_traded",
    "cost",
]


def signals(prediction: pd.Series, strategy: Strategy) -> pd.Series:
    """s_t: +1 above `long_threshold`, -1 below `-short_threshold` when shorting, else 0; 0 without a prediction."""
    known = prediction.notna()
    long = known & (prediction > strategy.long_threshold)
    short = known & ~long & strategy.allow_short & (prediction < -strategy.short_threshold)
    return pd.Series(np.select([long, short], [1, -1], 0), index=prediction.index, dtype="int64")


def available_count(tests: dict[str, pd.DataFrame]) -> pd.Series:
    """N_d on every test date d of any asset: the traded assets whose latest test row at or before d has a
    prediction and a next return (an asset is not available before its first test row)."""
    columns = {
        symbol: pd.Series(
            (rows["prediction"].notna() & rows["next_ret"].notna()).astype("float64").to_numpy(),
            index=pd.DatetimeIndex(rows["date"]),
        )
        for symbol, rows in tests.items()
    }
    table = pd.DataFrame(columns).sort_index()  # outer join on dates: NaN where an asset has no row
    return table.ffill().fillna(0.0).sum(axis=1)


def weights(rows: pd.DataFrame, counts: pd.Series, config: Config) -> pd.Series:
    """w_t of each row (`date`): 1 / N_t ("available"; 0 where no asset is available, a row that then holds no
    position) or 1 / len(assets) ("equal")."""
    if config.strategy.weighting == "equal":
        return pd.Series(1 / len(config.assets), index=rows.index)
    n = counts.reindex(pd.DatetimeIndex(rows["date"])).to_numpy()
    safe = np.where(n > 0, n, 1.0)
    return pd.Series(np.where(n > 0, 1 / safe, 0.0), index=rows.index)


def _stack(tests: dict[str, pd.DataFrame]) -> pd.DataFrame:
    parts = [rows.assign(symbol=symbol) for symbol, rows in tests.items()]
    stacked = pd.concat(parts, ignore_index=True)
    return stacked.sort_values(["symbol", "date"], kind="stable", ignore_index=True)


def book(tests: dict[str, pd.DataFrame], config: Config) -> pd.DataFrame:
    """Positions, weighted positions, trades and exits of every test row (see the module docstring)."""
    strategy = config.strategy
    rows = _stack(tests)
    if strategy.kind == "threshold":
        rows["signal"] = signals(rows["prediction"], strategy)
        rows["weight"] = weights(rows, available_count(tests), config)
    else:  # a target weight: its sign is the signal, its size the weight
        target = portfolios.targets(rows, tests, strategy)
        rows["signal"] = np.sign(target).astype("int64")
        rows["weight"] = target.abs()
    segment = [rows["symbol"], rows["fold"]] if strategy.flat_between_folds else [rows["symbol"]]

    lag = strategy.lag
    held = rows["next_ret"].notna()
    lagged_signal = rows["signal"].groupby(segment).shift(lag, fill_value=0) if lag else rows["signal"]
    lagged_weight = rows["weight"].groupby(segment).shift(lag, fill_value=0.0) if lag else rows["weight"]
    position = lagged_signal.where(held, 0).astype("int64")  # p_t = s_{t-L}; 0 without a next return
    weighted = (lagged_weight * position).where(position != 0, 0.0)  # q_t = w_{t-L} * p_t
    rows["position"] = position
    rows["weighted"] = weighted

    rows["position_before"] = position.groupby(segment).shift(1, fill_value=0).astype("int64")
    rows["weighted_before"] = weighted.groupby(segment).shift(1, fill_value=0.0)
    rows["last"] = rows.groupby(segment).cumcount(ascending=False) == 0
    rows["exit"] = position.abs().where(rows["last"], 0)
    rows["weighted_exit"] = weighted.abs().where(rows["last"], 0.0)
    rows["traded"] = (position - rows["position_before"]).abs()
    rows["weighted_traded"] = (weighted - rows["weighted_before"]).abs()
    return rows


def trades(rows: pd.DataFrame, config: Config) -> pd.DataFrame:
    """One row per trade: every change of the weighted position at its close (fold of the row), then each
    segment's exit after its last row at the next close (fold of that last row)."""
    cost = config.strategy.cost_bps / 10_000
    changed = rows[rows["weighted"] != rows["weighted_before"]]
    changes = pd.DataFrame(
        {
            "fold": changed["fold"],
            "symbol": changed["symbol"],
            "date": changed["date"],
            "position_before": changed["position_before"],
            "position_after": changed["position"],
            "weight_before": changed["weighted_before"],
            "weight_after": changed["weighted"],
            "weight_traded": changed["weighted_traded"],
        }
    )
    closing = rows[rows["last"] & (rows["weighted"] != 0)]
    exits = pd.DataFrame(
        {
            "fold": closing["fold"],
            "symbol": closing["symbol"],
            "date": closing["next_date"],
            "position_before": closing["position"],
            "position_after": 0,
            "weight_before": closing["weighted"],
            "weight_after": 0.0,
            "weight_traded": closing["weighted_exit"],
        }
    )
    out = pd.concat([changes, exits], ignore_index=True)
    out["cost"] = cost * out["weight_traded"]
    out = out.astype({"fold": "int64", "position_before": "int64", "position_after": "int64"})
    return out.sort_values(["fold", "date", "symbol"], kind="stable", ignore_index=True)[TRADE_COLUMNS]
