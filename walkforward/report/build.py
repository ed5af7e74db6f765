"""Put a report together: load the run, derive the series, draw each chart, write the PNGs and report.html."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from walkforward.errors import WalkforwardError
from walkforward.metrics.quantiles import QUANTILE_RETURNS
from walkforward.outputs import atomic_write
from walkforward.report import charts, html, series, sweep
from walkforward.report.load import Benchmark, RunOutputs, load_benchmark, load_run

IMPORTANCE_KINDS = {"lightgbm": "LightGBM total gain", "random_forest": "forest impurity importance"}


def build(run_dir: Path, out_dir: Path | None) -> Path:
    if sweep.is_sweep(run_dir):
        return build_sweep(run_dir, out_dir)
    run = load_run(run_dir)
    out = _output_dir(out_dir if out_dir is not None else run.path / "report")
    bench = load_benchmark(run)
    made = draw(run, bench)
    for chart in made:
        _write(out / chart.name, chart.data)
    source = str(bench.source) if bench is not None else "not found; the equity chart shows the strategy alone"
    info_rows = html.run_info_rows(run.info, str(run.path), source)
    page = html.page(f"walkforward report: {run.path.resolve().name}", info_rows, made, run.metrics)
    target = out / "report.html"
    _write(target, page.encode("utf-8"))
    return target


def build_sweep(path: Path, out_dir: Path | None) -> Path:
    """A sweep folder's report (report/sweep.py): its charts and report.html."""
    made, page = sweep.build_sweep(path)  # reads and checks the sweep's files before creating the folder
    out = _output_dir(out_dir if out_dir is not None else path / "report")
    for chart in made:
        _write(out / chart.name, chart.data)
    _write(out / "report.html", page.encode("utf-8"))
    return out / "report.html"


def draw(run: RunOutputs, bench: Benchmark | None) -> list[html.Chart]:
    """Every chart of the report, rendered to PNG bytes (`bench`: the benchmark's closes, None if not found)."""
    config = run.config
    overall = run.metrics["overall"]
    per_fold = run.metrics["per_fold"]
    fold_starts = [dt.date.fromisoformat(str(f["test_start"])) for f in per_fold]
    fold_labels = {int(f["fold"]): str(f["test_start"]) for f in per_fold}
    symbol = str(config.get("benchmark"))

    port = series.portfolio(run.returns)
    bench_equity = None
    if bench is not None and port.height:
        bench_equity = series.buy_and_hold(bench.closes, port["date"].min(), port["date"].max())
    rolling = series.rolling_ic(run.predictions)
    features, folds, shares = series.importance_shares(run.feature_importance)

    importance_note = _importance_note(run)
    made = []
    with charts.style():
        figures = (
            (
                "equity.png",
                charts.equity_chart(port, bench_equity, symbol, fold_starts, overall.get("total_return")),
                "Equity of the portfolio against buy and hold of the benchmark",
                f"Growth of 1 in the strategy (equal-weight portfolio, costs included) and in buy & hold of {symbol} "
                "over the same dates; dashed lines: fold boundaries.",
            ),
            (
                "drawdown.png",
                charts.drawdown_chart(port, fold_starts, overall.get("max_drawdown")),
                "Drawdown of the portfolio",
                "Drawdown: equity over its running peak (at least 1) minus 1, as in the max_drawdown metric.",
            ),
            (
                "folds.png",
                charts.fold_chart(per_fold),
                "Total return and Sharpe ratio of each fold",
                "Each fold's out-of-sample total return and annualised Sharpe ratio (metrics.json per_fold).",
            ),
            (
                "ic.png",
                charts.ic_chart(rolling, per_fold, overall.get("ic"), config.get("horizon"), series.IC_WINDOW_DAYS),
                "Information coefficient per fold and rolling",
                "Spearman correlation of prediction and target. Bars: each fold's ic (metrics.json), spanning its "
                f"test period. Line: the same statistic over all rows dated in the trailing {series.IC_WINDOW_DAYS} "
                "calendar days (all assets pooled), shown once a full window is available. Dotted: the whole run.",
            ),
            (
                "importance.png",
                charts.importance_chart(features, folds, shares, fold_labels, importance_note),
                "Feature importance per fold",
                "Each fold's feature importances as shares of the fold's total "
                f"({importance_note}); each column sums to 100%.",
            ),
            _quantile_figure(overall),
        )
        for name, fig, alt, caption in figures:
            made.append(html.Chart(name, charts.png(fig), alt, caption))
    return made


def _quantile_figure(overall: dict[str, Any]) -> tuple[str, Any, str, str]:
    """The quantile chart's file name, figure, alt text and caption."""
    return (
        "quantiles.png",
        charts.quantile_chart(overall, QUANTILE_RETURNS),
        "Mean next-session return by prediction quintile",
        "On each date with at least 5 assets having a prediction and a next return, the assets in 5 buckets by their "
        "prediction's rank (Q1 the lowest); each bar is a bucket's mean next-session return, averaged over dates "
        "(metrics.json quantile_return_1..5; docs/methodology.md §5). Before costs, not annualised.",
    )


def _importance_note(run: RunOutputs) -> str:
    """What the importance chart shows: the model's kind of importance, and over how many models."""
    model = run.config.get("model", {})
    kind = IMPORTANCE_KINDS.get(model.get("kind"), "model importance")
    if model.get("scope") == "per_asset":
        return f"{kind}; shares averaged over {run.feature_importance['symbol'].n_unique()} per-asset models"
    return f"{kind}; unified model"


def _output_dir(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise WalkforwardError(f"report dir {str(out)!r} is a file; pass --output with a directory path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = exc.strerror or exc
        raise WalkforwardError(f"cannot create report dir {str(out)!r}: {why}; pick another --output") from None
    if not os.access(out, os.W_OK):
        raise WalkforwardError(f"report dir {str(out)!r} is not writable; pick another --output")
    return out


def _write(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
