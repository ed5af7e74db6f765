"""The peer's run: read once, features once per asset, one matrix per fold, folds fitted on a process pool.

The pool's workers are forked first (the fork start method, Linux's default), while the parent holds the imports only,
then the data is read. Writes `predictions.parquet` (fold, symbol, date, prediction, target: wf's columns,
wf's types) for the bench's gate; no backtest.
"""

from __future__ import annotations

import json
import multiprocessing
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.peer.data import read_prices
from bench.peer.fit import fit_predict, started
from bench.peer.folds import FoldDates, fold_dates
from bench.peer.panel import panel_features
from walkforward.errors import ConfigError, DataError

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "walkforward" / "configs" / "default.json"
IGNORED = ("engine", "executor", "scheduler")  # wf's keys that mean nothing to the peer


def peer_config(overrides: dict[str, Any], config_path: str | None = None) -> dict[str, Any]:
    """The shipped default config (or `config_path`) with the bench's flat overrides; what the peer cannot run is
    refused: it implements the default model (unified LightGBM, no warm start) on per-symbol or long data."""
    config = json.loads(Path(config_path or DEFAULT_CONFIG).read_text())
    config.update({k: v for k, v in overrides.items() if k not in IGNORED})
    model = config["model"]
    unsupported = {
        "model.kind": model["kind"] != "lightgbm",
        "model.scope": model.get("scope", "unified") != "unified",
        "model.warm_start": bool(model.get("warm_start")),
        "universe": config.get("universe") is not None,
        "price_column": config.get("price_column", "close") != "close",
        "target.kind": config.get("target", {}).get("kind", "return") != "return",
        "assets": not isinstance(config["assets"], list),
    }
    bad = [k for k, v in unsupported.items() if v]
    if bad:
        raise ConfigError(f"the peer baseline runs the default model and universe only; it cannot run {bad[0]}")
    defaults = {"n_estimators": 100, "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 20}
    config["model"] = {**model, "params": {**defaults, **model.get("params", {})}}
    return config


def windows(config: dict[str, Any]) -> list[tuple[str, int]]:
    return [(kind, int(n)) for kind, ns in config["features"].items() for n in ns]


def panel(config: dict[str, Any], prices: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Every traded asset's features, target and label end, sorted by (date, symbol); and the feature columns."""
    bench = prices[prices["symbol"] == config["benchmark"]]
    rows = prices[prices["symbol"].isin(config["assets"])].reset_index(drop=True)  # sorted by (symbol, date)
    features = panel_features(rows, bench, windows(config), int(config["horizon"]))
    rows = pd.DataFrame({"symbol": rows["symbol"], "date": rows["date"], **features})
    order = np.argsort(rows["date"].to_numpy(), kind="stable")  # (date, symbol): symbols stay sorted within a date
    return rows.take(order).reset_index(drop=True), [f"{kind}_{n}" for kind, n in windows(config)]


def fold_rows(dates: np.ndarray, label_end: np.ndarray, usable: np.ndarray, fold: FoldDates):
    """Training rows (in the window, `usable`: complete with a target, purged: label end before the test window) and
    test rows (in the test window) of one fold, as indices into the panel, whose `dates` are sorted."""
    at = lambda day: int(np.searchsorted(dates, np.datetime64(day, "ns"), side="left"))  # noqa: E731
    a, b = (0 if np.isnat(fold.train_lo) else at(fold.train_lo)), at(fold.train_hi)
    keep = usable[a:b] & (label_end[a:b] < np.datetime64(fold.test_lo, "ns"))  # NaT compares False: no label end
    return a + np.flatnonzero(keep), np.arange(at(fold.test_lo), at(fold.test_hi))


def fit_folds(pool: ProcessPoolExecutor, workers: int, config: dict[str, Any], data: tuple):
    """Every fold's training and test matrices, submitted to the pool as they are built, at most one waiting per
    worker (the others would sit in memory as pickled copies); returns the test rows per fold, the mask of complete
    rows and the workers' results."""
    rows, columns, calendar = data
    X = np.ascontiguousarray(rows[columns].to_numpy(dtype=np.float64))
    complete = ~np.isnan(X).any(axis=1)
    y = rows["target"].to_numpy(dtype=np.float64)
    dates, label_end, usable = rows["date"].to_numpy(), rows["label_end"].to_numpy(), complete & ~np.isnan(y)
    params, seed = config["model"]["params"], int(config["seed"])
    tests, results, pending = {}, [], set()
    for fold in fold_dates(calendar, config):
        train, test = fold_rows(dates, label_end, usable, fold)
        if not len(train):
            raise DataError(f"fold {fold.index} has no complete training rows")
        tests[fold.index] = test
        if len(pending) > workers:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            results += [f.result() for f in done]
        use = test[complete[test]]
        pending.add(pool.submit(fit_predict, fold.index, params, seed, X[train], y[train], X[use]))
    return tests, complete, results + [f.result() for f in pending]


def run(config: dict[str, Any], timings: dict[str, float]) -> dict[str, Any]:
    """Run the peer; write `predictions.parquet` to `config["output_dir"]`; fill `timings` (seconds per stage)."""
    workers = int(config.get("n_jobs") or 1)
    t0 = time.perf_counter()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))  # named: 3.14's
    # default (forkserver) would start workers that import everything again
    warm = [pool.submit(started) for _ in range(workers)]  # forks every worker now, before the data is read
    t1 = time.perf_counter()
    prices = read_prices(config["data_path"], [*config["assets"], config["benchmark"]])
    t2 = time.perf_counter()
    rows, columns = panel(config, prices)
    calendar = prices.loc[prices["symbol"] == config["benchmark"], "date"].to_numpy()
    del prices
    t3 = time.perf_counter()
    tests, complete, results = fit_folds(pool, workers, config, (rows, columns, calendar))
    reports = [w.result() for w in warm] + [r[5:] for r in results]  # (worker pid, its peak RSS so far)
    pool.shutdown()
    t4 = time.perf_counter()
    write_predictions(Path(config["output_dir"]), rows, tests, complete, {r[0]: r[1] for r in results})
    t5 = time.perf_counter()
    fit_s, predict_s = sum(r[2] for r in results), sum(r[3] for r in results)
    share = fit_s / (fit_s + predict_s) if fit_s + predict_s else 1.0
    # the pool's wall time (building the matrices included) split between fit and predict by the workers' times
    timings.update(executor=t1 - t0, load=t2 - t1, features=t3 - t2, write=t5 - t4)
    timings.update(fit=(t4 - t3) * share, predict=(t4 - t3) * (1 - share))
    peaks: dict[int, float] = {}
    for pid, peak in reports:
        peaks[pid] = max(peak, peaks.get(pid, 0.0))
    return {"n_folds": len(tests), "model_cpu_seconds": sum(r[4] for r in results), "worker_peaks_mb": peaks}


def write_predictions(
    out: Path, rows: pd.DataFrame, tests: dict[int, np.ndarray], complete: np.ndarray, preds: dict[int, np.ndarray]
) -> Path:
    """predictions.parquet: every test row of every fold, its prediction (null where a feature is missing)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = []
    for fold, test in sorted(tests.items()):
        prediction = np.full(len(test), np.nan)
        prediction[complete[test]] = preds[fold]
        part = rows.iloc[test][["symbol", "date", "target"]].assign(fold=np.int32(fold), prediction=prediction)
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True).sort_values(["fold", "date", "symbol"], ignore_index=True)
    table = pa.table(
        {
            "fold": pa.array(frame["fold"].to_numpy(), pa.int32()),
            "symbol": pa.array(frame["symbol"].to_numpy(), pa.string()),
            "date": pa.array(frame["date"].to_numpy().astype("datetime64[D]"), pa.date32()),
            "prediction": pa.array(frame["prediction"].to_numpy(), pa.float64(), from_pandas=True),
            "target": pa.array(frame["target"].to_numpy(), pa.float64(), from_pandas=True),
        }
    )
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out / "predictions.parquet")
    return out / "predictions.parquet"
