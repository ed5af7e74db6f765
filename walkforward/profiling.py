"""Profile a whole run with cProfile, the model-fitting threads included, and save the stats as a .pstats file.

cProfile on Python 3.11 sees only the thread that enabled it, and the models fit on the thread pool's workers. So
`profiled` also starts a profiler in every thread started while it runs (through `threading.setprofile`, whose hook
replaces itself with the thread's own `cProfile.Profile` at the thread's first call) and merges them all into one
Stats. From Python 3.12 cProfile is built on `sys.monitoring`: one profiler per process, which already sees the calls
of every thread but keeps a single call stack, so the workers' functions show up with their own time right and their
cumulative time garbled. Either way times add up over threads, so while models fit in parallel the totals exceed
the wall time; `--n-jobs 1` gives a single-threaded, per-function view of a run. Worker processes (an executor other
than threads) are not profiled.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from walkforward.errors import ConfigError
from walkforward.files import make_folder
from walkforward.outputs import atomic_write

T = TypeVar("T")

PROFILE_FILE = "profile.pstats"
PER_THREAD = sys.version_info < (3, 12)  # 3.12+: one sys.monitoring profiler sees every thread

THREADS_NOTE = (
    "times are summed over the main thread and the model-fitting threads: cumulative times exceed the wall time "
    "while models fit in parallel, and the main thread's share of fitting shows as waiting on the pool"
    if PER_THREAD
    else "the model-fitting threads' calls share one call stack with the main thread (Python 3.12+ cProfile): their "
    "own times are right, their cumulative times are not"
) + "; run with --n-jobs 1 for a single-threaded per-function view"


def profile_file(directory: str | os.PathLike[str]) -> Path:
    """Create `directory` (and its parents) if needed and return the path of the stats file in it."""
    return make_folder(directory, "profile dir", "--profile", ConfigError) / PROFILE_FILE


def profiled(func: Callable[[], T], path: str | os.PathLike[str]) -> T:
    """Call `func()` under cProfile, threads it starts included; write the merged stats to `path`; return the result.

    The stats are written atomically, and only when `func` returns. Threads must end before `func` returns (the
    model-fitting pool does) for their time to be complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    main = cProfile.Profile()
    workers: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_thread_profiler(frame: Any, event: str, arg: Any) -> None:
        profile = cProfile.Profile()
        with lock:
            workers.append(profile)
        profile.enable()  # replaces this hook for the rest of the thread

    previous = threading.getprofile()
    if PER_THREAD:
        threading.setprofile(start_thread_profiler)
    main.enable()
    try:
        result = func()
    finally:
        main.disable()
        if PER_THREAD:
            threading.setprofile(previous)
    stats = pstats.Stats(main)
    with lock:
        for profile in workers:
            profile.create_stats()  # disables it and snapshots its stats
            if profile.stats:
                stats.add(profile)
    atomic_write(path, stats.dump_stats)
    return result


def top_functions(path: str | os.PathLike[str], n: int = 20) -> str:
    """The `n` functions with the most cumulative time in the stats file at `path`, as pstats prints them."""
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    _shorten_paths(stats).sort_stats(pstats.SortKey.CUMULATIVE).print_stats(n)
    return out.getvalue().strip("\n")


def _shorten_paths(stats: pstats.Stats) -> pstats.Stats:
    """File names relative to the import path (`lightgbm/basic.py`, `concurrent/futures/thread.py`).

    Unlike `Stats.strip_dirs`, which keeps only base names and so adds up every `__init__.py:1(<module>)` into one
    row, a name stays whole where shortening would make two functions one.
    """
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # holds walkforward/ and cli/
    roots = sorted({os.path.join(os.path.abspath(p), "") for p in [*sys.path, here] if p}, key=len, reverse=True)

    def short(filename: str) -> str:
        return next((filename[len(r) :] for r in roots if filename.startswith(r)), filename)

    names = {f: (short(f[0]), *f[1:]) for f in stats.stats}  # type: ignore[attr-defined]
    taken = Counter(names.values())
    names = {f: name if taken[name] == 1 else f for f, name in names.items()}
    stats.stats = {  # type: ignore[attr-defined]
        names[f]: (cc, nc, tt, ct, {names.get(c, c): v for c, v in callers.items()})
        for f, (cc, nc, tt, ct, callers) in stats.stats.items()  # type: ignore[attr-defined]
    }
    stats.top_level = {names.get(f, f) for f in stats.top_level}  # type: ignore[attr-defined]
    stats.fcn_list = None  # type: ignore[attr-defined]
    stats.all_callees = None  # type: ignore[attr-defined]
    return stats
