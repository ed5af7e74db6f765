"""LightGBM through its public API: the same models as a plain `lightgbm.train`, bit for bit, with the native set-up
under the lock and the boosting iterations outside it."""

from __future__ import annotations

import ast
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from walkforward.models import lightgbm as wf_lgb
from walkforward.models.registry import MODEL_KINDS

KIND = MODEL_KINDS["lightgbm"]
PARAMS = {"n_estimators": 12, "learning_rate": 0.1, "num_leaves": 7, "min_data_in_leaf": 10, "bagging_fraction": 0.8}


def data(seed: int, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    X[rng.random(X.shape) < 0.05] = np.nan
    return X, np.nan_to_num(X[:, 0]) * 0.5 + rng.normal(scale=0.5, size=n)


def reference_train(seed: int, X, y, init_model=None):
    params, rounds = wf_lgb.lightgbm_params({**PARAMS, "bagging_freq": 1}, seed)
    return lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=rounds, init_model=init_model)


def test_models_equal_a_plain_lightgbm_train_bit_for_bit_warm_start_chain_included():
    X_test, _ = data(99)
    ours = reference = None
    for link in range(3):  # a warm-start chain: each link continues the previous model
        X, y = data(link)
        ours = KIND.fit({**PARAMS, "bagging_freq": 1}, X, y, seed=link + 1, init_model=ours, estimator=None)
        reference = reference_train(link + 1, X, y, init_model=reference)
        assert ours.num_trees() == reference.num_trees() == 12 * (link + 1)
        mine, theirs = KIND.predict(ours, X_test), reference.predict(X_test)
        assert np.array_equal(mine.view(np.int64), theirs.view(np.int64))
        gain = reference.feature_importance(importance_type="gain")
        assert np.array_equal(KIND.importance(ours, 5), gain)


def test_the_boosting_iterations_run_outside_the_lock_and_the_lock_is_free_afterwards(monkeypatch):
    held_during_update = []
    update = lgb.Booster.update

    def watched(self, *args, **kwargs):
        held_during_update.append(wf_lgb.NATIVE.locked())
        return update(self, *args, **kwargs)

    monkeypatch.setattr(lgb.Booster, "update", watched)
    X, y = data(0)
    KIND.fit(PARAMS, X, y, seed=1, init_model=None, estimator=None)
    assert held_during_update == [False] * PARAMS["n_estimators"]
    assert not wf_lgb.NATIVE.locked()


def test_a_failing_fit_leaves_the_lock_free():
    X, y = data(0)
    with pytest.raises(lgb.basic.LightGBMError):
        KIND.fit({**PARAMS, "num_leaves": -3}, X, y, seed=1, init_model=None, estimator=None)
    assert not wf_lgb.NATIVE.locked()


def test_the_lightgbm_model_uses_no_private_lightgbm_name():
    tree = ast.parse(Path(wf_lgb.__file__).read_text())
    private = [
        f"{ast.unparse(node.value)}.{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    ]
    assert private == []
