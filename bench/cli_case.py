"""One `wf` command in its own process, as a user runs it: `python -m bench.cli_case RESULT_JSON ARG...` runs
`wf ARG...` (cli.main.main, the console script's entry point) and writes what it measured to RESULT.

The sweep benchmarks (bench/sweeps.py) time `wf run` and `wf sweep` through this, so what they measure is the
commands themselves (argument parsing, the imports each command does, printing), whatever the library does
underneath. RESULT gets the command's exit code, the seconds from the interpreter's first line to the command's
start and to its end, this process's peak RSS (Dask's worker processes, nannies and scheduler not counted), the
CPUs the process had, package versions and which heavy modules the command imported.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # before any import of ours: start-up counts

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

HEAVY_MODULES = ("pandas", "sklearn", "polars", "lightgbm", "distributed", "walkforward.legacy.engine")


def main(result_path: str, args: list[str]) -> int:
    from cli.main import main as wf

    t_command = time.perf_counter()
    sys.argv = ["wf", *args]
    try:
        wf()
        code = 0
    except SystemExit as exc:  # the console script always exits
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    t_end = time.perf_counter()
    from walkforward.versions import package_versions

    result = {
        "exit_code": code,
        "startup_seconds": t_command - T0,  # the interpreter and cli.main; the command's own imports come later
        "command_seconds": t_end - t_command,
        "process_seconds": t_end - T0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "cpu_count": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "packages": package_versions(),
        "imported": {m: m in sys.modules for m in HEAVY_MODULES},
    }
    with open(result_path, "w") as fh:
        json.dump(result, fh, indent=2)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
