"""Performance and prediction metrics (methodology §5). Undefined metrics are None.

`series_metrics` takes one return series with its exposure and traded weight per row;
`prediction_metrics` takes predictions and targets. `metrics` combines them with a trade count.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from walkforward.outputs import METRIC_NAMES


def _ratio(num: float | None, den: float | None) -> float | None:
    """`num / den`, None when either is undefined or `den` is 0."""
    if num is None or den is None or den == 0 or not math.isfinite(den):
        return None
    out = num / den
    return float(out) if math.isfinite(out) else None


def max_drawdown(returns: np.ndarray) -> float:
    """`min_t(E_t / max(1, max_{s<=t} E_s) - 1)` with `E` the equity starting at 1."""
    equity = np.cumprod(1 + returns)
    peak = np.maximum(1.0, np.maximum.accumulate(equity))
    return float(min(0.0, np.min(equity / peak - 1)))


def series_metrics(
    returns: np.ndarray, exposure: np.ndarray, traded: np.ndarray, annualization: float
) -> dict[str, Any]:
    """Return-series metrics of §5 (all but n_trades, ic and directional_accuracy)."""
    r = np.asarray(returns, dtype=np.float64)
    n = len(r)
    elsewhere = ("n_trades", "ic", "directional_accuracy")  # from the trades and the predictions, not the series
    out: dict[str, Any] = dict.fromkeys(m for m in METRIC_NAMES if m not in elsewhere)
    out["n_days"] = n
    if n == 0:
        return out
    root = math.sqrt(annualization)
    total = float(np.prod(1 + r)) - 1
    out["total_return"] = total
    if 1 + total > 0:
        try:
            cagr = float((1 + total) ** (annualization / n)) - 1
        except OverflowError:  # absurd prices in the data
            cagr = math.inf
        out["cagr"] = cagr if math.isfinite(cagr) else None
    mean = float(np.mean(r))
    if n > 1:
        std = float(np.std(r, ddof=1))
        out["volatility"] = std * root
        sharpe = _ratio(mean, std)
        out["sharpe"] = None if sharpe is None else sharpe * root
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    sortino = _ratio(mean, downside)
    out["sortino"] = None if sortino is None else sortino * root
    out["max_drawdown"] = max_drawdown(r)
    out["calmar"] = _ratio(out["cagr"], abs(out["max_drawdown"]))
    exposed = np.asarray(exposure) != 0
    if exposed.any():
        out["hit_rate"] = float(np.mean(r[exposed] > 0))
    out["turnover"] = float(np.mean(traded))
    out["exposure"] = float(np.mean(exposure))
    return out


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman rank correlation with average ranks for ties; None when a side is constant."""
    if len(x) < 2:
        return None
    rx = pd.Series(x).rank(method="average").to_numpy() - (len(x) + 1) / 2
    ry = pd.Series(y).rank(method="average").to_numpy() - (len(y) + 1) / 2
    return _ratio(float(np.sum(rx * ry)), math.sqrt(float(np.sum(rx**2) * np.sum(ry**2))))


def prediction_metrics(prediction: pd.Series, target: pd.Series) -> dict[str, Any]:
    """`ic` and `directional_accuracy` over the rows with both a prediction and a target."""
    both = prediction.notna() & target.notna()
    p = prediction[both].to_numpy(dtype=np.float64)
    t = target[both].to_numpy(dtype=np.float64)
    accuracy = float(np.mean(np.sign(p) == np.sign(t))) if len(p) else None
    return {"ic": spearman(p, t), "directional_accuracy": accuracy}


def metrics(
    series: pd.DataFrame,
    predictions: pd.DataFrame,
    n_trades: int,
    annualization: float,
) -> dict[str, Any]:
    """All §5 metrics, in METRIC_NAMES order, of one series (rows in time order; `return`,
    `exposure`, `traded`) with its predictions (`prediction`, `target`) and trade count."""
    values = series_metrics(
        series["return"].to_numpy(dtype=np.float64),
        series["exposure"].to_numpy(dtype=np.float64),
        series["traded"].to_numpy(dtype=np.float64),
        annualization,
    )
    values.update(prediction_metrics(predictions["prediction"], predictions["target"]))
    values["n_trades"] = int(n_trades)
    return {name: values[name] for name in METRIC_NAMES}
