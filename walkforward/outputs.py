"""The output schema every engine writes, and atomic writes (temporary file in the same folder, then rename).

Both engines hand their tables over as pyarrow Tables (pandas: `pa.Table.from_pandas`, Polars: `.to_arrow()`);
`write_outputs` casts them to the one schema below, sorts them by their keys and writes them atomically.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

SCHEMAS: dict[str, pa.Schema] = {
    "predictions": pa.schema(
        [
            ("fold", pa.int32()),
            ("symbol", pa.string()),
            ("date", pa.date32()),
            ("prediction", pa.float64()),
            ("target", pa.float64()),
            ("position", pa.int8()),
            ("weight", pa.float64()),
        ]
    ),
    "trades": pa.schema(
        [
            ("fold", pa.int32()),
            ("symbol", pa.string()),
            ("date", pa.date32()),
            ("position_before", pa.int8()),
            ("position_after", pa.int8()),
            ("weight_before", pa.float64()),
            ("weight_after", pa.float64()),
            ("weight_traded", pa.float64()),
            ("cost", pa.float64()),
        ]
    ),
    "returns": pa.schema(
        [
            ("fold", pa.int32()),
            ("date", pa.date32()),
            ("series", pa.string()),
            ("position", pa.float64()),
            ("return", pa.float64()),
            ("equity", pa.float64()),
        ]
    ),
    "feature_importance": pa.schema(
        [
            ("fold", pa.int32()),
            ("symbol", pa.string()),
            ("feature", pa.string()),
            ("importance", pa.float64()),
        ]
    ),
    "features": pa.schema([("symbol", pa.string()), ("date", pa.date32())]),  # + feature columns
}
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "predictions": ("fold", "date", "symbol"),
    "trades": ("fold", "date", "symbol"),
    "returns": ("fold", "date", "series"),
    "feature_importance": ("fold", "symbol", "feature"),
    "features": ("symbol", "date"),
}
# the metrics of metrics.json (docs/methodology.md §5), in the order they are written
METRIC_NAMES = (
    "total_return",
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "hit_rate",
    "n_trades",
    "turnover",
    "turnover_long",
    "turnover_short",
    "exposure",
    "ic",
    "ic_mean",
    "ic_std",
    "ic_ir",
    "directional_accuracy",
    # the quantile returns (walkforward/metrics/quantiles.py)
    "long_short_spread",
    "long_short_tstat",
    "quantile_return_1",
    "quantile_return_2",
    "quantile_return_3",
    "quantile_return_4",
    "quantile_return_5",
    "beta",
    "alpha",
    "tracking_error",
    "information_ratio",
    "periods_per_year",
    "n_days",
)
TABLES = ("predictions", "trades", "returns", "feature_importance")
# run.json's `universe` counts (docs/methodology.md §8), in the order they are written
UNIVERSE_COUNTS = (
    "assets",
    "listed_after_start",
    "delisted_before_end",
    "test_rows",
    "test_rows_outside_membership",
    "tasks_without_training_rows",
)


def conform(name: str, table: pa.Table, *, presorted: bool = False) -> pa.Table:
    """Select, cast and sort `table` to the schema of output `name`; `presorted`: the engine built it in
    SORT_KEYS order already (tested), so the sort is skipped."""
    schema = SCHEMAS[name]
    if name == "features":  # symbol, date, then every feature column and the target as float64
        rest = [c for c in table.column_names if c not in ("symbol", "date")]
        schema = pa.schema(list(schema) + [(c, pa.float64()) for c in rest])
    missing = [f.name for f in schema if f.name not in table.column_names]
    if missing:
        raise ValueError(f"table {name!r} lacks columns {missing}; engines must produce the full schema")
    table = table.select(schema.names).cast(schema)
    if presorted:
        return table.combine_chunks()
    order = pc.sort_indices(table, sort_keys=[(k, "ascending") for k in SORT_KEYS[name]])
    return table.take(order).combine_chunks()


class _Writes:
    """Atomic writes in flight, so an abort can wait for them and leave no temporary file behind."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.in_flight: dict[str, int] = {}  # temporary path -> id of the thread writing it
        self.refused = False


_WRITES = _Writes()


def refuse_writes(wait_seconds: float) -> None:
    """Refuse new atomic writes, wait (up to `wait_seconds`) for other threads' writes in flight to land or clean up,
    then delete the temporary files of those that did not: the calling thread's own (a signal handler interrupted
    it, it cannot finish while we wait) and any still running after the wait."""
    me = threading.get_ident()
    with _WRITES.cond:
        _WRITES.refused = True
        _WRITES.cond.wait_for(lambda: all(t == me for t in _WRITES.in_flight.values()), timeout=wait_seconds)
        for tmp in list(_WRITES.in_flight):
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def atomic_write(path: Path, write: Callable[[str], None], *, durable: bool = True) -> None:
    """Call `write(tmp_path)` on a temporary file next to `path`, fsync it, then rename it over `path`.

    Readers see the old file or the new one, never a partial one; a failure removes the temporary file.
    `durable=False` skips the fsync: the rename is still atomic for a process that is killed, only an operating
    system crash could lose the file. Checkpoints are durable too: their fsyncs run on the scheduler's thread while
    the workers fit, so the journal is already flushed when the outputs are written.
    """
    path = Path(path)
    tmp = None
    try:
        with _WRITES.cond:  # the temporary file is created and registered at once: an abort sees every one
            if _WRITES.refused:
                raise RuntimeError(f"not writing {path}: the run is aborting")
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            _WRITES.in_flight[tmp] = threading.get_ident()
        os.close(fd)
        os.chmod(tmp, 0o644)
        write(tmp)
        if durable:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise
    finally:
        if tmp is not None:
            with _WRITES.cond:
                _WRITES.in_flight.pop(tmp, None)
                _WRITES.cond.notify_all()


def write_table(path: Path, table: pa.Table) -> None:
    """Parquet, snappy, with statistics; dictionary encoding for the string columns only (a float column's values
    are nearly all distinct: trying a dictionary first took half the writing time and saved nothing)."""
    strings = [f.name for f in table.schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="snappy", use_dictionary=strings))


def write_json(path: Path, obj: Any, *, durable: bool = True) -> None:
    text = json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n"

    def write(tmp: str) -> None:
        Path(tmp).write_text(text)

    atomic_write(path, write, durable=durable)


def _jsonable(obj: Any) -> Any:
    """Floats that are NaN/inf become null; numpy scalars become Python numbers."""
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, pl.Expr):  # a custom feature given in Python (config features.custom): its text
        return str(obj)
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj


def write_outputs(
    out_dir: str | os.PathLike[str],
    tables: Mapping[str, pa.Table],
    metrics: Mapping[str, Any],
    presorted: Collection[str] = (),
) -> dict[str, pa.Table]:
    """Write every table (conformed) and metrics.json into `out_dir` (run.json is written last, by the runner).

    One after the other, on the calling thread. Writing in background threads while the engine computed its
    metrics was tried: on 2 cores it was no faster (median 49 ms outside the models on the large workload either
    way) and far less steady (41-75 ms against 45-52 ms), each writer's Python steps waiting for the GIL.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, table in tables.items():
        written[name] = conform(name, table, presorted=name in presorted)
        write_table(out / f"{name}.parquet", written[name])
    write_json(out / "metrics.json", metrics)
    return written


@dataclass
class EngineResult:
    """What an engine hands back: the output tables (pyarrow), the metrics dict, the folds and timings.

    `folds` is a list of dicts with `fold, train_start, train_end, test_start, test_end` (ISO dates);
    `timings` maps stage name (load, validate, features, fit, predict, backtest, metrics; the Polars engine also
    import and models, docs/methodology.md §6) to seconds.
    `features` is the feature table (symbol, date, features..., target) when asked for, else None.
    `universe` holds run.json's universe counts (`UNIVERSE_COUNTS`), None from an engine that does not count them.
    """

    tables: dict[str, pa.Table]
    metrics: dict[str, Any]
    folds: list[dict[str, Any]]
    timings: dict[str, float] = field(default_factory=dict)
    features: pa.Table | None = None
    fingerprint: str | None = None
    model_cpu_seconds: float | None = None  # CPU seconds inside model fit + predict, all threads
    presorted: tuple[str, ...] = ()  # tables the engine built in SORT_KEYS order
    universe: dict[str, int] | None = None  # UNIVERSE_COUNTS -> count (methodology §8)
    worker_peaks_mb: dict[int, float] = field(default_factory=dict)  # worker process id -> its peak RSS (not ours)
