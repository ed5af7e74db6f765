"""Positions, returns and trades of one fold, and equity over the run (methodology §4).

A fold's *series* frame has one row per (series, date): `series` is "portfolio" or a symbol, with
`return`, `exposure` (gross exposure: weighted for the portfolio, `|position|` for an asset) and
`traded` (traded weight: weighted for the portfolio, `traded + exit` for an asset).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from walkforward.config import Config, Strategy

PORTFOLIO = "portfolio"
SERIES_COLUMNS = ["fold", "date", "series", "return", "exposure", "traded"]
TRADE_COLUMNS = [
    "fold",
    "symbol",
    "date",
    "position_before",
    "position_after",
    "weight_traded",
    "cost",
]


@dataclass
class FoldBacktest:
    positions: pd.DataFrame  # fold, symbol, date, position: one row per test row
    series: pd.DataFrame  # SERIES_COLUMNS
    trades: pd.DataFrame  # TRADE_COLUMNS


def positions(prediction: pd.Series, next_ret: pd.Series, strategy: Strategy) -> pd.Series:
    """+1 above `long_threshold`, -1 below `-short_threshold` when shorting, else 0 (int).

    0 where there is no prediction or no next return.
    """
    tradable = prediction.notna() & next_ret.notna()
    long = tradable & (prediction > strategy.long_threshold)
    short = tradable & ~long & strategy.allow_short & (prediction < -strategy.short_threshold)
    return pd.Series(np.select([long, short], [1, -1], 0), index=prediction.index, dtype="int64")


def backtest_asset(test: pd.DataFrame, strategy: Strategy) -> pd.DataFrame:
    """One asset's test rows (`date, prediction, next_ret`, in date order) -> `date, position,
    position_before, traded, exit, return`."""
    cost = strategy.cost_bps / 10_000
    position = positions(test["prediction"], test["next_ret"], strategy)
    before = position.shift(1, fill_value=0)
    traded = (position - before).abs()
    exit_ = pd.Series(0, index=position.index, dtype="int64")
    if len(position):
        exit_.iloc[-1] = abs(int(position.iloc[-1]))
    gross = position * test["next_ret"].fillna(0.0)
    return pd.DataFrame(
        {
            "date": test["date"],
            "position": position,
            "position_before": before,
            "traded": traded,
            "exit": exit_,
            "return": gross - cost * (traded + exit_),
        }
    )


def asset_trades(symbol: str, rows: pd.DataFrame, next_date: pd.Series, weight: float, cost: float) -> pd.DataFrame:
    """Trade rows of one asset in one fold: every position change, then the closing exit."""
    changed = rows[rows["traded"] > 0]
    trades = pd.DataFrame(
        {
            "symbol": symbol,
            "date": changed["date"],
            "position_before": changed["position_before"],
            "position_after": changed["position"],
        }
    )
    if len(rows) and rows["position"].iloc[-1] != 0:
        last = pd.DataFrame(
            {
                "symbol": [symbol],
                "date": [next_date.iloc[-1]],
                "position_before": [int(rows["position"].iloc[-1])],
                "position_after": [0],
            }
        )
        trades = pd.concat([trades, last], ignore_index=True)
    change = (trades["position_after"] - trades["position_before"]).abs()
    trades["weight_traded"] = weight * change.astype("float64")
    trades["cost"] = cost * trades["weight_traded"]
    return trades


def backtest_fold(fold: int, tests: dict[str, pd.DataFrame], config: Config) -> FoldBacktest:
    """Backtest fold `fold`; `tests[symbol]` holds that asset's test rows in date order with
    `date, prediction, next_ret, next_date`."""
    strategy = config.strategy
    cost = strategy.cost_bps / 10_000
    weight = 1 / len(config.assets)
    asset_rows, trade_rows = [], []
    for symbol, test in tests.items():
        rows = backtest_asset(test, strategy)
        asset_rows.append(rows.assign(symbol=symbol))
        trade_rows.append(asset_trades(symbol, rows, test["next_date"], weight, cost))
    assets = pd.concat(asset_rows, ignore_index=True)
    trades = pd.concat(trade_rows, ignore_index=True).assign(fold=fold)

    per_asset = pd.DataFrame(
        {
            "fold": fold,
            "date": assets["date"],
            "series": assets["symbol"],
            "return": assets["return"],
            "exposure": assets["position"].abs().astype("float64"),
            "traded": (assets["traded"] + assets["exit"]).astype("float64"),
        }
    )
    weighted = per_asset[["date", "return", "exposure", "traded"]].assign(
        **{c: per_asset[c] * weight for c in ("return", "exposure", "traded")}
    )
    portfolio = (
        weighted.groupby("date", sort=True)[["return", "exposure", "traded"]]
        .sum()
        .reset_index()
        .assign(fold=fold, series=PORTFOLIO)
    )
    series = pd.concat([portfolio[SERIES_COLUMNS], per_asset[SERIES_COLUMNS]], ignore_index=True)
    return FoldBacktest(
        positions=assets[["date", "symbol", "position"]].assign(fold=fold),
        series=series,
        trades=trades[TRADE_COLUMNS],
    )


def with_equity(series: pd.DataFrame) -> pd.DataFrame:
    """Add `equity`: the running product of `1 + return` of each series over the whole run."""
    ordered = series.sort_values(["series", "fold", "date"], kind="stable")
    equity = (1 + ordered["return"]).groupby(ordered["series"]).cumprod()
    return ordered.assign(equity=equity).sort_values(["fold", "date", "series"], kind="stable")
