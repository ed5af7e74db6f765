"""The features of one asset's whole bar (open, high, low, close, volume), the beta to the benchmark and the rolling
max drawdown, with pandas (methodology §2); the oracle's own code, apart from the Polars expressions.

Every window is row-based with `min_periods = n`; missing values are NaN.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


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


def _windows(x: pd.Series, n: int) -> np.ndarray:
    """Every window of `n` rows of `x` as a (rows - n + 1, n) view (empty when there are fewer rows)."""
    values = x.to_numpy(dtype=float)
    return np.lib.stride_tricks.sliding_window_view(values, n) if len(values) >= n else np.empty((0, n))


def _per_window(x: pd.Series, n: int, values: np.ndarray) -> pd.Series:
    """`values` (one per complete window) on the windows' last rows; NaN on the first n - 1."""
    out = np.full(len(x), np.nan)
    out[n - 1 :] = values
    return pd.Series(out, index=x.index)


def _co_moment(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """`sum((a - mean_a) * (b - mean_b))` of each window (row), from the offsets to the window's last value (the
    shifted-data form: no running sums, small terms)."""
    da, db = a - a[:, -1:], b - b[:, -1:]
    return (da * db).sum(axis=1) - da.sum(axis=1) * db.sum(axis=1) / a.shape[1]


def beta(ret_1: pd.Series, bench_ret_1: pd.Series, n: int) -> pd.Series:
    """`cov(ret_1, bench) / var(bench)` over `n` rows, each window's moments from its own values; NaN when a window
    is incomplete or the benchmark's is flat, 0 when the asset's is flat."""
    a, b = _windows(ret_1, n), _windows(bench_ret_1, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = _co_moment(a, b) / _co_moment(b, b)
    out = np.where(a.max(axis=1) == a.min(axis=1), 0.0, out)
    out = np.where(np.isnan(a).any(axis=1) | (b.max(axis=1) == b.min(axis=1)) | np.isnan(b).any(axis=1), np.nan, out)
    return _per_window(ret_1, n, out)


def max_drawdown(close: pd.Series, n: int) -> pd.Series:
    """The worst `close / running peak - 1` inside each window of `n` closes (the peak restarts at the window's
    first row), over every window at once: running maxima along each window of the view."""
    w = _windows(close, n)
    return _per_window(close, n, (w / np.maximum.accumulate(w, axis=1) - 1).min(axis=1))


def dollar_volume_z(prices: pd.DataFrame, n: int) -> pd.Series:
    """`(dv - mean) / std` of `dv = close * volume` over `n` rows (ddof = 1), each window's moments from its own
    values (`_co_moment`; no running sums); NaN for a flat window."""
    dv = prices["close"] * prices["volume"]
    w = _windows(dv, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = -(w - w[:, -1:]).sum(axis=1) / n / np.sqrt(_co_moment(w, w) / (n - 1))  # dv_t - mean, from the offsets
    return _per_window(dv, n, np.where(w.max(axis=1) == w.min(axis=1), np.nan, z))


def dist_high(prices: pd.DataFrame, n: int) -> pd.Series:
    """`close / max(high over n rows) - 1`."""
    return prices["close"] / prices["high"].rolling(n, min_periods=n).max() - 1


def dist_low(prices: pd.DataFrame, n: int) -> pd.Series:
    """`close / min(low over n rows) - 1`."""
    return prices["close"] / prices["low"].rolling(n, min_periods=n).min() - 1
