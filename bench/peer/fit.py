"""The peer's pool side: one LightGBM model per fold, fitted in a worker process of a `ProcessPoolExecutor`.

The same `lightgbm.train` call as docs/methodology.md §3 (deterministic, row-wise, one thread, the fold seed) on the
fold's training matrix, which the pool pickles to the worker. LightGBM is imported here, at the top, as a script
would: in the parent, before the pool forks its workers, which inherit it (importing it in each worker instead, while
the parent reads the data, made the large workload's process 1-3 s slower on the loaded 2-core machine). Each worker
reports its own peak RSS with every result, so that the parent can count its pool's memory.
"""

from __future__ import annotations

import os
import resource
import time
import zlib
from typing import Any

import lightgbm as lgb
import numpy as np

UNIFIED = "*"  # the unified model's symbol in the seed


def fold_seed(seed: int, fold: int, symbol: str = UNIFIED) -> int:
    """`SeedSequence([seed, fold, crc32(symbol)])`, first 32-bit word modulo 2**31 - 1 (methodology §3)."""
    words = np.random.SeedSequence([seed, fold, zlib.crc32(symbol.encode())]).generate_state(1)
    return int(words[0]) % (2**31 - 1)


def train_params(params: dict[str, Any], seed: int) -> tuple[dict[str, Any], int]:
    """LightGBM's training params and the number of boosting rounds (`n_estimators`). Written again from §3 rather
    than imported from walkforward.models: a change to wf's settings then fails the bench's gate instead of being
    followed silently."""
    params = dict(params)
    rounds = int(params.pop("n_estimators"))
    fixed = {
        "objective": params.pop("objective", "regression"),
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "seed": seed,
        "verbose": -1,
    }
    return {**fixed, **params}, rounds


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def started() -> tuple[int, float]:
    """A first task, so that the pool forks its workers at once, while the parent is small."""
    return os.getpid(), peak_rss_mb()


def fit_predict(fold: int, params: dict[str, Any], seed: int, X: np.ndarray, y: np.ndarray, X_test: np.ndarray):
    """Fit fold `fold`'s model and predict its test rows. Returns (fold, predictions, fit s, predict s, CPU s,
    worker pid, worker peak RSS in MB)."""
    cpu0, t0 = time.thread_time(), time.perf_counter()
    lgb_params, rounds = train_params(params, fold_seed(seed, fold))
    # keep_training_booster=False (the default): the model is reloaded from its text form, the training data freed
    booster = lgb.train(lgb_params, lgb.Dataset(X, label=y, free_raw_data=True), num_boost_round=rounds)
    t1 = time.perf_counter()
    pred = np.empty(0) if len(X_test) == 0 else np.asarray(booster.predict(X_test, num_threads=1), dtype=np.float64)
    t2 = time.perf_counter()
    return fold, pred, t1 - t0, t2 - t1, time.thread_time() - cpu0, os.getpid(), peak_rss_mb()
