"""One stopwatch for every stage of both engines: `with timer("fit"): ...` adds the wall seconds to `timer["fit"]`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


class Timer(dict):
    """Accumulates wall seconds per stage (a dict of stage -> seconds)."""

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self[stage] = self.get(stage, 0.0) + time.perf_counter() - t0
