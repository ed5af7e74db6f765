"""The peer's features: pandas, once per asset over its full history, vectorised (docs/methodology.md §2).

Written from the methodology, not from either engine. One frame per asset, sorted by date; every window is a pandas
rolling window with `min_periods = n`, so a window holding a missing value is missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SNAP = 1e-12  # a correlation this close to +-1 is exactly +-1 (methodology §2, "Exact ties")


def flat(x: pd.Series, n: int) -> pd.Series:
    """True where the n-row window holds one value n times (max == min, exactly)."""
    roll = x.rolling(n, min_periods=n)
    return roll.max() == roll.min()


def ret(close: pd.Series, k: int) -> pd.Series:
    return close / close.shift(k) - 1


def sma_ratio(close: pd.Series, n: int) -> pd.Series:
    ratio = close.rolling(n, min_periods=n).mean() / close - 1
    return ratio.mask(flat(close, n), 0.0)


def wilder_mean(x: pd.Series, n: int) -> pd.Series:
    """TA-Lib seeding: the mean of x[1..n] at row n, then `avg = (avg * (n - 1) + x) / n` (x missing at row 0)."""
    seeded = x.copy()
    seeded.iloc[: n + 1] = np.nan
    if len(x) > n:
        seeded.iloc[n] = x.iloc[1 : n + 1].mean()
    return seeded.ewm(alpha=1.0 / n, adjust=False, ignore_na=False).mean()


def rsi(close: pd.Series, n: int) -> pd.Series:
    diff = close.diff()
    gain = wilder_mean(diff.clip(lower=0.0), n)
    loss = wilder_mean((-diff).clip(lower=0.0), n)
    total = gain + loss
    return (100.0 * gain / total).where(total > 0)


def volatility(returns: pd.Series, n: int) -> pd.Series:
    return returns.rolling(n, min_periods=n).std(ddof=1).mask(flat(returns, n))


def volume_z(volume: pd.Series, n: int) -> pd.Series:
    roll = volume.rolling(n, min_periods=n)
    return ((volume - roll.mean()) / roll.std(ddof=1)).mask(flat(volume, n))


def rolling_corr(a: pd.Series, b: pd.Series, n: int) -> pd.Series:
    corr = a.rolling(n, min_periods=n).corr(b).clip(-1.0, 1.0)
    corr = corr.mask(corr.abs() >= 1.0 - SNAP, np.sign(corr))
    return corr.mask(flat(a, n) | flat(b, n))


def asset_features(
    frame: pd.DataFrame, bench_close: pd.Series, windows: list[tuple[str, int]], horizon: int
) -> pd.DataFrame:
    """Every configured feature, the target and the label's end date of one asset (`frame`: date, close, volume,
    sorted by date). `bench_close`: the benchmark's close indexed by date, sorted."""
    close, volume = frame["close"], frame["volume"]
    ret_1 = ret(close, 1)
    bclose = bench_close.reindex(frame["date"], method="ffill").set_axis(frame.index)
    bench_ret_1 = ret(bclose, 1)
    build = {
        "ret": lambda n: ret(close, n),
        "sma_ratio": lambda n: sma_ratio(close, n),
        "rsi": lambda n: rsi(close, n),
        "vol": lambda n: volatility(ret_1, n),
        "corr": lambda n: rolling_corr(ret_1, bench_ret_1, n),
        "volume_z": lambda n: volume_z(volume, n),
    }
    out = pd.DataFrame({f"{kind}_{n}": build[kind](n) for kind, n in windows}, index=frame.index)
    out["target"] = close.shift(-horizon) / close - 1
    out["label_end"] = frame["date"].shift(-horizon)
    out["date"] = frame["date"]
    return out
