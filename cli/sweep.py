"""`wf sweep`: every configuration of a grid, each run as `wf run` would; a leaderboard and overfitting statistics."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cli.common import ExecutorName, NJobs, SchedulerAddress, console, handle_errors
from cli.lean import import_lightgbm_lean, wants_lean_lightgbm
from walkforward.cancel import Cancellation
from walkforward.report.formats import format_metric

if TYPE_CHECKING:
    from walkforward.sweeps.grid import Trial
    from walkforward.sweeps.run import SweepResult

# leaderboard columns printed after the grid values: (column, label, format)
SHOWN = (
    ("sharpe", "Sharpe", "{:.2f}"),
    ("total_return", "Total return", "{:.2%}"),
    ("max_drawdown", "Max DD", "{:.2%}"),
    ("psr", "PSR", "{:.3f}"),
    ("dsr", "DSR", "{:.3f}"),
)


def leaderboard_table(result: SweepResult, top: int | None = None) -> Table:
    """One row per configuration, best Sharpe ratio first; with `top`, the best `top` only (the caption says how
    many more leaderboard.parquet holds)."""
    board = result.leaderboard.sort("sharpe", descending=True, nulls_last=True)
    keys = list(dict.fromkeys(key for params in result.configs.values() for key in params))  # every grid's keys
    more = 0 if top is None else max(0, board.height - top)
    board = board.head(board.height - more)
    caption = f"and {more} more, in leaderboard.parquet" if more else None
    table = Table(show_header=True, header_style="bold", caption=caption)
    for name in ("id", *keys):
        table.add_column(name)
    for _, label, _ in SHOWN:
        table.add_column(label, justify="right")
    for row in board.iter_rows(named=True):
        cells = ["—" if row[c] is None else str(row[c]) for c in ("id", *keys)]  # —: the key is not in its grid
        cells += [format_metric(row.get(c), pattern) for c, _, pattern in SHOWN]
        table.add_row(*cells)
    return table


def overfitting_line(over: dict[str, Any]) -> str:
    if over.get("pbo") is None:
        return f"PBO: not computed ({over.get('reason')})"
    slope = over["degradation_slope"]
    slope_text = "undefined" if slope is None else f"{slope:.2f}"
    return (
        f"PBO {over['pbo']:.2f} over {over['combinations']} combinations (S={over['S']}, N={over['N']}, "
        f"T={over['T']}); OOS-on-IS Sharpe slope {slope_text}"
    )


@handle_errors
def sweep(
    grid: Annotated[
        Path, typer.Option(help="JSON file: config keys (model.params.num_leaves) -> lists, or a list of grids.")
    ],
    config: Annotated[Path | None, typer.Option(help="Base JSON config (default: the shipped one).")] = None,
    output_dir: Annotated[str, typer.Option(help="Where each configuration's run and the leaderboard go.")] = (
        "results/sweep"
    ),
    sample: Annotated[int | None, typer.Option(help="Run N configurations drawn at random from the grid.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of --sample's draw.")] = 0,
    n_jobs: NJobs = None,
    executor: ExecutorName = None,
    scheduler: SchedulerAddress = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Reuse finished configurations, continue interrupted ones.")
    ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the configurations' runs.")] = False,
    top: Annotated[
        int | None, typer.Option(min=1, help="Print only the N best configurations (all are in leaderboard.parquet).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress lines or table.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Run every configuration of a grid on one executor; write DIR/<id>/ (as wf run), leaderboard.parquet and
    overfitting.json."""
    from walkforward.config import load_config
    from walkforward.sweeps.grid import read_grid, trials
    from walkforward.sweeps.run import sweep as run_sweep

    def on_trial(i: int, n: int, trial: Trial, mode: str) -> None:
        if not quiet:
            values = ", ".join(f"{k}={v}" for k, v in trial.params.items())
            console.print(f"[{i}/{n}] {trial.id} ({values}): {mode}", highlight=False, markup=False)

    how = {"n_jobs": n_jobs, "executor": executor, "scheduler": scheduler}
    base = load_config(config, **{k: v for k, v in how.items() if v is not None})
    if all(wants_lean_lightgbm(t.config) for t in trials(base, read_grid(grid), sample, seed)):
        import_lightgbm_lean()  # as `wf run` does (cli/lean.py): every configuration fits LightGBM in this process
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False, disable=quiet) as bar:
        task = bar.add_task(f"sweep: fitting models ({base.executor})", total=None)
        try:
            with Cancellation().signals_installed() as cancel:
                result = run_sweep(
                    base,
                    str(grid),
                    sample=sample,
                    seed=seed,
                    output_dir=output_dir,
                    resume=resume,
                    overwrite=overwrite,
                    on_trial=on_trial,
                    on_task=lambda done, total: bar.update(task, completed=done, total=total),
                    cancel=cancel,
                )
        except BaseException:
            bar.live.transient = True  # an error is one line: leave no dead progress bar above it
            raise
    if not quiet:
        console.print(leaderboard_table(result, top))
        console.print(overfitting_line(result.overfitting), highlight=False)
        console.print(f"outputs in {result.output_dir}", highlight=False)
