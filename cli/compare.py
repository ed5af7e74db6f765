"""`wf compare`: are two runs' outputs the same, table by table, within a tolerance?"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from cli.common import console, handle_errors

if TYPE_CHECKING:
    import polars as pl

    from walkforward.compare import Comparison

DEFAULT_TOLERANCE = 1e-9  # walkforward.compare.DEFAULT_TOLERANCE, without importing Polars to build the command


def cell(value: Any) -> str:
    """A value as the runs hold it: floats with every digit (repr), missing values as `null`."""
    return "null" if value is None else repr(value) if isinstance(value, float) else str(value)


def summary(comparison: Comparison) -> Table:
    table = Table(show_header=True, header_style="bold")
    table.add_column("table")
    table.add_column("match", justify="center")
    table.add_column("message")
    for t in comparison.tables:
        table.add_row(t.name, "[green]✓[/]" if t.ok else "[red]✗[/]", Text(t.message))  # paths are not markup
    return table


def rows_table(title: str, rows: pl.DataFrame) -> Table:
    """The first differing rows: a column `x` that differs is shown as `x (A)` beside its `x_b` as `x (B)`.

    Keys keep their width; on a narrow terminal the values fold onto a second line rather than lose digits.
    """
    table = Table(title=title, title_justify="left", show_header=True, header_style="bold")
    cells = [[cell(v) for v in row] for row in rows.iter_rows()]
    columns = rows.columns
    for i, name in enumerate(columns):
        if name.endswith("_b") and name[:-2] in columns:
            label, differs = f"{name[:-2]} (B)", True
        elif f"{name}_b" in columns:
            label, differs = f"{name} (A)", True
        else:  # a key, or metrics' `metric`, `a`, `b`
            label, differs = name, name in ("a", "b")
        if differs:
            table.add_column(label, overflow="fold")
        else:
            table.add_column(label, no_wrap=True, min_width=max(len(label), *(len(c[i]) for c in cells)))
    for row in cells:
        table.add_row(*map(Text, row))
    return table


@handle_errors
def compare(
    run_a: Annotated[Path, typer.Argument(metavar="RUN_A", help="A run's output directory (what `wf run` wrote).")],
    run_b: Annotated[Path, typer.Argument(metavar="RUN_B", help="The run to compare it with (any engine, n_jobs).")],
    tolerance: Annotated[
        float, typer.Option(help="Relative tolerance for float columns and metrics; 0 means bitwise equal.")
    ] = DEFAULT_TOLERANCE,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Compare two runs' predictions, trades, returns, feature importances and metrics; exit 1 if any differ."""
    from walkforward.compare import compare_runs

    result = compare_runs(run_a, run_b, tolerance)
    console.print(f"A: {run_a}\nB: {run_b}\ntolerance: {tolerance:g}", markup=False, highlight=False, soft_wrap=True)
    console.print(summary(result))
    for t in result.tables:
        if not t.ok and t.rows is not None and t.rows.height:
            n = t.rows.height
            console.print(rows_table(f"{t.name}: first {n} differing row{'s' * (n != 1)}", t.rows))
    bad = [t.name for t in result.tables if not t.ok]
    if bad:
        console.print(f"[bold red]differ:[/] {', '.join(bad)}", highlight=False)
        raise typer.Exit(1)
    console.print("[bold green]runs match[/]", highlight=False)
