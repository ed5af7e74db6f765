"""What every command shares: one-line errors with exit code 2, and the console."""

from __future__ import annotations

import functools
import os
import shlex
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from walkforward.cancel import EXIT_CANCELLED, Cancelled
from walkforward.errors import DataWarning, FoldFailed, WalkforwardError

# options `wf run` and `wf sweep` share: where the models run
NJobs = Annotated[int | None, typer.Option(help="Workers (default: available cores).")]
ExecutorName = Annotated[
    str | None, typer.Option(help="threads (default), processes, or dask (a LocalCluster, or --scheduler's).")
]
SchedulerAddress = Annotated[
    str | None, typer.Option(metavar="ADDRESS", help="Dask scheduler, e.g. tcp://HOST:8786 (with --executor dask).")
]

# Lines are never wrapped mid-word (paths stay whole); tables printed to a pipe or a log get 160 columns, not 80.
console = Console(soft_wrap=True, width=None if sys.stdout.isatty() or "COLUMNS" in os.environ else 160)
err_console = Console(stderr=True, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def warn(message: str) -> None:
    """One line on stderr: `warning: ...` (a multi-line message is joined into one)."""
    err_console.print(f"[yellow]warning:[/] {escape(' '.join(message.split()))}", highlight=False, soft_wrap=True)


def print_warnings(caught: list[warnings.WarningMessage]) -> None:
    """Each distinct warning once, in the order it came, then forget them (so none is printed twice)."""
    for message in dict.fromkeys(str(w.message) for w in caught):
        warn(message)
    caught.clear()


def exit_on_signal() -> None:
    """From now on SIGINT and SIGTERM end the process at once with exit code 130 (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: os._exit(EXIT_CANCELLED))


def handle_errors(func: F) -> F:
    """Turn a WalkforwardError (bad input) into one line on stderr and exit code 2.

    With `--debug` (the command's `debug` argument) the traceback is shown instead. Warnings raised while the command
    runs (unsorted rows, gaps in the data, a library's) are printed as one `warning: ...` line each, before the error
    if there is one, instead of Python's two-line warning output.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataWarning)  # every time, even when an earlier call warned the same
            try:
                return func(*args, **kwargs)
            except WalkforwardError as exc:
                print_warnings(caught)
                if kwargs.get("debug"):
                    raise
                raise fail(str(exc)) from None
            except FoldFailed as exc:
                print_warnings(caught)
                if kwargs.get("debug"):
                    raise
                raise fail(str(exc), code=1) from None
            except Cancelled as exc:
                exit_on_signal()  # the run is over: a further Ctrl-C while we print and exit means "now", still 130
                print_warnings(caught)
                again = " ".join(shlex.quote(a) for a in sys.argv[1:] if a not in ("--overwrite", "--resume"))
                err_console.print(
                    f"{escape(str(exc))}; finished folds are kept. Resume with: wf {escape(again)} --resume",
                    highlight=False,
                    soft_wrap=True,
                )
                raise typer.Exit(EXIT_CANCELLED) from None
            except KeyboardInterrupt:  # Ctrl-C before a run's own handler is in place (while starting up)
                exit_on_signal()
                print_warnings(caught)
                err_console.print("interrupted (Ctrl-C) while starting; run the command again", highlight=False)
                raise typer.Exit(EXIT_CANCELLED) from None
            except OSError as exc:
                print_warnings(caught)
                if kwargs.get("debug"):
                    raise
                where = f" {exc.filename!r}" if exc.filename else ""
                raise fail(f"{exc.strerror or exc}{where}") from None
            finally:
                print_warnings(caught)

    return wrapper  # type: ignore[return-value]


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
