"""`wf report`: charts and a self-contained report.html from a finished run directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.common import console, handle_errors


@handle_errors
def report(
    run_dir: Annotated[
        Path,
        typer.Argument(
            metavar="RUN_DIR", help="A finished run's output directory (what `wf run` wrote), or a `wf sweep` folder."
        ),
    ],
    output: Annotated[Path | None, typer.Option(help="Where to write the report (default: RUN_DIR/report).")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    """Write PNG charts (equity, drawdown, per-fold results, IC, feature importance) and report.html; for a sweep
    folder, the CSCV logits' histogram and the in-sample against out-of-sample Sharpe scatter."""
    from walkforward.report import write_report

    path = write_report(run_dir, output)
    console.print(str(path), highlight=False, soft_wrap=True)
