"""Every feature of the Polars engine equals the legacy pandas feature within RTOL, same missing pattern."""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given

from tests.panels import assert_close, panels, to_pandas_asset
from walkforward.config import Config
from walkforward.features.plan import feature_plan
from walkforward.legacy.features import compute_features

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
