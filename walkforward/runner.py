"""Run an engine end to end: pick it, time it, write every output atomically with run.json.

Shared by both engines and the CLI; the engines themselves never write files.
"""

from __future__ import annotations

import contextlib
import importlib
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from walkforward.cancel import Cancellation
from walkforward.config import Config, available_cores
from walkforward.data.store import fingerprint as data_fingerprint
from walkforward.errors import ConfigError, WalkforwardError
from walkforward.execution.checkpoints import Checkpoints
from walkforward.files import make_folder
from walkforward.outputs import UNIVERSE_COUNTS, EngineResult, write_json, write_outputs
from walkforward.universe import Universe, resolve, resolve_assets
from walkforward.versions import package_versions

if TYPE_CHECKING:
    from walkforward.features.plan import Plans


def engine_module(name: str):
    """The engine's module, imported only when chosen (the Polars path never imports pandas)."""
    return importlib.import_module("walkforward.legacy.engine" if name == "legacy" else "walkforward.engine")


def check_output_dir(path: str) -> Path:
    return make_folder(path, "output dir", "--output-dir", ConfigError)


@dataclass
class RunDir:
    """A run's directory, prepared: the engine chosen, the universe resolved, the data's fingerprint, the checkpoints
    (empty, or resumed) and the seconds spent so far by stage."""

    config: Config
    out: Path
    engine: Any
    universe: Universe
    fingerprint: str
    checkpoints: Checkpoints
    before: dict[str, float]
    t0: float
    made: tuple[Path, ...] = ()  # the folders `open_run` created, deepest first

    def discard_if_unused(self) -> None:
        """The run stopped on bad input before saving anything: leave the directory as it was before (a run it was
        to overwrite put back; folders it created, still empty, removed)."""
        self.checkpoints.discard_if_unused()
        remove_empty(self.made)


def missing_folders(path: Path) -> tuple[Path, ...]:
    """The folders that creating `path` (with its parents) would make, deepest first."""
    out = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        out.append(folder)
    return tuple(out)


def remove_empty(folders: tuple[Path, ...]) -> None:
    """Remove each of `folders` (deepest first) that is empty."""
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def open_run(
    config: Config,
    *,
    resume: bool = False,
    overwrite: bool = False,
    fingerprints: dict[tuple[str, tuple[str, ...]], str] | None = None,
) -> RunDir:
    """Prepare `config.output_dir` for a run: refuse a directory holding one unless `overwrite` (start over) or
    `resume` (the config and data must be the same), import the engine, resolve the universe. `fingerprints`: the
    data fingerprints a sweep already took, by data path and symbols (each is then taken once per sweep, and every
    configuration sees the data as the first one did)."""
    t0 = time.perf_counter()
    made = missing_folders(Path(config.output_dir).absolute())
    out = check_output_dir(config.output_dir)
    try:
        return _open(config, out, made, t0, resume=resume, overwrite=overwrite, fingerprints=fingerprints)
    except WalkforwardError:
        remove_empty(made)  # bad input found before the run began: no folder left behind
        raise


def _open(
    config: Config,
    out: Path,
    made: tuple[Path, ...],
    t0: float,
    *,
    resume: bool,
    overwrite: bool,
    fingerprints: dict[tuple[str, tuple[str, ...]], str] | None,
) -> RunDir:
    check_engine_options(config, resume)
    t_import = time.perf_counter()
    engine = engine_module(config.engine)  # start-up: the engine's modules (Polars, numpy...), timed as "import"
    t_prepare = time.perf_counter()
    # once, before the store and the plan; the legacy engine resolves "all" again by itself (the oracle shares no
    # code with this), the runner needs the symbols for the data's fingerprint and run.json
    universe = Universe(resolve_assets(config)) if config.engine == "legacy" else resolve(config)
    t_resolved = time.perf_counter()
    key = (str(config.data_path), tuple(sorted(set(universe.config.symbols))))
    fingerprint = fingerprints.get(key) if fingerprints is not None else None
    if fingerprint is None:
        fingerprint = data_fingerprint(config.data_path, universe.config.symbols)
        if fingerprints is not None:
            fingerprints[key] = fingerprint
    checkpoints = Checkpoints(out)
    checkpoints.prepare(config, resume_fingerprint(fingerprint, universe), resume=resume, overwrite=overwrite)
    before = {"import": t_prepare - t_import, "load": t_resolved - t_prepare, "write": time.perf_counter() - t_resolved}
    return RunDir(config, out, engine, universe, fingerprint, checkpoints, before, t0, made)


def close_run(run: RunDir, result: EngineResult, save_features: bool = False) -> dict[str, Any]:
    """Write the run's outputs, then run.json (last: its presence marks a finished run); return run.json."""
    t_write = time.perf_counter()
    tables = dict(result.tables)
    if save_features and result.features is not None:
        tables["features"] = result.features
    write_outputs(run.out, tables, result.metrics, presorted=result.presorted)
    timings = dict(result.timings)
    timings["write"] = time.perf_counter() - t_write
    for stage, seconds in run.before.items():  # the engine's import and the run directory's preparation
        timings[stage] = timings.get(stage, 0.0) + seconds
    timings["total"] = time.perf_counter() - run.t0
    info = run_info(run.config, result, run.fingerprint, timings, run.universe.config)
    write_json(run.out / "run.json", info)
    run.checkpoints.finish()
    return info


def execute(
    config: Config,
    *,
    progress: Callable[[int, int], None] | None = None,
    save_features: bool = False,
    resume: bool = False,
    overwrite: bool = False,
    cancel: Cancellation | None = None,
    plans: Plans | None = None,
) -> tuple[EngineResult, dict[str, Any]]:
    """Run the configured engine and write its outputs; return the result and run.json's contents.

    A directory holding a finished or interrupted run is refused unless `overwrite` (start over) or `resume`
    (skip the folds its checkpoints hold; the config and data must be the same). The Polars engine checkpoints
    every fold as it finishes; `cancel` stops it between folds (raising `Cancelled`); `plans` holds feature frames
    that a sweep's configurations share (the Polars engine; walkforward/features/plan.py).
    """
    if resume and overwrite:
        raise ConfigError("pass --resume (continue the run) or --overwrite (start over), not both")
    run = open_run(config, resume=resume, overwrite=overwrite)
    # what only the Polars engine takes: checkpoints, cancellation, the fingerprint and the universe it resolved
    polars = dict(
        checkpoints=run.checkpoints, cancel=cancel, fingerprint=run.fingerprint, universe=run.universe, plans=plans
    )
    try:
        result = run.engine.run(
            config, progress=progress, save_features=save_features, **({} if config.engine == "legacy" else polars)
        )
    except WalkforwardError:
        run.discard_if_unused()  # bad input: leave no run behind that would ask for --resume
        raise
    return result, close_run(run, result, save_features)


def resume_fingerprint(fingerprint: str, universe: Universe | None) -> str:
    """What a resumed run's data must match: the data's fingerprint, and the membership file's content if any."""
    if universe is None or not universe.fingerprint:
        return fingerprint
    return f"{fingerprint}+universe:{universe.fingerprint}"


def check_engine_options(config: Config, resume: bool) -> None:
    """Options only the Polars engine has."""
    if resume and config.engine == "legacy":
        raise ConfigError("--resume needs the polars engine: the legacy engine keeps no fold checkpoints")
    if config.executor != "threads" and config.engine == "legacy":
        raise ConfigError(
            f"--executor {config.executor} needs the polars engine: the legacy engine fits its folds in one thread"
        )


def run_info(
    config: Config, result: EngineResult, fingerprint: str, timings: dict[str, float], resolved: Config | None = None
) -> dict[str, Any]:
    """run.json: the config (as given: `assets: "all"` stays "all"), the folds, the universe (the assets resolved,
    the membership file, the counts of methodology §8), the data's fingerprint, the packages and machine, and the
    timings."""
    # single-threaded engines (legacy) spend their fit and predict stages on one core
    model_cpu = result.model_cpu_seconds
    return {
        "config": config.to_dict(),
        "engine": config.engine,
        "n_jobs": config.resolved_n_jobs,
        "executor": config.executor,
        "folds": result.folds,
        "universe": universe_info(config, result, resolved or config),
        "data_fingerprint": fingerprint,
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": available_cores(),
        "timings": timings,
        "model_cpu_seconds": model_cpu if model_cpu is not None else timings["fit"] + timings["predict"],
    }


def universe_info(config: Config, result: EngineResult, resolved: Config) -> dict[str, Any]:
    """run.json's `universe`: the traded assets as resolved, the membership file, and the engine's counts (null
    where the engine does not count them)."""
    counts = result.universe or {}
    return {
        "symbols": list(resolved.assets),
        "membership": config.universe,
        **{key: counts.get(key) for key in UNIVERSE_COUNTS},
    }
