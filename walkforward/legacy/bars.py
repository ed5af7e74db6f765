"""The features of one asset's whole bar (open, high, low, close, volume), the beta to the benchmark and the rolling
max drawdown, with pandas (methodology §2); the oracle's own code, apart from the Polars expressions.

Every window is row-based with `min_periods = n`; missing values are NaN.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

SNAP = 1e-12  # a beta this close to 1 is exactly 1 (the benchmark with itself)


def _flat(x: pd.Series, n: int) -> pd.Series:
    rolling = x.rolling(n, min_periods=n)
    return rolling.max() == rolling.min()


def hl_range(prices: pd.DataFrame, n: int) -> pd.Series:
    """`mean((high - low) / close)` over `n` rows."""
    return ((prices["high"] - prices["low"]) / prices["close"]).rolling(n, min_periods=n).mean()


def gap(prices: pd.DataFrame, n: int) -> pd.Series:
    """`open_t / close_{t-1} - 1`, averaged over `n` rows when `n > 1`."""
    raw = prices["open"] / prices["close"].shift(1) - 1
    return raw if n == 1 else raw.rolling(n, min_periods=n).mean()


def parkinson(prices: pd.DataFrame, n: int) -> pd.Series:
    """`sqrt(mean(ln(high / low)^2) / (4 ln 2))` over `n` rows; exactly 0 when every bar has high == low."""
    squared = np.log(prices["high"] / prices["low"]) ** 2
    rolling = squared.rolling(n, min_periods=n)
    out = np.sqrt(rolling.mean() * (1.0 / (4.0 * math.log(2.0))))
    return out.mask(rolling.max() == 0, 0.0)


def beta(ret_1: pd.Series, bench_ret_1: pd.Series, n: int) -> pd.Series:
    """`cov(ret_1, bench) / var(bench)` over `n` rows (ddof = 1); NaN when the benchmark's window is flat."""
    cov = ret_1.rolling(n, min_periods=n).cov(bench_ret_1, ddof=1)
    out = cov / bench_ret_1.rolling(n, min_periods=n).var(ddof=1)
    out = out.mask((out - 1.0).abs() <= SNAP, 1.0)
    return out.mask(_flat(bench_ret_1, n))


def max_drawdown(close: pd.Series, n: int) -> pd.Series:
    """The worst `close / running peak - 1` inside each window of `n` closes (the peak restarts at the window's
    first row), over every window at once: a (rows - n + 1, n) view, its running maxima along the window."""
    out = np.full(len(close), np.nan)
    if len(close) >= n:
        windows = np.lib.stride_tricks.sliding_window_view(close.to_numpy(dtype=float), n)
        out[n - 1 :] = (windows / np.maximum.accumulate(windows, axis=1) - 1).min(axis=1)
    return pd.Series(out, index=close.index)


def dollar_volume_z(prices: pd.DataFrame, n: int) -> pd.Series:
    """`(dv - mean) / std` of `dv = close * volume` over `n` rows (ddof = 1); NaN for a flat window."""
    dv = prices["close"] * prices["volume"]
    rolling = dv.rolling(n, min_periods=n)
    std = rolling.std(ddof=1)
    return ((dv - rolling.mean()) / std).where(std != 0).mask(_flat(dv, n))


def dist_high(prices: pd.DataFrame, n: int) -> pd.Series:
    """`close / max(high over n rows) - 1`."""
    return prices["close"] / prices["high"].rolling(n, min_periods=n).max() - 1


def dist_low(prices: pd.DataFrame, n: int) -> pd.Series:
    """`close / min(low over n rows) - 1`."""
    return prices["close"] / prices["low"].rolling(n, min_periods=n).min() - 1
