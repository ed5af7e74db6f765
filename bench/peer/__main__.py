"""One peer case in its own process: `python -m bench.peer SPEC_JSON RESULT_JSON`, as `bench.case` for wf.

SPEC holds config overrides (and optionally `config`, a config file); RESULT gets what `bench.case` reports: timings,
model CPU seconds, peak RSS (this process's plus every pool worker's own peak), CPUs, package versions and imports.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()  # before the heavy imports: start-up counts

import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402


def main(spec_path: str, result_path: str) -> None:
    from bench.case import HEAVY_MODULES
    from walkforward.versions import package_versions

    t_run = time.perf_counter()
    from bench.peer.run import peer_config, run  # pandas, numpy and LightGBM: the run's "import" stage

    timings = {"import": time.perf_counter() - t_run}
    with open(spec_path) as fh:
        spec = json.load(fh)
    info = run(peer_config(spec["overrides"], spec.get("config")), timings)
    t_end = time.perf_counter()
    timings["total"] = t_end - t_run
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result = {
        "startup_seconds": t_run - T0,
        "run_seconds": t_end - t_run,
        "process_seconds": t_end - T0,
        "timings": timings,
        "model_cpu_seconds": info["model_cpu_seconds"],
        # the pool's workers are separate processes: each reports its own peak; the sum bounds the pool's peak
        "peak_rss_mb": own + sum(info["worker_peaks_mb"].values()),
        "main_peak_rss_mb": own,
        "worker_peak_rss_mb": sorted(info["worker_peaks_mb"].values()),
        "cpu_count": os.cpu_count(),
        "affinity": sorted(os.sched_getaffinity(0)),
        "packages": package_versions(),
        "imported": {m: m in sys.modules for m in HEAVY_MODULES},
        "n_folds": info["n_folds"],
    }
    with open(result_path, "w") as fh:
        json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
