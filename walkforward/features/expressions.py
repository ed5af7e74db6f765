"""Features as pure `Expr -> Expr` functions, applied per asset once at the call site with `.over("symbol")`.

Every function here describes one column of docs/methodology.md §2. They know nothing of the config: the feature
registry (walkforward/features/registry.py) names them, and the plan (walkforward/features/plan.py) applies them.
"""

from __future__ import annotations

import math
import operator
from functools import reduce

import polars as pl

SNAP = 1e-12  # a correlation this close to +-1 is exactly +-1
PARKINSON = 1.0 / (4.0 * math.log(2.0))  # Parkinson (1980): E[ln(H/L)^2] = 4 ln 2 * variance


def ret(close: pl.Expr, k: int) -> pl.Expr:
    """`close_t / close_{t-k} - 1`."""
    return close / close.shift(k) - 1


def sma_ratio(close: pl.Expr, n: int) -> pl.Expr:
    """`SMA_n(close) / close - 1`; exactly 0 over a flat window."""
    return pl.when(flat(close, n)).then(0.0).otherwise(close.rolling_mean(n, min_samples=n) / close - 1)


def wilder_mean(x: pl.Expr, n: int) -> pl.Expr:
    """Wilder's smoothing as TA-Lib seeds it: the first value (row n) is the mean of x[1..n], then
    `avg = (avg * (n - 1) + x) / n`. `x` must be null at row 0 only (a first difference)."""
    row = pl.int_range(pl.len())
    seeded = pl.when(row == n).then(x.rolling_mean(n, min_samples=n)).when(row > n).then(x)
    return seeded.ewm_mean(alpha=1.0 / n, adjust=False, min_samples=1)


def rsi(close: pl.Expr, n: int = 14) -> pl.Expr:
    """Wilder's RSI `100 * avg_gain / (avg_gain + avg_loss)`; null when both averages are 0."""
    diff = close.diff()
    gain = wilder_mean(diff.clip(lower_bound=0.0), n)
    loss = wilder_mean((-diff).clip(lower_bound=0.0), n)
    total = gain + loss
    return pl.when(total > 0).then(100.0 * gain / total)


def flat(x: pl.Expr, n: int) -> pl.Expr:
    """True where the n-row window holds one value n times. Exact (max == min), so it does not depend on
    how a rolling variance accumulates rounding: a flat window's std is 0 by definition, not ~1e-10."""
    return x.rolling_max(n, min_samples=n) == x.rolling_min(n, min_samples=n)


def volatility(returns: pl.Expr, n: int) -> pl.Expr:
    """Sample standard deviation of `returns` over n rows; null for a flat window."""
    return pl.when(~flat(returns, n)).then(returns.rolling_std(n, min_samples=n, ddof=1))


def volume_z(volume: pl.Expr, n: int) -> pl.Expr:
    """`(volume - mean) / std` over n rows (ddof = 1); null for a flat window (all zero included)."""
    mean = volume.rolling_mean(n, min_samples=n)
    std = volume.rolling_std(n, min_samples=n, ddof=1)
    return pl.when(~flat(volume, n)).then((volume - mean) / std)


def offsets(x: pl.Expr, n: int) -> list[pl.Expr]:
    """`x_{t-k} - x_t` for k in 0..n-1: the window's values less its last one. A window's (co)variances are computed
    afresh from these ("shifted data", Chan, Golub & LeVeque, *The American Statistician* 37(3), 1983): a running
    variance keeps rounding from large values that left the window, which swamps a small one (a dollar volume of
    5,757 after 40,000s: relative errors near 1e-8), and offsets from a value inside the window keep the one-pass
    sums small. n shifts per window, no mean recomputed per term."""
    return [x.shift(k) - x for k in range(n)]


def total(terms: list[pl.Expr]) -> pl.Expr:
    """`terms[0] + terms[1] + ...`, added left to right: a fixed order, so the same inputs give the same bits
    (with `pl.sum_horizontal` over many inputs the last bit changed from one run to the next)."""
    return reduce(operator.add, terms)


def co_moment(da: list[pl.Expr], db: list[pl.Expr]) -> pl.Expr:
    """`sum((a - mean_a) * (b - mean_b))` over the window, from `offsets` (the same value from the same inputs)."""
    n = len(da)
    return total([p * q for p, q in zip(da, db, strict=True)]) - total(da) * total(db) / n


def complete(x: pl.Expr, n: int) -> pl.Expr:
    """The n-row window ending here holds n values."""
    return x.rolling_min(n, min_samples=n).is_not_null()


def window_zscore(x: pl.Expr, n: int) -> pl.Expr:
    """`(x - mean) / std` over n rows (ddof = 1) from `offsets` (`x_t - mean = -sum(offsets) / n`); null for a flat or
    incomplete window."""
    d = offsets(x, n)
    std = (co_moment(d, d) / (n - 1)).sqrt()
    return pl.when(complete(x, n) & ~flat(x, n)).then(-total(d) / n / std)


def dollar_volume_z(close: pl.Expr, volume: pl.Expr, n: int) -> pl.Expr:
    """The z-score of the dollar volume `close * volume` over n rows (`window_zscore`)."""
    return window_zscore(close * volume, n)


def hl_range(high: pl.Expr, low: pl.Expr, close: pl.Expr, n: int) -> pl.Expr:
    """Mean over n rows of the bar's range over its close, `(high - low) / close`."""
    return ((high - low) / close).rolling_mean(n, min_samples=n)


def gap(open_: pl.Expr, close: pl.Expr, n: int) -> pl.Expr:
    """The overnight gap `open_t / close_{t-1} - 1`; for n > 1 its mean over n rows (n = 1: the gap itself)."""
    raw = open_ / close.shift(1) - 1
    return raw if n == 1 else raw.rolling_mean(n, min_samples=n)


def parkinson(high: pl.Expr, low: pl.Expr, n: int) -> pl.Expr:
    """Parkinson's volatility `sqrt(mean(ln(high / low)^2) / (4 ln 2))` over n rows, per row (not annualised);
    exactly 0 when every bar of the window has high == low."""
    squared = (high / low).log().pow(2)
    mean = squared.rolling_mean(n, min_samples=n)
    return pl.when(squared.rolling_max(n, min_samples=n) == 0).then(0.0).otherwise((mean * PARKINSON).sqrt())


def beta(a: pl.Expr, b: pl.Expr, n: int) -> pl.Expr:
    """`cov(a, b) / var(b)` over n rows from `offsets` (the benchmark with itself: exactly 1); null when b's window is
    flat or either is incomplete, exactly 0 when a's is flat."""
    da, db = offsets(a, n), offsets(b, n)
    out = pl.when(flat(a, n)).then(0.0).otherwise(co_moment(da, db) / co_moment(db, db))
    return pl.when(complete(a, n) & complete(b, n) & ~flat(b, n)).then(out)


def max_drawdown(close: pl.Expr, n: int) -> pl.Expr:
    """The largest fall from a running peak inside the window of n closes, `min_k (c_{t-k} / max(c_{t-n+1..t-k}) - 1)`
    (<= 0). Row k's peak is a rolling max of n - k rows shifted by k: n rolling maxima, no loop over rows."""
    falls = [close.shift(k) / close.rolling_max(n - k, min_samples=n - k).shift(k) - 1 for k in range(n)]
    return pl.when(close.shift(n - 1).is_not_null()).then(pl.min_horizontal(falls))


def distance_to_high(close: pl.Expr, high: pl.Expr, n: int) -> pl.Expr:
    """`close_t / max(high_{t-n+1..t}) - 1` (<= 0)."""
    return close / high.rolling_max(n, min_samples=n) - 1


def distance_to_low(close: pl.Expr, low: pl.Expr, n: int) -> pl.Expr:
    """`close_t / min(low_{t-n+1..t}) - 1` (>= 0)."""
    return close / low.rolling_min(n, min_samples=n) - 1


def rolling_corr(a: pl.Expr, b: pl.Expr, n: int) -> pl.Expr:
    """Pearson correlation over n rows, clipped to [-1, 1], exactly +-1 within SNAP of it (an asset with
    itself: rounding must not make distinct values the model would split on); null when either side is flat."""
    corr = pl.rolling_corr(a, b, window_size=n, min_samples=n).clip(-1.0, 1.0)
    corr = pl.when(corr.abs() >= 1.0 - SNAP).then(corr.sign()).otherwise(corr)
    return pl.when(~flat(a, n) & ~flat(b, n)).then(corr)


def forward_return(close: pl.Expr, h: int) -> pl.Expr:
    """`close_{t+h} / close_t - 1`: the target (h = horizon) and the backtest's next return (h = 1)."""
    return close.shift(-h) / close - 1
