"""Features, target and next return of one asset with pandas, over its full history (§2).

Every window is row-based on the asset's own calendar with `min_periods = n`; missing values are
NaN. Division by zero and flat windows (all `n` values equal, tested exactly as `rolling max ==
rolling min`) give NaN, never `inf`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from walkforward.config import Config
from walkforward.legacy import bars
from walkforward.legacy.custom import custom_columns

SNAP = 1e-12  # a correlation this close to +-1 is exactly +-1 (an asset with itself)


def _divide(num: pd.Series, den: pd.Series) -> pd.Series:
    """`num / den`, NaN where `den` is 0."""
    return (num / den).where(den != 0)


def ret(close: pd.Series, k: int) -> pd.Series:
    """`close_t / close_{t-k} - 1`."""
    return _divide(close, close.shift(k)) - 1


def sma_ratio(close: pd.Series, n: int) -> pd.Series:
    """`mean(close_{t-n+1..t}) / close_t - 1`; exactly 0 over a flat window."""
    ratio = _divide(close.rolling(n, min_periods=n).mean(), close) - 1
    return ratio.mask(flat(close, n), 0.0)


def _wilder_average(x: pd.Series, n: int) -> pd.Series:
    """Wilder's average of `x[1:]` with TA-Lib seeding; `x[0]` is the (missing) first difference.

    At row `n` the average is the simple mean of `x[1..n]`; after that
    `avg_t = (avg_{t-1} * (n - 1) + x_t) / n`, i.e. an exponential mean with `alpha = 1 / n`.
    A missing `x` makes the average missing from there on (the recursion carries it).
    """
    out = pd.Series(np.nan, index=x.index)
    if len(x) <= n:
        return out
    tail = x.iloc[n:].copy()
    tail.iloc[0] = x.iloc[1 : n + 1].mean(skipna=False)
    average = tail.ewm(alpha=1 / n, adjust=False).mean()
    out.iloc[n:] = average.mask(tail.isna().cummax()).to_numpy()
    return out


def rsi(close: pd.Series, n: int) -> pd.Series:
    """Wilder's RSI, TA-Lib seeding: `100 * avg_gain / (avg_gain + avg_loss)`; NaN if both are 0."""
    diff = close.diff()
    gain = _wilder_average(diff.clip(lower=0), n)
    loss = _wilder_average((-diff).clip(lower=0), n)
    return 100 * _divide(gain, gain + loss)


def flat(x: pd.Series, n: int) -> pd.Series:
    """True where the `n` values of the window are all equal (`rolling max == rolling min`)."""
    rolling = x.rolling(n, min_periods=n)
    return rolling.max() == rolling.min()


def vol(ret_1: pd.Series, n: int) -> pd.Series:
    """Sample standard deviation (ddof = 1) of `ret_1` over `n` rows; NaN for a flat window."""
    return ret_1.rolling(n, min_periods=n).std(ddof=1).mask(flat(ret_1, n))


def corr(ret_1: pd.Series, bench_ret_1: pd.Series, n: int) -> pd.Series:
    """Pearson correlation over `n` rows, `cov / (std_a * std_b)` (ddof = 1), clipped to [-1, 1].

    NaN when either side's window is flat; within SNAP of +-1 it is exactly +-1.
    """
    cov = ret_1.rolling(n, min_periods=n).cov(bench_ret_1, ddof=1)
    std_a = ret_1.rolling(n, min_periods=n).std(ddof=1)
    std_b = bench_ret_1.rolling(n, min_periods=n).std(ddof=1)
    either_flat = flat(ret_1, n) | flat(bench_ret_1, n)
    corr = _divide(cov, std_a * std_b).mask(either_flat).clip(-1.0, 1.0)
    return corr.mask(corr.abs() >= 1.0 - SNAP, np.sign(corr))


def volume_z(volume: pd.Series, n: int) -> pd.Series:
    """`(volume_t - mean) / std` over `n` rows (ddof = 1); NaN for a flat window (all zero too)."""
    rolling = volume.rolling(n, min_periods=n)
    return _divide(volume - rolling.mean(), rolling.std(ddof=1)).mask(flat(volume, n))


def benchmark_close_on(dates: pd.Series, bench: pd.DataFrame) -> pd.Series:
    """The benchmark's last close at or before each of `dates` (NaN before its first date)."""
    carried = bench.set_index("date")["close"].reindex(pd.DatetimeIndex(dates), method="ffill")
    return pd.Series(carried.to_numpy(), index=dates.index)


def _bar_features(prices: pd.DataFrame, ret_1: pd.Series, bench_close: pd.Series, config: Config) -> dict:
    """The columns of the kinds after the first six (methodology §2), by name."""
    spec, columns = config.features, {}
    for kind in ("hl_range", "gap", "parkinson", "dollar_volume_z", "dist_high", "dist_low"):
        for n in spec.of(kind):
            columns[f"{kind}_{n}"] = getattr(bars, kind)(prices, n)
    for n in spec.of("max_drawdown"):
        columns[f"max_drawdown_{n}"] = bars.max_drawdown(prices["close"], n)
    for n in spec.of("beta"):
        columns[f"beta_{n}"] = bars.beta(ret_1, ret(bench_close, 1), n)
    return columns


def target(close: pd.Series, bench_close: pd.Series, ret_1: pd.Series, config: Config) -> pd.Series:
    """`target.kind` per asset: the forward return over `horizon` rows (`return`, and `cs_rank` before it is ranked
    across the date), less the benchmark's over the same rows (`excess`), or over the trailing volatility of
    `vol_window` one-row returns (`vol_scaled`)."""
    h = config.horizon
    forward = _divide(close.shift(-h), close) - 1
    if config.target.kind == "excess":
        return forward - (_divide(bench_close.shift(-h), bench_close) - 1)
    if config.target.kind == "vol_scaled":
        return _divide(forward, vol(ret_1, config.target.vol_window))
    return forward


def compute_features(prices: pd.DataFrame, bench: pd.DataFrame, config: Config) -> pd.DataFrame:
    """One asset's `date`, features (`config.features.per_asset_names` order), `target`, `next_ret` and dates.

    `prices` and `bench` are frames from `io.validate` (sorted by date). `next_date` and `label_end`
    are the dates 1 and `horizon` rows later on the asset's calendar (NaT past the last row): the
    backtest dates exits at `next_date`, purging compares `label_end` with the test window. The
    cross-sectional columns are added across assets (walkforward/legacy/crosssection.py).
    """
    close = prices["close"]
    spec = config.features
    ret_1 = ret(close, 1)
    bench_close = benchmark_close_on(prices["date"], bench)
    columns: dict[str, pd.Series] = {}
    for k in spec.of("ret"):
        columns[f"ret_{k}"] = ret(close, k)
    for n in spec.of("sma_ratio"):
        columns[f"sma_ratio_{n}"] = sma_ratio(close, n)
    for n in spec.of("rsi"):
        columns[f"rsi_{n}"] = rsi(close, n)
    for n in spec.of("vol"):
        columns[f"vol_{n}"] = vol(ret_1, n)
    for n in spec.of("corr"):
        columns[f"corr_{n}"] = corr(ret_1, ret(bench_close, 1), n)
    for n in spec.of("volume_z"):
        columns[f"volume_z_{n}"] = volume_z(prices["volume"], n)
    columns |= _bar_features(prices, ret_1, bench_close, config)
    columns.update(custom_columns(prices, config))

    out = pd.DataFrame({"date": prices["date"]})
    for name in spec.per_asset_names:
        out[name] = columns[name]
    out["target"] = target(close, bench_close, ret_1, config)
    out["next_ret"] = _divide(close.shift(-1), close) - 1
    out["next_date"] = prices["date"].shift(-1)
    out["label_end"] = prices["date"].shift(-config.horizon)
    return out
