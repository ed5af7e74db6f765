"""One stopwatch for every stage of both engines: `with timer("fit"): ...` adds the wall seconds to `timer["fit"]`."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
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


def busy_seconds(intervals: Iterable[tuple[float, float]], lo: float, hi: float) -> float:
    """The length of the union of `intervals` (start, end) within [lo, hi]: the wall time during which at least one of
    them was running (intervals of several workers that overlap count once)."""
    total, reach = 0.0, lo
    for start, end in sorted((max(a, lo), min(b, hi)) for a, b in intervals):
        start = max(start, reach)
        if end > start:
            total += end - start
            reach = end
    return total
