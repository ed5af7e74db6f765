"""`wf bench`: speedup reports over workers and workloads, with a determinism gate; the sweep workloads
(`sweep-large`, `sweep-wide`) time a grid as separate `wf run` processes against one `wf sweep` (bench/sweeps.py)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import console, err_console, handle_errors


def _ints(text: str, name: str) -> list[int]:
    from walkforward.errors import WalkforwardError

    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise WalkforwardError(f"{name} must be comma-separated integers like 1,2,4,8; got {text!r}") from None


def _x(v: Any, pattern: str = "{:.2f}") -> str:
    return "—" if v is None else pattern.format(v)


def _table(title: str, caption: str, columns: tuple[str, ...], left: tuple[str, ...]) -> Table:
    """A rich table with these columns, right-aligned but for `left`."""
    t = Table(title=title, caption=caption, header_style="bold")
    for col in columns:
        t.add_column(col, justify="left" if col in left else "right", no_wrap=True)
    return t


def workload_table(workload: str, rows: list[dict[str, Any]]) -> Table:
    caption = (
        "wall: process, start-up included; cold: the same case on a Parquet store rebuilt from the data; "
        "floor/wall: model CPU / min(workers, cores) / in-process run; other: share of the in-process wall time, "
        "start-up excluded, spent outside the models; peer: pandas + a process pool (bench/peer); MB: peak RSS, "
        "counting the worker processes of the peer and of wf's processes/dask executors"
    )
    cols = ("case", "wall s", "min–max", "cold s", "×peer", "×legacy", "×1 worker", "eff.", "floor/wall", "other")
    t = _table(f"workload {workload} ({rows[0]['n_folds']} folds)", caption, (*cols, "MB", "note"), ("case", "note"))
    for r in rows:
        w = r["wall_seconds"]
        note = "oversubscribed" if r["oversubscribed"] else ""
        t.add_row(
            r["label"],
            f"{w['median']:.2f}",
            f"{w['min']:.2f}–{w['max']:.2f}",
            _x(r.get("cold_wall_seconds")),
            _x(r["speedup_vs_peer"], "{:.2f}x"),
            _x(r["speedup_vs_legacy"], "{:.2f}x"),
            _x(r["speedup_vs_1_worker"], "{:.2f}x"),
            _x(r["parallel_efficiency"], "{:.0%}"),
            _x(r["floor_over_wall"]),
            _x(r["non_model_share"], "{:.0%}"),
            f"{r['peak_rss_mb']:.0f}",
            note,
        )
    return t


def overhead_table(rows: list[dict[str, Any]]) -> Table:
    t = _table(
        "executor overhead vs the thread pool",
        "wall: process, start-up included; run: in-process; executor: starting and stopping the workers",
        ("workload", "case", "wall s", "threads wall s", "overhead", "run s", "threads run s", "executor s"),
        ("workload", "case"),
    )
    for r in rows:
        t.add_row(
            r["workload"],
            f"{r['executor']} x{r['workers']}",
            f"{r['wall_seconds']:.2f}",
            f"{r['threads_wall_seconds']:.2f}",
            _x(r["wall_overhead"], "{:+.0%}"),
            f"{r['run_seconds']:.2f}",
            f"{r['threads_run_seconds']:.2f}",
            f"{r['executor_seconds']:.2f}",
        )
    return t


def sweep_table(workload: str, rows: list[dict[str, Any]]) -> Table:
    first = rows[0]
    t = _table(
        f"{workload}: {first['configurations']} configurations of {first['base_workload']} "
        f"({first['n_folds']} folds each)",
        "wall: process wall time, start-up included, summed over the separate `wf run` processes; "
        "in-command: inside the `wf` commands; ×separate: the separate runs' wall over the case's; MB: the largest "
        "peak RSS of the `wf` processes (Dask's workers not counted)",
        ("case", "processes", "wall s", "min–max", "in-command s", "×separate", "MB", "note"),
        ("case", "note"),
    )
    for r in rows:
        w = r["wall_seconds"]
        t.add_row(
            r["label"],
            str(r["processes"]),
            f"{w['median']:.2f}",
            f"{w['min']:.2f}–{w['max']:.2f}",
            f"{r['command_seconds']:.2f}",
            _x(r["speedup_vs_separate"], "{:.2f}x"),
            f"{r['peak_rss_mb']:.0f}",
            "oversubscribed" if r["oversubscribed"] else "",
        )
    return t


def sweep_overhead_table(rows: list[dict[str, Any]]) -> Table:
    t = _table(
        "sweep executor overhead vs the thread pool",
        "wall: process, start-up included; in-command: inside `wf sweep`",
        ("workload", "case", "wall s", "threads wall s", "overhead", "extra s", "in-command s", "threads in-cmd s"),
        ("workload", "case"),
    )
    for r in rows:
        t.add_row(
            r["workload"],
            f"sweep/{r['executor']} x{r['workers']}",
            f"{r['wall_seconds']:.2f}",
            f"{r['threads_wall_seconds']:.2f}",
            _x(r["wall_overhead"], "{:+.0%}"),
            f"{r['extra_seconds']:+.2f}",
            f"{r['command_seconds']:.2f}",
            f"{r['threads_command_seconds']:.2f}",
        )
    return t


@handle_errors
def bench(
    workers: Annotated[str, typer.Option(help="Worker counts for the Polars engine, comma-separated.")] = "1,2,4,8",
    workloads: Annotated[
        str,
        typer.Option(
            help="small, medium, large, wide, xl, xl1000, xl-cs; sweep-large, sweep-wide: 16 configurations as "
            "separate `wf run`s and as one `wf sweep` (comma-separated)."
        ),
    ] = "small,medium,large",
    repeat: Annotated[int, typer.Option(min=1, help="Repeats per case; medians are reported.")] = 3,
    output: Annotated[
        Path | None,
        typer.Option(help="JSON report (default bench/results/DATE-WORKLOADS.json); a PNG is written next to it."),
    ] = None,
    keep_runs: Annotated[Path | None, typer.Option(help="Keep every case's outputs in this folder.")] = None,
    executor: Annotated[
        str, typer.Option(help="threads, processes or dask: another executor also runs and is compared with threads.")
    ] = "threads",
    scheduler: Annotated[
        str | None, typer.Option(metavar="ADDRESS", help="Dask scheduler for the dask cases (default: a LocalCluster).")
    ] = None,
    legacy: Annotated[
        bool, typer.Option("--legacy/--no-legacy", help="Also run the legacy engine (minutes on xl) and gate on it.")
    ] = True,
    peer: Annotated[
        bool, typer.Option("--peer/--no-peer", help="Also run the peer baseline (pandas, a pool) and gate on it.")
    ] = True,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Time both engines and the peer baseline over workloads and worker counts, each case in its own process; fail
    if outputs differ."""
    from bench.harness import default_output, write_report
    from bench.plots import plot, plot_sweeps

    names = [w.strip() for w in workloads.split(",") if w.strip()]
    output = output or default_output(names)
    counts = _ints(workers, "--workers")
    options = {"executor": executor, "scheduler": scheduler, "keep_dir": keep_runs, "legacy": legacy, "peer": peer}
    result = with_progress(names, counts, repeat, options, progress)
    flags = [
        *(["--executor", executor] if executor != "threads" else []),
        *(["--scheduler", scheduler] if scheduler else []),
    ]
    flags += [*([] if legacy else ["--no-legacy"]), *([] if peer else ["--no-peer"])]
    args = ["--workers", workers, "--workloads", workloads, "--repeat", str(repeat), "--output", str(output), *flags]
    write_report(result, output, shlex.join(["wf", "bench", *args]))
    charts = [plot(result.cases, output.with_suffix(".png"))] if result.cases else []
    charts += [plot_sweeps(result.sweeps, output.with_name(f"{output.stem}-sweeps.png"))] if result.sweeps else []
    show(result, names)
    console.print(f"report: {output}  chart: {'  '.join(map(str, charts))}")
    if not result.ok:
        bad = [f"{g['workload']}: {g['check']}" for g in result.gate if not g["ok"]]
        err_console.print(f"[bold red]error:[/] outputs differ: {'; '.join(bad)}")
        raise typer.Exit(1)


def with_progress(names: list[str], counts: list[int], repeat: int, options: dict[str, Any], shown: bool) -> Any:
    """`run_all` (the plain and the sweep workloads) with a progress bar over their cases (and the cold run of each
    plain workload)."""
    from bench.harness import plan
    from bench.sweeps import run_all, sweep_plan
    from bench.workloads import SWEEP_WORKLOADS

    sweeps = [n for n in names if n in SWEEP_WORKLOADS]
    plain = [n for n in names if n not in SWEEP_WORKLOADS]
    cases = plan(plain, counts, options["executor"], options["legacy"], options["peer"])
    total = (len(cases) + len(sweep_plan(sweeps, counts, options["executor"]))) * repeat + len(plain)  # + cold runs
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, disable=not shown) as bar:
        task = bar.add_task("bench", total=total)
        seen = [0]

        def on_case(case, r):  # noqa: ANN001
            bar.update(task, completed=seen[0], description=f"{case.workload}: {case.label} (repeat {r + 1})")
            seen[0] += 1

        result = run_all(names, counts, repeat, on_case=on_case, **options)
        bar.update(task, completed=total, description="done")
    return result


def show(result: Any, names: list[str]) -> None:
    """Each workload's table, the executors' overhead, and the determinism gate (the repeats' checks in one line
    unless one differs)."""
    for name in names:
        rows = [c for c in result.cases if c["workload"] == name]
        swept = [c for c in result.sweeps if c["workload"] == name]
        console.print(workload_table(name, rows) if rows else sweep_table(name, swept))
    if result.overhead:
        console.print(overhead_table(result.overhead))
    if result.sweep_overhead:
        console.print(sweep_overhead_table(result.sweep_overhead))
    repeats = [g for g in result.gate if " repeat " in g["check"]]
    for g in result.gate:
        if g["ok"] and g in repeats:
            continue
        mark = "[green]ok[/]" if g["ok"] else "[red]DIFFERS[/]"
        console.print(f"determinism {g['workload']}: {g['check']}: {mark} {'; '.join(g['problems'])}")
    if repeats and all(g["ok"] for g in repeats):
        console.print(f"determinism: every later repeat equals its first ({len(repeats)} checks): [green]ok[/]")
