"""`wf bench --workloads sweep-large,sweep-wide`: a grid of configurations as separate `wf run` processes against one
`wf sweep` process, with a bitwise gate between them.

Per sweep workload (bench/workloads.py SWEEP_WORKLOADS) and worker count n, the cases are:
- `separate xn`: one `wf run --config` process per configuration (threads, `n_jobs` n), one after another; its wall
  time is the sum of the processes' wall times, start-up included (what a user running them one by one pays);
- `sweep xn`: one `wf sweep --config BASE --grid GRID` process (threads, `n_jobs` n);
- with `--executor dask` (or processes), `sweep/dask xn`: the same on that executor (a LocalCluster of n
  single-threaded workers unless `--scheduler`), reported as its overhead over `sweep xn`.
Every case runs through bench/cli_case.py, a fresh interpreter per `wf` command. Before the timed cases, the first
configuration runs once untimed, so that no case pays for building the workload's Parquet store.

The gate: every configuration's outputs from each sweep case equal the separate run's bitwise, and every later
repeat of a case equals its first (bitwise, configuration by configuration), before that repeat's folder goes.
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.gate import runs_check
from bench.harness import BenchResult, check_options, repeat_cases, run_bench, run_module
from bench.speedups import sweep_overhead, sweep_speedups
from bench.workloads import SWEEP_WORKLOADS, WORKLOADS, SweepWorkload, ensure_dataset
from walkforward.config import load_config
from walkforward.errors import WalkforwardError


@dataclass(frozen=True)
class SweepCase:
    workload: str
    mode: str  # "separate" (one `wf run` per configuration) or "sweep" (one `wf sweep`)
    workers: int
    executor: str = "threads"

    @property
    def label(self) -> str:
        executor = "" if self.executor == "threads" else f"/{self.executor}"
        return f"{self.mode}{executor} x{self.workers}"


@dataclass
class SweepBench:
    cases: list[dict[str, Any]] = field(default_factory=list)
    gate: list[dict[str, Any]] = field(default_factory=list)
    overhead: list[dict[str, Any]] = field(default_factory=list)  # another executor's sweep vs the thread pool's


def sweep_plan(
    names: list[str], workers: list[int], executor: str = "threads", sweeps: dict[str, SweepWorkload] | None = None
) -> list[SweepCase]:
    """Per sweep workload and worker count: separate, sweep, and the sweep on `executor` when it is not threads."""
    sweeps = SWEEP_WORKLOADS if sweeps is None else sweeps
    unknown = [n for n in names if n not in sweeps]
    if unknown:
        raise WalkforwardError(f"unknown sweep workload {unknown[0]!r}; choose from {', '.join(sweeps)}")
    check_options(workers, executor)
    cases = []
    for name in names:
        for n in workers:
            cases += [SweepCase(name, "separate", n), SweepCase(name, "sweep", n)]
            cases += [SweepCase(name, "sweep", n, executor)] if executor != "threads" else []
    return cases


def run_sweeps(
    names: list[str],
    workers: list[int],
    repeat: int,
    *,
    executor: str = "threads",
    scheduler: str | None = None,
    keep_dir: Path | None = None,
    on_case: Callable[[SweepCase, int], None] | None = None,
    sweeps: dict[str, SweepWorkload] | None = None,
) -> SweepBench:
    """Run every sweep case `repeat` times (each in fresh interpreters), gate them, and summarise."""
    sweeps = SWEEP_WORKLOADS if sweeps is None else sweeps
    cases = sweep_plan(names, workers, executor, sweeps)
    root = Path(tempfile.mkdtemp(prefix="wf-bench-sweep-")) if keep_dir is None else keep_dir
    try:
        for name in names:
            ensure_dataset(WORKLOADS[sweeps[name].base])
            warm_up(sweeps[name], root / name / "warm-up")
        samples, outputs, later = repeat_cases(
            cases,
            repeat,
            root,
            lambda case, out: run_sweep_case(sweeps[case.workload], case, out, scheduler),
            lambda case, r, runs, firsts: runs_check(
                case.workload, f"{case.label} repeat {r + 1} vs repeat 1 (bitwise)", firsts[case], runs
            ),
            on_case,
        )
        gate = sweep_gate(cases, outputs) + later
        rows = [summarise(c, sweeps[c.workload], samples[c]) for c in cases]
    finally:
        if keep_dir is None:
            shutil.rmtree(root, ignore_errors=True)
    sweep_speedups(rows)
    return SweepBench(rows, gate, sweep_overhead(rows))


def run_all(
    names: list[str],
    workers: list[int],
    repeat: int,
    *,
    on_case: Callable[[Any, int], None] | None = None,
    **options: Any,
) -> BenchResult:
    """`run_bench` over the plain workloads among `names` and `run_sweeps` over the sweep workloads, in one result.
    `options`: `run_bench`'s keywords; the sweeps take `executor`, `scheduler` and `keep_dir` of them."""
    sweeps = [n for n in names if n in SWEEP_WORKLOADS]
    plain = [n for n in names if n not in SWEEP_WORKLOADS]
    result = run_bench(plain, workers, repeat, on_case=on_case, **options) if plain or not sweeps else BenchResult()
    if sweeps:
        keys = {k: options[k] for k in ("executor", "scheduler", "keep_dir") if k in options}
        swept = run_sweeps(sweeps, workers, repeat, on_case=on_case, **keys)
        result.sweeps, result.sweep_overhead, result.gate = swept.cases, swept.overhead, result.gate + swept.gate
    return result


def sweep_gate(cases: list[SweepCase], outputs: dict[SweepCase, dict[str, Path]]) -> list[dict[str, Any]]:
    """Each sweep case's configurations against the separate runs with as many workers, bitwise."""
    gate = []
    for case in cases:
        separate = SweepCase(case.workload, "separate", case.workers)
        if case.mode == "sweep" and separate in outputs:
            check = f"{case.label} vs {separate.label} (bitwise, {len(outputs[separate])} configurations)"
            gate.append(runs_check(case.workload, check, outputs[separate], outputs[case]))
    return gate


def config_key(params: dict[str, Any]) -> str:
    """A configuration's name in the gate: its grid values, e.g. `model.params.num_leaves=7 ...=0.02`."""
    return " ".join(f"{k}={json.dumps(v)}" for k, v in params.items())


def overrides(workload: SweepWorkload, case: SweepCase, scheduler: str | None) -> dict[str, Any]:
    """The config keys every configuration of the case starts from: the workload's, the case's workers and executor."""
    keys = {**WORKLOADS[workload.base].overrides(), "n_jobs": case.workers, "executor": case.executor}
    return {**keys, "scheduler": scheduler} if scheduler and case.executor == "dask" else keys


def n_folds(run_dir: Path) -> int:
    return len(json.loads((run_dir / "run.json").read_text())["folds"])


def run_sweep_case(
    workload: SweepWorkload, case: SweepCase, out: Path, scheduler: str | None = None
) -> tuple[dict[str, Any], dict[str, Path]]:
    """Run one case into `out`; return what it measured and each configuration's run folder (by `config_key`)."""
    out.mkdir(parents=True, exist_ok=True)
    keys = overrides(workload, case, scheduler)
    if case.mode == "separate":
        runs, measured = {}, []
        for i, params in enumerate(workload.configurations()):
            run_dir = out / f"{i:02d}"
            config = load_config(None, **keys, **params, output_dir=str(run_dir)).to_dict()
            path = write_json(out / "configs" / f"{i:02d}.json", config)
            measured.append(run_wf(["run", "--config", str(path), "--quiet"], f"{case.workload} {case.label}"))
            runs[config_key(params)] = run_dir
        return {**combine(measured), "n_folds": n_folds(out / "00")}, runs
    base = load_config(None, **keys).to_dict()
    paths = write_json(out / "base.json", base), write_json(out / "grid.json", workload.grid_json())
    sweep_dir = out / "sweep"
    args = ["sweep", "--config", str(paths[0]), "--grid", str(paths[1]), "--output-dir", str(sweep_dir), "--quiet"]
    measured = run_wf(args, f"{case.workload} {case.label}")
    configs = json.loads((sweep_dir / "configs.json").read_text())  # what `wf sweep` writes: id -> grid values
    runs = {config_key(p): sweep_dir / trial_id for trial_id, p in configs.items()}
    return {**measured, "processes": 1, "n_folds": n_folds(next(iter(runs.values())))}, runs


def warm_up(workload: SweepWorkload, out: Path) -> None:
    """The first configuration once, untimed, then its folder deleted: the Parquet store is built before timing."""
    case = SweepCase(workload.name, "separate", 1)
    params = workload.configurations()[0]
    config = load_config(None, **overrides(workload, case, None), **params, output_dir=str(out / "run"))
    path = write_json(out / "config.json", config.to_dict())
    run_wf(["run", "--config", str(path), "--quiet"], f"{workload.name} warm-up")
    shutil.rmtree(out, ignore_errors=True)


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))
    return path


def run_wf(args: list[str], what: str) -> dict[str, Any]:
    """`wf ARGS` in a fresh interpreter (bench/cli_case.py): what it measured plus the process wall time."""
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        return run_module("bench.cli_case", [str(result), *args], result, f"{what} (wf {args[0]})")


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The separate case's processes as one sample: times summed, the largest peak RSS, the first's environment."""
    total = lambda key: sum(r[key] for r in runs)  # noqa: E731
    keys = ("wall_seconds", "startup_seconds", "command_seconds", "process_seconds")
    return {**runs[0], **{k: total(k) for k in keys}, "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "processes": len(runs), "process_wall_seconds": [r["wall_seconds"] for r in runs]}  # fmt: skip


def summarise(case: SweepCase, workload: SweepWorkload, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A case's row of the report: medians (and the range) over its repeats."""
    walls = [r["wall_seconds"] for r in runs]
    med = lambda key: statistics.median(r[key] for r in runs)  # noqa: E731
    first = runs[0]
    cores = len(first["affinity"])
    return {
        "workload": case.workload,
        "base_workload": workload.base,
        "mode": case.mode,
        "executor": case.executor,
        "workers": case.workers,
        "label": case.label,
        "configurations": len(workload.configurations()),
        "grid": workload.grid_json(),
        "processes": first["processes"],
        "wall_seconds": {"median": statistics.median(walls), "min": min(walls), "max": max(walls)},
        "command_seconds": med("command_seconds"),  # inside the `wf` commands, summed over the separate processes
        "startup_seconds": med("startup_seconds"),  # interpreter and cli.main before each command, summed
        "process_wall_seconds": first.get("process_wall_seconds"),  # separate: each process's, first repeat
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
        "cpu_count": first["cpu_count"],
        "affinity": first["affinity"],
        "oversubscribed": case.workers > cores,
        "imported": first["imported"],
        "packages": first["packages"],
        "n_folds": first["n_folds"],
        "repeats": len(runs),
    }
