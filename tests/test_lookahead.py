"""The look-ahead check (`wf features check`): no built-in feature kind uses data after its date; a custom feature
that does (`shift(-1)`) is caught, named, at the right symbol and date; the command exits 1 then, 0 otherwise."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from typer.testing import CliRunner

from cli.main import app
from walkforward.config import Config
from walkforward.data.generate import generate
from walkforward.errors import ConfigError
from walkforward.features.lookahead import MAX_CUTS, check_lookahead, cut_dates
from walkforward.features.registry import FEATURE_KINDS

SYMBOLS = ["SPY", "AAA", "ETH-USD"]  # ETH-USD trades at weekends too: two calendars
# every built-in kind, each with a short window and a longer one
EVERY_KIND = {name: [max(kind.minimum, 3), 15] for name, kind in FEATURE_KINDS.items()}
LEAKY = {"name": "peek", "function": "tests.custom_features:leaky"}
MOM = {"name": "mom", "function": "tests.custom_features:momentum", "params": {"long": 10, "short": 2}}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("lookahead")
    generate(out, SYMBOLS, dt.date(2019, 1, 1), dt.date(2019, 8, 31), seed=3)
    return out


def config(data, *custom) -> Config:
    return Config.from_dict(
        {"data_path": str(data), "assets": SYMBOLS, "features": {**EVERY_KIND, "custom": list(custom)}}
    )


def test_cut_dates_are_evenly_spaced_inside_the_data():
    days = pl.Series([dt.date(2024, 1, d) for d in (5, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 3)])  # 11 distinct, unsorted
    # positions round(i * 10 / (n + 1)) of the 11 sorted dates, i = 1..n: n = 4 -> 2, 4, 6, 8; n = 1 -> 5
    assert cut_dates(days, 4) == [dt.date(2024, 1, d) for d in (3, 5, 7, 9)]
    assert cut_dates(days, 1) == [dt.date(2024, 1, 6)]
    # never the first or last date, each once: 20 cuts of 11 dates are the 9 inner ones
    assert cut_dates(days, 20) == [dt.date(2024, 1, d) for d in range(2, 11)]
    for n in (0, MAX_CUTS + 1, 10**20):  # a huge count would build a feature plan per cut (and loop for ever)
        with pytest.raises(ConfigError, match=rf"^--cuts must be between 1 and {MAX_CUTS} \(each cut .*\), got {n}$"):
            cut_dates(days, n)


def test_no_built_in_feature_kind_looks_ahead(data):
    cfg = config(data, MOM)
    assert {name.rsplit("_", 1)[0] for name in cfg.feature_names[:-1]} == set(FEATURE_KINDS)  # every kind is in
    assert check_lookahead(cfg, cuts=4) == []


def test_the_cross_section_does_not_look_ahead(data):
    spec = {"rank": ["ret_3", "beta_15", "mom"], "zscore": ["parkinson_3", "mom"], "min_assets": 2}
    cfg = Config.from_dict(
        {"data_path": str(data), "assets": SYMBOLS, "features": {**EVERY_KIND, "custom": [MOM], "cross_section": spec}}
    )
    assert cfg.feature_names[-5:] == (
        "ret_3_csrank",
        "beta_15_csrank",
        "mom_csrank",
        "parkinson_3_cszscore",
        "mom_cszscore",
    )
    assert check_lookahead(cfg, cuts=3) == []


def test_a_leaky_custom_feature_is_caught_at_each_assets_last_row_before_each_cut(data):
    cfg = config(data, MOM, LEAKY)
    findings = check_lookahead(cfg, cuts=3)
    assert {f.feature for f in findings} == {"peek"}
    prices = pl.concat(
        [pl.read_csv(data / f"{s}.csv", try_parse_dates=True).with_columns(symbol=pl.lit(s)) for s in SYMBOLS]
    )
    cuts = cut_dates(prices["date"], 3)
    # shift(-1) reads the next row: only the last row at or before the cut has it in the full data and lacks it in
    # the cut data; one finding per asset and cut, the full value a number, the cut one missing
    want = {
        (s, prices.filter((pl.col("symbol") == s) & (pl.col("date") <= cut))["date"].max(), cut)
        for s in SYMBOLS
        for cut in cuts
    }
    assert {(f.symbol, f.date, f.cut) for f in findings} == want
    assert len(findings) == len(want)
    assert all(f.full is not None and f.truncated is None for f in findings)
    assert len(check_lookahead(cfg, cuts=3, tolerance=1.0)) == len(want)  # a missing value is never within it


runner = CliRunner()


def write(tmp_path, data, *custom):
    path = tmp_path / "config.json"
    raw = {"data_path": str(data), "assets": SYMBOLS, "features": {**EVERY_KIND, "custom": list(custom)}}
    path.write_text(json.dumps(raw))
    return str(path)


def test_wf_features_check_exits_1_naming_the_leaky_feature(tmp_path, data):
    result = runner.invoke(app, ["features", "check", "--config", write(tmp_path, data, MOM, LEAKY), "--cuts", "2"])
    assert result.exit_code == 1, result.output
    assert "peek" in result.output and "mom" not in result.output
    assert "look-ahead: 6 values at or before a cut changed, in peek" in result.output  # 3 assets x 2 cuts


def test_wf_features_check_exits_0_with_one_ok_line(tmp_path, data):
    result = runner.invoke(app, ["features", "check", "--config", write(tmp_path, data, MOM), "--cuts", "2"])
    assert result.exit_code == 0, result.output
    n = 2 * len(FEATURE_KINDS) + 1  # two windows of every kind, and mom
    assert result.output.strip() == f"OK: {n} features, 2 cuts: no value at or before a cut changed"


def test_wf_features_check_reports_a_bad_custom_feature_in_one_line(tmp_path, data):
    bad = {"name": "x", "function": "tests.custom_features:broken"}
    result = runner.invoke(app, ["features", "check", "--config", write(tmp_path, data, bad)])
    assert result.exit_code == 2
    assert "function 'tests.custom_features:broken' raised ValueError: n=1 is not supported" in result.output
