"""Read a finished run directory (the files of docs/methodology.md §6) and the benchmark's closes it was run on."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from walkforward.errors import DataError, WalkforwardError
from walkforward.files import read_json, read_table
from walkforward.outputs import TABLES


@dataclass(frozen=True)
class RunOutputs:
    """The tables, metrics and run info of one finished run."""

    path: Path
    predictions: pl.DataFrame
    trades: pl.DataFrame
    returns: pl.DataFrame
    feature_importance: pl.DataFrame
    metrics: dict[str, Any]
    info: dict[str, Any]

    @property
    def config(self) -> dict[str, Any]:
        return self.info["config"]


@dataclass(frozen=True)
class Benchmark:
    """The benchmark's closes (`date, close`, sorted) and where they were read from."""

    symbol: str
    closes: pl.DataFrame
    source: Path


def load_run(run_dir: str | os.PathLike[str]) -> RunOutputs:
    """Every output of the run in `run_dir`; a missing or unreadable file is a WalkforwardError naming it."""
    path = Path(run_dir)
    if not path.is_dir():
        what = "is not a directory" if path.exists() else "not found"
        raise WalkforwardError(f"run dir {str(path)!r} {what}; pass the --output-dir of a finished `wf run`")
    tables = {name: _read_parquet(path, f"{name}.parquet") for name in TABLES}
    metrics = _read_json(path, "metrics.json", ("overall", "per_fold", "per_asset"))
    info = _read_json(path, "run.json", ("config", "folds"))
    return RunOutputs(path=path, metrics=metrics, info=info, **tables)


def load_benchmark(run: RunOutputs) -> Benchmark | None:
    """The benchmark's closes from the run's data: the Parquet store, else its CSV; None when neither is readable.

    A relative `data_path` (`data_dir` in runs made before it was renamed) is looked up from the working directory,
    then from the run directory and its parents (runs are usually started from the project root with a relative
    `--output-dir`). The CSV is read only for a folder of per-symbol CSVs.
    """
    from walkforward.data.read import read_csv
    from walkforward.data.store import store_paths

    config = run.config
    symbol = config.get("benchmark")
    price_column = config.get("price_column", "close")
    data_path = config.get("data_path", config.get("data_dir"))
    if not symbol or data_path is None:
        return None
    for data_dir in _candidates(Path(data_path), run.path):
        parquet, manifest = store_paths(data_dir)
        if parquet.is_file() and _manifest_price_column(manifest) == price_column:
            try:
                closes = (
                    pl.scan_parquet(parquet)
                    .filter(pl.col("symbol") == symbol)
                    .select("date", "close")
                    .sort("date")
                    .collect()
                )
            except (pl.exceptions.PolarsError, OSError):
                closes = None
            if closes is not None and closes.height:
                return Benchmark(symbol, closes, parquet)
        csv = data_dir / f"{symbol}.csv"
        if data_dir.is_dir() and csv.is_file():
            try:
                closes = read_csv(csv, symbol, price_column).select("date", "close")
            except (DataError, OSError):
                continue
            return Benchmark(symbol, closes, csv)
    return None


def _candidates(data_dir: Path, run_dir: Path) -> list[Path]:
    if data_dir.is_absolute():
        return [data_dir]
    bases = [Path.cwd(), *run_dir.resolve().parents]
    return [base / data_dir for base in bases if (base / data_dir).exists()]


def _manifest_price_column(manifest: Path) -> str | None:
    """The price column the store was built with (a store without a readable manifest is not trusted)."""
    try:
        record = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None
    return record.get("price_column") if isinstance(record, dict) else None


def _read_parquet(run_dir: Path, name: str) -> pl.DataFrame:
    path = run_dir / name
    if not path.is_file():
        raise WalkforwardError(f"run dir {str(run_dir)!r} has no {name}; it is not a finished run (rerun `wf run`)")
    return read_table(path)


def _read_json(run_dir: Path, name: str, keys: tuple[str, ...]) -> dict[str, Any]:
    path = run_dir / name
    if not path.is_file():
        raise WalkforwardError(f"run dir {str(run_dir)!r} has no {name}; it is not a finished run (rerun `wf run`)")
    obj = read_json(path)
    missing = [k for k in keys if not isinstance(obj, dict) or k not in obj]
    if missing:
        raise WalkforwardError(f"{path}: lacks {', '.join(missing)}; it was not written by `wf run`")
    return obj
