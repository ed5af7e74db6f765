"""The shape of a custom feature's expression (config/custom.py, methodology §2), checked when the config is built: it
names each column it reads, keeps one value per row (or gives one value, repeated on every row) and gives a number or
a Boolean; anything else is a one-line ConfigError, whether the entry gives the expression or names a function."""

from __future__ import annotations

import sys

import polars as pl
import polars.selectors as cs
import pytest

from walkforward.config import Config
from walkforward.errors import ConfigError

FEATURES = {"ret": [1], "sma_ratio": [], "rsi": [], "vol": [], "corr": [], "volume_z": []}
SELECTS = r"selects columns by position, type or pattern .*name each input with pl\.col\('close'\)"
NUMBER = r"values; a custom feature needs a number \(or a Boolean\) per row, e\.g\. pl\.col\('close'\)"
ROWS = r"does not keep one value per row \(it filters, slices .*one value per row, like pl\.col\('close'\)\.pct_change"

# each case as source text: evaluated for an `expr` entry, and the body of a function for a `function` entry
REFUSED = {
    "head": ('pl.col("close").head(5)', ROWS),
    "tail": ('pl.col("close").tail(5)', ROWS),
    "filter": ('pl.col("close").filter(pl.col("close") > pl.col("open"))', ROWS),
    "gather": ('pl.col("close").gather([0, 1])', ROWS),
    "unique": ('pl.col("close").unique()', ROWS),
    "drop_nulls": ('pl.col("close").drop_nulls()', ROWS),
    "implode": ('pl.col("close").implode()', r"gives List\(Float64\) " + NUMBER),
    "string": ('pl.col("close").cast(pl.String)', r"gives String " + NUMBER),
    "date": ('pl.col("date")', r"gives Date " + NUMBER),
    "struct": ('pl.struct("close", "open")', r"gives Struct\(.*\) " + NUMBER),
    "nth_0": ("pl.nth(0)", SELECTS),
    "nth_2": ("pl.nth(2)", SELECTS),
    "all_first": ("pl.all().first()", SELECTS),
    "first": ("pl.first()", SELECTS),
    "selector": ("cs.numeric()", SELECTS),
    "selector_by_name": ('cs.by_name("close")', SELECTS),
    "regex": ('pl.col("^c.*$")', SELECTS),
    "dtype": ("pl.col(pl.Float64)", SELECTS),
    "exclude": ('pl.exclude("symbol")', SELECTS),
    "two_columns": ('pl.col("open", "close")', SELECTS),
    "nested_nth": ('pl.col("close") + pl.nth(2)', SELECTS),
    "horizontal": ("pl.sum_horizontal(cs.numeric())", SELECTS),
    "unknown_column": ('pl.col("bench_close")', r"reads 'bench_close'; a custom feature reads only the asset's"),
    "unresolvable": (
        'pl.col("close").list.first()',
        r"fails on the asset's columns in Polars \(InvalidOperationError: expected List data "
        r"type for list operation, got: Float64\); fix the expression$",
    ),
}

ACCEPTED = {
    "pct_change": 'pl.col("close").pct_change(5)',
    "rolling_mean": 'pl.col("close").rolling_mean(5, min_samples=5)',
    "ratio": 'pl.col("close") / pl.col("open")',
    "leaky_shift": 'pl.col("close").shift(-1) / pl.col("close") - 1',  # keeps its length; `wf features check` finds it
    "mean_broadcast": 'pl.col("close").mean()',  # a scalar, repeated on every row
    "lit": "pl.lit(1.0)",
    "when_then": 'pl.when(pl.col("close") > pl.col("open")).then(1.0).otherwise(0.0)',
    "diff": 'pl.col("close").diff()',
    "rank": 'pl.col("close").rank()',
    "ewm_mean": 'pl.col("close").ewm_mean(span=5)',
    "map_batches": 'pl.col("close").map_batches(lambda s: s * 2)',  # Polars cannot tell its length: accepted
    "boolean": 'pl.col("close") > pl.col("open")',
    "integer": 'pl.col("volume").cast(pl.Int64)',
    "year": 'pl.col("date").dt.year()',
}


def config(entry) -> Config:
    return Config.from_dict({"benchmark": "BENCH", "features": {**FEATURES, "custom": [entry]}})


def expr(source: str) -> pl.Expr:
    return eval(source, {"pl": pl, "cs": cs})  # noqa: S307 - the test's own source text


@pytest.fixture
def module(tmp_path, monkeypatch) -> str:
    """A module on sys.path with one function per case, returning that case's expression."""
    cases = {**{name: source for name, (source, _) in REFUSED.items()}, **ACCEPTED}
    body = "".join(f"\n\ndef {name}():\n    return {source}\n" for name, source in cases.items())
    (tmp_path / "shape_features.py").write_text("import polars as pl\nimport polars.selectors as cs\n" + body)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "shape_features", raising=False)
    return "shape_features"


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_refused_shape_is_a_one_line_config_error_from_an_expr(name):
    source, pattern = REFUSED[name]
    with pytest.raises(ConfigError, match=r"^features\.custom\[0\] \('x'\): the expression " + pattern) as info:
        config({"name": "x", "expr": expr(source)})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", list(REFUSED))
def test_a_refused_shape_is_a_one_line_config_error_from_a_function(name, module):
    _, pattern = REFUSED[name]
    with pytest.raises(ConfigError, match=r"^features\.custom\[0\] \('x'\): the expression " + pattern) as info:
        config({"name": "x", "function": f"{module}:{name}"})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_an_expression_with_one_value_per_row_is_accepted(name, module):
    assert config({"name": "x", "expr": expr(ACCEPTED[name])}).feature_names[-1] == "x"
    assert config({"name": "x", "function": f"{module}:{name}"}).feature_names[-1] == "x"
