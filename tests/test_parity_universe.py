"""Parity for methodology §8 (universes): both engines run `assets: "all"` with the membership file of
tests/test_universe_membership.py (a late listing, a delisting, a gap in membership, overlapping windows, a member
from mid-period, a symbol absent from the file); trades are identical, everything else agrees within 1e-9
(tests/test_parity_engine.py's `assert_same`), and run.json's universe sections are equal.
"""

from __future__ import annotations

import json

import pytest

from tests.panels import PARITY_CASES
from tests.test_parity_engine import assert_same
from tests.test_universe_membership import TRADED, config, data, panel  # noqa: F401 - fixtures
from walkforward.runner import execute

CASES = PARITY_CASES


@pytest.mark.parametrize("case", CASES)
def test_engines_agree_on_a_universe_with_membership(data, tmp_path, case):  # noqa: F811 - the fixture
    changes = {"universe": str(data / "members.csv"), **CASES[case]}
    _, legacy = execute(config(data, tmp_path / "legacy", engine="legacy", **changes))
    _, polars = execute(config(data, tmp_path / "polars", **changes))
    assert_same(tmp_path / "legacy", tmp_path / "polars")
    assert legacy["universe"] == polars["universe"]
    assert polars["universe"]["symbols"] == TRADED


def test_engines_agree_on_all_assets_without_a_membership_file(data, tmp_path):  # noqa: F811 - the fixture
    execute(config(data, tmp_path / "legacy", engine="legacy"))
    execute(config(data, tmp_path / "polars"))
    assert_same(tmp_path / "legacy", tmp_path / "polars")
    infos = [json.loads((tmp_path / e / "run.json").read_text())["universe"] for e in ("legacy", "polars")]
    assert infos[0] == infos[1]
    overall = json.loads((tmp_path / "polars" / "metrics.json").read_text())["overall"]
    assert overall["quantile_return_1"] is not None  # 5 traded assets on some dates: quantile returns compared
