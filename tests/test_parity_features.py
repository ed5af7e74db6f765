"""Every feature of the Polars engine equals the legacy pandas feature within RTOL, same missing pattern: the default
and small windows, the bar's features and the targets on odd panels, and the cross-section on panels where many dates
have one or two assets, with and without membership windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from tests.panels import START, assert_close, panels, to_pandas_asset
from walkforward.config import Config
from walkforward.features.plan import feature_plan
from walkforward.legacy.crosssection import cross_section
from walkforward.legacy.features import compute_features
from walkforward.legacy.universe import Membership

DEFAULT = Config(benchmark="BENCH")
SMALL = Config.from_dict(
    {
        "benchmark": "BENCH",
        "horizon": 3,
        "fold_length": 10,
        "features": {
            "ret": [1, 2],
            "sma_ratio": [3],
            "rsi": [3],
            "vol": [3],
            "corr": [4],
            "volume_z": [3],
        },
    }
)
COLUMNS = ("target", "next_ret")


def check_parity(panel: pl.DataFrame, config: Config) -> None:
    got = feature_plan(panel.lazy(), config).collect().sort("symbol", "date")
    bench = to_pandas_asset(panel, "BENCH")
    for symbol in got["symbol"].unique().sort().to_list():
        mine = got.filter(pl.col("symbol") == symbol)
        theirs = compute_features(to_pandas_asset(panel, symbol), bench, config)
        assert len(mine) == len(theirs)
        for name in (*config.feature_names, *COLUMNS):
            assert_close(
                f"{symbol}.{name}",
                mine[name].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                theirs[name].to_numpy(dtype=float),
            )
        for name in ("next_date", "label_end"):
            a = mine[name].to_numpy().astype("datetime64[D]")
            b = theirs[name].to_numpy().astype("datetime64[D]")
            assert np.array_equal(a, b, equal_nan=True), f"{symbol}.{name}"


@given(panels())
def test_features_match_legacy_default_windows(panel):
    check_parity(panel, DEFAULT)


@given(panels(max_rows=40))
def test_features_match_legacy_small_windows(panel):
    check_parity(panel, SMALL)


# --- the bar's features, the targets and the cross-section ---------------------------------------------------------

BARS = {
    "ret": [1, 2],
    "sma_ratio": [],
    "rsi": [],
    "vol": [3],
    "corr": [],
    "volume_z": [],
    "hl_range": [3],
    "gap": [1, 3],
    "parkinson": [3],
    "beta": [4],
    "max_drawdown": [4],
    "dollar_volume_z": [3],
    "dist_high": [3],
    "dist_low": [3],
}
TARGET_KINDS = ("return", "excess", "vol_scaled", "cs_rank")


def bars_config(target: str, assets: list[str], cross_section: dict | None = None) -> Config:
    features = BARS | ({"cross_section": cross_section} if cross_section else {})
    kind = {"kind": target} | ({"vol_window": 3} if target == "vol_scaled" else {})
    return Config.from_dict(
        {"benchmark": "BENCH", "assets": assets, "horizon": 2, "fold_length": 10, "features": features, "target": kind}
    )


@given(panels(max_rows=40), st.sampled_from(TARGET_KINDS[:3]))
def test_bar_features_and_targets_match_legacy(panel, target):
    check_parity(panel, bars_config(target, ["BENCH"]))


@st.composite
def universes(draw):
    """A panel (1 to 4 assets besides BENCH, their own calendars: many dates with one or two assets), the traded
    assets (BENCH among them or not), a cross-section spec and, or not, membership windows (some asset in none)."""
    panel = draw(panels(max_rows=40, max_assets=4))
    symbols = sorted(set(panel["symbol"]) - {"BENCH"})
    assets = symbols + (["BENCH"] if draw(st.booleans()) else [])
    windows = None
    if draw(st.booleans()):
        day = st.integers(0, 90).map(lambda k: (START + k).item())  # a datetime.date
        windows = {s: sorted(draw(st.lists(st.tuples(day, day).map(sorted), max_size=2))) for s in assets}
    spec = {
        "rank": ["ret_1", "vol_3", "max_drawdown_4", "gap_1"],
        "zscore": ["ret_2", "parkinson_3", "dist_low_3"],
        "min_assets": draw(st.integers(1, 3)),
        "winsorize": draw(st.sampled_from([None, 0.5, 1.0])),
    }
    return panel, assets, spec, windows


def legacy_panel(panel: pl.DataFrame, config: Config, windows: dict | None) -> dict:
    """The legacy engine's per-asset features with `member` (from its own Membership), then its cross-section."""
    bench = to_pandas_asset(panel, "BENCH")
    frames = {}
    for symbol in config.assets:
        frame = compute_features(to_pandas_asset(panel, symbol), bench, config)
        member = True
        if windows is not None:
            arrays = {
                s: tuple(np.array(c, dtype="datetime64[D]") for c in zip(*w, strict=True))
                for s, w in windows.items()
                if w
            }
            member = Membership(Path("members.csv"), arrays, {}).member(symbol, frame["date"])
        frames[symbol] = frame.assign(member=member)
    return cross_section(frames, config)


@given(universes(), st.sampled_from(("return", "cs_rank")))
def test_cross_section_matches_legacy(universe, target):
    panel, assets, spec, windows = universe
    config = bars_config(target, assets, spec)
    rows = [(s, a, b) for s, w in (windows or {}).items() for a, b in w]
    frame = None
    if windows is not None:
        frame = pl.DataFrame(rows, schema={"symbol": pl.String, "start": pl.Date, "end": pl.Date}, orient="row")
    got = feature_plan(panel.lazy(), config, frame).collect().sort("symbol", "date")
    theirs = legacy_panel(panel, config, windows)
    for symbol in assets:
        mine = got.filter(pl.col("symbol") == symbol)
        for name in (*config.feature_names, "target"):
            assert_close(
                f"{symbol}.{name}",
                mine[name].cast(pl.Float64).fill_null(np.nan).to_numpy(),
                theirs[symbol][name].to_numpy(dtype=float),
            )
    untraded = got.filter(~pl.col("symbol").is_in(assets))  # the benchmark, when it is not traded
    assert untraded.select(pl.col(config.features.cross_section.names).null_count().sum()).row(0) == tuple(
        [untraded.height] * len(config.features.cross_section.names)
    )
