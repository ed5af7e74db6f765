"""End to end: the Polars engine gives the same trades as the legacy engine, and predictions, returns and
metrics within 1e-9, for every model kind and scope, with and without warm start; and the same outputs bitwise
whatever the number of workers."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from walkforward.compare import compare_runs
from walkforward.config import Config
from walkforward.data.generate import generate
from walkforward.outputs import TABLES, conform
from walkforward.runner import execute

SYMBOLS = ["SPY", "AAA", "BBB", "ETH-USD"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    generate(out, SYMBOLS, dt.date(2016, 1, 1), dt.date(2019, 12, 31), seed=7)
    return out


ESTIMATORS = {  # kind "sklearn": any scikit-learn regressor by import path
    "ridge": ("sklearn.linear_model.Ridge", {"alpha": 1.0}),
    "boosting": ("sklearn.ensemble.GradientBoostingRegressor", {"n_estimators": 10, "max_depth": 3, "subsample": 0.8}),
}


def small_config(data_dir, out_dir, **model) -> Config:
    kind = model.pop("kind", "lightgbm")
    if kind in ESTIMATORS:
        model["estimator"], params = ESTIMATORS[kind]
        kind = "sklearn"
    else:
        params = {"n_estimators": 15} if kind == "lightgbm" else {"n_estimators": 8, "max_depth": 4}
    return Config.from_dict(
        {
            "data_dir": str(data_dir),
            "assets": SYMBOLS,
            "benchmark": "SPY",
            "start_date": "2018-07-01",
            "end_date": "2019-06-30",
            "fold_length": 200,
            "step_size": 63,
            "model": {"kind": kind, "params": params, **model},
            "output_dir": str(out_dir),
            "n_jobs": 2,
        }
    )


def assert_same(a, b, tolerance=1e-9):
    result = compare_runs(a, b, tolerance)
    problems = [f"{t.name}: {t.message}\n{t.rows}" for t in result.tables if not t.ok]
    assert not problems, "\n".join(problems)


CASES = [
    pytest.param(kind, scope, warm, id=f"{kind}-{scope}-{'warm' if warm else 'cold'}")
    for kind in ("lightgbm", "random_forest")
    for scope in ("unified", "per_asset")
    for warm in (False, True)
] + [
    pytest.param("ridge", "unified", False, id="sklearn-ridge-unified"),
    pytest.param("ridge", "per_asset", False, id="sklearn-ridge-per_asset"),
    pytest.param("boosting", "per_asset", True, id="sklearn-boosting-per_asset-warm"),
]


@pytest.mark.parametrize(("kind", "scope", "warm"), CASES)
def test_polars_engine_matches_legacy(dataset, tmp_path, kind, scope, warm):
    cfg = small_config(dataset, tmp_path / "legacy", kind=kind, scope=scope, warm_start=warm)
    execute(cfg.replace(engine="legacy"))
    result, _ = execute(cfg.replace(engine="polars", output_dir=str(tmp_path / "polars")))
    assert_same(tmp_path / "legacy", tmp_path / "polars")
    assert_presorted(result)


def assert_presorted(result):
    """The tables the Polars engine says it built in output order are in that order (their sort is skipped)."""
    assert set(result.presorted) == set(TABLES)
    for name in result.presorted:
        table = result.tables[name]
        assert conform(name, table, presorted=True).equals(conform(name, table)), name


@pytest.mark.parametrize("kind", ["lightgbm", "boosting"])
def test_outputs_bitwise_identical_for_any_worker_count(dataset, tmp_path, kind):
    runs = []
    for n in (1, 2, 4, 8):
        cfg = small_config(dataset, tmp_path / f"n{n}", kind=kind, scope="per_asset")
        execute(cfg.replace(n_jobs=n))
        runs.append(tmp_path / f"n{n}")
    for other in runs[1:]:
        assert_same(runs[0], other, tolerance=0.0)
        for name in ("predictions", "trades", "returns", "feature_importance"):
            assert (runs[0] / f"{name}.parquet").read_bytes() == (other / f"{name}.parquet").read_bytes()


def test_saved_features_match_legacy(dataset, tmp_path):
    """`--save-features`: features.parquet of both engines agree within 1e-9, with the same missing values."""
    import polars as pl

    from tests.panels import assert_close

    cfg = small_config(dataset, tmp_path / "legacy")
    execute(cfg.replace(engine="legacy"), save_features=True)
    execute(cfg.replace(output_dir=str(tmp_path / "polars")), save_features=True)
    a = pl.read_parquet(tmp_path / "legacy" / "features.parquet")
    b = pl.read_parquet(tmp_path / "polars" / "features.parquet")
    assert a.columns == b.columns == ["symbol", "date", *cfg.feature_names, "target"]
    assert a.select("symbol", "date").equals(b.select("symbol", "date"))
    for name in (*cfg.feature_names, "target"):
        assert_close(name, b[name].fill_null(float("nan")).to_numpy(), a[name].fill_null(float("nan")).to_numpy())


@pytest.mark.parametrize("kind", ["lightgbm", "random_forest"])
def test_polars_engine_matches_legacy_on_the_bundled_data(tmp_path, kind):
    root = Path(__file__).resolve().parent.parent
    model = {"kind": kind, "params": {"n_estimators": 20} if kind == "lightgbm" else {"n_estimators": 10}}
    cfg = Config.from_dict(
        {
            "data_dir": str(root / "data"),
            "start_date": "2020-01-01",
            "end_date": "2021-12-31",
            "model": model,
            "output_dir": str(tmp_path / "legacy"),
        }
    )
    shutil.copytree(root / "data", tmp_path / "data", ignore=shutil.ignore_patterns(".wf"))
    cfg = cfg.replace(data_dir=str(tmp_path / "data"))  # the store is built in a copy, not in the repository
    execute(cfg.replace(engine="legacy"))
    execute(cfg.replace(output_dir=str(tmp_path / "polars")))
    assert_same(tmp_path / "legacy", tmp_path / "polars")


def test_polars_engine_matches_legacy_on_another_generated_universe(tmp_path):
    """Another seed, other symbols and calendars (two crypto assets, a benchmark that is not traded)."""
    data = tmp_path / "data"
    generate(data, ["QQQ", "XXX", "YYY", "BTC-USD", "SOL-USD"], dt.date(2015, 1, 1), dt.date(2018, 12, 31), seed=99)
    cfg = Config.from_dict(
        {
            "data_dir": str(data),
            "assets": ["XXX", "YYY", "BTC-USD", "SOL-USD"],
            "benchmark": "QQQ",
            "start_date": "2017-03-01",
            "end_date": "2018-06-30",
            "fold_length": 300,
            "step_size": 80,
            "embargo": 3,
            "window": "expanding",
            "horizon": 3,
            "model": {"kind": "lightgbm", "scope": "per_asset", "params": {"n_estimators": 15}},
            "strategy": {"long_threshold": 0.001, "short_threshold": 0.002, "cost_bps": 10.0},
            "output_dir": str(tmp_path / "legacy"),
        }
    )
    execute(cfg.replace(engine="legacy"))
    execute(cfg.replace(output_dir=str(tmp_path / "polars")))
    assert_same(tmp_path / "legacy", tmp_path / "polars")
