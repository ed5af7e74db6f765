"""Performance and prediction metrics (methodology §5). Undefined metrics are None.

`series_metrics` takes one return series (rows in date order) with its exposure, traded weight and the benchmark's
return on each row; `prediction_metrics` takes predictions and targets. `metrics` combines them with a trade count.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from walkforward.legacy.quantiles import no_quantiles, quantile_metrics
from walkforward.outputs import METRIC_NAMES

YEAR = 365.25  # calendar days
_CROSS_SECTION = ("ic_mean", "ic_std", "ic_ir")
_LEGS = ("turnover_long", "turnover_short")
_ELSEWHERE = ("n_trades", "ic", *_CROSS_SECTION, "directional_accuracy", *_LEGS, *no_quantiles())  # not from the series


def _ratio(num: float | None, den: float | None) -> float | None:
    """`num / den`, None when either is undefined or `den` is 0."""
    if num is None or den is None or den == 0 or not math.isfinite(den):
        return None
    out = num / den
    return float(out) if math.isfinite(out) else None


def _times(value: float | None, factor: float | None) -> float | None:
    return None if value is None or factor is None else value * factor


def span_days(series: pd.DataFrame) -> int:
    """Calendar span: the last end date (`date`) less the first start date (`start`), in days; 0 when empty."""
    if series.empty:
        return 0
    return int((series["date"].max() - series["start"].min()).days)


def periods_per_year(n: int, days: int, annualization: float | str) -> float | None:
    """`A`: the configured number, or with "auto" `n / (days / 365.25)` (None for an empty or zero-length series)."""
    if not isinstance(annualization, str):
        return float(annualization)
    if n == 0 or days <= 0:
        return None
    return n / (days / YEAR)


def max_drawdown(returns: np.ndarray) -> float:
    """`min_t(E_t / max(1, max_{s<=t} E_s) - 1)` with `E` the equity starting at 1."""
    equity = np.cumprod(1 + returns)
    peak = np.maximum(1.0, np.maximum.accumulate(equity))
    return float(min(0.0, np.min(equity / peak - 1)))


def cagr(total: float, days: int) -> float | None:
    """`(1 + total) ** (365.25 / days) - 1`: None when `1 + total <= 0`, `days == 0` or the power overflows."""
    if 1 + total <= 0 or days <= 0:
        return None
    try:
        out = float((1 + total) ** (YEAR / days)) - 1
    except OverflowError:  # absurd prices in the data
        return None
    return out if math.isfinite(out) else None


def relative_metrics(r: np.ndarray, b: np.ndarray, a: float | None) -> dict[str, Any]:
    """beta, alpha, tracking_error and information_ratio of `r` against the benchmark returns `b` (same rows)."""
    out: dict[str, Any] = {"beta": None, "alpha": None, "tracking_error": None, "information_ratio": None}
    if len(r) < 2:
        return out
    dr, db = r - np.mean(r), b - np.mean(b)
    beta = _ratio(float(np.sum(dr * db)), float(np.sum(db * db)))  # cov / var: the n - 1 cancel
    out["beta"] = beta
    if beta is not None:
        out["alpha"] = _times(float(np.mean(r)) - beta * float(np.mean(b)), a)
    active = r - b
    te = _times(float(np.std(active, ddof=1)), None if a is None else math.sqrt(a))
    out["tracking_error"] = te
    out["information_ratio"] = _ratio(_times(float(np.mean(active)), a), te)
    return out


def series_metrics(
    returns: np.ndarray,
    exposure: np.ndarray,
    traded: np.ndarray,
    benchmark: np.ndarray,
    *,
    a: float | None,
    days: int,
) -> dict[str, Any]:
    """Return-series metrics of §5 (all but n_trades and the prediction metrics), `a` periods per year and a
    calendar span of `days`."""
    r = np.asarray(returns, dtype=np.float64)
    n = len(r)
    out: dict[str, Any] = dict.fromkeys(m for m in METRIC_NAMES if m not in _ELSEWHERE)
    out["n_days"] = n
    out["periods_per_year"] = a
    if n == 0:
        return out
    root = None if a is None else math.sqrt(a)
    total = float(np.prod(1 + r)) - 1
    out["total_return"] = total
    out["cagr"] = cagr(total, days)
    mean = float(np.mean(r))
    if n > 1:
        std = float(np.std(r, ddof=1))
        out["volatility"] = _times(std, root)
        out["sharpe"] = _times(_ratio(mean, std), root)
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    out["sortino"] = _times(_ratio(mean, downside), root)
    out["max_drawdown"] = max_drawdown(r)
    out["calmar"] = _ratio(out["cagr"], abs(out["max_drawdown"]))
    exposed = np.asarray(exposure) != 0
    if exposed.any():
        out["hit_rate"] = float(np.mean(r[exposed] > 0))
    out["turnover"] = float(np.mean(traded))
    out["exposure"] = float(np.mean(exposure))
    out.update(relative_metrics(r, np.asarray(benchmark, dtype=np.float64), a))
    return out


def leg_turnover(series: pd.DataFrame) -> dict[str, Any]:
    """`turnover_long`, `turnover_short`: the mean traded weight per row of each leg (None without rows)."""
    if series.empty:
        return dict.fromkeys(_LEGS)
    return {
        name: float(np.mean(series[name.replace("turnover", "traded")].to_numpy(dtype=np.float64))) for name in _LEGS
    }


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman rank correlation with average ranks for ties; None when a side is constant."""
    if len(x) < 2:
        return None
    rx = pd.Series(x).rank(method="average").to_numpy() - (len(x) + 1) / 2
    ry = pd.Series(y).rank(method="average").to_numpy() - (len(y) + 1) / 2
    return _ratio(float(np.sum(rx * ry)), math.sqrt(float(np.sum(rx**2) * np.sum(ry**2))))


def daily_ic(predictions: pd.DataFrame) -> pd.Series:
    """The cross-sectional IC: on each `date` with at least 3 rows having a prediction and a target, the Spearman
    correlation (average ranks) across them; dates where it is undefined (a side all tied) are left out."""
    both = predictions[predictions["prediction"].notna() & predictions["target"].notna()]
    both = both[both.groupby("date")["date"].transform("size") >= 3]
    ranks = both.groupby("date")[["prediction", "target"]].rank(method="average")
    centred = ranks - ranks.groupby(both["date"]).transform("mean")
    x, y = centred["prediction"], centred["target"]
    sums = pd.DataFrame({"xy": x * y, "xx": x * x, "yy": y * y}).groupby(both["date"], sort=True).sum()
    den = np.sqrt(sums["xx"] * sums["yy"])
    return (sums["xy"] / den)[den > 0]


def prediction_metrics(prediction: pd.Series, target: pd.Series) -> dict[str, Any]:
    """`ic` (pooled) and `directional_accuracy` over the rows with both a prediction and a target."""
    both = prediction.notna() & target.notna()
    p = prediction[both].to_numpy(dtype=np.float64)
    t = target[both].to_numpy(dtype=np.float64)
    accuracy = float(np.mean(np.sign(p) == np.sign(t))) if len(p) else None
    return {"ic": spearman(p, t), "directional_accuracy": accuracy}


def cross_sectional_metrics(predictions: pd.DataFrame) -> dict[str, Any]:
    """`ic_mean`, `ic_std` (ddof = 1) and `ic_ir` of the daily cross-sectional IC."""
    ics = daily_ic(predictions).to_numpy(dtype=np.float64)
    mean = float(np.mean(ics)) if len(ics) else None
    std = float(np.std(ics, ddof=1)) if len(ics) > 1 else None
    return {"ic_mean": mean, "ic_std": std, "ic_ir": _ratio(mean, std)}


def metrics(
    series: pd.DataFrame,
    predictions: pd.DataFrame,
    n_trades: int,
    *,
    a: float | None,
    benchmark: pd.Series,
    cross_section: bool,
) -> dict[str, Any]:
    """All §5 metrics, in METRIC_NAMES order, of one series (`date, start, return, exposure, traded`, in date
    order) with its predictions (`date, prediction, target`, and `next_ret` for the quantile returns) and trade
    count. `benchmark`: the benchmark's returns by date (0 on the series' dates it lacks); `cross_section`: compute
    the cross-sectional IC and the quantile returns (else None)."""
    b = benchmark.reindex(pd.DatetimeIndex(series["date"])).fillna(0.0)
    values: dict[str, Any] = dict.fromkeys(_CROSS_SECTION) | no_quantiles()
    values |= series_metrics(
        series["return"].to_numpy(dtype=np.float64),
        series["exposure"].to_numpy(dtype=np.float64),
        series["traded"].to_numpy(dtype=np.float64),
        b.to_numpy(dtype=np.float64),
        a=a,
        days=span_days(series),
    )
    values.update(prediction_metrics(predictions["prediction"], predictions["target"]))
    values.update(leg_turnover(series))
    if cross_section:
        values.update(cross_sectional_metrics(predictions), **quantile_metrics(predictions))
    values["n_trades"] = int(n_trades)
    return {name: values[name] for name in METRIC_NAMES}
