"""Methodology §8 in the Polars engine: `assets: "all"` resolved against the data, a membership file masking training
and test rows, run.json's universe counts, the membership file's checks.

The panel: SPY (the benchmark) and five equities, 2017-2019, per-symbol CSVs; LATE lists on 2019-02-01 and GONE
delists on 2019-05-15. The run tests 2019H1 (2019-01-01 .. 2019-06-30, 124 NYSE sessions) in two folds of 63
sessions (fold 1 tests from 2019-04-03), each trained on the 200 sessions before it. The membership file (MEMBERS):
AAA is a member but in February 2019, GONE in two overlapping windows, HALF from 2019-02-15, LATE always; OUT is not
in the file.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import warnings

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from cli.main import app
from walkforward.compare import compare_runs
from walkforward.config import Config
from walkforward.data.generate import generate
from walkforward.data.universe import UniverseSpec, generate_universe
from walkforward.engine import fold_job, layout
from walkforward.errors import DataError, DataWarning
from walkforward.execution.checkpoints import RunDirError
from walkforward.features.matrix import Matrix
from walkforward.features.plan import start_features
from walkforward.models.registry import MODEL_KINDS
from walkforward.runner import execute
from walkforward.universe import Membership, read_membership, resolve, resolve_assets

SYMBOLS = ["SPY", "AAA", "GONE", "HALF", "LATE", "OUT"]
TRADED = ["AAA", "GONE", "HALF", "LATE", "OUT"]  # "all": every symbol but the benchmark, sorted
LISTED, DELISTED, JOINS = dt.date(2019, 2, 1), dt.date(2019, 5, 15), dt.date(2019, 2, 15)
MEMBERS = """Symbol,Start,End
AAA,2010-01-01,2019-01-31
AAA,2019-03-01,2030-12-31
GONE,2010-01-01,2019-03-31
GONE,2019-02-01,2030-12-31
HALF,2019-02-15,2030-12-31
LATE,2010-01-01,2030-12-31
"""


@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    out = tmp_path_factory.mktemp("members")
    generate(out, SYMBOLS, dt.date(2017, 1, 1), dt.date(2019, 12, 31), seed=7)
    for symbol, keep in (("LATE", pl.col("date") >= LISTED), ("GONE", pl.col("date") <= DELISTED)):
        frame = pl.read_csv(out / f"{symbol}.csv", try_parse_dates=True)
        frame.filter(keep).write_csv(out / f"{symbol}.csv", date_format="%Y-%m-%d")
    return out


def config(data, out=None, **changes) -> Config:
    cfg = Config.from_dict(
        {
            "data_path": str(data / "prices"),
            "assets": "all",
            "benchmark": "SPY",
            "start_date": "2019-01-01",
            "end_date": "2019-06-30",
            "fold_length": 200,
            "step_size": 63,
            "model": {"kind": "lightgbm", "params": {"n_estimators": 5}},
            "n_jobs": 1,
            **({"output_dir": str(out)} if out is not None else {}),
        }
    )
    return cfg.replace(**changes) if changes else cfg


@pytest.fixture(scope="module")
def data(panel, tmp_path_factory):
    """`prices/`: the per-symbol CSVs; `members.csv` beside it."""
    root = tmp_path_factory.mktemp("data")
    (root / "prices").mkdir()
    for symbol in SYMBOLS:
        shutil.copy(panel / f"{symbol}.csv", root / "prices" / f"{symbol}.csv")
    (root / "members.csv").write_text(MEMBERS)
    return root


@pytest.fixture(scope="module")
def run_members(data, tmp_path_factory):
    """The per-asset run with the membership file: (predictions, importance, run.json)."""
    out = tmp_path_factory.mktemp("run-members")
    execute(config(data, out, universe=str(data / "members.csv"), **{"model.scope": "per_asset"}))
    tables = (pl.read_parquet(out / f"{t}.parquet") for t in ("predictions", "feature_importance"))
    return (*tables, json.loads((out / "run.json").read_text()))


# --- assets "all" -------------------------------------------------------------------------------------------


def test_all_is_every_symbol_in_a_csv_folder_but_the_benchmark(data, tmp_path):
    folder = tmp_path / "prices"
    shutil.copytree(data / "prices", folder)
    (folder / "_skipped.csv").write_text("not,data\n")  # names starting with "_" or "." are not symbols
    (folder / ".hidden.csv").write_text("not,data\n")
    assert resolve_assets(config(data, data_path=str(folder))).assets == tuple(TRADED)
    assert resolve_assets(config(data, benchmark="AAA")).assets == ("GONE", "HALF", "LATE", "OUT", "SPY")
    explicit = config(data, assets=["SPY", "AAA"])  # the benchmark trades when listed explicitly
    assert resolve_assets(explicit) is explicit and explicit.symbols == ("SPY", "AAA")


def test_all_is_every_symbol_of_a_long_parquet_file_but_the_benchmark(data, tmp_path):
    frames = [
        pl.read_csv(data / "prices" / f"{s}.csv", try_parse_dates=True).with_columns(symbol=pl.lit(s)) for s in SYMBOLS
    ]
    pl.concat(frames).sample(fraction=1.0, seed=1).write_parquet(tmp_path / "prices.parquet")  # rows in any order
    cfg = config(data, tmp_path / "out", data_path=str(tmp_path / "prices.parquet"))
    assert resolve_assets(cfg).assets == tuple(TRADED)
    _, info = execute(cfg)
    assert info["config"]["assets"] == "all"  # the config as given; the resolved list beside it
    assert info["universe"]["symbols"] == TRADED
    predictions = pl.read_parquet(tmp_path / "out" / "predictions.parquet")
    assert sorted(predictions["symbol"].unique()) == TRADED  # SPY is read (calendar, corr_60) but not traded


def test_all_with_only_the_benchmark_in_the_data_is_an_error(data, tmp_path):
    (tmp_path / "SPY.csv").write_bytes((data / "prices" / "SPY.csv").read_bytes())
    with pytest.raises(DataError, match=r'^assets "all": the data at .* holds no symbol but the benchmark SPY; add'):
        resolve_assets(config(data, data_path=str(tmp_path)))


def test_all_gives_the_outputs_of_the_explicit_list_bit_for_bit(data, tmp_path):
    execute(config(data, tmp_path / "all"))
    execute(config(data, tmp_path / "list", assets=TRADED))
    assert compare_runs(tmp_path / "all", tmp_path / "list", tolerance=0.0).ok


# --- membership ---------------------------------------------------------------------------------------------


def test_training_rows_outside_membership_are_left_out(data, monkeypatch):
    """The unified model of each fold sees exactly the rows it saw without the file, less the non-member ones."""
    cfg = config(data, universe=str(data / "members.csv"))
    universe = resolve(cfg)
    m = Matrix.from_frame(start_features(universe.config)[0].result(), cfg.feature_names)
    kind = MODEL_KINDS["lightgbm"]
    seen: list[np.ndarray] = []
    fit = kind.fit
    monkeypatch.setattr(kind, "fit", lambda params, X, y, **kw: (seen.append(y), fit(params, X, y, **kw))[1])
    member = universe.member(m)
    for f in (0, 1):
        fold_job(m, layout(m, universe.config), universe.config, keep_models=False)((f, "*"), None)
        fold_job(m, layout(m, universe.config, member), universe.config, keep_models=False)((f, "*"), None)
    outside = set(m.y[~member & ~np.isnan(m.y)].tolist())  # targets are distinct floats: they name their rows
    for everyone, members in zip(seen[0::2], seen[1::2], strict=True):
        assert set(members.tolist()) == set(everyone.tolist()) - outside
        assert len(members) < len(everyone)


def test_test_rows_outside_membership_get_no_prediction_and_no_position(run_members):
    predictions, importance, _ = run_members
    half = predictions.filter(pl.col("symbol") == "HALF")
    # HALF's fold-0 task has no member training row (it joins on 2019-02-15, fold 0 trains on 2018): no model, no
    # prediction; fold 1 trains on its rows from 2019-02-15 and predicts every test row
    assert half.filter(pl.col("prediction").is_not_null())["date"].min() == dt.date(2019, 4, 3)
    assert half.filter(pl.col("fold") == 1)["prediction"].null_count() == 0
    aaa = predictions.filter(pl.col("symbol") == "AAA")
    february = pl.col("date").dt.month() == 2
    assert aaa.filter(february)["prediction"].null_count() == aaa.filter(february).height == 19
    assert aaa.filter(~february)["prediction"].null_count() == 0
    assert (aaa.filter(february)["position"] == 0).all() and (half.filter(pl.col("fold") == 0)["position"] == 0).all()
    out = predictions.filter(pl.col("symbol") == "OUT")  # not in the file: never a member, never traded
    assert out.height == 124 and out["prediction"].null_count() == 124 and (out["position"] == 0).all()
    assert importance.filter(pl.col("symbol") == "OUT").is_empty()


def test_a_symbol_absent_from_the_file_never_trades(data, tmp_path):
    execute(config(data, tmp_path, universe=str(data / "members.csv")))  # unified: OUT still gets no prediction
    predictions = pl.read_parquet(tmp_path / "predictions.parquet")
    trades = pl.read_parquet(tmp_path / "trades.parquet")
    assert predictions.filter(pl.col("symbol") == "OUT")["prediction"].null_count() == 124
    assert trades.filter(pl.col("symbol") == "OUT").is_empty()
    assert not trades.filter(pl.col("symbol") == "AAA").is_empty()


def test_the_universe_counts_in_run_json_by_hand(run_members, data):
    _, _, info = run_members
    # Sessions of 2019H1 (NYSE): Jan 21, Feb 19, Mar 21, Apr 21, May 22, Jun 20 = 124.
    # Test rows: AAA, HALF, OUT 124 each; LATE from Feb 1: 124 - 21 = 103; GONE to May 15: 21+19+21+21+11 = 93.
    # Outside membership: AAA's February (19), HALF before Feb 15 (21 + Feb 1, 4-8, 11-14: 10 = 31), OUT (124);
    # GONE's overlapping windows cover it, LATE is always a member.
    # Tasks without training rows (per asset, 2 folds): LATE both (listed Feb 1: corr_60 is not warm by Apr 2), OUT
    # both (never a member), HALF fold 0 (trained on 2018) = 5.
    assert info["universe"] == {
        "symbols": TRADED,
        "membership": str(data / "members.csv"),
        "assets": 5,
        "listed_after_start": 1,  # LATE
        "delisted_before_end": 1,  # GONE
        "test_rows": 3 * 124 + 103 + 93,
        "test_rows_outside_membership": 19 + 31 + 124,
        "tasks_without_training_rows": 5,
    }
    assert info["config"]["assets"] == "all" and info["config"]["universe"] == str(data / "members.csv")


def test_a_membership_file_covering_every_row_changes_nothing(data, tmp_path):
    everyone = tmp_path / "everyone.csv"
    everyone.write_text("end,symbol,start\n" + "".join(f"2030-01-01,{s},2000-01-01\n" for s in TRADED))
    execute(config(data, tmp_path / "none"))
    _, info = execute(config(data, tmp_path / "file", universe=str(everyone)))
    assert compare_runs(tmp_path / "none", tmp_path / "file", tolerance=0.0).ok
    assert info["universe"]["test_rows_outside_membership"] == 0


def test_a_member_symbol_without_data_is_a_warning(data, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(MEMBERS + "NODATA,2019-01-01,2019-12-31\n")
    with pytest.warns(DataWarning, match=r"m\.csv: 1 member symbol without data in .* \(NODATA\) cannot be traded"):
        resolve(config(data, universe=str(path)))


def test_resume_refuses_a_changed_membership_file(data, tmp_path):
    path = tmp_path / "m.csv"
    path.write_text(MEMBERS)
    cfg = config(data, tmp_path / "out", universe=str(path))
    execute(cfg)
    path.write_text(MEMBERS.replace("2019-02-15", "2019-03-15"))
    with pytest.raises(RunDirError, match="the data changed"):
        execute(cfg, resume=True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("symbol,start\nA,2019-01-01\n", r"m\.csv: missing column 'end' \(found: symbol, start\); a membership file"),
        ("symbol,strat,end\nA,2019-01-01,2019-02-01\n", r"missing column 'start'.*rename column 'strat' to 'start'"),
        ("symbol,start,end\n", r"m\.csv: has a header but no rows; add one row per membership window"),
        ("", r"m\.csv: the file is empty; a membership file needs columns symbol,start,end"),
        ("symbol,start,end\nA,2019-01-01,2019-02-01\n\nB,2019-13-01,2019-12-31\n",
         r"m\.csv line 4: start '2019-13-01' is not a YYYY-MM-DD date; write it like 2020-01-31$"),
        ("symbol,start,end\nA,2019-01-01,2019-2-1\nB,2019-01-01,01/02/2019\n",
         r"m\.csv line 2: end '2019-2-1' is not a YYYY-MM-DD date; write it like 2020-01-31 \(1 more such row\)$"),
        ("symbol,start,end\nA,2019-03-01,2019-02-01\n",
         r"m\.csv line 2: start 2019-03-01 is after end 2019-02-01; swap them or fix the row$"),
        ("symbol,start,end\n ,2019-01-01,2019-02-01\n", r"m\.csv line 2: missing symbol; fill it in or remove the row"),
        ("symbol,start,end\nA,,2019-02-01\n", r"m\.csv line 2: missing start; fill it in or remove the row"),
    ],
)  # fmt: skip
def test_membership_file_errors_name_the_file_the_line_and_the_fix(tmp_path, text, message):
    path = tmp_path / "m.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_membership(path)


def test_a_missing_membership_file_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"^membership file '.*nope\.csv' does not exist; pass --universe with a CSV"):
        read_membership(tmp_path / "nope.csv")


DAY0 = np.datetime64("2019-01-01", "D")


@given(
    windows=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 60), st.integers(0, 30)), max_size=8),
    rows=st.lists(st.tuples(st.integers(0, 3), st.integers(-5, 95)), min_size=1, max_size=40),
)
def test_member_is_whether_a_window_holds_the_date(windows, rows):
    """Windows of symbols A..D (E has none; some overlap) against a loop over rows and windows."""
    names = ("A", "B", "C", "D", "E")
    order = sorted(windows)
    membership = Membership(
        path="m.csv",
        symbol=np.array([names[w[0]] for w in order], dtype=str),
        start=np.array([DAY0 + w[1] for w in order], dtype="datetime64[D]"),
        end=np.array([DAY0 + w[1] + w[2] for w in order], dtype="datetime64[D]"),
        sha256="",
    )
    codes = np.array([r[0] for r in rows], dtype=np.int32)
    dates = np.array([DAY0 + r[1] for r in rows], dtype="datetime64[D]")
    expected = [any(s == c and a <= d <= a + n for s, a, n in windows) for c, d in rows]
    assert membership.member(codes, names, dates).tolist() == expected


# --- the command line ---------------------------------------------------------------------------------------


def test_wf_run_takes_assets_all_and_a_universe(data, tmp_path):
    flags = f"--data-path {data / 'prices'} --start-date 2019-01-01 --end-date 2019-06-30 --fold-length 200 "
    flags += f"--step-size 63 --n-jobs 1 --quiet --assets all --universe {data / 'members.csv'}"
    done = CliRunner().invoke(app, ["run", *flags.split(), "--output-dir", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    assert info["config"]["assets"] == "all" and info["universe"]["symbols"] == TRADED
    bad = tmp_path / "bad.csv"
    bad.write_text("symbol,start,end\nAAA,2019-03-01,2019-02-01\n")
    done = CliRunner().invoke(app, ["run", *flags.split()[:-1], str(bad), "--output-dir", str(tmp_path / "bad")])
    assert done.exit_code == 2 and "bad.csv line 2: start 2019-03-01 is after end 2019-02-01" in done.stderr
    assert not (tmp_path / "bad" / "checkpoints").exists()  # bad input leaves no run behind


# --- a research universe ------------------------------------------------------------------------------------


def test_a_run_on_a_generated_universe_trades_members_only(tmp_path):
    spec = UniverseSpec(n_symbols=8, start="2016-01-01", end="2018-12-31", seed=3, sectors=2, seasoning=20)
    prices, members = generate_universe(tmp_path / "u", spec)
    cfg = Config.from_dict(
        {
            "data_path": str(prices),
            "assets": "all",
            "universe": str(members),
            "benchmark": "SPX",
            "start_date": "2018-01-01",
            "end_date": "2018-12-31",
            "fold_length": 200,
            "step_size": 126,
            "model": {"kind": "lightgbm", "params": {"n_estimators": 5}},
            "n_jobs": 1,
            "output_dir": str(tmp_path / "out"),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)  # gaps of a collapsing symbol are data warnings, by design
        _, info = execute(cfg)
    windows = pl.read_csv(members, try_parse_dates=True)
    predictions = pl.read_parquet(tmp_path / "out" / "predictions.parquet")
    held = predictions.join(windows, on="symbol", how="left").with_columns(
        inside=(pl.col("date") >= pl.col("start")) & (pl.col("date") <= pl.col("end"))
    )
    member = held.group_by("symbol", "date").agg(pl.col("inside").fill_null(False).any())
    predicted = predictions.filter(pl.col("prediction").is_not_null()).join(member, on=["symbol", "date"])
    assert predicted.height > 0 and predicted["inside"].all()  # every prediction is on a member row
    outside = member.filter(~pl.col("inside")).height
    assert info["universe"]["symbols"] == [f"S{i:04d}" for i in range(1, 9)]
    assert info["universe"]["test_rows"] == predictions.height
    assert info["universe"]["test_rows_outside_membership"] == outside
