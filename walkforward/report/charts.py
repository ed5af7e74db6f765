"""The report's charts, drawn with matplotlib's object API on the Agg canvas (no pyplot, no global state).

Each `*_chart` function returns a `Figure`; `png` renders one to bytes.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import polars as pl
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from walkforward.report.formats import format_metric

WIDTH = 10.0  # inches; at DPI this is 1100 px, readable in a browser without scaling
DPI = 110
STRATEGY = "#1f5fa8"
BENCHMARK = "#7f7f7f"
GAIN = "#2e8b57"
LOSS = "#c0392b"
STYLE = {
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.framealpha": 0.85,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
}


def png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def style() -> Any:
    """A context in which the charts are drawn (the caller's matplotlib settings are left alone)."""
    return matplotlib.rc_context(STYLE)


def _dates(ax: Any) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _fold_lines(ax: Any, fold_starts: Sequence[dt.date], last: dt.date | None) -> None:
    """Faint vertical lines where each fold after the first begins; fold numbers on a top axis (up to 24 folds)."""
    for i, start in enumerate(fold_starts):
        if i:
            ax.axvline(start, color="black", alpha=0.18, lw=0.8, ls="--", label="Fold boundary" if i == 1 else None)
    if 1 < len(fold_starts) <= 24 and last is not None:
        edges = [mdates.date2num(d) for d in (*fold_starts, last)]
        top = ax.secondary_xaxis("top")
        middles = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
        top.set_xticks(middles, [f"F{i}" for i in range(len(fold_starts))])
        top.tick_params(length=0, labelsize=7, labelcolor="0.4")
        top.spines["top"].set_visible(False)


def _pct(value: float | None) -> str:
    return format_metric(value, "{:+.2%}")


def equity_chart(
    portfolio: pl.DataFrame,
    benchmark: pl.DataFrame | None,
    symbol: str,
    fold_starts: Sequence[dt.date],
    total_return: float | None,
) -> Figure:
    fig = Figure(figsize=(WIDTH, 4.6), layout="constrained")
    ax = fig.add_subplot()
    ax.axhline(1.0, color="black", lw=0.6, alpha=0.5)
    ax.plot(
        portfolio["date"].to_numpy(),
        portfolio["equity"].to_numpy(),
        color=STRATEGY,
        lw=1.6,
        label=f"Strategy ({_pct(total_return)})",
    )
    if benchmark is not None and benchmark.height:
        bench_return = benchmark["equity"][-1] - 1
        ax.plot(
            benchmark["date"].to_numpy(),
            benchmark["equity"].to_numpy(),
            color=BENCHMARK,
            lw=1.3,
            label=f"Buy & hold {symbol} ({_pct(bench_return)})",
        )
        ax.set_title(f"Equity: strategy vs buy & hold {symbol}")
    else:
        ax.plot([], [], " ", label=f"{symbol}: no price data found")
        ax.set_title(f"Equity: strategy only (benchmark {symbol} prices not found)")
    _fold_lines(ax, fold_starts, portfolio["date"].max())
    ax.set_ylabel("Growth of 1")
    ax.set_xlabel("Date")
    _dates(ax)
    ax.legend(loc="best")
    return fig


def drawdown_chart(portfolio: pl.DataFrame, fold_starts: Sequence[dt.date], max_drawdown: float | None) -> Figure:
    fig = Figure(figsize=(WIDTH, 3.4), layout="constrained")
    ax = fig.add_subplot()
    dates = portfolio["date"].to_numpy()
    dd = portfolio["drawdown"].to_numpy()
    ax.fill_between(dates, dd, 0.0, color=LOSS, alpha=0.35, lw=0, label="Drawdown")
    ax.plot(dates, dd, color=LOSS, lw=0.9)
    _fold_lines(ax, fold_starts, portfolio["date"].max())
    low = np.nanmin(dd) if dd.size else 0.0
    ax.set_ylim(min(low * 1.12, -0.01), max(0.0, -low * 0.04))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0 if low < -0.05 else 1))
    ax.set_title(f"Drawdown of the portfolio from its running peak (max {format_metric(max_drawdown, '{:.2%}')})")
    ax.set_ylabel("Drawdown")
    ax.set_xlabel("Date")
    _dates(ax)
    ax.legend(loc="lower left")
    return fig


def _fold_axis(ax: Any, labels: list[str]) -> None:
    ax.set_xticks(range(len(labels)))
    step = max(1, int(np.ceil(len(labels) / 30)))
    ax.set_xticklabels([lab if i % step == 0 else "" for i, lab in enumerate(labels)])
    if len(labels) > 6:
        for tick in ax.get_xticklabels():
            tick.set_rotation(45)
            tick.set_horizontalalignment("right")
            tick.set_rotation_mode("anchor")


def _bars(ax: Any, values: list[float | None], pattern: str) -> None:
    heights = np.array([np.nan if v is None else v for v in values], dtype=float)
    colors = [GAIN if h >= 0 else LOSS for h in np.nan_to_num(heights)]
    bars = ax.bar(range(len(values)), heights, color=colors, width=0.7)
    ax.axhline(0.0, color="black", lw=0.7)
    if len(values) <= 16:
        ax.bar_label(bars, labels=[format_metric(v, pattern) for v in values], padding=2, fontsize=8)
        ax.margins(y=0.18)


def fold_chart(per_fold: list[dict[str, Any]]) -> Figure:
    labels = [str(f["test_start"]) for f in per_fold]
    fig = Figure(figsize=(WIDTH, 6.0), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True)
    _bars(top, [f.get("total_return") for f in per_fold], "{:.1%}")
    top.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    top.set_ylabel("Total return")
    top.set_title("Total return of each fold's test period")
    _bars(bottom, [f.get("sharpe") for f in per_fold], "{:.2f}")
    bottom.set_ylabel("Sharpe (annualised)")
    bottom.set_title("Sharpe ratio of each fold's test period")
    bottom.set_xlabel("Fold test start")
    _fold_axis(bottom, labels)
    for ax in (top, bottom):
        ax.grid(axis="x", visible=False)
    return fig


def quantile_chart(overall: dict[str, Any], names: Sequence[str]) -> Figure:
    """Bars of each prediction quintile's mean next-session return (`names`: metrics.json's keys, lowest first)."""
    fig = Figure(figsize=(WIDTH, 4.0), layout="constrained")
    ax = fig.add_subplot()
    values = [overall.get(name) for name in names]
    last = len(names)
    if all(v is None for v in values):  # every quantile return is null: say why rather than draw nothing
        ax.text(0.5, 0.5, f"no date with {last} assets having a prediction", transform=ax.transAxes, ha="center")
    else:
        _bars(ax, values, "{:.3%}")
    ax.set_xticks(
        range(last), [f"Q{q}" + {1: "\n(lowest)", last: "\n(highest)"}.get(q, "") for q in range(1, last + 1)]
    )
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=2))
    spread = format_metric(overall.get("long_short_spread"), "{:+.3%}")
    t = format_metric(overall.get("long_short_tstat"), "{:.2f}")
    ax.set_title(
        f"Mean next-session return by prediction quantile (per date, then averaged over dates)\n"
        f"long-short spread Q{last} - Q1: {spread} a session, t = {t}",
        fontsize=10,
    )
    ax.set_xlabel("Prediction quantile on each date")
    ax.set_ylabel("Mean return per session")
    ax.grid(axis="x", visible=False)
    return fig


def ic_chart(
    rolling: pl.DataFrame,
    per_fold: list[dict[str, Any]],
    overall_ic: float | None,
    horizon: int | None,
    window_days: int,
) -> Figure:
    fig = Figure(figsize=(WIDTH, 4.4), layout="constrained")
    ax = fig.add_subplot()
    starts = [mdates.date2num(dt.date.fromisoformat(str(f["test_start"]))) for f in per_fold]
    ends = [mdates.date2num(dt.date.fromisoformat(str(f["test_end"]))) + 1 for f in per_fold]
    ics = [np.nan if f.get("ic") is None else f["ic"] for f in per_fold]
    ax.bar(
        starts,
        ics,
        width=np.subtract(ends, starts),
        align="edge",
        color=STRATEGY,
        alpha=0.22,
        edgecolor=STRATEGY,
        lw=0.6,
        label="IC of each fold (test period)",
    )
    ax.axhline(0.0, color="black", lw=0.7)
    if overall_ic is not None:
        ax.axhline(overall_ic, color="black", ls=":", lw=1.0, label=f"IC of the whole run ({overall_ic:.4f})")
    if rolling.height:
        ax.plot(
            rolling["date"].to_numpy(),
            rolling["ic"].to_numpy(),
            color=STRATEGY,
            lw=1.5,
            label=f"Rolling IC, trailing {window_days} days",
        )
    else:
        ax.plot([], [], " ", label=f"Rolling IC: run shorter than {window_days} days")
    target = f"{horizon}-session forward return" if horizon else "target"
    sessions = round(window_days * 252 / 365)
    ax.set_title(
        f"Information coefficient: Spearman(prediction, {target}), all assets pooled\n"
        f"rolling: rows dated in the trailing {window_days} calendar days (≈ {sessions} sessions); bars: each fold",
        fontsize=10,
    )
    ax.set_ylabel("Spearman IC")
    ax.set_xlabel("Date")
    _dates(ax)
    ax.legend(loc="best")
    return fig


def importance_chart(
    features: list[str], folds: list[int], shares: np.ndarray, fold_labels: dict[int, str], subtitle: str
) -> Figure:
    n_feat, n_folds = shares.shape
    fig = Figure(figsize=(min(max(8.0, 2.8 + 0.6 * n_folds), 14.0), 1.8 + 0.36 * max(n_feat, 3)), layout="constrained")
    ax = fig.add_subplot()
    vmax = float(np.nanmax(shares)) if np.isfinite(shares).any() else 1.0
    cmap = matplotlib.colormaps["YlGnBu"].with_extremes(bad="0.9")  # grey: a fold without any model's shares
    image = ax.imshow(np.ma.masked_invalid(shares), aspect="auto", cmap=cmap, vmin=0.0, vmax=vmax)
    ax.grid(False)
    ax.set_yticks(range(n_feat), features)
    labels = [fold_labels.get(f, str(f)) for f in folds]
    _fold_axis(ax, labels)
    if n_folds <= 16 and n_feat <= 30:
        for i in range(n_feat):
            for j in range(n_folds):
                value = shares[i, j]
                if np.isfinite(value):
                    color = "white" if value > 0.6 * vmax else "black"
                    ax.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=7.5, color=color)
    for j in np.flatnonzero(~np.isfinite(shares).any(axis=0)):
        ax.text(j, (n_feat - 1) / 2, "no model\nmade a split", ha="center", va="center", fontsize=8, color="0.35")
    bar = fig.colorbar(image, ax=ax, format=PercentFormatter(xmax=1.0, decimals=0), shrink=0.9)
    bar.set_label("Share of the fold's importance")
    ax.set_xlabel("Fold test start")
    ax.set_ylabel("Feature")
    ax.set_title(f"Feature importance per fold\n{subtitle}; each column sums to 100%", fontsize=10)
    return fig
