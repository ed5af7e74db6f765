"""Custom features (config `features.custom`): by import path or as a pl.Expr, evaluated per asset in date order by
the plan and, independently, by the legacy engine; one-line errors; part of the checkpoints' identity and of
run.json's config as given."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest
from hypothesis import given

from tests.panels import panels, to_pandas_asset
from tests.test_parity_features import check_parity
from walkforward.config import Config
from walkforward.errors import ConfigError
from walkforward.execution.checkpoints import Checkpoints, RunDirError, result_config
from walkforward.features.plan import feature_plan
from walkforward.legacy.custom import custom_columns

MOM = {"name": "mom", "function": "tests.custom_features:momentum", "params": {"long": 2, "short": 1}}
SPAN = {"name": "span", "function": "tests.custom_features:range_ratio", "params": {"n": 2}}
FEATURES = {"ret": [1], "sma_ratio": [], "rsi": [], "vol": [], "corr": [], "volume_z": []}


def config(*custom, **raw) -> Config:
    return Config.from_dict({"benchmark": "BENCH", "features": {**FEATURES, "custom": list(custom)}, **raw})


# --- config -----------------------------------------------------------------------------------------


def test_custom_features_follow_the_built_in_ones_in_config_order():
    cfg = config(SPAN, MOM, {"name": "r2", "expr": pl.col("close").pct_change(2)})
    assert cfg.feature_names == ("ret_1", "span", "mom", "r2")
    assert [c.params for c in cfg.features.custom] == [{"n": 2}, {"long": 2, "short": 1}, {}]


def test_the_config_round_trips_with_functions_and_expressions():
    expr = pl.col("close").pct_change(2)
    cfg = config(MOM, {"name": "r2", "expr": expr})
    given_back = cfg.to_dict()["features"]["custom"]
    assert given_back[0] == MOM and given_back[1]["expr"] is expr  # as given
    assert Config.from_dict(cfg.to_dict()) == cfg
    assert cfg.replace(n_jobs=2).features == cfg.features  # replace keeps the expression, not its text
    assert config(MOM) != config({**MOM, "params": {"long": 3, "short": 1}})
    assert config({"name": "r2", "expr": expr}) != config({"name": "r2", "expr": pl.col("close").pct_change(3)})


def test_the_default_config_has_no_custom_features_and_writes_none():
    assert Config().features.custom == ()
    assert "custom" not in Config().to_dict()["features"]
    assert "custom" not in result_config(Config())["features"]


@pytest.mark.parametrize(
    ("entry", "pattern"),
    [
        ({"name": "a", "function": "tests.nope:x"}, r"cannot import module 'tests.nope' of function 'tests.nope:x'"),
        ({"name": "a", "function": "tests.custom_features:nope"}, r"has no attribute 'nope'.*check the name after"),
        ({"name": "a", "function": "tests.custom_features:NOT_CALLABLE"}, r"is not callable \(a int\)"),
        ({"name": "a", "function": "tests.custom_features"}, r'must be an import path "module:function"'),
        ({"name": "a", "function": "tests.custom_features:broken"}, r"'tests.custom_features:broken' raised ValueErr"),
        ({"name": "a", "function": "tests.custom_features:not_an_expr"}, r"returned float, not a Polars expression"),
        ({**MOM, "params": {"wrong": 1}}, r"momentum' raised TypeError: .*unexpected keyword"),
        ({"name": "a", "expr": 3}, r"\('a'\)\.expr must be a Polars expression \(pl\.Expr\), got int"),
        ({"name": "a", "expr": 'col("close")'}, r"got the text 'col\(\"close\"\)'"),
        ({"name": "a", "expr": pl.col("bench_close")}, r"reads 'bench_close'; a custom feature reads only"),
        ({"name": "a"}, r'needs exactly one of "function"'),
        ({"name": "a", "expr": pl.col("close"), "params": {}}, r'"params" go with "function"'),
        ({"name": "a", "func": "x:y"}, r"unknown config key in features.custom\[0\]: 'func'. Did you mean: 'function'"),
        ({**MOM, "name": "ret_1"}, r"'ret_1' clashes with a built-in or reserved column name"),
        ({**MOM, "name": "vol_60"}, r"'vol_60' clashes"),  # a built-in kind's name, even when not configured
        ({**MOM, "name": "close"}, r"'close' clashes"),
        ({**MOM, "name": "mom_csrank"}, r"'mom_csrank' clashes"),
        ({**MOM, "name": "1mom"}, r"'1mom' is not a column name"),
        ({**MOM, "name": "mom_"}, r"'mom_' is not a column name"),
        ({**MOM, "name": 3}, r"features.custom\[0\].name must be a string"),
    ],
)
def test_bad_custom_features_are_one_line_config_errors(entry, pattern):
    with pytest.raises(ConfigError, match=pattern) as info:
        config(entry)
    assert "\n" not in str(info.value)


def test_a_module_that_fails_as_it_is_imported_is_a_one_line_config_error(tmp_path, monkeypatch):
    (tmp_path / "fails_on_import.py").write_text('raise RuntimeError("no data\\nhere")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match=r"importing module 'fails_on_import' .* raised RuntimeError: no data here"):
        config({"name": "a", "function": "fails_on_import:f"})


def test_two_custom_features_of_one_name_are_refused():
    with pytest.raises(ConfigError, match=r"custom\[1\].name 'mom' names another custom feature too"):
        config(MOM, MOM)
    with pytest.raises(ConfigError, match=r"features.custom must be a list"):
        Config.from_dict({"features": {"custom": MOM}})


# --- the plan and the legacy engine -------------------------------------------------------------------

# BENCH trades every day; A skips 3 Jan. Closes chosen so the ratios are exact in binary
PANEL = pl.DataFrame(
    {
        "symbol": ["BENCH"] * 4 + ["A"] * 3,
        "date": [dt.date(2024, 1, d) for d in (1, 2, 3, 4, 1, 2, 4)],
        "open": [1.0] * 7,
        "high": [2.0, 4.0, 4.0, 8.0, 3.0, 3.0, 6.0],
        "low": [1.0, 2.0, 2.0, 4.0, 1.0, 1.0, 2.0],
        "close": [1.0, 2.0, 4.0, 8.0, 4.0, 2.0, 1.0],
        "volume": [1.0] * 7,
    }
)
# mom(long=2, short=1) = close_{t-1} / close_{t-2} - 1, on each asset's own rows:
#   BENCH: -, -, 2/1 - 1 = 1, 4/2 - 1 = 1;   A: -, -, 2/4 - 1 = -0.5 (A's third row is 4 Jan: BENCH's rows not used)
# span(n=2) = mean of (high - low) / close over 2 rows:
#   BENCH: (high-low)/close = 1, 1, 0.5, 0.5 -> -, 1, 0.75, 0.5;   A: 0.5, 1, 4 -> -, 0.75, 2.5
EXPECTED = {
    "BENCH": {"mom": [np.nan, np.nan, 1.0, 1.0], "span": [np.nan, 1.0, 0.75, 0.5]},
    "A": {"mom": [np.nan, np.nan, -0.5], "span": [np.nan, 0.75, 2.5]},
}


@pytest.mark.parametrize("symbol", ["BENCH", "A"])
def test_the_plan_evaluates_custom_features_per_asset_in_date_order(symbol):
    got = feature_plan(PANEL.lazy(), config(MOM, SPAN)).collect().filter(pl.col("symbol") == symbol)
    for name, want in EXPECTED[symbol].items():
        np.testing.assert_array_equal(got[name].fill_null(np.nan).to_numpy(), want)


@pytest.mark.parametrize("symbol", ["BENCH", "A"])
def test_the_legacy_engine_evaluates_them_on_the_assets_own_rows(symbol):
    columns = custom_columns(to_pandas_asset(PANEL, symbol), config(MOM, SPAN))
    assert list(columns) == ["mom", "span"]
    for name, want in EXPECTED[symbol].items():
        np.testing.assert_array_equal(columns[name].to_numpy(), want)


def test_an_integer_or_boolean_expression_is_a_float_feature():
    cfg = config({"name": "up", "expr": pl.col("close") > pl.col("open")})
    got = feature_plan(PANEL.lazy(), cfg).collect().sort("symbol", "date")
    assert got["up"].dtype == pl.Float64
    # close > open (1): A's closes 4, 2, 1, then BENCH's 1, 2, 4, 8
    assert got["up"].to_list() == [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0]


def test_nan_and_infinite_values_are_missing_in_both_engines():
    gap = pl.col("close") - pl.col("open")
    cfg = config({"name": "inv", "expr": 1 / gap}, {"name": "unit", "expr": gap / gap})
    got = feature_plan(PANEL.lazy(), cfg).collect().filter(pl.col("symbol") == "BENCH")
    # BENCH's close - open: 0, 1, 3, 7 -> 1/0 = inf and 0/0 = NaN on the first row are missing
    want = {"inv": [np.nan, 1.0, 1 / 3, 1 / 7], "unit": [np.nan, 1.0, 1.0, 1.0]}
    legacy = custom_columns(to_pandas_asset(PANEL, "BENCH"), cfg)
    for name, values in want.items():
        np.testing.assert_array_equal(got[name].fill_null(np.nan).to_numpy(), values)
        np.testing.assert_array_equal(legacy[name].to_numpy(), values)
    assert got["inv"].null_count() == 1 and not got["inv"].is_nan().any()  # a null, not a NaN


ODD = config(
    MOM,
    SPAN,
    {"name": "lagged_vol", "expr": pl.col("volume").shift(1).rolling_mean(3, min_samples=3)},
    horizon=3,
    fold_length=10,
)


@given(panels(max_rows=40))
def test_custom_features_match_legacy_on_odd_panels(panel):
    check_parity(panel, ODD)


# --- identity: checkpoints and run.json -----------------------------------------------------------------


def test_checkpoints_refuse_to_resume_with_changed_params(tmp_path):
    Checkpoints(tmp_path).prepare(config(MOM), "fp", resume=False, overwrite=False)
    changed = config({**MOM, "params": {"long": 3, "short": 1}})
    with pytest.raises(RunDirError, match=r"features.custom was .*'long': 2.*now .*'long': 3"):
        Checkpoints(tmp_path).prepare(changed, "fp", resume=True, overwrite=False)
    Checkpoints(tmp_path).prepare(config(MOM), "fp", resume=True, overwrite=False)  # the same config resumes


def test_checkpoints_key_on_the_expression_not_only_on_its_name(tmp_path):
    first = config({"name": "r", "expr": pl.col("close").pct_change(2)})
    Checkpoints(tmp_path).prepare(first, "fp", resume=False, overwrite=False)
    with pytest.raises(RunDirError, match=r"cannot resume .*features.custom was"):
        Checkpoints(tmp_path).prepare(
            config({"name": "r", "expr": pl.col("close").pct_change(3)}), "fp", resume=True, overwrite=False
        )
    manifest = json.loads((tmp_path / "checkpoints" / "manifest.json").read_text())
    assert manifest["config"]["features"]["custom"] == [{"name": "r", "expr": first.features.custom[0].identity}]


def test_a_run_records_the_custom_features_as_given_and_its_model_uses_them(tmp_path):
    import walkforward

    expr = pl.col("close").pct_change(3)
    raw = {
        "start_date": "2020-01-01",
        "end_date": "2020-06-30",
        "model": {"params": {"n_estimators": 5}},
        "features": {"custom": [{**MOM, "params": {"long": 10, "short": 2}}, {"name": "r3", "expr": expr}]},
    }
    result = walkforward.run(raw, output_dir=str(tmp_path), n_jobs=1, save_features=True)
    assert result.run_info["config"]["features"]["custom"] == [
        {**MOM, "params": {"long": 10, "short": 2}},
        {"name": "r3", "expr": str(expr)},  # an expression given in Python: its text
    ]
    assert {"mom", "r3"} <= set(result.feature_importance["feature"].to_list())
    saved = pl.read_parquet(tmp_path / "features.parquet")
    assert saved.columns[-3:] == ["mom", "r3", "target"]
    with pytest.raises(ConfigError, match=r"\('r3'\)\.expr must be a Polars expression \(pl\.Expr\), got the text"):
        result.config  # noqa: B018 - the text of an expression is not an expression
