"""One benchmark case in its own process: `python -m bench.case SPEC_JSON RESULT_JSON`.

SPEC holds config overrides; RESULT gets the run's timings, model CPU seconds, peak RSS, the CPUs the process had,
package versions and which heavy modules the run imported.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # before the heavy imports: start-up counts

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402

# which of these a run loaded: the model libraries and what they pull in, and the legacy engine (never in a Polars run)
HEAVY_MODULES = ("pandas", "sklearn", "polars", "lightgbm", "walkforward.legacy.engine")


def main(spec_path: str, result_path: str) -> None:
    from cli.lean import import_lightgbm_lean, wants_lean_lightgbm
    from walkforward.config import load_config
    from walkforward.runner import execute, package_versions

    with open(spec_path) as fh:
        spec = json.load(fh)
    config = load_config(spec.get("config"), **spec["overrides"])
    if wants_lean_lightgbm(config):  # as `wf run` does (cli/lean.py)
        import_lightgbm_lean()
    t_run = time.perf_counter()
    _, info = execute(config)
    t_end = time.perf_counter()
    result = {
        "startup_seconds": t_run - T0,
        "run_seconds": t_end - t_run,
        "process_seconds": t_end - T0,
        "timings": info["timings"],
        "model_cpu_seconds": info["model_cpu_seconds"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "cpu_count": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "packages": package_versions(),
        "imported": {m: m in sys.modules for m in HEAVY_MODULES},
        "n_folds": len(info["folds"]),
    }
    with open(result_path, "w") as fh:
        json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
