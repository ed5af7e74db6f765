"""A sweep's shared work (walkforward/sweeps/shared.py, together.py): one executor for every configuration's tasks,
tasks grouped only where their training rows and share keys are equal, costliest first; outputs bitwise those of
separate runs on every local executor, warm start included; batches bounded by their results' memory; a failing
configuration is named."""

from __future__ import annotations

import json

import pytest

import walkforward
from tests.small import make_small_data, small_config
from walkforward import engine, runner
from walkforward import metrics as wf_metrics
from walkforward.errors import FoldFailed
from walkforward.execution import scheduler
from walkforward.features.plan import Plans
from walkforward.models.lightgbm import LightGBMModel
from walkforward.models.registry import MODEL_KINDS
from walkforward.outputs import TABLES
from walkforward.sweeps import shared, together
from walkforward.sweeps.grid import trials


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_small_data(tmp_path_factory.mktemp("data"))


def same_outputs(a, b) -> None:
    for name in (*(f"{t}.parquet" for t in TABLES), "metrics.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def prepared(data, grid, **changes):
    plans = Plans()
    chosen = trials(small_config(data, **changes), grid)
    return {i: engine.prepare(t.config, plans=plans) for i, t in enumerate(chosen)}


def test_tasks_group_only_on_equal_rows_and_share_keys(data, monkeypatch):
    # a share key that ignores num_leaves (as LightGBM's Dataset does)
    monkeypatch.setattr(LightGBMModel, "share_key", lambda self, params, seed, est: (params["n_estimators"], seed))
    grid = {"horizon": [1, 5], "model.params.num_leaves": [4, 8], "model.params.n_estimators": [10, 20]}
    p = prepared(data, grid)
    assert p[0].matrix is p[1].matrix is p[2].matrix and p[0].matrix is not p[4].matrix  # one matrix per horizon
    assert p[0].layout is p[3].layout
    jobs = {t: x.job for t, x in p.items()}
    plan = shared.plan_sweep(jobs, {t: (x.config, x.tasks, x.chains) for t, x in p.items()}, _no_checkpoints(p))
    groups = {trials_ for chain in plan.chains for trials_, _, _ in chain}
    # trials 0..3 have horizon 1 (num_leaves 4, 4, 8, 8 with 10, 20, 10, 20 rounds), 4..7 horizon 5 likewise
    assert groups == {(0, 2), (1, 3), (4, 6), (5, 7)}
    grouped = sum(len(trials_) for chain in plan.chains for trials_, _, _ in chain)
    assert grouped == sum(len(x.tasks) for x in p.values()) == 8 * len(p[0].tasks)  # every task in one group
    assert sum(len(c) for c in plan.chains) == 4 * len(p[0].tasks)  # each task of each group once
    costs = [shared._cost(jobs, c) for c in plan.chains]
    assert costs == sorted(costs, reverse=True)  # costliest first: the 20-round groups lead


def _no_checkpoints(p):
    class Empty:
        def load(self, tasks):
            return {}

    return {t: Empty() for t in p}


def test_a_kind_without_share_key_groups_only_the_same_model(data):
    grid = {"model.params.n_estimators": [5, 10]}
    p = prepared(data, grid, **{"model.kind": "random_forest", "model.params": {}})
    assert p[0].matrix is p[1].matrix  # the same rows, yet random forests share nothing
    jobs = {t: x.job for t, x in p.items()}
    plan = shared.plan_sweep(jobs, {t: (x.config, x.tasks, x.chains) for t, x in p.items()}, _no_checkpoints(p))
    assert {len(trials_) for chain in plan.chains for trials_, _, _ in chain} == {1}
    assert len(plan.chains) == 2 * len(p[0].tasks)


def test_one_pool_runs_every_configuration(data, tmp_path, monkeypatch):
    opened = []
    real = scheduler.open_pool

    def counting(*args, **kwargs):
        opened.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(scheduler, "open_pool", counting)
    grid = {"model.params.num_leaves": [4, 8], "model.params.learning_rate": [0.05, 0.1]}
    swept = walkforward.sweep(small_config(data), grid, output_dir=tmp_path / "sweep")
    assert opened == ["threads"]
    for trial_id, params in swept.configs.items():
        alone = tmp_path / trial_id
        walkforward.run(small_config(data, alone, **params))
        same_outputs(swept.run_dirs[trial_id], alone)


@pytest.mark.parametrize("executor", ["processes", "threads"])
def test_warm_start_and_per_asset_sweeps_match_separate_runs(data, tmp_path, executor):
    base = small_config(data, executor=executor, **{"model.warm_start": True})
    grid = {"model.params.num_leaves": [4, 8], "model.scope": ["unified", "per_asset"]}
    swept = walkforward.sweep(base, grid, output_dir=tmp_path / "sweep")
    for trial_id, params in swept.configs.items():
        alone = tmp_path / trial_id
        walkforward.run(small_config(data, alone, **{"model.warm_start": True}, **params))
        same_outputs(swept.run_dirs[trial_id], alone)


def test_a_failing_configuration_is_named_and_the_others_keep_their_checkpoints(data, tmp_path):
    grid = {"model.params.objective": ["regression", "no_such_objective"]}
    chosen = trials(small_config(data), grid)
    with pytest.raises(FoldFailed, match=rf"configurations? [^:]*{chosen[1].id}[^:]*: fold \d+ .*no_such_objective"):
        walkforward.sweep(small_config(data, n_jobs=1), grid, output_dir=tmp_path / "sweep")


def test_batches_hold_at_most_the_budget_of_results(data):
    p = prepared(data, {"model.params.num_leaves": [4, 8, 16], "horizon": [1, 5]})
    rows = sum(d - c for c, d in p[0].layout.offsets.test)  # every row of the test windows, by hand
    size = 16 * rows + 1024 * len(p[0].tasks)
    assert together.result_bytes(p[0]) == size
    assert together.batches(p, 2 * size) == [[0, 1], [2, 3], [4, 5]]
    assert together.batches(p, 2 * size - 1) == [[0], [1], [2], [3], [4], [5]]
    assert together.batches(p, 1) == [[t] for t in p]  # one configuration larger than the budget: a batch alone
    assert together.batches(p, 10**12) == [list(p)]


def test_batched_sweeps_are_bitwise_one_batch_and_count_every_task(data, tmp_path, monkeypatch):
    """A budget of two configurations' results: two pools for four configurations, each configuration bitwise what
    one pool gives, and the progress counts the sweep's tasks across both batches."""
    grid = {"model.params.num_leaves": [4, 8], "model.params.learning_rate": [0.05, 0.1]}
    whole = walkforward.sweep(small_config(data), grid, output_dir=tmp_path / "whole")
    opened, seen = [], []
    real = scheduler.open_pool

    def counting(*args, **kwargs):
        opened.append(args[0])
        return real(*args, **kwargs)

    probe = prepared(data, {"model.params.num_leaves": [4]})[0]
    monkeypatch.setattr(scheduler, "open_pool", counting)
    monkeypatch.setattr(together, "RESULTS_BUDGET", 2 * together.result_bytes(probe))
    batched = walkforward.sweep(
        small_config(data), grid, output_dir=tmp_path / "batched", on_task=lambda d, n: seen.append((d, n))
    )
    assert opened == ["threads", "threads"]
    total = 4 * len(probe.tasks)
    assert seen[-1] == (total, total) and all(n == total for _, n in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    for trial_id in whole.configs:
        same_outputs(whole.run_dirs[trial_id], batched.run_dirs[trial_id])
    assert batched.leaderboard.equals(whole.leaderboard)


def test_a_sweep_fingerprints_its_data_once_per_data_and_symbols(data, tmp_path, monkeypatch):
    taken = []
    real = runner.data_fingerprint

    def counting(path, symbols):
        taken.append(tuple(sorted(symbols)))
        return real(path, symbols)

    monkeypatch.setattr(runner, "data_fingerprint", counting)
    grid = {"model.params.num_leaves": [4, 8], "assets": [["AAA", "BTC-USD"], ["AAA"]]}
    swept = walkforward.sweep(small_config(data), grid, output_dir=tmp_path / "sweep")
    assert sorted(taken) == [("AAA", "BTC-USD", "SPY"), ("AAA", "SPY")]  # 4 configurations, 2 sets of symbols
    stamps = {json.loads((d / "run.json").read_text())["data_fingerprint"] for d in swept.run_dirs.values()}
    assert stamps == {real(data, ["AAA", "BTC-USD", "SPY"]), real(data, ["AAA", "SPY"])}


@pytest.mark.parametrize(
    ("kind", "changes"),
    [("lightgbm", {}), ("random_forest", {"model.kind": "random_forest", "model.params": {"n_estimators": 5}})],
)
def test_a_strategy_sweep_fits_each_model_once_and_stays_bitwise(data, tmp_path, monkeypatch, kind, changes):
    """Configurations that differ only in their strategy have the same models: one fit per (fold, asset), whatever
    the kind (LightGBM groups by its Dataset, a random forest by its params), each output a separate run's."""
    fitted: list[int] = []
    model = MODEL_KINDS[kind]
    real = type(model).fit_shared

    def counting(self, params_list, *args, **kwargs):
        fitted.append(len(params_list))
        return real(self, params_list, *args, **kwargs)

    monkeypatch.setattr(type(model), "fit_shared", counting)
    levels: list[int] = []
    real_levels = wf_metrics.prediction_levels
    monkeypatch.setattr(wf_metrics, "prediction_levels", lambda *a: levels.append(1) or real_levels(*a))
    grid = {"strategy.cost_bps": [0.0, 5.0, 20.0], "strategy.long_threshold": [0.0, 0.001]}
    swept = walkforward.sweep(small_config(data, **changes), grid, output_dir=tmp_path / "sweep")
    assert len(levels) == 1  # the prediction metrics (IC, quantile returns, ...) once for the six books
    n_tasks = len(prepared(data, {"strategy.cost_bps": [0.0]}, **changes)[0].tasks)
    assert fitted and set(fitted) == {1} and len(fitted) <= n_tasks  # one model per task (tasks without rows: none)
    cpu = [json.loads((d / "run.json").read_text())["model_cpu_seconds"] for d in swept.run_dirs.values()]
    assert cpu[0] > 0 and cpu[1:] == [0.0] * 5  # measured once, booked to the configuration that fitted
    for trial_id, params in swept.configs.items():
        alone = tmp_path / trial_id
        walkforward.run(small_config(data, alone, **changes, **params))
        same_outputs(swept.run_dirs[trial_id], alone)


def test_one_model_predicts_for_each_refit_cadence(data, tmp_path, monkeypatch):
    """refit_every 1 and 2 share fold 0's model (the same rows and params) but not its test rows: one fit, two
    predictions, each configuration bitwise its separate run."""
    fitted: list[int] = []
    real = LightGBMModel.fit_shared
    monkeypatch.setattr(
        LightGBMModel, "fit_shared", lambda self, p, *a, **k: fitted.append(len(p)) or real(self, p, *a, **k)
    )
    swept = walkforward.sweep(small_config(data), {"refit_every": [1, 2]}, output_dir=tmp_path / "sweep")
    assert fitted and set(fitted) == {1}
    for trial_id, params in swept.configs.items():
        alone = tmp_path / trial_id
        walkforward.run(small_config(data, alone, **params))
        same_outputs(swept.run_dirs[trial_id], alone)
