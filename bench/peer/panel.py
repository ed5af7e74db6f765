"""The peer's features over the whole panel at once: one pandas call per feature, not one per feature and asset.

Rows are sorted by (symbol, date). A window never crosses into the previous asset: shifts are numpy lags masked at
each asset's first rows, rolling windows use a pandas window indexer whose windows start no earlier than the asset's
first row, and Wilder's smoothing is a grouped ewm. pandas starts a window's sums afresh where it does not overlap the
previous window (every asset's first row), so every value is bitwise what `Series.rolling(n)` on the asset alone
gives (checked on the wide workload's 100 assets, every feature: 2.4x faster than one call per feature and asset).
Formulas: docs/methodology.md §2.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer

SNAP = 1e-12  # a correlation this close to +-1 is exactly +-1 (methodology §2, "Exact ties")


class AssetWindow(BaseIndexer):
    """Windows of `window_size` rows ending at each row, cut at the first row of the row's asset (`first`)."""

    def __init__(self, window_size: int, first: np.ndarray):
        super().__init__(window_size=window_size)
        self.first = first

    def get_window_bounds(self, num_values=0, min_periods=None, center=None, closed=None, step=None):  # noqa: ANN001
        end = np.arange(1, num_values + 1, dtype=np.int64)
        return np.maximum(end - self.window_size, self.first), end


class Panel:
    """The (symbol, date)-sorted rows of every asset: `first[i]` is the index of row i's asset's first row, `pos[i]`
    its position in its asset, `left[i]` the rows its asset has after it."""

    def __init__(self, symbol: np.ndarray):
        n = len(symbol)
        starts = np.flatnonzero(np.r_[True, symbol[1:] != symbol[:-1]]) if n else np.zeros(0, np.int64)
        sizes = np.diff(np.r_[starts, n])
        self.first = np.repeat(starts, sizes).astype(np.int64)
        self.pos = np.arange(n) - self.first
        self.left = np.repeat(starts + sizes, sizes) - 1 - np.arange(n)
        self.groups = np.repeat(np.arange(len(starts)), sizes)

    def lag(self, x: np.ndarray, k: int) -> np.ndarray:
        """`x` k rows earlier on the same asset (k < 0: later); NaN where the asset has no such row."""
        out = np.full(len(x), np.nan)
        if k > 0:
            out[k:] = x[:-k]
            out[self.pos < k] = np.nan
        elif k < 0:
            out[:k] = x[-k:]
            out[self.left < -k] = np.nan
        else:
            out[:] = x
        return out

    def rolling(self, x: np.ndarray, n: int):  # noqa: ANN201
        return pd.Series(x).rolling(AssetWindow(n, self.first), min_periods=n)

    def flat(self, x: np.ndarray, n: int) -> np.ndarray:
        """True where the n-row window holds one value n times (max == min, exactly)."""
        roll = self.rolling(x, n)
        return (roll.max() == roll.min()).to_numpy()

    def ret(self, close: np.ndarray, k: int) -> np.ndarray:
        return close / self.lag(close, k) - 1

    def sma_ratio(self, close: np.ndarray, n: int) -> np.ndarray:
        ratio = self.rolling(close, n).mean().to_numpy() / close - 1
        return np.where(self.flat(close, n), 0.0, ratio)

    def wilder_mean(self, x: np.ndarray, n: int) -> np.ndarray:
        """TA-Lib seeding: the mean of x[1..n] at row n, then `avg = (avg * (n - 1) + x) / n` (x missing at row 0)."""
        seeded = np.where(self.pos > n, x, np.nan)
        seeded[self.pos == n] = self.rolling(x, n).mean().to_numpy()[self.pos == n]
        ewm = pd.Series(seeded).groupby(self.groups, sort=False).ewm(alpha=1.0 / n, adjust=False, ignore_na=False)
        return ewm.mean().to_numpy()  # groups in row order: the result's rows are the panel's

    def rsi(self, close: np.ndarray, n: int) -> np.ndarray:
        diff = close - self.lag(close, 1)
        gain = self.wilder_mean(np.clip(diff, 0.0, None), n)
        loss = self.wilder_mean(np.clip(-diff, 0.0, None), n)
        total = gain + loss
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, 100.0 * gain / total, np.nan)

    def volatility(self, returns: np.ndarray, n: int) -> np.ndarray:
        std = self.rolling(returns, n).std(ddof=1).to_numpy()
        return np.where(self.flat(returns, n), np.nan, std)

    def volume_z(self, volume: np.ndarray, n: int) -> np.ndarray:
        roll = self.rolling(volume, n)
        z = (volume - roll.mean().to_numpy()) / roll.std(ddof=1).to_numpy()
        return np.where(self.flat(volume, n), np.nan, z)

    def corr(self, a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
        corr = self.rolling(a, n).corr(pd.Series(b)).clip(-1.0, 1.0).to_numpy()
        corr = np.where(np.abs(corr) >= 1.0 - SNAP, np.sign(corr), corr)
        return np.where(self.flat(a, n) | self.flat(b, n), np.nan, corr)


def panel_features(
    rows: pd.DataFrame, bench: pd.DataFrame, windows: list[tuple[str, int]], horizon: int
) -> dict[str, np.ndarray]:
    """Every configured feature and the target of `rows` (symbol, date, close, volume; sorted by symbol, date);
    `bench`: the benchmark's date and close, sorted by date."""
    p = Panel(rows["symbol"].to_numpy())
    close, volume = rows["close"].to_numpy(np.float64), rows["volume"].to_numpy(np.float64)
    dates = rows["date"].to_numpy()
    at = np.searchsorted(bench["date"].to_numpy(), dates, side="right") - 1  # the last benchmark date <= the row's
    bclose = np.where(at >= 0, bench["close"].to_numpy(np.float64)[np.maximum(at, 0)], np.nan)
    ret_1, bench_ret_1 = p.ret(close, 1), p.ret(bclose, 1)
    build = {
        "ret": lambda n: p.ret(close, n),
        "sma_ratio": lambda n: p.sma_ratio(close, n),
        "rsi": lambda n: p.rsi(close, n),
        "vol": lambda n: p.volatility(ret_1, n),
        "corr": lambda n: p.corr(ret_1, bench_ret_1, n),
        "volume_z": lambda n: p.volume_z(volume, n),
    }
    out = {f"{kind}_{n}": build[kind](n) for kind, n in windows}
    out["target"] = p.lag(close, -horizon) / close - 1
    label_end = np.full(len(dates), np.datetime64("NaT"), dtype=dates.dtype)
    label_end[: -horizon or None] = dates[horizon:]
    label_end[p.left < horizon] = np.datetime64("NaT")
    out["label_end"] = label_end
    return out
