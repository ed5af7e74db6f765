"""Configurations that differ only in parameters LightGBM's Dataset does not read share one constructed Dataset
(`ModelKind.share_key`, `ModelKind.fit_shared`): every model bit for bit the one its own `fit` gives."""

from __future__ import annotations

import itertools
import weakref
from concurrent.futures import ThreadPoolExecutor

import lightgbm as lgb
import numpy as np
import pytest

from walkforward.models import lightgbm as wf_lgb
from walkforward.models.registry import MODEL_KINDS

KIND = MODEL_KINDS["lightgbm"]
BASE = {"n_estimators": 12, "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 20}
RARE = 12  # ones in the rare feature: no split leaves min_data_in_leaf = 20 rows on its small side, 5 does


def data(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """6 features: 4 normal, one of 4 values, one 0/1 with RARE ones (pre-filtered by LightGBM at min_data_in_leaf
    20, not at 5); complete rows, as the engine passes them."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6))
    X[:, 4] = rng.integers(0, 4, n)
    X[:, 5] = 0.0
    X[rng.choice(n, RARE, replace=False), 5] = 1.0
    return X, 0.5 * X[:, 0] + 2.0 * X[:, 5] + 0.1 * X[:, 4] + rng.normal(scale=0.5, size=n)


def separate(params_list, X, y, seed):
    return [KIND.fit(p, X, y, seed=seed, init_model=None, estimator=None) for p in params_list]


def texts(models) -> list[str]:
    return [m.model_to_string() for m in models]


def shared_texts(params_list, X, y, seed) -> list[str]:
    """Models trained on one Dataset whatever their params (no key check): what sharing would give."""
    return texts(wf_lgb.train_lightgbm_shared([wf_lgb.lightgbm_params(p, seed) for p in params_list], X, y))


def test_fit_shared_gives_each_configuration_the_model_of_its_own_fit_bit_for_bit():
    X, y = data(0)
    X_test, _ = data(1)
    grid = [
        {**BASE, "num_leaves": leaves, "learning_rate": rate, "n_estimators": rounds, **extra}
        for leaves, rate, rounds in itertools.product((4, 15), (0.05, 0.3), (5, 20))
        for extra in ({}, {"lambda_l2": 5.0, "min_gain_to_split": 0.1})
    ]
    assert len({KIND.share_key(p, 7, None) for p in grid}) == 1
    shared = KIND.fit_shared(grid, X, y, seed=7, estimator=None)
    own = separate(grid, X, y, 7)
    assert texts(shared) == texts(own)
    for mine, theirs in zip(shared, own, strict=True):
        assert KIND.predict(mine, X_test).tobytes() == KIND.predict(theirs, X_test).tobytes()
        assert KIND.importance(mine, 6).tobytes() == KIND.importance(theirs, 6).tobytes()


# Two values of every parameter `model.params` accepts (with what makes the second value act: bagging needs both).
VALUES = {
    "n_estimators": (12, 4),
    "learning_rate": (0.05, 0.3),
    "num_leaves": (15, 4),
    "max_depth": (-1, 3),
    "min_data_in_leaf": (20, 5),
    "min_sum_hessian_in_leaf": (1e-3, 20.0),
    "feature_fraction": (1.0, 0.5),
    "bagging_fraction": (1.0, 0.6),
    "bagging_freq": (0, 1),
    "lambda_l1": (0.0, 2.0),
    "lambda_l2": (0.0, 5.0),
    "min_gain_to_split": (0.0, 0.5),
    "max_bin": (255, 15),
    "objective": ("regression", "huber"),
    "extra_trees": (False, True),
    "path_smooth": (0.0, 3.0),
}
WITH = {"bagging_fraction": {"bagging_freq": 1}, "bagging_freq": {"bagging_fraction": 0.7}}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_a_parameter_is_in_the_key_exactly_when_sharing_a_dataset_across_two_of_its_values_would_change_a_model(name):
    """Outside the key: one Dataset for both values, in either order, gives the models of separate fits. In the key:
    sharing it gives another model, or LightGBM refuses ("Cannot change max_bin after constructed Dataset handle")."""
    X, y = data(2)
    a, b = ({**BASE, **WITH.get(name, {}), name: v} for v in VALUES[name])
    own = texts(separate([a, b], X, y, 7))
    outcomes = []
    for pair, expected in (([a, b], own), ([b, a], own[::-1])):
        try:
            outcomes.append(shared_texts(pair, X, y, 7) == expected)
        except lgb.basic.LightGBMError as exc:
            assert "after constructed Dataset" in str(exc) or "feature_pre_filter" in str(exc)
            outcomes.append(False)
    in_key = KIND.share_key(a, 7, None) != KIND.share_key(b, 7, None)
    assert in_key == (outcomes != [True, True])
    assert in_key == (name in wf_lgb.DATASET_PARAMS)


def test_every_accepted_parameter_is_checked_for_the_key():
    assert set(VALUES) == set(wf_lgb.LIGHTGBM_PARAMS)


def test_the_seed_reaches_the_dataset_where_lightgbm_bins_a_sample_so_it_is_in_the_key():
    """LightGBM derives data_random_seed from `seed` and bins a sample of bin_construct_sample_cnt rows (200000 by
    default; 50 here, so 300 rows show it): a Dataset built under seed 7 gives a seed-8 booster other bins."""
    X, y = data(3)
    runs = [({**p, "bin_construct_sample_cnt": 50}, r) for p, r in (wf_lgb.lightgbm_params(BASE, s) for s in (7, 8))]
    own = texts(wf_lgb.train_lightgbm(p, X, y, r, None) for p, r in runs)
    shared = texts(wf_lgb.train_lightgbm_shared(runs, X, y))
    assert shared[0] == own[0] and shared[1] != own[1]
    assert KIND.share_key(BASE, 7, None) != KIND.share_key(BASE, 8, None)


def test_the_key_is_the_seed_max_bin_and_min_data_in_leaf():
    assert KIND.share_key(BASE, 7, None) == ("lightgbm", 7, None, 20)
    assert KIND.share_key({**BASE, "max_bin": 63, "num_leaves": 4, "lambda_l2": 1.0}, 9, None) == (
        "lightgbm",
        9,
        63,
        20,
    )
    keys = {KIND.share_key({**BASE, **change}, 7, None) for change in ({"max_bin": 63}, {"min_data_in_leaf": 5}, {})}
    assert len(keys) == 3
    assert MODEL_KINDS["random_forest"].share_key({"n_estimators": 5}, 7, None) is None


def test_the_default_fit_shared_is_one_fit_per_configuration():
    forest = MODEL_KINDS["random_forest"]
    X, y = data(4)
    grid = [{"n_estimators": 5, "max_depth": depth} for depth in (2, 4)]
    shared = forest.fit_shared(grid, X, y, seed=7, estimator=None)
    own = [forest.fit(p, X, y, seed=7, init_model=None, estimator=None) for p in grid]
    for mine, theirs in zip(shared, own, strict=True):
        assert forest.predict(mine, X).tobytes() == forest.predict(theirs, X).tobytes()
    assert forest.predict(shared[0], X).tobytes() != forest.predict(shared[1], X).tobytes()


def test_fit_shared_constructs_one_dataset_once_lets_it_go_and_boosts_outside_the_lock(monkeypatch):
    made, constructions, locked = [], [], []
    construct, update = lgb.Dataset.construct, lgb.Booster.update

    class Counted(lgb.Dataset):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(weakref.ref(self))

        def construct(self):
            constructions.append(self._handle is None)
            return construct(self)

    def watched(self, *args, **kwargs):
        locked.append(wf_lgb.NATIVE.locked())
        return update(self, *args, **kwargs)

    monkeypatch.setattr(lgb, "Dataset", Counted)
    monkeypatch.setattr(lgb.Booster, "update", watched)
    X, y = data(5)
    grid = [{**BASE, "num_leaves": leaves} for leaves in (4, 7, 15)]
    models = KIND.fit_shared(grid, X, y, seed=7, estimator=None)
    assert len(made) == 1 and constructions.count(True) == 1  # a Dataset (or a construction) per booster fails
    assert made[0]() is None  # freed: no booster keeps it alive
    assert not any(hasattr(m, "train_set") for m in models)
    assert locked == [False] * 3 * BASE["n_estimators"]
    assert not wf_lgb.NATIVE.locked()


def test_a_failing_shared_fit_leaves_the_lock_free():
    X, y = data(6)
    with pytest.raises(lgb.basic.LightGBMError, match="max_bin"):
        KIND.fit_shared([BASE, {**BASE, "max_bin": 15}], X, y, seed=7, estimator=None)  # keys differ: not allowed
    assert not wf_lgb.NATIVE.locked()


def test_shared_fits_from_two_threads_at_once_give_the_models_of_separate_fits():
    sets = [data(7), data(8)]
    grid = [{**BASE, "num_leaves": leaves, "learning_rate": rate} for leaves in (4, 15) for rate in (0.05, 0.3)]
    own = [texts(separate(grid, X, y, 7)) for X, y in sets]
    with ThreadPoolExecutor(2) as pool:
        runs = [pool.submit(KIND.fit_shared, grid, X, y, seed=7, estimator=None) for X, y in sets * 3]
        got = [texts(run.result()) for run in runs]
    assert got == own * 3
