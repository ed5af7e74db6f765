"""What every command shares: one-line errors with exit code 2, and the console."""

from __future__ import annotations

import functools
import shlex
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from walkforward.cancel import EXIT_CANCELLED, Cancelled
from walkforward.errors import FoldFailed, WalkforwardError

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn a WalkforwardError (bad input) into one line on stderr and exit code 2.

    With `--debug` (the command's `debug` argument) the traceback is shown instead.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except WalkforwardError as exc:
            if kwargs.get("debug"):
                raise
            raise fail(str(exc)) from None
        except FoldFailed as exc:
            if kwargs.get("debug"):
                raise
            raise fail(str(exc), code=1) from None
        except Cancelled as exc:
            again = " ".join(shlex.quote(a) for a in sys.argv[1:] if a not in ("--overwrite", "--resume"))
            err_console.print(
                f"{exc}; finished folds are kept. Resume with: wf {again} --resume", highlight=False, soft_wrap=True
            )
            raise typer.Exit(EXIT_CANCELLED) from None
        except OSError as exc:
            if kwargs.get("debug"):
                raise
            where = f" {exc.filename!r}" if exc.filename else ""
            raise fail(f"{exc.strerror or exc}{where}") from None

    return wrapper  # type: ignore[return-value]


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
