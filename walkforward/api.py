"""The Python API for notebooks and scripts: `walkforward.run`, `RunResult.load(run_dir)`, `walkforward.bench`.

import walkforward
result = walkforward.run("walkforward/configs/default.json", start_date="2020-01-01", end_date="2021-12-31",
                         output_dir="results/notebook")
result.metrics["overall"]["sharpe"], result.predictions.head()
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from walkforward.config import Config, apply_overrides, load_config
from walkforward.errors import WalkforwardError
from walkforward.outputs import TABLES


@dataclass(frozen=True)
class RunResult:
    """A finished run: its tables as Polars DataFrames, metrics.json and run.json as dicts."""

    output_dir: Path
    predictions: pl.DataFrame
    trades: pl.DataFrame
    returns: pl.DataFrame
    feature_importance: pl.DataFrame
    metrics: dict[str, Any]
    run_info: dict[str, Any]

    @property
    def config(self) -> Config:
        return Config.from_dict(self.run_info["config"])

    @classmethod
    def load(cls, run_dir: str | os.PathLike[str]) -> RunResult:
        """Read a finished run directory (one that `wf run` or `walkforward.run` wrote)."""
        from walkforward.report.load import load_run  # reads and checks every output file, naming a bad one

        root = Path(run_dir)
        if not (root / "run.json").exists():
            raise WalkforwardError(f"{str(root)!r} holds no finished run (no run.json); run `wf run` there first")
        run = load_run(root)
        tables = {name: getattr(run, name) for name in TABLES}
        return cls(output_dir=root, metrics=run.metrics, run_info=run.info, **tables)


def run(
    config: Config | str | os.PathLike[str] | dict[str, Any] | None = None,
    /,
    *,
    overwrite: bool = False,
    resume: bool = False,
    save_features: bool = False,
    report: bool = False,
    **overrides: Any,
) -> RunResult:
    """Run a walk-forward backtest and return its results.

    `config` is a `Config`, the path of a JSON config, a dict of config keys, or None for the shipped default;
    `overrides` set config keys on top (`n_jobs=2`, `model={"kind": "random_forest"}`). Like `wf run`, it refuses
    to replace a finished run in `output_dir` unless `overwrite=True`. `report=True` also writes the charts and
    report.html (`walkforward.report.write_report`).
    """
    from walkforward.runner import execute

    if isinstance(config, Config):
        cfg = config.replace(**overrides)
    elif isinstance(config, dict):
        cfg = Config.from_dict(apply_overrides(config, overrides))
    else:
        cfg = load_config(config, **overrides)
    execute(cfg, save_features=save_features, overwrite=overwrite, resume=resume)
    if report:
        from walkforward.report import write_report

        write_report(cfg.output_dir)
    return RunResult.load(cfg.output_dir)


def bench(
    workloads: tuple[str, ...] | list[str] = ("small",),
    workers: tuple[int, ...] | list[int] = (1, 2),
    repeat: int = 1,
    output: str | os.PathLike[str] | None = None,
    *,
    legacy: bool = True,
    peer: bool = True,
) -> dict[str, Any]:
    """Run the benchmark harness (each case in its own process) and return its report as a dict; the sweep
    workloads (`sweep-large`, `sweep-wide`) give `sweep_cases`. `legacy=False` / `peer=False` leave the legacy
    engine / the peer baseline out, as `wf bench --no-legacy / --no-peer` do.

    Raises WalkforwardError when the determinism gate finds outputs that differ.
    """
    from bench.harness import write_report
    from bench.sweeps import run_all

    result = run_all(list(workloads), list(workers), repeat, legacy=legacy, peer=peer)
    gate = {"ok": result.ok, "checks": result.gate}
    report = {"cases": result.cases, "sweep_cases": result.sweeps, "determinism_gate": gate}
    if output is not None:
        write_report(result, Path(output), f"walkforward.bench({list(workloads)}, {list(workers)}, {repeat})")
    if not result.ok:
        bad = [f"{g['workload']}: {g['check']}" for g in result.gate if not g["ok"]]
        raise WalkforwardError(f"benchmark outputs differ: {'; '.join(bad)}")
    return report
