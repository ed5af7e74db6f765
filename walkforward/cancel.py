"""Graceful cancellation: the first SIGINT/SIGTERM stops scheduling new folds and lets running ones finish;
a second SIGINT aborts at once — after the atomic writes in flight have landed, so no partial file is left.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

EXIT_CANCELLED = 130
_ON_ABORT: list[Callable[[], None]] = []  # cleanups an abort runs before exiting (temporary files of worker pools)


class Cancelled(Exception):
    """The run stopped early on request; finished folds are checkpointed."""

    def __init__(self, done: int, total: int):
        super().__init__(f"cancelled after {done} of {total} fold models")
        self.done, self.total = done, total


class Cancellation:
    """A flag the scheduler checks between tasks, set by a signal or by code (tests, notebooks)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signals = 0

    @property
    def requested(self) -> bool:
        return self.event.is_set()

    def request(self) -> None:
        self.event.set()

    def _handle(self, signum: int, frame: object) -> None:  # noqa: ARG002
        self.signals += 1
        if self.signals == 1:
            name = signal.Signals(signum).name
            sys.stderr.write(
                f"\n{name}: stopping after the running folds finish; finished folds are kept "
                "(press Ctrl-C again to abort now)\n"
            )
            sys.stderr.flush()
            self.request()
            return
        abort()

    @contextmanager
    def signals_installed(self) -> Iterator[Cancellation]:
        """Route SIGINT and SIGTERM to this cancellation while the block runs (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def on_abort(cleanup: Callable[[], None]) -> None:
    """Have `abort` call `cleanup()` (quick, never waiting on workers) before it exits."""
    _ON_ABORT.append(cleanup)


def forget_on_abort(cleanup: Callable[[], None]) -> None:
    if cleanup in _ON_ABORT:
        _ON_ABORT.remove(cleanup)


def abort() -> None:
    """Leave now: refuse new writes, wait (bounded) for those in flight, remove what `on_abort` registered, exit 130
    without running cleanups that could wait on worker threads."""
    from walkforward import outputs

    outputs.refuse_writes(wait_seconds=5.0)
    for cleanup in list(_ON_ABORT):
        cleanup()
    sys.stderr.write("aborted; no partial files were left. Finished folds can be resumed with --resume\n")
    sys.stderr.flush()
    os._exit(EXIT_CANCELLED)
