"""Methodology §3, "No training rows": in per-asset scope a task without a complete, unpurged training row is
skipped (no prediction, no importance rows, a warm-start chain carries its previous model over the fold) and the
run goes on; a unified model without any training row is an error naming the fold.

The small universe with a first fold trained on the 50 sessions before 2017-03-20: the equities (data from
2017-01-02) have no complete row there yet (corr_60 needs 60 rows), BTC-USD (every day since 2017-01-01) has some.
"""

from __future__ import annotations

import polars as pl
import pytest

from tests.small import small_config
from walkforward.engine import fold_job, layout
from walkforward.engine import run as run_engine
from walkforward.errors import DataError
from walkforward.features.matrix import Matrix
from walkforward.features.plan import start_features
from walkforward.models.registry import MODEL_KINDS

EARLY = {"start_date": "2017-03-20", "end_date": "2017-06-30", "fold_length": 50, "step_size": 42}


def test_per_asset_skips_an_asset_without_training_rows_and_the_run_goes_on(small_data):
    cfg = small_config(small_data, **EARLY, **{"model.scope": "per_asset"})
    result = run_engine(cfg)
    predictions = pl.from_arrow(result.tables["predictions"])
    importance = pl.from_arrow(result.tables["feature_importance"])
    fold0 = predictions.filter(pl.col("fold") == 0)
    for equity in ("SPY", "AAA"):  # no model in fold 0: no prediction, flat, no importance rows
        rows = fold0.filter(pl.col("symbol") == equity)
        assert len(rows) > 0 and rows["prediction"].null_count() == len(rows)
        assert (rows["position"] == 0).all()
        assert importance.filter((pl.col("fold") == 0) & (pl.col("symbol") == equity)).is_empty()
        assert not importance.filter((pl.col("fold") == 1) & (pl.col("symbol") == equity)).is_empty()
    assert fold0.filter(pl.col("symbol") == "BTC-USD")["prediction"].null_count() == 0
    assert result.metrics["per_fold"][0]["n_days"] > 0


def test_a_skipped_task_carries_the_chains_model_over_the_fold(small_data):
    cfg = small_config(small_data, **EARLY, **{"model.scope": "per_asset", "model.warm_start": True})
    pending, _ = start_features(cfg)
    m = Matrix.from_frame(pending.result(), cfg.feature_names)
    job = fold_job(m, layout(m, cfg), cfg, keep_models=True)
    btc_model, (btc, _) = job((0, "BTC-USD"), None)
    assert btc.fitted and len(btc.rows) > 0
    model, (skipped, state) = job((0, "AAA"), btc_model)  # as if AAA's chain held this model from before
    assert model is btc_model
    assert not skipped.fitted and len(skipped.rows) == len(skipped.prediction) == 0
    assert state == MODEL_KINDS["lightgbm"].dump(btc_model)  # the checkpoint keeps the carried model
    model, (_, state) = job((0, "AAA"), None)  # the chain's first fold: nothing to carry
    assert model is None and state is None
    assert job((1, "AAA"), None)[1][0].fitted  # fold 1 has training rows


def test_a_unified_model_without_training_rows_is_an_error_naming_the_fold(small_data):
    cfg = small_config(small_data, **EARLY, assets=["SPY", "AAA"])
    with pytest.raises(DataError, match=r"^fold 0 \(train 2017-0.*assets \*\) has no complete training rows"):
        run_engine(cfg)
