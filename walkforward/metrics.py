"""Performance and prediction metrics (docs/methodology.md §5) as Polars aggregation expressions.

The same expressions serve every level: `group_by("fold")` for per-fold, `group_by("symbol")` for per-asset
and a plain `select` for overall. A metric whose denominator is zero or undefined is null.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from walkforward.outputs import METRIC_NAMES

METRICS = METRIC_NAMES


def _safe_div(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    return pl.when(den.is_not_null() & (den != 0)).then(num / den)


def return_metrics(annualization: float) -> list[pl.Expr]:
    """Aggregations over columns `return`, `exposure`, `traded` of one group's daily rows in date order."""
    r, n = pl.col("return"), pl.len()
    root = math.sqrt(annualization)
    growth = (1.0 + r).product()
    total = growth - 1.0
    cagr = pl.when((growth > 0) & (n > 0)).then(growth.pow(annualization / n) - 1.0)
    std = r.std(ddof=1)
    downside = (r.clip(upper_bound=0.0) ** 2).mean().sqrt()
    equity = (1.0 + r).cum_prod()
    drawdown = (equity / pl.max_horizontal(equity.cum_max(), pl.lit(1.0)) - 1.0).min()
    max_dd = pl.min_horizontal(drawdown, pl.lit(0.0))
    active = pl.col("exposure") > 0
    return [
        total.alias("total_return"),
        cagr.alias("cagr"),
        (std * root).alias("volatility"),
        (_safe_div(r.mean(), std) * root).alias("sharpe"),
        (_safe_div(r.mean(), downside) * root).alias("sortino"),
        max_dd.alias("max_drawdown"),
        _safe_div(cagr, max_dd.abs()).alias("calmar"),
        _safe_div((r.filter(active) > 0).sum(), active.sum()).alias("hit_rate"),
        pl.col("traded").mean().alias("turnover"),
        pl.col("exposure").mean().alias("exposure"),
        n.alias("n_days"),
    ]


def prediction_metrics() -> list[pl.Expr]:
    """IC (Spearman, average ranks) and directional accuracy over rows with prediction and target."""
    both = pl.col("prediction").is_not_null() & pl.col("target").is_not_null()
    p, t = pl.col("prediction").filter(both), pl.col("target").filter(both)
    ic = pl.corr(p.rank("average"), t.rank("average"))
    ic = pl.when(both.sum() >= 2).then(ic.fill_nan(None))
    return [
        ic.alias("ic"),
        _safe_div((p.sign() == t.sign()).sum(), both.sum()).alias("directional_accuracy"),
    ]


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts with NaN/inf turned into None."""
    out = []
    for row in frame.to_dicts():
        out.append({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()})
    return out


def compute_metrics(
    portfolio: pl.DataFrame,
    asset_rows: pl.DataFrame,
    predictions: pl.DataFrame,
    trades: pl.DataFrame,
    folds: list[dict[str, Any]],
    assets: tuple[str, ...],
    annualization: float,
) -> dict[str, Any]:
    """metrics.json: overall (portfolio), per fold (portfolio of the fold), per asset (the asset's rows)."""
    ret = return_metrics(annualization)
    pred = prediction_metrics()

    def level(keys: list[str]) -> pl.DataFrame:
        series = portfolio if keys != ["symbol"] else asset_rows
        by = keys or [pl.lit(0).alias("_all")]
        names = [k for k in keys] or ["_all"]
        a = series.sort(*names, "date") if keys else series.sort("fold", "date")
        a = a.group_by(by, maintain_order=True).agg(ret)
        b = predictions.group_by(by).agg(pred)
        c = trades.group_by(by).agg(pl.len().alias("n_trades"))
        out = a.join(b, on=names, how="left").join(c, on=names, how="left")
        return out.with_columns(pl.col("n_trades").fill_null(0))

    overall = _rows(level([]).select(METRICS))[0]
    per_fold_rows = {r["fold"]: r for r in _rows(level(["fold"]).select("fold", *METRICS))}
    per_fold = []
    for f in folds:
        row = per_fold_rows.get(f["fold"], {})
        per_fold.append({**f, **{m: row.get(m) for m in METRICS}})
    per_asset_rows = {r["symbol"]: r for r in _rows(level(["symbol"]).select("symbol", *METRICS))}
    per_asset = {s: {m: per_asset_rows.get(s, {}).get(m) for m in METRICS} for s in assets}
    return {"overall": overall, "per_fold": per_fold, "per_asset": per_asset}
