"""`wf bench`: every case in its own process, a determinism gate, a JSON report, tables and a PNG.

A case is (workload, engine, workers, repeat). The legacy engine (single-threaded) runs once per workload and
repeat, unless left out (`legacy=False`: it takes many minutes on xl); the peer baseline (bench/peer: pandas, a
process pool on every core) once per workload and repeat, unless left out (`peer=False`); the Polars engine once per
worker count and repeat; and, once per workload, the first Polars case again on a Parquet store rebuilt from the data
(cold: the store's folder deleted; the operating system's file cache stays warm), reported as `cold_wall_seconds`
next to that case's warm wall time. The determinism gate (bench/gate.py) checks every repeat and the cold run.
The sweep workloads (`sweep-large`, `sweep-wide`) have cases of their own, run by bench/sweeps.py; their rows go to
the report's `sweep_cases` and `sweep_executor_overhead`.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from bench.gate import cold_check, determinism_gate, repeat_check
from bench.machine import machine_info
from bench.speedups import add_speedups, executor_overhead
from bench.workloads import SWEEP_WORKLOADS, WORKLOADS, ensure_dataset
from walkforward.config import available_cores
from walkforward.data.layout import store_root
from walkforward.errors import WalkforwardError
from walkforward.execution.registry import EXECUTORS

C = TypeVar("C")  # a case: a workload's Case or SweepCase
Out = TypeVar("Out")  # what a case's run leaves to compare: its folder, or its configurations' folders

__all__ = ["Case", "determinism_gate", "executor_overhead", "plan", "run_bench", "write_report"]

# `models`: the pool's wall time (start and stop excluded); `fit`/`predict`: when at least one worker fitted/predicted,
# inside it (docs/methodology.md §6). `features` overlaps `import` (the plan runs while the model library imports).
STAGES = (
    "import", "load", "validate", "features", "executor", "models", "fit", "predict", "backtest", "metrics", "write",
)  # fmt: skip
ROOT = Path(__file__).resolve().parent.parent  # the repository: `python -m bench.case` runs from here
RESULTS = ROOT / "bench" / "results"  # where `wf bench` writes its report unless told
STARTUP = ("import", "executor")  # importing the engine and model library; starting and stopping workers


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
    sweeps: list[dict[str, Any]] = field(default_factory=list)  # the sweep workloads' cases (bench/sweeps.py)
    sweep_overhead: list[dict[str, Any]] = field(default_factory=list)  # a sweep on another executor vs threads

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
        raise WalkforwardError(
            f"unknown workload {unknown[0]!r}; choose from {', '.join([*WORKLOADS, *SWEEP_WORKLOADS])}"
        )
    check_options(workers, executor)
    cases = []
    for w in workloads:
        if legacy:
            cases.append(Case(w, "legacy", 1))
        if peer and not WORKLOADS[w].study:  # the peer does the default study only
            cases.append(Case(w, "peer", available_cores()))
        for ex in dict.fromkeys(("threads", executor)):
            cases += [Case(w, "polars", n, ex) for n in workers]
    return cases


def check_options(workers: list[int], executor: str) -> None:
    if not workers or any(w < 1 for w in workers):
        raise WalkforwardError(f"--workers must be positive integers like 1,2,4; got {workers}")
    if executor not in EXECUTORS:
        raise WalkforwardError(f"--executor must be one of {', '.join(EXECUTORS)}; got {executor!r}")


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
        module = "bench.peer" if case.engine == "peer" else "bench.case"
        return run_module(module, [str(spec), str(result)], result, f"{case.workload} {case.label}")


def run_module(module: str, args: list[str], result: Path, what: str) -> dict[str, Any]:
    """`python -m MODULE ARGS` in a fresh interpreter, from the repository root: the JSON it wrote to `result` plus
    the process wall time. A failure is a one-line error naming `what` and the process's last line."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise WalkforwardError(f"bench case {what} failed: {tail[0]}")
    return {**json.loads(result.read_text()), "wall_seconds": wall}


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
    cold: dict[Case, float] = {}
    extra = lambda case: {"scheduler": scheduler} if scheduler and case.executor == "dask" else None  # noqa: E731
    try:
        # `later`: the gate's checks of repeats after the first, then of the cold runs
        samples, outputs, later = repeat_cases(
            cases,
            repeat,
            root,
            lambda case, out: (run_case(case, out, extra(case)), out),
            lambda case, r, out, firsts: repeat_check(case, r, out, cases, firsts),
            on_case,
        )
        for case in cold_cases(cases):
            if on_case:
                on_case(case, repeat)
            out = root / case.workload / f"{_folder(case)}-cold"
            cold[case] = run_cold(case, out, extra(case))
            later.append(cold_check(case, out, outputs))
        result = BenchResult(cases=[{**summarise(c, samples[c]), "cold_wall_seconds": cold.get(c)} for c in cases])
        result.gate = determinism_gate(cases, outputs) + later
    finally:
        if keep_dir is None:
            shutil.rmtree(root, ignore_errors=True)
    add_speedups(result.cases)
    result.overhead = executor_overhead(result.cases)
    return result


def repeat_cases(
    cases: Sequence[C],
    repeat: int,
    root: Path,
    run: Callable[[C, Path], tuple[dict[str, Any], Out]],
    check: Callable[[C, int, Out, dict[C, Out]], dict[str, Any]],
    on_case: Callable[[C, int], None] | None = None,
) -> tuple[dict[C, list[dict[str, Any]]], dict[C, Out], list[dict[str, Any]]]:
    """Every case `repeat` times, each in `root/<workload>/<case>-r<repeat>`: `run(case, folder)` gives its sample
    and its output; the first repeat's output is kept, and each later one is checked against it
    (`check(case, r, output, firsts)`) before its folder goes. Returns (samples, first outputs, later checks)."""
    samples: dict[C, list[dict[str, Any]]] = {c: [] for c in cases}
    firsts: dict[C, Out] = {}
    later: list[dict[str, Any]] = []
    for r in range(repeat):
        for case in cases:
            if on_case:
                on_case(case, r)
            out = root / case.workload / f"{_folder(case)}-r{r}"
            sample, output = run(case, out)
            samples[case].append(sample)
            if r == 0:
                firsts[case] = output
            else:  # checked before its folder goes
                later.append(check(case, r, output, firsts))
                shutil.rmtree(out, ignore_errors=True)
    return samples, firsts, later


def _folder(case: Any) -> str:
    return case.label.replace("/", "-").replace(" ", "")


def cold_cases(cases: list[Case]) -> list[Case]:
    """Per workload, its first Polars case: the one run again on a store rebuilt cold."""
    first: dict[str, Case] = {}
    for case in cases:
        if case.engine == "polars":
            first.setdefault(case.workload, case)
    return list(first.values())


def run_cold(case: Case, out: Path, extra: dict[str, Any] | None) -> float:
    """The case's process wall time on a Parquet store rebuilt from the data: the store's folder (beside the bench's
    own generated data in bench/.cache, never a user's) is deleted first, so the run converts the data again."""
    shutil.rmtree(store_root(WORKLOADS[case.workload].data_path(case.engine)), ignore_errors=True)
    return run_case(case, out, extra)["wall_seconds"]


def summarise(case: Case, runs: list[dict[str, Any]]) -> dict[str, Any]:
    walls = [r["wall_seconds"] for r in runs]
    totals = [r["timings"]["total"] for r in runs]
    first = runs[0]
    med = lambda key: statistics.median(r["timings"].get(key, 0.0) for r in runs)  # noqa: E731
    run_median = statistics.median(totals)
    model = statistics.median(_models(r["timings"]) for r in runs)
    # the wall time outside the models and start-up, per run: total - import - executor - models (not a sum of the
    # other stages, which overlap: the features with the import)
    pipeline = statistics.median(
        r["timings"]["total"] - sum(r["timings"].get(s, 0.0) for s in STARTUP) - _models(r["timings"]) for r in runs
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
        # share of the wall time outside the models (load..write), start-up (imports, workers) excluded
        "non_model_share": pipeline / (pipeline + model) if pipeline + model else None,
        "non_model_seconds": pipeline,
        "model_share": model / run_median if run_median else None,  # the models' wall time / the in-process run
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


def _models(timings: dict[str, float]) -> float:
    """The models' wall time: the pool's (`models`, measured) where the engine runs one, else fit + predict (the
    legacy engine fits and predicts one after the other in one thread, each timed)."""
    return timings["models"] if "models" in timings else timings.get("fit", 0.0) + timings.get("predict", 0.0)


def default_output(workloads: list[str]) -> Path:
    """bench/results/<UTC date>-<workloads>.json, e.g. bench/results/2026-12-01-large-wide.json."""
    return RESULTS / f"{time.strftime('%Y-%m-%d', time.gmtime())}-{'-'.join(workloads)}.json"


def write_report(result: BenchResult, path: Path, command: str) -> None:
    from walkforward.outputs import write_json

    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(
        path,
        {
            "command": command,
            "machine": machine_info(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "cases": result.cases,
            "executor_overhead": result.overhead,
            "sweep_cases": result.sweeps,
            "sweep_executor_overhead": result.sweep_overhead,
            "determinism_gate": {"ok": result.ok, "checks": result.gate},
        },
    )
