"""The bench PNG: speedup vs workers per workload, and stacked per-stage bars per engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STAGE_COLOURS = {
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
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(14, 5.5), gridspec_kw={"width_ratios": [1, 1.6]})

    executors = list(dict.fromkeys(c["executor"] for c in cases if c["engine"] != "legacy"))
    for w in workloads:
        for ex in executors:
            rows = [c for c in cases if c["workload"] == w and c["engine"] != "legacy" and c["executor"] == ex]
            rows.sort(key=lambda c: c["workers"])
            label = w if len(executors) == 1 else f"{w} ({ex})"
            if rows:
                ax1.plot([c["workers"] for c in rows], [c["speedup_vs_legacy"] for c in rows], marker="o", label=label)
    ax1.axhline(1.0, color="grey", lw=0.8, ls="--")
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel("workers (--n-jobs)")
    ax1.set_ylabel("speedup vs legacy engine (process wall time)")
    ax1.set_title("Polars engine speedup")
    ax1.legend(title="workload")
    ax1.grid(alpha=0.3)

    labels, bottoms = [], []
    for i, c in enumerate(cases):
        labels.append(f"{c['workload']}\n{c['label']}")
        bottom = 0.0
        for stage, colour in STAGE_COLOURS.items():
            v = c["stages"].get(stage, 0.0)
            ax2.bar(i, v, bottom=bottom, color=colour, label=stage if i == 0 else None)
            bottom += v
        bottoms.append(bottom)
    ax2.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax2.set_ylabel("seconds (median, in-process)")
    ax2.set_title("Where the time goes, per stage")
    ax2.legend(ncols=4, fontsize=8)
    ax2.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
