"""Parity where predictions are missing: an asset listed after start_date, one delisted before end_date, a 30-session
gap inside a test window, a feature warm-up inside a test window, and per-asset scope with an asset that has no
training rows in the first folds. Both engines run each case; trades are identical and everything else agrees within
1e-9 (tests/test_parity_engine.py's `assert_same`)."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import polars as pl
import pytest

from tests.panels import PARITY_CASES
from tests.test_parity_engine import assert_same
from walkforward.config import Config
from walkforward.data.generate import generate
from walkforward.runner import execute

SYMBOLS = ["SPY", "LATE", "GONE", "GAP", "ETH-USD"]
START, END = dt.date(2018, 7, 1), dt.date(2019, 6, 30)
LISTED = dt.date(2018, 9, 17)  # LATE's first row: after start_date, inside the first test window
DELISTED = dt.date(2019, 2, 15)  # GONE's last row: before end_date
GAP = (dt.date(2018, 10, 15), dt.date(2018, 11, 26))  # GAP has no rows in between: 30 sessions, inside fold 1
ETH_LISTED = dt.date(2018, 5, 20)  # 60-row correlation warms up inside the first test window


def _keep(path, keep: pl.Expr) -> None:
    frame = pl.read_csv(path, try_parse_dates=True)
    frame.filter(keep).write_csv(path, date_format="%Y-%m-%d")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("missing")
    generate(out, SYMBOLS, dt.date(2016, 1, 1), dt.date(2019, 12, 31), seed=11)
    date = pl.col("date")
    _keep(out / "LATE.csv", date >= LISTED)
    _keep(out / "GONE.csv", date <= DELISTED)
    _keep(out / "GAP.csv", (date < GAP[0]) | (date > GAP[1]))
    _keep(out / "ETH-USD.csv", date >= ETH_LISTED)
    return out


def config(data, out, **changes) -> Config:
    cfg = Config.from_dict(
        {
            "data_dir": str(data),
            "assets": SYMBOLS,
            "benchmark": "SPY",
            "start_date": START.isoformat(),
            "end_date": END.isoformat(),
            "fold_length": 150,
            "step_size": 63,
            "model": {"kind": "lightgbm", "params": {"n_estimators": 10}},
            "output_dir": str(out),
            "n_jobs": 2,
        }
    )
    return cfg.replace(**changes) if changes else cfg


def run_both(data, tmp_path, **changes):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # GAP's 30-session gap is a data warning, by design
        execute(config(data, tmp_path / "legacy", engine="legacy", **changes))
        execute(config(data, tmp_path / "polars", **changes))
    assert_same(tmp_path / "legacy", tmp_path / "polars")
    overall = json.loads((tmp_path / "polars" / "metrics.json").read_text())["overall"]
    assert overall["long_short_spread"] is not None  # 5 assets on most dates: the quantile returns were compared
    return tmp_path / "polars"


CASES = PARITY_CASES


@pytest.mark.parametrize("case", CASES)
def test_engines_agree_where_predictions_are_missing(dataset, tmp_path, case):
    run_both(dataset, tmp_path, **CASES[case])


def test_per_asset_scope_skips_an_asset_without_training_rows_and_finishes(dataset, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        execute(config(dataset, tmp_path, **{"model.scope": "per_asset"}))
    folds = json.loads((tmp_path / "run.json").read_text())["folds"]
    predictions = pl.read_parquet(tmp_path / "predictions.parquet")
    importance = pl.read_parquet(tmp_path / "feature_importance.parquet")
    late = predictions.filter(pl.col("symbol") == "LATE")
    # LATE is listed inside fold 0's test window: no training rows, so no model and no prediction in fold 0 ...
    assert late.filter(pl.col("fold") == 0)["prediction"].null_count() == late.filter(pl.col("fold") == 0).height
    assert importance.filter((pl.col("symbol") == "LATE") & (pl.col("fold") == 0)).height == 0
    # ... and the run went on: every other asset has its models, and LATE trades once it has history
    assert importance.filter(pl.col("fold") == 0)["symbol"].n_unique() == len(SYMBOLS) - 2  # LATE, ETH-USD warm up
    assert late["prediction"].null_count() < late.height
    assert len(folds) == importance["fold"].n_unique()


def test_the_portfolio_has_no_cash_drag_before_a_listing_with_available_weights(dataset, tmp_path):
    out = run_both(dataset, tmp_path)
    returns = pl.read_parquet(out / "returns.parquet")
    spy_dates = returns.filter(pl.col("series") == "SPY").select("date")
    before_listing = (pl.col("date") > dt.date(2018, 7, 20)) & (pl.col("date") < LISTED)
    exposure = returns.filter((pl.col("series") == "portfolio") & before_listing).join(spy_dates, on="date")["position"]
    # "available" weights: before LATE lists, SPY, GONE, GAP and (once warmed up, mid-July) ETH-USD each hold 1/4;
    # thresholds are 0, so every prediction gives a position, and on a date when SPY earns every available asset
    # earns: the book is fully invested (with "equal" weights it would hold 4/5)
    assert exposure.len() > 30
    assert (exposure - 1.0).abs().max() < 1e-12
