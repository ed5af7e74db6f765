"""The bench PNG: speedup vs workers per workload, and per workload (each on its own scale) stacked per-stage
bars per engine and worker count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STAGE_COLOURS = {
    "import": "#dddddd",  # start-up: importing the engine and the model library
    "load": "#8c8c8c",
    "validate": "#bdbdbd",
    "features": "#4c72b0",
    "executor": "#c44e52",  # starting and stopping worker processes or a cluster
    "fit": "#dd8452",
    "predict": "#f2b880",
    "backtest": "#55a868",
    "metrics": "#8172b3",
    "write": "#937860",
}


def plot(cases: list[dict[str, Any]], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = list(dict.fromkeys(c["workload"] for c in cases))
    fig = plt.figure(figsize=(5 + 3.2 * len(workloads), 5.5))
    grid = fig.add_gridspec(1, 1 + len(workloads), width_ratios=[1.5] + [1] * len(workloads))
    ax1 = fig.add_subplot(grid[0, 0])

    executors = list(dict.fromkeys(c["executor"] for c in cases if c["engine"] == "polars"))
    plotted = False
    for w in workloads:
        for ex in executors:
            rows = [c for c in cases if c["workload"] == w and c["engine"] == "polars" and c["executor"] == ex]
            rows = [c for c in rows if c["speedup_vs_legacy"] is not None]  # a bench without the legacy engine
            rows.sort(key=lambda c: c["workers"])
            label = w if len(executors) == 1 else f"{w} ({ex})"
            if rows:
                ax1.plot([c["workers"] for c in rows], [c["speedup_vs_legacy"] for c in rows], marker="o", label=label)
                plotted = True
    ax1.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("workers (--n-jobs)")
    ax1.set_ylabel("speedup vs legacy engine (process wall time)")
    ax1.set_title("Polars engine speedup")
    if plotted:
        ax1.legend(title="workload")
    ax1.grid(alpha=0.3)

    for k, w in enumerate(workloads):  # one panel per workload: a wide legacy run must not flatten the others
        ax = fig.add_subplot(grid[0, 1 + k])
        rows = [c for c in cases if c["workload"] == w]
        for i, c in enumerate(rows):
            bottom = 0.0
            for stage, colour in STAGE_COLOURS.items():
                v = c["stages"].get(stage, 0.0)
                ax.bar(i, v, bottom=bottom, color=colour, label=stage if (k == 0 and i == 0) else None)
                bottom += v
        ax.set_xticks(range(len(rows)), [c["label"] for c in rows], rotation=60, ha="right", fontsize=8)
        ax.set_title(f"{w}: seconds per stage")
        ax.grid(axis="y", alpha=0.3)
        if k == 0:
            ax.set_ylabel("seconds (median, in-process)")
    fig.legend(*fig.axes[1].get_legend_handles_labels(), loc="lower center", ncols=len(STAGE_COLOURS), fontsize=8)
    fig.subplots_adjust(bottom=0.3)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
