"""Metrics of one return series (docs/methodology.md §5): performance, and relative to the benchmark.

A series is a set of return rows in date order, each earned over a holding period from a start date (the close it
was decided at) to an end date (`next_date`); its calendar span `days` is the last end date less the first start
date. A metric whose denominator is zero or undefined is None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from walkforward.config.schema import AUTO

YEAR_DAYS = 365.25
RETURN_METRICS = ("total_return", "cagr", "volatility", "sharpe", "sortino", "max_drawdown", "calmar", "hit_rate")
RELATIVE_METRICS = ("beta", "alpha", "tracking_error", "information_ratio")


@dataclass(frozen=True)
class Series:
    """One return series: per row (in date order) its return, gross exposure, traded weight and the benchmark's
    return on its date (0 where the benchmark has none); and its calendar span in days."""

    r: np.ndarray
    exposure: np.ndarray
    traded: np.ndarray
    bench: np.ndarray
    days: int


def span(start: np.ndarray, end: np.ndarray) -> int:
    """Calendar days from the first start date to the last end date (0 for no rows)."""
    if not len(end):
        return 0
    return int((end.max() - start.min()).astype("timedelta64[D]").astype(np.int64))


def periods_per_year(n: int, days: int, annualization: float | str) -> float | None:
    """`A`: a fixed number, or ("auto") the rows per year the series has, `n / (days / 365.25)`."""
    if annualization != AUTO:
        return float(annualization)
    return _div(float(n), days / YEAR_DAYS)


def _div(num: float | None, den: float | None) -> float | None:
    if num is None or den is None or den == 0 or not math.isfinite(den) or not math.isfinite(num):
        return None
    out = num / den
    return float(out) if math.isfinite(out) else None


def _times(x: float | None, y: float | None) -> float | None:
    return None if x is None or y is None else x * y


def cagr(total_return: float, days: int) -> float | None:
    """`(1 + total_return) ** (365.25 / days) - 1`: null when `1 + total_return <= 0`, `days = 0` or the power
    overflows (absurd prices in the data)."""
    growth = 1.0 + total_return
    if not growth > 0 or days <= 0:
        return None
    try:
        out = growth ** (YEAR_DAYS / days) - 1.0
    except OverflowError:
        return None
    return out if math.isfinite(out) else None


def max_drawdown(r: np.ndarray) -> float:
    """`min_t(E_t / max(1, max_{s<=t} E_s) - 1)`, 0 when never under water."""
    equity = np.cumprod(1.0 + r)
    return min(0.0, float(np.min(equity / np.maximum(np.maximum.accumulate(equity), 1.0) - 1.0)))


def return_metrics(s: Series, a: float | None) -> dict[str, Any]:
    """total_return, cagr, volatility, sharpe, sortino, max_drawdown, calmar, hit_rate, turnover, exposure and
    n_days of one series, annualised with `a` periods per year."""
    n = len(s.r)
    out: dict[str, Any] = dict.fromkeys((*RETURN_METRICS, "turnover", "exposure"))
    out["n_days"] = n
    if n == 0:
        return out
    root = math.sqrt(a) if a is not None else None
    total = float(np.prod(1.0 + s.r)) - 1.0
    mean = float(np.mean(s.r))
    std = float(np.std(s.r, ddof=1)) if n > 1 else None
    downside = math.sqrt(float(np.mean(np.minimum(s.r, 0.0) ** 2)))
    growth_rate = cagr(total, s.days)
    drawdown = max_drawdown(s.r)
    active = s.exposure > 0
    out.update(
        total_return=total,
        cagr=growth_rate,
        volatility=_times(std, root),
        sharpe=_times(_div(mean, std), root),
        sortino=_times(_div(mean, downside), root),
        max_drawdown=drawdown,
        calmar=_div(growth_rate, abs(drawdown)),
        hit_rate=_div(float(np.sum(s.r[active] > 0)), float(np.sum(active))),
        turnover=float(np.mean(s.traded)),
        exposure=float(np.mean(s.exposure)),
    )
    return out


def relative_metrics(r: np.ndarray, b: np.ndarray, a: float | None) -> dict[str, Any]:
    """beta (`cov(r, b) / var(b)`, ddof 1), alpha (`(mean(r) - beta * mean(b)) * A`), tracking error
    (`std(r - b, ddof=1) * sqrt(A)`) and information ratio (`mean(r - b) * A / tracking_error`)."""
    n = len(r)
    out: dict[str, Any] = dict.fromkeys(RELATIVE_METRICS)
    if n < 2:
        return out
    mean_r, mean_b = float(np.mean(r)), float(np.mean(b))
    cov = float(np.sum((r - mean_r) * (b - mean_b))) / (n - 1)
    var = float(np.sum((b - mean_b) ** 2)) / (n - 1)
    beta = _div(cov, var)
    active = r - b
    tracking = _times(float(np.std(active, ddof=1)), math.sqrt(a) if a is not None else None)
    out.update(
        beta=beta,
        alpha=_times(mean_r - beta * mean_b, a) if beta is not None else None,
        tracking_error=tracking,
        information_ratio=_div(_times(float(np.mean(active)), a), tracking),
    )
    return out
