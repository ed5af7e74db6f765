"""Run an engine end to end: pick it, time it, write every output atomically with run.json.

Shared by both engines and the CLI; the engines themselves never write files.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from walkforward.config import Config, available_cores
from walkforward.errors import ConfigError
from walkforward.outputs import EngineResult, conform, write_json, write_outputs, write_table

PACKAGES = ("walkforward", "polars", "numpy", "pandas", "lightgbm", "scikit-learn", "pyarrow")


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out


def engine_module(name: str):
    """The engine's module, imported only when chosen (the Polars path never imports pandas)."""
    return importlib.import_module("walkforward.legacy.engine" if name == "legacy" else "walkforward.engine")


def check_output_dir(path: str) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output dir {path!r} is a file; pass --output-dir with a directory path")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create output dir {path!r}: {exc.strerror}; pick another --output-dir") from None
    if not os.access(out, os.W_OK):
        raise ConfigError(f"output dir {path!r} is not writable; pick another --output-dir")
    return out


def execute(
    config: Config,
    *,
    progress: Callable[[int, int], None] | None = None,
    save_features: bool = False,
) -> tuple[EngineResult, dict[str, Any]]:
    """Run the configured engine and write its outputs; return the result and run.json's contents."""
    out = check_output_dir(config.output_dir)
    t0 = time.perf_counter()
    result = engine_module(config.engine).run(config, progress=progress, save_features=save_features)
    t_write = time.perf_counter()
    fingerprint = result.fingerprint
    if fingerprint is None:
        from walkforward.data.store import fingerprint as data_fingerprint

        fingerprint = data_fingerprint(config.data_dir, config.symbols)
    if save_features and result.features is not None:
        write_table(out / "features.parquet", conform("features", result.features))
    info = {
        "config": config.to_dict(),
        "engine": config.engine,
        "n_jobs": config.resolved_n_jobs,
        "folds": result.folds,
        "data_fingerprint": fingerprint,
        "packages": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu_count": available_cores(),
    }
    write_outputs(out, result.tables, result.metrics)
    timings = dict(result.timings)
    timings["write"] = time.perf_counter() - t_write
    timings["total"] = time.perf_counter() - t0
    info["timings"] = timings
    write_json(out / "run.json", info)
    return result, info
