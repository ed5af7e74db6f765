"""A fold job cut to one task's rows (`FoldJob.for_task`, what a Dask worker receives) holds only the fold's windows
(and, per asset, that asset's rows) and computes that task's result bit for bit."""

from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import pytest

from walkforward import engine
from walkforward.config import UNIFIED_SYMBOL, Config
from walkforward.data.generate import generate
from walkforward.execution.fit import plan_tasks
from walkforward.features.matrix import Matrix
from walkforward.features.plan import start_features

SYMBOLS = ["SPY", "AAA", "BTC-USD"]


@pytest.fixture(scope="module", params=["unified", "per_asset"])
def job(request, tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    generate(data, SYMBOLS, dt.date(2016, 1, 1), dt.date(2019, 12, 31), seed=4)
    config = Config.from_dict(
        {
            "data_path": str(data),
            "assets": SYMBOLS,
            "benchmark": "SPY",
            "start_date": "2018-01-01",
            "end_date": "2019-06-30",
            "fold_length": 200,
            "step_size": 63,
            "model": {"kind": "lightgbm", "params": {"n_estimators": 10}, "scope": request.param},
            "output_dir": str(tmp_path_factory.mktemp("out")),
        }
    )
    pending, _ = start_features(config)
    m = Matrix.from_frame(pending.result(), config.feature_names)
    lay = engine.layout(m, config)
    return engine.fold_job(m, lay, config, keep_models=False), plan_tasks(config, len(lay.folds))[0]


def test_a_cut_job_gives_its_tasks_result_bitwise(job):
    whole, tasks = job
    assert len(tasks) > 3
    for task in tasks:
        _, (expected, _) = whole(task, None)
        _, (got, _) = whole.for_task(task)(task, None)
        assert got.rows.dtype == expected.rows.dtype and np.array_equal(got.rows, expected.rows)
        assert got.prediction.tobytes() == expected.prediction.tobytes()
        assert got.importance.tobytes() == expected.importance.tobytes()


def test_a_cut_job_holds_only_its_folds_windows_and_asset(job):
    whole, tasks = job
    n = len(whole.matrix.y)
    for task in tasks:
        f, symbol = task
        cut = whole.for_task(task)
        lo = min(whole.offsets.train[f, 0], whole.offsets.test[f, 0])
        hi = max(whole.offsets.train[f, 1], whole.offsets.test[f, 1])
        assert cut.row_index[0] >= lo and cut.row_index[-1] < hi and len(cut.matrix.y) < n
        assert np.array_equal(cut.matrix.X, whole.matrix.X[cut.row_index])
        assert np.array_equal(cut.matrix.dates, whole.matrix.dates[cut.row_index])
        if symbol == UNIFIED_SYMBOL:
            assert np.array_equal(cut.row_index, np.arange(lo, hi))
        else:
            assert set(cut.matrix.symbol.tolist()) == {whole.matrix.symbols.index(symbol)}
        assert len(pickle.dumps(cut)) < len(pickle.dumps(whole))
