"""The bench PNG: speedup vs workers per workload, and per workload (each on its own scale) a stacked bar per engine
and worker count: start-up (imports, starting and stopping workers), the models (the pool's wall time) and the rest of
the in-process run (total - start-up - models). The stages of run.json overlap (the features with the import, fit
with predict across workers: docs/methodology.md §6), so they are not stacked; the JSON has each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

STAGE_COLOURS = {
    "start-up": "#dddddd",  # importing the engine and the model library; starting and stopping workers
    "models": "#dd8452",  # the pool's wall time: fit and predict
    "other": "#4c72b0",  # load, features, validate, backtest, metrics, write: the run less start-up and models
}


def segments(case: dict[str, Any]) -> dict[str, float]:
    """A case's bar: medians of start-up, models and the rest (bench.harness.summarise's `non_model_seconds`)."""
    stages = case["stages"]
    models = stages.get("models") or stages.get("fit", 0.0) + stages.get("predict", 0.0)
    startup = stages.get("import", 0.0) + stages.get("executor", 0.0)
    return {"start-up": startup, "models": models, "other": case["non_model_seconds"]}


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
            parts = segments(c)
            for stage, colour in STAGE_COLOURS.items():
                v = parts[stage]
                ax.bar(i, v, bottom=bottom, color=colour, label=stage if (k == 0 and i == 0) else None)
                bottom += v
        ax.set_xticks(range(len(rows)), [c["label"] for c in rows], rotation=60, ha="right", fontsize=8)
        ax.set_title(f"{w}: where the run's time goes")
        ax.grid(axis="y", alpha=0.3)
        if k == 0:
            ax.set_ylabel("seconds (median, in-process)")
    fig.legend(*fig.axes[1].get_legend_handles_labels(), loc="lower center", ncols=len(STAGE_COLOURS), fontsize=8)
    fig.subplots_adjust(bottom=0.3)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_sweeps(rows: list[dict[str, Any]], path: Path) -> Path:
    """One panel per sweep workload: a bar per case, the process wall time (median; the separate case's summed over
    its processes), split into what comes before each command (the interpreter, cli.main) and the rest, each bar
    labelled with its speedup over the separate runs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    workloads = list(dict.fromkeys(r["workload"] for r in rows))
    fig, axes = plt.subplots(1, len(workloads), figsize=(1.5 + 3.5 * len(workloads), 5), squeeze=False)
    for ax, w in zip(axes[0], workloads, strict=True):
        cases = [r for r in rows if r["workload"] == w]
        walls = [r["wall_seconds"]["median"] for r in cases]
        startup = [r["startup_seconds"] for r in cases]
        x = range(len(cases))
        ax.bar(x, startup, color=STAGE_COLOURS["start-up"], label="interpreter, cli.main")
        ax.bar(x, [a - b for a, b in zip(walls, startup, strict=True)], bottom=startup,
               color=STAGE_COLOURS["other"], label="the command")  # fmt: skip
        for i, r in enumerate(cases):
            speedup = r["speedup_vs_separate"]
            ax.annotate("" if speedup is None else f"{speedup:.2f}x", (i, walls[i]), ha="center", va="bottom")
        ax.set_xticks(list(x), [r["label"] for r in cases], rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{w}: {cases[0]['configurations']} configurations")
        ax.set_ylabel("process wall seconds (median)")
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
