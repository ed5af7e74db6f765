"""`wf`: the walkforward command line. Thin: parse options, call the library, print."""

from __future__ import annotations

import typer

from cli import bench, compare, data, features, report, run

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
app.add_typer(features.app, name="features")


def main() -> None:
    """The `wf` console script: like `app()`, but a usage error (a bad flag value, an unknown option or command) is
    one line on stderr with exit code 2, as every other bad input is."""
    import sys

    from typer.exceptions import TyperException

    from cli.common import err_console

    try:
        code = app(standalone_mode=False, prog_name="wf")
    except TyperException as exc:  # click's UsageError / BadParameter, as typer bundles them
        if not hasattr(exc, "format_message"):
            raise
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "wf"
        err_console.print(f"error: {exc.format_message()} (see `{where} --help`)", highlight=False, markup=False)
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
