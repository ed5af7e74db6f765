"""The report stage: charts and one self-contained `report.html` from a finished run directory.

`write_report(run_dir)` reads the run's outputs (docs/methodology.md §6) with Polars and writes, into
`RUN_DIR/report/` by default:

- `equity.png`: the portfolio's equity against buy-and-hold of the benchmark over the same dates (the benchmark's
  closes from the run's data: the Parquet store, else its CSV; when neither is found, the strategy alone, said so in
  the title and legend), fold boundaries as faint vertical lines;
- `drawdown.png`: the portfolio's drawdown from its running peak (the `max_drawdown` definition), filled;
- `folds.png`: each fold's total return and Sharpe (metrics.json `per_fold`), labelled by test start date;
- `ic.png`: the information coefficient: each fold's `ic` as a bar spanning its test period, the run's `ic` as a
  line, and a rolling IC: Spearman correlation of prediction and target over every row (all assets pooled) dated in
  the trailing 91 calendar days (about 63 sessions), i.e. the `ic` metric over a moving window;
- `importance.png`: feature importance per fold as a heatmap of shares (each model's importances divided by their
  total; per-asset models' shares averaged over the assets, so each fold sums to 1);
- `report.html`: run info, the charts (embedded as base64 PNG) and the overall, per-fold and per-asset metrics.

On a sweep folder (what `wf sweep` wrote), `write_report` draws `logits.png` and `is_oos.png` and a report.html with
the overfitting statistics and the leaderboard instead (walkforward/report/sweep.py).

The metric display formats live in `walkforward.report.formats` (no heavy imports), shared with the CLI.
"""

from __future__ import annotations

import os
from pathlib import Path

from walkforward.report.formats import METRIC_FORMATS, format_metric

__all__ = ["METRIC_FORMATS", "format_metric", "write_report"]


def write_report(run_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None) -> Path:
    """Write the charts and `report.html` of the run in `run_dir` into `out_dir` (default `run_dir/report`).

    Returns the path of `report.html`. A missing run directory or output file is a `WalkforwardError`.
    """
    from walkforward.report.build import build

    return build(Path(run_dir), None if out_dir is None else Path(out_dir))
