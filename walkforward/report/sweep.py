"""The report of a sweep folder (what `wf sweep` wrote: leaderboard.parquet, overfitting.json; methodology §9):

- `logits.png`: the histogram of the CSCV logits λ, with λ = 0 marked; PBO is the share at or left of it;
- `is_oos.png`: the chosen trial's in-sample against out-of-sample per-period Sharpe ratio, one point per
  combination, with the least-squares line (the performance degradation);
- `report.html`: PBO, the degradation, the charts and the leaderboard.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from matplotlib.figure import Figure

from walkforward.errors import WalkforwardError
from walkforward.files import read_json, read_table
from walkforward.report import charts, html

SWEEP_FILES = ("leaderboard.parquet", "overfitting.json")
RERUN = "rerun `wf sweep` with --resume (it rewrites both files from its runs)"


def is_sweep(path: Path) -> bool:
    """A folder `wf sweep` wrote (it holds no run.json of its own, and configs.json or one of SWEEP_FILES)."""
    return not (path / "run.json").exists() and any((path / name).exists() for name in ("configs.json", *SWEEP_FILES))


def read_sweep(path: Path) -> tuple[dict[str, Any], pl.DataFrame]:
    """overfitting.json and leaderboard.parquet, checked: a missing, unreadable or malformed one is a one-line
    WalkforwardError naming it."""
    for name in SWEEP_FILES:
        if not (path / name).is_file():
            raise WalkforwardError(
                f"sweep dir {str(path)!r} has no {name}; the sweep did not finish (rerun `wf sweep` with --resume)"
            )
    target = path / "overfitting.json"
    over = read_json(target, RERUN)
    if not isinstance(over, dict):
        raise WalkforwardError(f"{target}: not the object `wf sweep` writes; {RERUN}")
    for key in ("logits", "is_sharpe", "oos_sharpe"):
        values = over.get(key) or []
        if not isinstance(values, list) or not all(v is None or _number(v) for v in values):
            raise WalkforwardError(f"{target}: {key} is not a list of numbers; {RERUN}")
    for key in ("pbo", "degradation_slope", "degradation_intercept"):
        if over.get(key) is not None and not _number(over[key]):
            raise WalkforwardError(f"{target}: {key} is not a number; {RERUN}")
    board = read_table(path / "leaderboard.parquet", RERUN)
    if "id" not in board.columns:
        raise WalkforwardError(f"{path / 'leaderboard.parquet'}: has no id column; {RERUN}")
    return over, board


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _floats(over: dict[str, Any], key: str) -> np.ndarray:
    """A list of overfitting.json as floats (it writes null for NaN)."""
    return np.asarray([np.nan if v is None else v for v in over.get(key) or []], dtype=np.float64)


def logit_chart(over: dict[str, Any]) -> Figure:
    fig = Figure(figsize=(charts.WIDTH, 4.2), layout="constrained")
    ax = fig.subplots()
    logits = _floats(over, "logits")
    logits = logits[np.isfinite(logits)]
    if len(logits):
        ax.hist(logits, bins=min(40, max(5, len(np.unique(logits)))), color=charts.STRATEGY, alpha=0.85)
    ax.axvline(0.0, color=charts.LOSS, lw=1.2, ls="--")
    ax.set_xlabel("λ = ln(ω / (1 − ω)), ω the in-sample best trial's out-of-sample relative rank")
    ax.set_ylabel("Combinations")
    pbo = over.get("pbo")
    ax.set_title(f"CSCV logits · PBO {pbo:.2f}" if pbo is not None else "CSCV logits · PBO not computed")
    return fig


def is_oos_chart(over: dict[str, Any]) -> Figure:
    fig = Figure(figsize=(charts.WIDTH, 5.0), layout="constrained")
    ax = fig.subplots()
    x, y = _floats(over, "is_sharpe"), _floats(over, "oos_sharpe")
    if len(x) != len(y):
        x, y = x[:0], y[:0]
    both = np.isfinite(x) & np.isfinite(y)
    x, y = x[both], y[both]
    ax.scatter(x, y, s=6, alpha=0.35, color=charts.STRATEGY, label="combinations")
    slope, intercept = over.get("degradation_slope"), over.get("degradation_intercept")
    if slope is not None and len(x):
        xs = np.array([x.min(), x.max()])
        ax.plot(xs, intercept + slope * xs, color=charts.LOSS, lw=1.5, label=f"least squares: slope {slope:.2f}")
        ax.legend(loc="best")
    ax.axhline(0.0, color="black", lw=0.7)
    ax.set_xlabel("In-sample Sharpe ratio of the in-sample best trial (per period)")
    ax.set_ylabel("Its out-of-sample Sharpe ratio (per period)")
    ax.set_title("Performance degradation: out-of-sample against in-sample Sharpe ratio")
    return fig


def build_sweep(path: Path) -> tuple[list[html.Chart], str]:
    """The sweep's charts and report.html's text."""
    over, board = read_sweep(path)
    with charts.style():
        made = [
            html.Chart(
                "logits.png",
                charts.png(logit_chart(over)),
                "Histogram of the CSCV logits",
                "For each choice of half the blocks as in-sample, the logit of the in-sample best trial's "
                "out-of-sample relative rank; PBO is the share at or left of the dashed line (docs/methodology.md §9).",
            ),
            html.Chart(
                "is_oos.png",
                charts.png(is_oos_chart(over)),
                "In-sample against out-of-sample Sharpe ratio",
                "One point per combination: the in-sample best trial's in-sample and out-of-sample per-period "
                "Sharpe ratios, and their least-squares line (the performance degradation).",
            ),
        ]
    return made, _page(path, over, board, made)


def _page(path: Path, over: dict[str, Any], board: pl.DataFrame, made: list[html.Chart]) -> str:
    title = f"walkforward sweep: {path.resolve().name}"
    keys = ("pbo", "degradation_slope", "degradation_intercept", "prob_oos_loss", "S", "N", "T", "combinations")
    stats_rows = "".join(f"<tr><th>{k}</th><td>{escape(str(over.get(k)))}</td></tr>" for k in keys if k in over)
    if "reason" in over:
        stats_rows += f"<tr><th>reason</th><td>{escape(str(over['reason']))}</td></tr>"
    head = "".join(f"<th>{escape(c)}</th>" for c in board.columns)
    body = "".join("<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row) + "</tr>" for row in board.iter_rows())
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title><style>{html.CSS}</style></head>',
        f"<body><h1>{escape(title)}</h1>",
        '<p class="sub">Written by <code>wf report</code>. Definitions: docs/methodology.md §9.</p>',
        f"<h2>Overfitting</h2><table>{stats_rows}</table>",
        "<h2>Charts</h2>",
        *(html.figure(chart) for chart in made),
        f'<h2>Leaderboard</h2><div class="scroll"><table><tr>{head}</tr>{body}</table></div>',
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _cell(value: Any) -> str:
    return "null" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
