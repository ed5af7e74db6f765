"""`wf run`: one walk-forward run, with a progress bar and a summary table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import ExecutorName, NJobs, SchedulerAddress, console, handle_errors
from cli.lean import import_lightgbm_lean, wants_lean_lightgbm
from walkforward.report.formats import METRIC_FORMATS, format_metric

SUMMARY = METRIC_FORMATS  # the same labels and formats as the HTML report
fmt = format_metric
PROFILE_TOP = 20  # functions `--profile` prints


def summary_table(metrics: dict[str, Any]) -> Table:
    table = Table(show_header=True, header_style="bold")
    table.add_column("Metric")
    table.add_column("Value", justify="right")
    for key, label, pattern in SUMMARY:
        table.add_row(label, fmt(metrics["overall"].get(key), pattern))
    return table


def print_profile(path: Path, threads: int) -> None:
    """The profile's top functions; with model-fitting threads, the note on how their times read."""
    from rich.markup import escape

    from walkforward.profiling import THREADS_NOTE, top_functions

    console.print(f"[bold]profile:[/] {escape(str(path))} · top {PROFILE_TOP} functions by cumulative time")
    if threads > 1:
        console.print(f"note: {THREADS_NOTE}", highlight=False, soft_wrap=True)
    console.print(top_functions(path, PROFILE_TOP), markup=False, highlight=False, soft_wrap=True)


def build_config(config: Path | None, **overrides: Any):
    from walkforward.config import load_config

    return load_config(config, **overrides)


@handle_errors
def run(
    config: Annotated[Path | None, typer.Option(help="JSON config (default: the shipped one).")] = None,
    data_path: Annotated[
        str | None,
        typer.Option(
            "--data-path",
            "--data-dir",
            help="Folder of <SYMBOL>.csv files, a long-format .parquet or .csv file, or a folder of Parquet files.",
        ),
    ] = None,
    assets: Annotated[
        str | None,
        typer.Option(help="Comma-separated symbols to trade, or all: every symbol in the data but the benchmark."),
    ] = None,
    universe: Annotated[
        str | None,
        typer.Option(
            metavar="FILE", help="Membership CSV (symbol,start,end): trade and train on an asset only while a member."
        ),
    ] = None,
    benchmark: Annotated[str | None, typer.Option(help="Benchmark symbol (calendar, correlation).")] = None,
    start_date: Annotated[str | None, typer.Option(help="First out-of-sample date, YYYY-MM-DD.")] = None,
    end_date: Annotated[str | None, typer.Option(help="Last out-of-sample date, YYYY-MM-DD.")] = None,
    fold_length: Annotated[int | None, typer.Option(help="Training sessions per fold.")] = None,
    step_size: Annotated[int | None, typer.Option(help="Test sessions per fold.")] = None,
    embargo: Annotated[int | None, typer.Option(help="Sessions between training and test.")] = None,
    window: Annotated[str | None, typer.Option(help="rolling or expanding.")] = None,
    refit_every: Annotated[
        int | None, typer.Option(help="Retrain every k-th fold; the folds between use the last model.")
    ] = None,
    horizon: Annotated[int | None, typer.Option(help="Target horizon in sessions.")] = None,
    model: Annotated[str | None, typer.Option(help="Model kind: lightgbm, random_forest or sklearn.")] = None,
    scope: Annotated[str | None, typer.Option(help="unified or per_asset.")] = None,
    warm_start: Annotated[
        bool | None,
        typer.Option("--warm-start/--no-warm-start", help="Continue the previous fold's model."),
    ] = None,
    engine: Annotated[str | None, typer.Option(help="polars (default) or legacy.")] = None,
    n_jobs: NJobs = None,
    executor: ExecutorName = None,
    scheduler: SchedulerAddress = None,
    output_dir: Annotated[str | None, typer.Option(help="Where outputs are written.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    save_features: Annotated[bool, typer.Option("--save-features", help="Also write features.parquet.")] = False,
    report: Annotated[
        bool, typer.Option("--report", help="Also write the charts and report.html into OUTPUT_DIR/report.")
    ] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue an interrupted run in --output-dir, skipping finished folds.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a finished or interrupted run in --output-dir.")
    ] = False,
    profile: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Run under cProfile: write DIR/profile.pstats, print the top 20 functions."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or table.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Run a walk-forward backtest and write predictions, trades, returns, importances and metrics."""
    from walkforward.cancel import Cancellation
    from walkforward.runner import execute

    overrides: dict[str, Any] = {
        "data_path": data_path,
        "assets": assets,
        "universe": universe,
        "benchmark": benchmark,
        "start_date": start_date,
        "end_date": end_date,
        "fold_length": fold_length,
        "step_size": step_size,
        "embargo": embargo,
        "window": window,
        "refit_every": refit_every,
        "horizon": horizon,
        "model.scope": scope,
        "model.warm_start": warm_start,
        "engine": engine,
        "n_jobs": n_jobs,
        "executor": executor,
        "scheduler": scheduler,
        "output_dir": output_dir,
        "seed": seed,
    }
    if model is not None:
        base = build_config(config)
        overrides["model.kind"] = model
        if model != base.model.kind:
            overrides["model.params"] = {}
    cfg = build_config(config, **overrides)
    if wants_lean_lightgbm(cfg):
        import_lightgbm_lean()  # 0.2 s instead of 1.1 s: see cli/lean.py
    stats_path = None
    if profile is not None:
        from walkforward.profiling import profile_file, profiled

        stats_path = profile_file(profile)  # created (or refused) before the run, not after it
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False, disable=quiet) as bar:
        task = bar.add_task(f"{cfg.engine} engine: fitting models", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        try:
            with Cancellation().signals_installed() as cancel:

                def work() -> tuple[Any, dict[str, Any]]:
                    return execute(
                        cfg,
                        progress=progress,
                        save_features=save_features,
                        resume=resume,
                        overwrite=overwrite,
                        cancel=cancel,
                    )

                result, info = work() if stats_path is None else profiled(work, stats_path)
        except BaseException:
            bar.live.transient = True  # an error is one line: leave no dead progress bar above it
            raise
    if not quiet:
        n = len(result.folds)
        title = f"{cfg.engine} engine · {n} folds · {cfg.start_date}..{cfg.end_date} · {info['timings']['total']:.2f}s"
        console.print(f"[bold]{title}[/]")
        console.print(summary_table(result.metrics))
        console.print(f"outputs in {cfg.output_dir}")
    if report:
        from walkforward.report import write_report

        page = write_report(cfg.output_dir)
        if not quiet:
            console.print(f"report: {page}")
    if stats_path is not None:
        print_profile(stats_path, cfg.resolved_n_jobs)
