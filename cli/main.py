"""`wf`: the walkforward command line. Thin: parse options, call the library, print."""

from __future__ import annotations

import typer

from cli import bench, compare, data, report, run

app = typer.Typer(
    name="wf",
    help="walkforward: a walk-forward machine-learning backtester for a multi-asset universe.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("run")(run.run)
app.command("report")(report.report)
app.command("bench")(bench.bench)
app.command("compare")(compare.compare)
app.add_typer(data.app, name="data")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
