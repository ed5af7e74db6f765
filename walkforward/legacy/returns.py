"""Return series dated when earned, their folds and equity (methodology §4.5-§4.7).

A *series* frame has one row per (series, date): `series` is "portfolio" or a symbol, `date` the end of the
holding period (`next_date_t`), `start` its beginning (the close of `t`; for the portfolio the earliest close of
the rows it sums), `return`, `exposure` (gross exposure: |q| summed for the portfolio, |p| for an asset) and
`traded` (traded weight: weighted for the portfolio, `|p_t - p_prev(t)| + exit_t` for an asset).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from walkforward.config import Config

PORTFOLIO = "portfolio"
SERIES_COLUMNS = ["fold", "date", "series", "start", "return", "exposure", "traded", "traded_long", "traded_short"]


def fold_of(dates: pd.Series, test_lo: list[pd.Timestamp]) -> pd.Series:
    """The fold whose test window [test_lo_i, test_lo_{i+1}) holds each date; past the last window, the last fold."""
    edges = pd.DatetimeIndex(test_lo).to_numpy()
    index = np.searchsorted(edges, pd.DatetimeIndex(dates).to_numpy(), side="right") - 1
    return pd.Series(np.clip(index, 0, len(edges) - 1), index=dates.index, dtype="int64")


def legs(now: pd.Series, before: pd.Series, last: pd.Series) -> dict[str, pd.Series]:
    """Traded weight per leg (methodology §5): the long leg `|max(x_t, 0) - max(x_prev, 0)|`, the short leg
    `|min(x_t, 0) - min(x_prev, 0)|`, each plus its part of the exit after the segment's last row."""
    now, before = now.astype("float64"), before.astype("float64")
    closing = now.where(last, 0.0)
    return {
        "traded_long": (now.clip(lower=0) - before.clip(lower=0)).abs() + closing.clip(lower=0),
        "traded_short": (now.clip(upper=0) - before.clip(upper=0)).abs() + (-closing).clip(lower=0),
    }


def asset_series(rows: pd.DataFrame, config: Config) -> pd.DataFrame:
    """Each asset as a book of its own, unweighted: the row of `t` is dated `next_date_t` with
    `r = p_t * next_ret_t - c * (|p_t - p_prev(t)| + exit_t)`. A row without a next row earns nothing and has no
    date: it has no return row."""
    cost = config.strategy.cost_bps / 10_000
    earned = rows[rows["next_date"].notna()]
    traded = (earned["traded"] + earned["exit"]).astype("float64")
    return pd.DataFrame(
        {
            "date": earned["next_date"],
            "series": earned["symbol"],
            "start": earned["date"],
            "return": earned["position"] * earned["next_ret"] - cost * traded,
            "exposure": earned["position"].abs().astype("float64"),
            "traded": traded,
            **legs(earned["position"], earned["position_before"], earned["last"]),
        }
    )


def portfolio_series(rows: pd.DataFrame, config: Config) -> pd.DataFrame:
    """One row per date d in the union of the assets' return dates:
    `R_d = sum over rows t with next_date_t = d of (q_t * next_ret_t - c * (traded_t + exit'_t))`."""
    cost = config.strategy.cost_bps / 10_000
    earned = rows[rows["next_date"].notna()]
    traded = earned["weighted_traded"] + earned["weighted_exit"]
    parts = pd.DataFrame(
        {
            "date": earned["next_date"],
            "start": earned["date"],
            "return": earned["weighted"] * earned["next_ret"] - cost * traded,
            "exposure": earned["weighted"].abs(),
            "traded": traded,
            **legs(earned["weighted"], earned["weighted_before"], earned["last"]),
        }
    )
    by_date = parts.groupby("date", sort=True)
    out = by_date[["return", "exposure", "traded", "traded_long", "traded_short"]].sum()
    out["start"] = by_date["start"].min()
    return out.reset_index().assign(series=PORTFOLIO)


def benchmark_returns(bench: pd.DataFrame, test_lo: pd.Timestamp, test_hi: pd.Timestamp) -> pd.Series:
    """Buy-and-hold of the benchmark: over its test rows t (`test_lo <= date < test_hi`), `next_ret_t` indexed by
    `next_date_t` (a row without a next row earns nothing)."""
    close = bench["close"]
    frame = pd.DataFrame({"date": bench["date"], "next_date": bench["date"].shift(-1)})
    frame["next_ret"] = close.shift(-1) / close - 1
    held = frame[(frame["date"] >= test_lo) & (frame["date"] < test_hi) & frame["next_date"].notna()]
    return pd.Series(held["next_ret"].to_numpy(), index=pd.DatetimeIndex(held["next_date"]), name="benchmark")


def series(rows: pd.DataFrame, test_lo: list[pd.Timestamp], config: Config) -> pd.DataFrame:
    """The portfolio's and every asset's return rows (SERIES_COLUMNS plus `equity`), in (fold, date, series) order."""
    frames = [portfolio_series(rows, config), asset_series(rows, config)]
    out = pd.concat(frames, ignore_index=True)
    out["fold"] = fold_of(out["date"], test_lo)
    return with_equity(out[SERIES_COLUMNS])


def with_equity(frame: pd.DataFrame) -> pd.DataFrame:
    """Add `equity`: the running product of `1 + return` of each series over the whole run, in date order."""
    ordered = frame.sort_values(["series", "date"], kind="stable")
    equity = (1 + ordered["return"]).groupby(ordered["series"]).cumprod()
    out = ordered.assign(equity=equity)
    return out.sort_values(["fold", "date", "series"], kind="stable", ignore_index=True)
