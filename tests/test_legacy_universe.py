"""Methodology §8 in the legacy engine: `assets: "all"`, point-in-time membership (member rows only train and only get
predictions), late listings and delistings as normal data, the membership file's checks and run.json's counts."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from tests.universe_inputs import DELISTED, LISTED, TRADED, WINDOWS, make_universe, universe_config
from walkforward.errors import DataError, DataWarning
from walkforward.legacy.engine import run as legacy_run
from walkforward.legacy.engine import split_fold
from walkforward.legacy.folds import Fold
from walkforward.legacy.universe import read_membership


def run_counted(config):
    """The legacy engine's result and its run.json `universe` counts (methodology §8)."""
    result = legacy_run(config)
    return result, result.universe


START, END = dt.date(2019, 1, 1), dt.date(2019, 6, 30)


@pytest.fixture(scope="module")
def universe(tmp_path_factory) -> tuple[Path, Path]:
    return make_universe(tmp_path_factory.mktemp("universe"))


@pytest.fixture(scope="module")
def members(universe):
    """The per-asset run with the membership file: (tables as Polars frames, counts)."""
    prices, membership = universe
    with pytest.warns(DataWarning, match="ZZZ"):
        result, counts = run_counted(universe_config(prices, universe=str(membership), **{"model.scope": "per_asset"}))
    return {name: pl.from_arrow(table) for name, table in result.tables.items()}, counts


def is_member(symbol: str, day: dt.date) -> bool:
    return any(lo <= day <= hi for lo, hi in WINDOWS.get(symbol, []))


def test_assets_all_trades_every_symbol_but_the_benchmark(universe):
    prices, _ = universe
    everything, counts = run_counted(universe_config(prices))
    listed, _ = run_counted(universe_config(prices, assets=TRADED))
    for name, table in everything.tables.items():
        assert table.equals(listed.tables[name]), name
    assert everything.metrics == listed.metrics
    assert sorted(everything.metrics["per_asset"]) == TRADED and counts["assets"] == len(TRADED)


def test_assets_all_on_a_folder_of_per_symbol_csvs(universe, tmp_path):
    data = tmp_path / "csv"
    shutil.copytree(universe[0].parent.parent / "csv", data)
    result, _ = run_counted(universe_config(data, end_date="2019-03-31"))
    assert sorted(result.metrics["per_asset"]) == TRADED


def test_assets_all_needs_a_symbol_besides_the_benchmark(universe, tmp_path):
    path = tmp_path / "spy.parquet"
    pl.read_parquet(universe[0]).filter(symbol="SPY").write_parquet(path)
    with pytest.raises(DataError, match=r'^assets is "all" but \S+ holds no symbol other than the benchmark SPY; '):
        run_counted(universe_config(path))


def test_only_member_rows_get_predictions(members):
    tables, _ = members
    predictions = tables["predictions"]
    predicted = predictions.filter(pl.col("prediction").is_not_null())
    assert predicted.height > 0
    for symbol, day in predicted.select("symbol", "date").iter_rows():
        assert is_member(symbol, day), (symbol, day)
    assert not predicted.filter(symbol="ETH-USD").height  # absent from the file: never a member
    assert predictions.filter(symbol="ETH-USD").height  # ... but its test rows are there, without a prediction
    outside = predictions.filter(pl.col("prediction").is_null())
    assert (outside["position"] == 0).all()
    gap = predictions.filter(
        (pl.col("symbol") == "AAA") & pl.col("date").is_between(dt.date(2019, 3, 16), dt.date(2019, 4, 30))
    )
    assert gap.height and gap["prediction"].is_null().all()
    assert predicted.filter(symbol="AAA", date=dt.date(2019, 3, 15)).height == 1  # the window's last day is in


def test_late_listings_and_delistings_are_normal_data(members):
    tables, _ = members
    predictions = tables["predictions"]
    assert predictions.filter(symbol="BBB")["date"].min() == LISTED
    assert predictions.filter(symbol="CCC")["date"].max() == DELISTED
    assert predictions.filter(symbol="CCC", date=DELISTED)["position"].item() == 0  # no next return: no position


def test_non_members_do_not_train(members):
    """Per asset: ETH-USD (never a member) and BBB (listed too late to complete its 60-row features before a test
    window) train in no fold; AAA and CCC train in both."""
    tables, counts = members
    trained = tables["feature_importance"].select("fold", "symbol").unique().sort("fold", "symbol")
    assert trained.rows() == [(0, "AAA"), (0, "CCC"), (1, "AAA"), (1, "CCC")]
    assert counts["tasks_without_training_rows"] == 4


def test_split_fold_keeps_only_member_training_rows():
    days = pd.date_range("2020-01-01", periods=10, freq="D")
    features = pd.DataFrame(
        {"date": days, "f": 1.0, "target": 0.5, "label_end": days + pd.Timedelta(days=1), "member": [True, False] * 5}
    )
    stamp = pd.Timestamp
    fold = Fold(0, stamp("2020-01-01"), stamp("2020-01-08"), stamp("2020-01-09"), stamp("2020-01-11"), *[days[0]] * 4)
    train, test = split_fold(features, fold, _FeatureConfig(("f",)))
    assert train["member"].all() and list(train["date"]) == list(days[[0, 2, 4, 6]])
    assert len(test) == 2  # test rows stay, members or not: the engine gives non-members no prediction


class _FeatureConfig:
    def __init__(self, names: tuple[str, ...]):
        self.feature_names = names


def test_universe_counts(members, universe):
    """By hand: four traded assets; BBB lists after 2019-01-01, CCC delists before 2019-06-30; the test rows are the
    traded assets' rows in 2019H1, of which ETH-USD's all, AAA's from 03-16 to 04-30 and BBB's before 03-01 are
    outside membership."""
    _, counts = members
    panel = pl.read_parquet(universe[0]).filter(pl.col("symbol").is_in(TRADED), pl.col("date").is_between(START, END))
    outside = sum(not is_member(s, d) for s, d in panel.select("symbol", "date").iter_rows())
    assert counts == {
        "assets": 4,
        "listed_after_start": 1,
        "delisted_before_end": 1,
        "test_rows": panel.height,
        "test_rows_outside_membership": outside,
        "tasks_without_training_rows": 4,
    }


def test_a_member_without_data_is_a_warning(universe, tmp_path):
    prices, membership = universe
    with pytest.warns(DataWarning) as caught:
        run_counted(universe_config(prices, universe=str(membership), end_date="2019-03-31"))
    assert [str(w.message) for w in caught] == [
        f"{membership}: 1 member symbol without data in {prices} (ZZZ) cannot be traded; add their data or check the "
        "symbols"
    ]


NEEDS = re.escape("a universe file needs columns symbol,start,end")
BAD_FILES = [
    (
        "symbol,from,end\nAAA,2019-01-01,2019-02-01\n",
        rf"^\S+: missing column 'start' \(found: symbol, from, end\); {NEEDS}",
    ),
    ("symbol,start,end\n", rf"^\S+: has no rows; {NEEDS}"),
    ("", r"^\S+: cannot be read as CSV \(.*\); "),
    (
        "symbol,start,end\nAAA,2019-01-01,2019-02-01\n,2019-01-01,2019-02-01\n",
        r"^\S+ line 3: missing symbol value; fill",
    ),
    ("Symbol,Start,End\nAAA,2019-01-01,\n", r"^\S+ line 2: missing end value; fill it in or remove the row$"),
    ("symbol,start,end\nAAA,2019-02-30,2019-03-01\n", r"line 2: start '2019-02-30' is not a YYYY-MM-DD date; fix it"),
    (
        "symbol,start,end\nAAA,2019-01-01,1/2/2019\n",
        r"line 2: end '1/2/2019' is not a YYYY-MM-DD date; fix it or remove",
    ),
    ("symbol,start,end\n\nAAA,2019-03-01,2019-02-01\n", r"line 3: start 2019-03-01 is after end 2019-02-01; swap them"),
]


@pytest.mark.parametrize(("text", "match"), BAD_FILES)
def test_a_bad_membership_file_is_one_line_naming_the_file_line_and_fix(tmp_path, text, match):
    path = tmp_path / "members.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=match) as info:
        read_membership(str(path))
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_a_missing_membership_file_names_the_key(tmp_path):
    with pytest.raises(DataError, match=r"^universe file '\S+nope\.csv' does not exist; check the path \(universe"):
        read_membership(str(tmp_path / "nope.csv"))


def test_membership_is_inclusive_and_absent_symbols_are_never_members(tmp_path):
    path = tmp_path / "members.csv"
    path.write_text(" symbol , start , end \n AAA , 2019-01-02 , 2019-01-03 \nAAA,2019-01-07,2019-01-07\n")
    membership = read_membership(str(path))
    days = pd.Series(pd.date_range("2019-01-01", "2019-01-08"))
    assert list(np.flatnonzero(membership.member("AAA", days))) == [1, 2, 6]
    assert not membership.member("BBB", days).any()
