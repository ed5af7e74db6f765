"""`walkforward.sweep` / `wf sweep`: run every configuration of a grid exactly as `wf run` would, each into
`output_dir/<id>/`, then write `configs.json`, `leaderboard.parquet` and `overfitting.json` (methodology §9).

The Polars configurations run together (together.py): each is prepared as `wf run` prepares it, their feature
plans, matrices and fold layouts shared where equal, every (configuration, fold, asset) task on one executor with
equal LightGBM Datasets built once (shared.py); then each writes its outputs, bitwise those of a separate `wf run`.
Legacy configurations (the oracle) run one after another, each alone.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from walkforward.cancel import Cancellation
from walkforward.config import Config, load_config
from walkforward.errors import ConfigError, WalkforwardError
from walkforward.execution.checkpoints import RESULT_NEUTRAL, RunDirError
from walkforward.execution.registry import require_distributed
from walkforward.features.plan import Plans
from walkforward.outputs import atomic_write, write_json
from walkforward.runner import check_output_dir, execute, missing_folders, remove_empty
from walkforward.sweeps import board
from walkforward.sweeps.grid import Grid, Trial, check_grid, read_grid, trials
from walkforward.sweeps.together import Pending, TaskProgress, run_together

# (index from 1, number of trials, the trial, "run" | "resume" | "reuse") before each trial starts
TrialProgress = Callable[[int, int, Trial, str], None]


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: the leaderboard, overfitting.json, and each configuration's run directory and grid values."""

    output_dir: Path
    leaderboard: pl.DataFrame
    overfitting: dict[str, Any]
    run_dirs: dict[str, Path]
    configs: dict[str, dict[str, Any]]


def sweep(
    base: Config | str | os.PathLike[str] | dict[str, Any] | None,
    grid: Grid | list[Grid] | str | os.PathLike[str],
    *,
    sample: int | None = None,
    seed: int = 0,
    output_dir: str | os.PathLike[str] = "results/sweep",
    resume: bool = False,
    overwrite: bool = False,
    on_trial: TrialProgress | None = None,
    on_task: TaskProgress | None = None,
    cancel: Cancellation | None = None,
) -> SweepResult:
    """Run the grid's configurations of `base` (a Config, a JSON config's path, a dict, or None for the default).

    `grid` maps config keys (dotted: `model.params.num_leaves`) to lists of values, or is a list of such grids (their
    products one after another), or a JSON file of either;
    `sample` runs that many configurations drawn without replacement (seeded by `seed`). Like `wf run`, a
    configuration's folder holding a run is refused unless `resume` (a finished run of the same config is reused,
    an interrupted one continued) or `overwrite`; so is a folder holding another sweep whose configurations this one
    lacks, unless `overwrite` (which removes their runs). Every refusal comes before anything is written.
    """
    if resume and overwrite:
        raise ConfigError("pass --resume (reuse the sweep's runs) or --overwrite (run them again), not both")
    config = _base_config(base)
    grid = read_grid(grid) if isinstance(grid, str | os.PathLike) else check_grid(grid)
    chosen = trials(config, grid, sample, seed)
    folder = _Folder.checked(Path(output_dir), chosen, resume=resume, overwrite=overwrite)
    run_dirs: dict[str, Path] = {}
    pending: list[Pending] = []
    for i, (trial, cfg, mode) in enumerate(zip(chosen, folder.configs, folder.modes, strict=True), start=1):
        if on_trial is not None:
            on_trial(i, len(chosen), trial, mode)
        run_dirs[trial.id] = Path(cfg.output_dir)
        if mode == "reuse":
            continue
        if cfg.engine == "legacy":  # the oracle runs each configuration alone, as it always does
            folder.commit()
            _run_alone(trial, cfg, mode, overwrite)
        else:
            pending.append(Pending(trial.id, cfg, resume=mode == "resume", overwrite=overwrite))
    try:
        run_together(pending, Plans(), on_task, cancel, on_prepared=folder.commit)
    except WalkforwardError:
        folder.abandon()
        raise
    folder.commit()
    series = [board.portfolio_returns(run_dirs[t.id]) for t in chosen]
    table = board.leaderboard(chosen, run_dirs, series)
    over = board.overfitting(series)
    atomic_write(folder.root / "leaderboard.parquet", table.write_parquet)  # a killed write leaves no partial file
    write_json(folder.root / "overfitting.json", over)
    return SweepResult(folder.root, table, over, run_dirs, {t.id: t.params for t in chosen})


@dataclass
class _Folder:
    """A sweep's output folder, checked before anything is written (a refused sweep leaves it as it was): each
    configuration's config and mode, the replaced sweep's runs to remove (`stale`, with --overwrite) and the folders
    this sweep made. `commit` once the configurations' input is checked (bad data leaves a replaced sweep whole):
    the stale runs removed, configs.json written; `abandon` on bad input before that: the folders made removed."""

    root: Path
    chosen: list[Trial]
    configs: list[Config]
    modes: list[str]
    stale: list[str]
    made: tuple[Path, ...]
    committed: bool = False

    @classmethod
    def checked(cls, root: Path, chosen: list[Trial], *, resume: bool, overwrite: bool) -> _Folder:
        stale = _check_sweep_dir(root, chosen, overwrite=overwrite)
        configs = [t.config.replace(output_dir=str(root / t.id)) for t in chosen]
        modes = [_checked_mode(t, c, resume=resume, overwrite=overwrite) for t, c in zip(chosen, configs, strict=True)]
        _check_scheduler(chosen[0].config)  # executor settings cannot be swept: the first configuration's are all's
        made = missing_folders(root.absolute())
        return cls(check_output_dir(str(root)), chosen, configs, modes, stale, made)

    def commit(self) -> None:
        if not self.committed:
            self.committed = True
            for old in self.stale:
                shutil.rmtree(self.root / old)
            write_json(self.root / "configs.json", {t.id: t.params for t in self.chosen})

    def abandon(self) -> None:
        if not self.committed:
            remove_empty(self.made)


def _run_alone(trial: Trial, config: Config, mode: str, overwrite: bool) -> None:
    try:
        execute(config, resume=mode == "resume", overwrite=overwrite)
    except RunDirError as exc:
        raise RunDirError(f"configuration {trial.id}: {exc}") from None


def _check_scheduler(config: Config) -> None:
    """A Dask scheduler that cannot be reached is refused before the sweep writes anything (a run finds it out when
    its pool starts, having written nothing but what it removes again)."""
    if config.executor == "dask" and config.scheduler is not None:
        require_distributed()
        from walkforward.execution.dask import check_scheduler

        check_scheduler(config.scheduler)


def _check_sweep_dir(root: Path, chosen: list[Trial], *, overwrite: bool) -> list[str]:
    """Refuse an output folder that holds a `wf run`, or another sweep whose configurations this one would orphan
    (its leaderboard replaced, their runs left behind) unless `overwrite`; with it, the old sweep's configurations
    that this one does not have (to remove). A sweep of more configurations may continue one of fewer."""
    where = str(root)  # a file there is refused by check_output_dir, before anything is written too
    if (root / "run.json").is_file():
        raise RunDirError(f"{where!r} holds a wf run, not a sweep; choose another --output-dir")
    listed = root / "configs.json"
    if not listed.is_file():
        return []
    try:
        old = json.loads(listed.read_text())
    except (OSError, ValueError):
        old = None
    if not isinstance(old, dict):
        raise RunDirError(f"{where!r} holds an unreadable configs.json; remove it or choose another --output-dir")
    ids = {t.id for t in chosen}
    gone = [i for i in old if i not in ids]
    if gone and not overwrite:
        raise RunDirError(
            f"{where!r} holds a sweep of other configurations ({len(gone)} of its {len(old)} are not in this one, "
            f"e.g. {gone[0]!r}); pass --overwrite to replace that sweep, or choose another --output-dir"
        )
    return [i for i in gone if Path(i).name == i and i not in (".", "..") and _is_run_dir(root / i)]


def _is_run_dir(path: Path) -> bool:
    """A finished run (run.json) or an interrupted one (its checkpoints' manifest), as `wf run` tells them."""
    return (path / "run.json").is_file() or (path / "checkpoints" / "manifest.json").is_file()


def _checked_mode(trial: Trial, config: Config, *, resume: bool, overwrite: bool) -> str:
    """`_mode`, and the refusal a configuration's folder would get from `wf run` (a finished or interrupted run,
    without --resume or --overwrite), found before the sweep writes anything."""
    mode = _mode(config, resume=resume, overwrite=overwrite)
    out = Path(config.output_dir)
    if mode == "run" and not overwrite and _is_run_dir(out):
        held = "a finished run" if (out / "run.json").is_file() else "an interrupted run"
        raise RunDirError(
            f"configuration {trial.id}: {str(out)!r} holds {held}; pass --resume to reuse the sweep's runs, or "
            "--overwrite to run them again"
        )
    return mode


def _base_config(base: Config | str | os.PathLike[str] | dict[str, Any] | None) -> Config:
    if isinstance(base, Config):
        return base
    if isinstance(base, dict):
        return Config.from_dict(base)
    return load_config(base)


def _mode(config: Config, *, resume: bool, overwrite: bool) -> str:
    """How a configuration's folder is run: `reuse` a finished run of the same config (with `resume`), `resume` an
    interrupted one, else `run` (the runner refuses a folder holding a run unless `overwrite`)."""
    out = Path(config.output_dir)
    if overwrite or not resume:
        return "run"
    if (out / "run.json").is_file():
        given = json.loads((out / "run.json").read_text()).get("config") or {}
        if _results_keys(given) != _results_keys(config.to_dict()):
            raise RunDirError(
                f"{str(out)!r} holds a finished run of another config; pass --overwrite to replace it or choose "
                "another --output-dir"
            )
        return "reuse"
    return "resume" if (out / "checkpoints" / "manifest.json").is_file() else "run"


def _results_keys(config: dict[str, Any]) -> dict[str, Any]:
    """A config's keys less those that do not change its results: where it was written (a sweep folder may have been
    moved or copied) and how it was executed (a sweep begun on threads may be finished on Dask)."""
    return {k: v for k, v in config.items() if k not in RESULT_NEUTRAL}
