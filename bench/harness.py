"""`wf bench`: every case in its own process, a determinism gate, a JSON report, tables and a PNG.

A case is (workload, engine, workers, repeat). The legacy engine (single-threaded) runs once per workload and
repeat, unless left out (`legacy=False`: it takes many minutes on xl); the peer baseline (bench/peer: pandas, a
process pool on every core) once per workload and repeat, unless left out (`peer=False`); the Polars engine once per
worker count and repeat. The gate compares the first repeat's outputs: every Polars run against the legacy run of
the workload (trades exactly; predictions, returns, metrics within 1e-9), every worker count against the first
(bitwise), and the peer's predictions against the first Polars run's (bitwise).
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.peer.gate import compare_predictions
from bench.workloads import WORKLOADS, ensure_dataset
from walkforward.compare import compare_runs
from walkforward.config import available_cores
from walkforward.errors import WalkforwardError
from walkforward.execution.registry import EXECUTORS

STAGES = ("import", "load", "validate", "features", "executor", "fit", "predict", "backtest", "metrics", "write")
STARTUP = ("import", "executor")  # importing the engine and model library; starting and stopping workers
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Case:
    workload: str
    engine: str
    workers: int
    executor: str = "threads"

    @property
    def label(self) -> str:
        if self.engine == "legacy":
            return "legacy"
        if self.engine == "peer":
            return f"peer x{self.workers}"
        executor = "" if self.executor == "threads" else f"/{self.executor}"
        return f"{self.engine}{executor} x{self.workers}"


@dataclass
class BenchResult:
    cases: list[dict[str, Any]] = field(default_factory=list)
    gate: list[dict[str, Any]] = field(default_factory=list)
    overhead: list[dict[str, Any]] = field(default_factory=list)  # another executor vs the thread pool

    @property
    def ok(self) -> bool:
        return all(g["ok"] for g in self.gate)


def plan(
    workloads: list[str], workers: list[int], executor: str = "threads", legacy: bool = True, peer: bool = False
) -> list[Case]:
    """Per workload: legacy (unless left out), the peer on every available core (when asked for: `run_bench` and
    `wf bench` do by default), then the Polars engine per worker count on the thread pool and, for another executor,
    on that executor too (its overhead is measured against the thread pool)."""
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        raise WalkforwardError(f"unknown workload {unknown[0]!r}; choose from {', '.join(WORKLOADS)}")
    if not workers or any(w < 1 for w in workers):
        raise WalkforwardError(f"--workers must be positive integers like 1,2,4; got {workers}")
    if executor not in EXECUTORS:
        raise WalkforwardError(f"--executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")
    cases = []
    for w in workloads:
        if legacy:
            cases.append(Case(w, "legacy", 1))
        if peer and not WORKLOADS[w].study:  # the peer does the default study only
            cases.append(Case(w, "peer", available_cores()))
        for ex in dict.fromkeys(("threads", executor)):
            cases += [Case(w, "polars", n, ex) for n in workers]
    return cases


def run_case(case: Case, out_dir: Path, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one case in a fresh interpreter; return what bench.case measured plus the process wall time."""
    workload = WORKLOADS[case.workload]
    overrides = {
        **workload.overrides("polars" if case.engine == "peer" else case.engine),
        "engine": case.engine,
        "n_jobs": case.workers,
        "output_dir": str(out_dir),
        **({"executor": case.executor} if case.executor != "threads" else {}),
        **(extra or {}),
    }
    with tempfile.TemporaryDirectory() as tmp:
        spec, result = Path(tmp) / "spec.json", Path(tmp) / "result.json"
        spec.write_text(json.dumps({"overrides": overrides}))
        t0 = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "bench.peer" if case.engine == "peer" else "bench.case", str(spec), str(result)],
            capture_output=True,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise WalkforwardError(f"bench case {case.workload} {case.label} failed: {tail[0]}")
        measured = json.loads(result.read_text())
    return {**measured, "wall_seconds": wall}


def run_bench(
    workloads: list[str],
    workers: list[int],
    repeat: int,
    *,
    executor: str = "threads",
    scheduler: str | None = None,
    keep_dir: Path | None = None,
    on_case: Callable[[Case, int], None] | None = None,
    legacy: bool = True,
    peer: bool = True,
) -> BenchResult:
    """Run every case `repeat` times; `scheduler` (a Dask scheduler's address) goes to the `dask` cases, which
    otherwise start a LocalCluster of `workers` processes each. `legacy=False` leaves the legacy engine out,
    `peer=False` the peer baseline."""
    cases = plan(workloads, workers, executor, legacy, peer)
    for w in workloads:
        ensure_dataset(WORKLOADS[w], legacy=legacy)
    root = Path(tempfile.mkdtemp(prefix="wf-bench-")) if keep_dir is None else keep_dir
    samples: dict[Case, list[dict[str, Any]]] = {c: [] for c in cases}
    outputs: dict[Case, Path] = {}
    try:
        for r in range(repeat):
            for case in cases:
                if on_case:
                    on_case(case, r)
                out = root / case.workload / f"{case.label.replace('/', '-').replace(' ', '')}-r{r}"
                extra = {"scheduler": scheduler} if scheduler and case.executor == "dask" else None
                samples[case].append(run_case(case, out, extra))
                if r == 0:
                    outputs[case] = out
                else:
                    shutil.rmtree(out, ignore_errors=True)
        result = BenchResult(cases=[summarise(c, samples[c]) for c in cases])
        result.gate = determinism_gate(cases, outputs)
    finally:
        if keep_dir is None:
            shutil.rmtree(root, ignore_errors=True)
    add_speedups(result.cases)
    result.overhead = executor_overhead(result.cases)
    return result


def summarise(case: Case, runs: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["wall_seconds"] for r in runs]
    totals = [r["timings"]["total"] for r in runs]
    first = runs[0]
    med = lambda key: statistics.median(r["timings"].get(key, 0.0) for r in runs)  # noqa: E731
    run_median = statistics.median(totals)
    model = med("fit") + med("predict")
    # wall time outside model fit/predict and start-up, per run (stages may overlap, e.g. writing with metrics)
    pipeline = statistics.median(
        r["timings"]["total"] - sum(r["timings"].get(s, 0.0) for s in (*STARTUP, "fit", "predict")) for r in runs
    )
    cores = len(first["affinity"])
    floor = statistics.median(r["model_cpu_seconds"] for r in runs) / min(case.workers, cores)
    return {
        "workload": case.workload,
        "engine": case.engine,
        "executor": case.executor,
        "workers": case.workers,
        "label": case.label,
        "wall_seconds": {"median": statistics.median(walls), "min": min(walls), "max": max(walls)},
        "run_seconds": {"median": run_median, "min": min(totals), "max": max(totals)},
        "startup_seconds": statistics.median(r["startup_seconds"] for r in runs),
        "stages": {s: med(s) for s in STAGES},
        # share of the wall time outside model fit/predict (load..write), start-up (imports, workers) excluded
        "non_model_share": pipeline / (pipeline + model) if pipeline + model else None,
        "non_model_seconds": pipeline,
        "model_cpu_seconds": statistics.median(r["model_cpu_seconds"] for r in runs),
        "model_floor_seconds": floor,
        "floor_over_wall": floor / run_median if run_median else None,
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "cpu_count": first["cpu_count"],
        "affinity": first["affinity"],
        "oversubscribed": case.workers > cores,
        "imported": first["imported"],
        "packages": first["packages"],
        "n_folds": first["n_folds"],
        "repeats": len(runs),
    }


def add_speedups(rows: list[dict[str, Any]]) -> None:
    """Speedup vs legacy, vs the peer and vs 1 worker (process wall medians), and parallel efficiency."""
    for row in rows:
        same = [r for r in rows if r["workload"] == row["workload"]]
        legacy = next((r for r in same if r["engine"] == "legacy"), None)
        peer = next((r for r in same if r["engine"] == "peer"), None)
        one = next(
            (r for r in same if r["engine"] == "polars" and r["executor"] == row["executor"] and r["workers"] == 1),
            None,
        )
        wall = row["wall_seconds"]["median"]
        row["speedup_vs_legacy"] = legacy["wall_seconds"]["median"] / wall if legacy else None
        row["speedup_vs_peer"] = peer["wall_seconds"]["median"] / wall if peer else None
        if row["engine"] != "polars" or one is None:
            row["speedup_vs_1_worker"] = row["parallel_efficiency"] = None
        else:
            row["speedup_vs_1_worker"] = one["wall_seconds"]["median"] / wall
            row["parallel_efficiency"] = row["speedup_vs_1_worker"] / row["workers"]


def executor_overhead(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each non-thread case against the thread pool with as many workers: process wall and in-process run time
    (medians), and the extra time as a share of the thread pool's."""
    out = []
    for row in rows:
        if row["engine"] != "polars" or row["executor"] == "threads":
            continue
        base = next(
            (
                r
                for r in rows
                if r["workload"] == row["workload"]
                and r["engine"] == row["engine"]
                and r["executor"] == "threads"
                and r["workers"] == row["workers"]
            ),
            None,
        )
        if base is None:
            continue
        wall, base_wall = row["wall_seconds"]["median"], base["wall_seconds"]["median"]
        run, base_run = row["run_seconds"]["median"], base["run_seconds"]["median"]
        out.append(
            {
                "workload": row["workload"],
                "workers": row["workers"],
                "executor": row["executor"],
                "wall_seconds": wall,
                "threads_wall_seconds": base_wall,
                "wall_overhead": wall / base_wall - 1 if base_wall else None,
                "run_seconds": run,
                "threads_run_seconds": base_run,
                "run_overhead": run / base_run - 1 if base_run else None,
                "executor_seconds": row["stages"]["executor"],
            }
        )
    return out


def determinism_gate(cases: list[Case], outputs: dict[Case, Path]) -> list[dict[str, Any]]:
    gate = []
    for workload in dict.fromkeys(c.workload for c in cases):
        legacy = next((c for c in cases if c.workload == workload and c.engine == "legacy"), None)
        peer = next((c for c in cases if c.workload == workload and c.engine == "peer"), None)
        fast = [c for c in cases if c.workload == workload and c.engine == "polars"]
        for case in fast if legacy is not None else ():
            cmp = compare_runs(outputs[legacy], outputs[case], TOLERANCE)
            gate.append(_gate_row(workload, f"{case.label} vs legacy", cmp))
        for case in fast[1:]:
            cmp = compare_runs(outputs[fast[0]], outputs[case], 0.0)
            gate.append(_gate_row(workload, f"{case.label} vs {fast[0].label} (bitwise)", cmp))
        if peer is not None and fast:
            cmp = compare_predictions(outputs[fast[0]], outputs[peer])
            gate.append(_gate_row(workload, f"peer predictions vs {fast[0].label} (bitwise)", cmp))
    return gate


def _gate_row(workload: str, check: str, cmp: Any) -> dict[str, Any]:
    bad = [f"{t.name}: {t.message}" for t in cmp.tables if not t.ok]
    return {"workload": workload, "check": check, "ok": cmp.ok, "problems": bad}


def write_report(result: BenchResult, path: Path, command: str) -> None:
    from walkforward.outputs import write_json

    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(
        path,
        {
            "command": command,
            "machine": {"cores_available": available_cores(), "platform": sys.platform},
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "cases": result.cases,
            "executor_overhead": result.overhead,
            "determinism_gate": {"ok": result.ok, "checks": result.gate},
        },
    )
