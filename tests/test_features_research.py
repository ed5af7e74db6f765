"""The bar's features, the cross-section and the targets of methodology §2, worked out by hand on a few rows, in both
engines (the Polars plan and the legacy pandas functions), and their config errors."""

from __future__ import annotations

import datetime as dt
import math
import statistics
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest

from walkforward.config import Config
from walkforward.errors import ConfigError
from walkforward.features.plan import feature_plan
from walkforward.legacy.crosssection import cross_section
from walkforward.legacy.features import compute_features
from walkforward.legacy.universe import Membership

OFF = {k: [] for k in ("ret", "sma_ratio", "rsi", "vol", "corr", "volume_z")}  # only the kinds a test names
NAN = float("nan")
DAYS = [dt.date(2024, 1, d) for d in (1, 2, 3, 4, 5)]  # Monday .. Friday


def frame(symbol: str, close, high=None, low=None, open_=None, volume=None, days=DAYS) -> pl.DataFrame:
    n = len(close)
    return pl.DataFrame(
        {
            "symbol": symbol,
            "date": days[:n],
            "open": open_ or close,
            "high": high or close,
            "low": low or close,
            "close": close,
            "volume": volume or [100.0] * n,
        }
    )


def config(features: dict, assets=("A",), **extra) -> Config:
    raw = {"benchmark": "B", "assets": list(assets), "horizon": 1, "fold_length": 5, "features": OFF | features}
    return Config.from_dict(raw | extra)


def both(panel: pl.DataFrame, cfg: Config, members: dict | None = None) -> dict[str, dict[str, np.ndarray]]:
    """`{engine: {"SYMBOL.column": values}}` for every traded asset, feature and the target."""
    windows = None
    if members is not None:
        rows = [(s, a, b) for s, ws in members.items() for a, b in ws]
        windows = pl.DataFrame(rows, schema={"symbol": pl.String, "start": pl.Date, "end": pl.Date}, orient="row")
    got = feature_plan(panel.lazy(), cfg, windows).collect()
    pandas = {s: _pandas(panel, s) for s in panel["symbol"].unique()}
    frames = {}
    for s in cfg.assets:
        f = compute_features(pandas[s], pandas["B"], cfg)
        member = True
        if members is not None:
            arrays = {
                k: tuple(np.array(c, dtype="datetime64[D]") for c in zip(*w, strict=True)) for k, w in members.items()
            }
            member = Membership(Path("m.csv"), arrays, {}).member(s, f["date"])
        frames[s] = f.assign(member=member)
    frames = cross_section(frames, cfg)
    names = (*cfg.feature_names, "target")
    out = {"polars": {}, "legacy": {}}
    for s in cfg.assets:
        mine = got.filter(pl.col("symbol") == s).sort("date")
        for c in names:
            out["polars"][f"{s}.{c}"] = mine[c].cast(pl.Float64).fill_null(NAN).to_numpy()
            out["legacy"][f"{s}.{c}"] = frames[s][c].to_numpy(dtype=float)
    return out


def _pandas(panel: pl.DataFrame, symbol: str) -> pd.DataFrame:
    part = panel.filter(pl.col("symbol") == symbol).sort("date")
    columns = {c: part[c].to_numpy().astype(float) for c in ("open", "high", "low", "close", "volume")}
    return pd.DataFrame({"date": pd.to_datetime(part["date"].to_numpy()), **columns})


def check(result: dict, name: str, want: list[float]) -> None:
    for engine, columns in result.items():
        np.testing.assert_allclose(columns[name], want, rtol=1e-12, atol=0, err_msg=f"{engine} {name}")


# --- the bar's features --------------------------------------------------------------------------------------------

CLOSE = [10.0, 11.0, 9.0, 12.0]
HIGH = [11.0, 12.0, 10.0, 12.5]
LOW = [9.0, 10.0, 8.5, 11.0]
OPEN = [10.0, 10.5, 10.0, 9.5]
BAR = frame("A", CLOSE, HIGH, LOW, OPEN, [100.0, 200.0, 100.0, 300.0])
BENCH = frame("B", [100.0, 110.0, 99.0, 108.9])


def test_range_gap_and_distances_by_hand():
    cfg = config({"hl_range": [2], "gap": [1, 2], "dist_high": [2], "dist_low": [2]})
    result = both(pl.concat([BENCH, BAR]), cfg)
    r = [2 / 10, 2 / 11, 1.5 / 9, 1.5 / 12]  # (high - low) / close per row
    check(result, "A.hl_range_2", [NAN, (r[0] + r[1]) / 2, (r[1] + r[2]) / 2, (r[2] + r[3]) / 2])
    g = [NAN, 10.5 / 10 - 1, 10 / 11 - 1, 9.5 / 9 - 1]  # open over the previous close
    check(result, "A.gap_1", g)
    check(result, "A.gap_2", [NAN, NAN, (g[1] + g[2]) / 2, (g[2] + g[3]) / 2])
    # the close over the highest high (lowest low) of the last two bars
    check(result, "A.dist_high_2", [NAN, 11 / 12 - 1, 9 / 12 - 1, 12 / 12.5 - 1])
    check(result, "A.dist_low_2", [NAN, 11 / 9 - 1, 9 / 8.5 - 1, 12 / 8.5 - 1])


def test_parkinson_by_hand_and_zero_over_bars_without_range():
    cfg = config({"parkinson": [2]})
    flat_bars = frame("A", [10.0, 10.0, 10.0, 11.0], [10.0, 10.0, 10.0, 12.0], [10.0, 10.0, 10.0, 10.0])
    result = both(pl.concat([BENCH, BAR]), cfg)
    sq = [math.log(h / lo) ** 2 for h, lo in zip(HIGH, LOW, strict=True)]
    want = [NAN] + [math.sqrt((sq[i - 1] + sq[i]) / 2 / (4 * math.log(2))) for i in (1, 2, 3)]
    check(result, "A.parkinson_2", want)
    # high == low on two bars in a row: exactly 0, then the range of the last bar alone
    last = math.sqrt((0.0 + math.log(12 / 10) ** 2) / 2 / (4 * math.log(2)))  # bars 3 and 4: ranges 0 and ln 1.2
    check(both(pl.concat([BENCH, flat_bars]), cfg), "A.parkinson_2", [NAN, 0.0, 0.0, last])


def test_max_drawdown_by_hand():
    cfg = config({"max_drawdown": [3]})
    closes = [10.0, 11.0, 9.0, 12.0, 8.0]
    result = both(pl.concat([frame("B", [1.0] * 5), frame("A", closes)]), cfg)
    # windows 10 11 9: peak 11, fall to 9; 11 9 12: the same fall; 9 12 8: peak 12, fall to 8
    check(result, "A.max_drawdown_3", [NAN, NAN, 9 / 11 - 1, 9 / 11 - 1, 8 / 12 - 1])
    rising = both(pl.concat([frame("B", [1.0] * 4), frame("A", [1.0, 2.0, 3.0, 4.0])]), cfg)
    check(rising, "A.max_drawdown_3", [NAN, NAN, 0.0, 0.0])  # never under water


def test_dollar_volume_z_by_hand():
    cfg = config({"dollar_volume_z": [3]})
    result = both(pl.concat([BENCH, BAR]), cfg)
    dv = [1000.0, 2200.0, 900.0, 3600.0]  # close * volume
    z = [(dv[i] - statistics.mean(dv[i - 2 : i + 1])) / statistics.stdev(dv[i - 2 : i + 1]) for i in (2, 3)]
    check(result, "A.dollar_volume_z_3", [NAN, NAN, *z])
    flat = frame("A", [10.0, 5.0, 20.0], volume=[100.0, 200.0, 50.0])  # dollar volume 1000 on every row
    check(both(pl.concat([BENCH, flat]), cfg), "A.dollar_volume_z_3", [NAN, NAN, NAN])


def test_beta_by_hand():
    cfg = config({"beta": [3]}, assets=("A", "B"))
    # the benchmark returns +10%, -10%, +10%; A returns +20%, -20%, +20%: beta 2, the benchmark's own exactly 1
    result = both(pl.concat([BENCH, frame("A", [10.0, 12.0, 9.6, 11.52])]), cfg)
    check(result, "A.beta_3", [NAN, NAN, NAN, 2.0])
    for engine in result.values():
        assert engine["B.beta_3"][3] == 1.0
    still = both(pl.concat([BENCH, frame("A", [10.0] * 4)]), cfg)
    check(still, "A.beta_3", [NAN, NAN, NAN, 0.0])  # a flat asset moves with nothing
    flat_bench = both(pl.concat([frame("B", [100.0] * 4), frame("A", [10.0, 12.0, 9.6, 11.52])]), cfg)
    check(flat_bench, "A.beta_3", [NAN] * 4)  # no variance to divide by


# --- the cross-section ---------------------------------------------------------------------------------------------


def cross(values: dict[str, list[float]], spec: dict, members: dict | None = None, target: str = "return"):
    """One asset per key, its closes `values` (so ret_1 is what the test ranks); the benchmark B is not traded."""
    panel = pl.concat([frame("B", [1.0] * 3), *(frame(s, v) for s, v in values.items())])
    cfg = config({"ret": [1], "cross_section": spec}, assets=tuple(values), target={"kind": target})
    return both(panel, cfg, members)


# closes 1 then 1 + r: ret_1 on day 2 is r (exact for these r): 0.25, 0.0625, 0.25, 0.125
FOUR = {"P": [1.0, 1.25, 1.0], "Q": [1.0, 1.0625, 1.0], "R": [1.0, 1.25, 1.0], "S": [1.0, 1.125, 1.0]}


def test_cs_rank_average_ties_centred_and_min_assets():
    result = cross(FOUR, {"rank": ["ret_1"], "min_assets": 4})
    # day 2: 0.0625 < 0.125 < 0.25 = 0.25: ranks 1, 2, 3.5, 3.5 of n = 4, centred as (rank - 1) / 3 - 0.5;
    # day 3 (1 / close of day 2 - 1): -0.2 = -0.2 < -0.111 < -0.059: P and R 1.5, S 3, Q 4
    for s, day2, day3 in (("P", 3.5, 1.5), ("Q", 1.0, 4.0), ("R", 3.5, 1.5), ("S", 2.0, 3.0)):
        check(result, f"{s}.ret_1_csrank", [NAN, (day2 - 1) / 3 - 0.5, (day3 - 1) / 3 - 0.5])
    too_few = cross(FOUR, {"rank": ["ret_1"]})  # the default min_assets 5: four assets give nothing
    check(too_few, "P.ret_1_csrank", [NAN, NAN, NAN])


def test_cs_rank_of_one_asset_is_zero_and_membership_leaves_rows_out():
    alone = cross({"P": [1.0, 1.25, 1.0]}, {"rank": ["ret_1"], "min_assets": 1})
    check(alone, "P.ret_1_csrank", [NAN, 0.0, 0.0])
    # R is a member on day 2 only, S never. Day 2: P, Q, R: 0.0625 < 0.25 = 0.25, ranks 1, 2.5, 2.5 of 3;
    # day 3: P and Q alone, -0.2 < -0.059: ranks 1, 2 of 2
    members = {"P": [(DAYS[0], DAYS[4])], "Q": [(DAYS[0], DAYS[4])], "R": [(DAYS[1], DAYS[1])]}
    result = cross(FOUR, {"rank": ["ret_1"], "min_assets": 2}, members)
    check(result, "P.ret_1_csrank", [NAN, 0.25, -0.5])
    check(result, "Q.ret_1_csrank", [NAN, -0.5, 0.5])
    check(result, "R.ret_1_csrank", [NAN, 0.25, NAN])
    check(result, "S.ret_1_csrank", [NAN, NAN, NAN])


def test_cs_zscore_by_hand_winsorised_and_flat():
    values = {"P": [1.0, 1.25], "Q": [1.0, 1.5], "R": [1.0, 1.75], "S": [1.0, 2.5]}  # ret_1: .25 .5 .75 1.5
    std = math.sqrt(((0.25 - 0.75) ** 2 + (0.5 - 0.75) ** 2 + 0 + (1.5 - 0.75) ** 2) / 3)  # mean 0.75, ddof 1
    plain = cross(values, {"zscore": ["ret_1"], "min_assets": 4})
    for s, r in (("P", 0.25), ("Q", 0.5), ("R", 0.75), ("S", 1.5)):
        check(plain, f"{s}.ret_1_cszscore", [NAN, (r - 0.75) / std])
    clipped = cross(values, {"zscore": ["ret_1"], "min_assets": 4, "winsorize": 1.0})
    check(clipped, "S.ret_1_cszscore", [NAN, 1.0])  # 0.75 / 0.54 = 1.39 standard deviations, clipped to 1
    check(clipped, "P.ret_1_cszscore", [NAN, -0.5 / std])  # -0.93: inside
    pair = cross({"P": [1.0, 1.1], "Q": [1.0, 1.3]}, {"zscore": ["ret_1"], "min_assets": 2})
    check(pair, "P.ret_1_cszscore", [NAN, -math.sqrt(0.5)])  # two values: -+(d / sqrt(2 d^2)), whatever they are
    check(pair, "Q.ret_1_cszscore", [NAN, math.sqrt(0.5)])
    same = cross({"P": [1.0, 1.5], "Q": [2.0, 3.0]}, {"zscore": ["ret_1"], "min_assets": 2})
    check(same, "P.ret_1_cszscore", [NAN, NAN])  # every value equal: no spread to divide by


# --- the targets ---------------------------------------------------------------------------------------------------


def test_excess_target_takes_the_benchmarks_close_as_of_each_date():
    weekend = [dt.date(2024, 1, 5), dt.date(2024, 1, 6), dt.date(2024, 1, 8)]  # Friday, Saturday, Monday
    panel = pl.concat(
        [frame("B", [100.0, 110.0], days=[weekend[0], weekend[2]]), frame("A", [10.0, 11.0, 13.2], days=weekend)]
    )
    cfg = config({"ret": [1]}, target={"kind": "excess"})
    # Friday -> Saturday: the benchmark does not trade (its close as of Saturday is Friday's): 10% - 0
    # Saturday -> Monday: 20% less the benchmark's 10%
    check(both(panel, cfg), "A.target", [0.1 - 0.0, 0.2 - 0.1, NAN])


def test_vol_scaled_target_by_hand():
    panel = pl.concat([BENCH, frame("A", [10.0, 11.0, 9.9, 12.87])])
    cfg = config({"ret": [1]}, target={"kind": "vol_scaled", "vol_window": 2})
    # one-row returns .1, -.1, .3; the volatility of (.1, -.1) is sqrt(.02); the next return .3
    check(both(panel, cfg), "A.target", [NAN, NAN, 0.3 / math.sqrt(0.02), NAN])


def test_cs_rank_target_ranks_the_forward_return_per_date():
    result = cross(FOUR, {"min_assets": 3}, target="cs_rank")
    # day 1's forward returns are day 2's one-row returns (ranks P 3.5, Q 1, R 3.5, S 2 of 4), day 2's are day 3's
    # (P 1.5, Q 4, R 1.5, S 3), day 3 has none
    for s, day1, day2 in (("P", 3.5, 1.5), ("Q", 1.0, 4.0), ("R", 3.5, 1.5), ("S", 2.0, 3.0)):
        check(result, f"{s}.target", [(day1 - 1) / 3 - 0.5, (day2 - 1) / 3 - 0.5, NAN])


# --- config --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("features", "target", "message"),
    [
        (
            {"cross_section": {"rank": ["ret_50"]}},
            {},
            r"^features\.cross_section\.rank names 'ret_50', which is not a configured feature\. "
            r"Did you mean: 'ret_5'\? Configured: ret_1, ret_5,",
        ),
        (
            {"cross_section": {"zscore": ["vol"]}},
            {},
            r"^features\.cross_section\.zscore names 'vol', which is not a configured feature\. "
            r"Did you mean: 'vol_20'\?",
        ),
        (
            {"cross_section": {"rank": "ret_5"}},
            {},
            r"^features\.cross_section\.rank must be a list of feature names like \['ret_20'\], got 'ret_5'$",
        ),
        (
            {"cross_section": {"rank": ["ret_5", "ret_5"]}},
            {},
            r"^features\.cross_section\.rank lists ret_5 more than once; list each feature once$",
        ),
        (
            {"cross_section": {"ranks": ["ret_5"]}},
            {},
            r"^unknown config key in features\.cross_section: 'ranks'\. Did you mean: 'rank'\?$",
        ),
        ({"cross_section": {"min_assets": 0}}, {}, r"^features\.cross_section\.min_assets must be >= 1, got 0$"),
        (
            {"cross_section": {"winsorize": -3}},
            {},
            r"^features\.cross_section\.winsorize must be a number of standard deviations > 0 "
            r"\(like 3\) or null, got -3\.0$",
        ),
        ({"cross_section": ["ret_5"]}, {}, r"^features\.cross_section must be an object like"),
        ({"max_drawdown": [1]}, {}, r"^features\.max_drawdown window must be >= 2, got 1$"),
        ({"parkinsn": [20]}, {}, r"^unknown config key in features: 'parkinsn'\. Did you mean: 'parkinson'\?$"),
        (
            {},
            {"kind": "cs-rank"},
            r"^target\.kind must be one of return, excess, cs_rank, vol_scaled; got 'cs-rank'\. "
            r"Did you mean: 'cs_rank'\?$",
        ),
        (
            {},
            {"kind": "return", "vol_window": 10},
            r"^target\.vol_window is for target\.kind 'vol_scaled' \(kind is 'return'\); remove it$",
        ),
        ({}, {"kind": "vol_scaled", "vol_window": 1}, r"^target\.vol_window must be >= 2, got 1$"),
    ],
)
def test_config_errors_name_the_key_and_the_fix(features, target, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_dict({"features": {"ret": [1, 5], **features}, "target": target})


def test_the_cross_section_and_new_kinds_round_trip_and_stay_out_of_the_default():
    default = Config()
    assert default.features.to_dict() == {
        "ret": [1, 5, 20],
        "sma_ratio": [20, 50],
        "rsi": [14],
        "vol": [20],
        "corr": [60],
        "volume_z": [20],
    }
    assert default.to_dict()["target"] == {"kind": "return"}
    spec = {"rank": ["ret_5", "gap_1"], "zscore": ["ret_5"], "min_assets": 3, "winsorize": 2.5}
    cfg = Config.from_dict(
        {
            "features": {"ret": [5], "gap": [1], "cross_section": spec},
            "target": {"kind": "vol_scaled", "vol_window": 10},
        }
    )
    assert cfg.feature_names[-4:] == ("gap_1", "ret_5_csrank", "gap_1_csrank", "ret_5_cszscore")
    assert Config.from_dict(cfg.to_dict()) == cfg
    assert cfg.to_dict()["features"]["cross_section"] == spec
