"""`refit_every: k` (methodology §3): folds 0, k, 2k, ... fit a model, the folds between predict with it. Both engines
agree; fold 1's and 2's predictions are fold 0's model's, predicted here by hand; the fit tasks, importances and
the cut job (Dask) follow."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from tests.small import make_small_data, small_config
from tests.test_parity_engine import assert_same
from walkforward import engine
from walkforward.cancel import Cancellation, Cancelled
from walkforward.config import UNIFIED_SYMBOL
from walkforward.errors import ConfigError
from walkforward.execution.fit import plan_tasks
from walkforward.features.matrix import Matrix
from walkforward.features.plan import start_features
from walkforward.models.registry import MODEL_KINDS
from walkforward.runner import execute

SIX_FOLDS = {"step_size": 21}  # 2019H1 in folds of 21 sessions: 6 folds, refits at 0 and 3 with k = 3


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_small_data(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def refit3(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("refit3")
    execute(small_config(data, out / "polars", refit_every=3, **SIX_FOLDS))
    return out / "polars"


def _job(data, **changes):
    config = small_config(data, None, **SIX_FOLDS, **changes)
    pending, _ = start_features(config)
    m = Matrix.from_frame(pending.result(), config.feature_names)
    lay = engine.layout(m, config)
    return config, m, lay, engine.fold_job(m, lay, config, keep_models=False)


def test_the_legacy_engine_matches_with_refit_every_3(data, refit3, tmp_path):
    execute(small_config(data, tmp_path / "legacy", refit_every=3, engine="legacy", **SIX_FOLDS))
    assert_same(tmp_path / "legacy", refit3)


def test_folds_between_refits_predict_with_the_refit_folds_model(data, refit3):
    """Fold 0's model, fitted by the k = 1 job, predicts folds 1 and 2's complete test rows by hand."""
    _, m, lay, job = _job(data)
    assert len(lay.folds) == 6
    model, _ = job((0, UNIFIED_SYMBOL), None)
    got = pl.read_parquet(refit3 / "predictions.parquet")
    for f in (0, 1, 2):
        c, d = lay.offsets.test[f]
        rows = np.arange(c, d)[m.complete[c:d]]
        by_hand = MODEL_KINDS["lightgbm"].predict(model, m.X[rows])
        fold = got.filter(pl.col("fold") == f, pl.col("prediction").is_not_null())
        assert len(fold) == len(rows) > 0
        want = pl.DataFrame({"date": m.dates[rows], "symbol": np.asarray(m.symbols)[m.symbol[rows]], "w": by_hand})
        joined = fold.with_columns(pl.col("date").cast(pl.Date)).join(
            want.with_columns(pl.col("date").cast(pl.Date)), on=["date", "symbol"]
        )
        assert len(joined) == len(rows)
        assert joined["prediction"].to_numpy().tobytes() == joined["w"].to_numpy().tobytes()


def test_only_refit_folds_fit_and_write_importances(data, refit3):
    importance = pl.read_parquet(refit3 / "feature_importance.parquet")
    assert sorted(importance["fold"].unique().to_list()) == [0, 3]
    config = small_config(data, None, refit_every=3)
    assert plan_tasks(config, 7)[0] == [(0, "*"), (3, "*"), (6, "*")]
    warm = config.replace(**{"model.warm_start": True, "model.scope": "per_asset"})
    assert plan_tasks(warm, 4)[1] == [[(0, s), (3, s)] for s in warm.assets]


def test_a_cut_job_predicts_its_refit_block_bitwise(data):
    _, _, _, job = _job(data, refit_every=4, **{"model.scope": "per_asset"})
    for task in [(0, "AAA"), (4, "BTC-USD")]:
        _, (expected, _) = job(task, None)
        _, (got, _) = job.for_task(task)(task, None)
        assert np.array_equal(got.rows, expected.rows) and len(got.rows) > 0
        assert got.prediction.tobytes() == expected.prediction.tobytes()


@pytest.mark.parametrize("value", [0, -1, 1.5, "2"])
def test_refit_every_must_be_a_positive_integer(data, value):
    with pytest.raises(ConfigError, match="refit_every must be"):
        small_config(data, None, refit_every=value)


def test_process_workers_give_the_thread_pools_outputs_bitwise(data, refit3, tmp_path):
    execute(small_config(data, tmp_path / "processes", refit_every=3, executor="processes", **SIX_FOLDS))
    assert_same(tmp_path / "processes", refit3, tolerance=0.0)


def test_a_run_cancelled_after_its_first_refit_resumes_to_the_same_outputs(data, tmp_path):
    """With k = 2, task (0, *) holds folds 0-1's predictions in its checkpoint; the run is cancelled before its last
    refit (fold 4) starts, and the resumed run fits only what is left."""
    execute(small_config(data, tmp_path / "whole", refit_every=2, **SIX_FOLDS))
    cancel = Cancellation()
    config = small_config(data, tmp_path / "resumed", refit_every=2, n_jobs=1, **SIX_FOLDS)

    def progress(done: int, total: int) -> None:
        assert total == 3  # refit folds 0, 2 and 4
        if done >= 1:
            cancel.request()

    with pytest.raises(Cancelled):
        execute(config, progress=progress, cancel=cancel)
    execute(config, resume=True)
    assert_same(tmp_path / "resumed", tmp_path / "whole", tolerance=0.0)
