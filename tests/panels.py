"""Edge-case OHLCV panels for parity tests: different calendars per asset, gaps, flat stretches, tiny and
huge prices, zero volumes. Built from a few drawn parameters so Hypothesis can shrink them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
from hypothesis import strategies as st

RTOL = 1e-9
ATOL = 1e-12

START = np.datetime64("2018-01-01", "D")


@st.composite
def panels(draw, max_rows: int = 160, max_assets: int = 3) -> pl.DataFrame:
    """A panel with columns symbol, date, open, high, low, close, volume; 'BENCH' is always present."""
    n_assets = draw(st.integers(1, max_assets))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    frames = []
    for i, symbol in enumerate(["BENCH"] + [f"A{j}" for j in range(n_assets)]):
        n = draw(st.integers(1, max_rows), label=f"rows_{i}")
        calendar = draw(st.sampled_from(["daily", "business", "gappy"]), label=f"cal_{i}")
        offset = draw(st.integers(0, 30), label=f"offset_{i}")
        days = START + offset + np.arange(int(n * 2.2) + 10)
        if calendar == "business":
            days = days[np.is_busday(days)]
        elif calendar == "gappy":
            days = days[rng.random(len(days)) > 0.3]
        days = days[:n]
        scale = 10.0 ** draw(st.integers(-4, 6), label=f"scale_{i}")
        sigma = draw(st.sampled_from([0.0, 1e-6, 0.01, 0.05]), label=f"sigma_{i}")
        steps = rng.normal(0, sigma, len(days))
        if draw(st.booleans(), label=f"flat_{i}") and len(days) > 2:  # a flat stretch
            a = int(rng.integers(0, len(days)))
            steps[a : a + int(rng.integers(1, 80))] = 0.0
        close = scale * np.exp(np.cumsum(steps))
        volume = np.round(rng.lognormal(10, 1, len(days)))
        if draw(st.booleans(), label=f"zero_volume_{i}"):
            volume[rng.random(len(days)) < 0.5] = 0.0
        width = draw(st.sampled_from([0.0, 0.01, 0.05]), label=f"bar_{i}")  # 0: open = high = low = close
        high = close * np.exp(width * np.abs(rng.normal(0, 1, len(days))))
        low = close * np.exp(-width * np.abs(rng.normal(0, 1, len(days))))
        open_ = np.clip(close * np.exp(width * rng.normal(0, 1, len(days))), low, high)
        frames.append(
            pl.DataFrame(
                {
                    "symbol": symbol,
                    "date": days,
                    "open": open_,
                    "high": high,
                    "low": low,
                    "close": close,
                    "volume": volume,
                }
            ).with_columns(pl.col("date").cast(pl.Date))
        )
    return pl.concat(frames)


def to_pandas_asset(panel: pl.DataFrame, symbol: str) -> pd.DataFrame:
    """One asset's rows as the legacy engine's reader returns them (datetime64 `date`, float columns)."""
    part = panel.filter(pl.col("symbol") == symbol).sort("date").drop("symbol")
    return pd.DataFrame(
        {
            "date": pd.to_datetime(part["date"].to_numpy()),
            **{c: part[c].to_numpy().astype(float) for c in ("open", "high", "low", "close", "volume")},
        }
    )


def assert_close(name: str, got: np.ndarray, want: np.ndarray) -> None:
    """Same missing pattern, and values within RTOL (relative) with an ATOL floor."""
    got_nan, want_nan = np.isnan(got), np.isnan(want)
    bad = np.flatnonzero(got_nan != want_nan)
    assert bad.size == 0, f"{name}: missing pattern differs at rows {bad[:5]}: {got[bad[:5]]} vs {want[bad[:5]]}"
    ok = ~got_nan
    diff = np.abs(got[ok] - want[ok])
    tol = RTOL * np.maximum(np.abs(got[ok]), np.abs(want[ok])) + ATOL
    worst = np.flatnonzero(diff > tol)
    assert worst.size == 0, f"{name}: {got[ok][worst[:3]]} vs {want[ok][worst[:3]]}"


# the model scopes and book rules every end-to-end parity case of missing data runs under (config keys to change)
PARITY_CASES = {
    "unified": {},
    "per_asset": {"model.scope": "per_asset"},
    "per_asset-warm": {"model.scope": "per_asset", "model.warm_start": True},
    # refit every 2nd fold: a fold between predicts with the refit fold's model, none where that fold fitted none
    "per_asset-warm-refit2": {"model.scope": "per_asset", "model.warm_start": True, "refit_every": 2},
    "lag1-equal": {"strategy.lag": 1, "strategy.weighting": "equal"},
    "flat-between-folds": {"strategy.flat_between_folds": True, "model.scope": "per_asset"},
    # per-date ranks and z-scores across the traded members (the bar's features among them), a ranked target
    "cs-rank": {
        "features.gap": [1],
        "features.parkinson": [10],
        "features.cross_section": {
            "rank": ["ret_5", "vol_20", "parkinson_10"],
            "zscore": ["volume_z_20", "gap_1"],
            "min_assets": 2,  # the universe case's training folds have two members
            "winsorize": 1.0,
        },
        "target.kind": "cs_rank",
    },
    # the rest of the bar's features, and the return in excess of the benchmark's
    "bars-excess": {
        **{
            f"features.{kind}": [10]
            for kind in ("hl_range", "max_drawdown", "dollar_volume_z", "dist_high", "dist_low")
        },
        "features.beta": [30],
        "target.kind": "excess",
    },
    # two custom features after the built-in ones (tests/custom_features.py): the close's past and the whole bar
    "custom-feature": {
        "features.custom": [
            {"name": "mom", "function": "tests.custom_features:momentum", "params": {"long": 30, "short": 5}},
            {"name": "bar_span", "function": "tests.custom_features:range_ratio", "params": {"n": 10}},
        ]
    },
    # the cross-sectional kinds (methodology §4.1) over late listings, delistings and membership gaps
    "topk-n_drop": {"strategy.kind": "topk", "strategy.k": 2, "strategy.n_drop": 1},
    "topk-fraction-long_only": {
        "strategy.kind": "topk",
        "strategy.k": 0.4,
        "strategy.long_only": True,
        "strategy.lag": 1,
    },
    "rank_weighted-rebalance": {"strategy.kind": "rank_weighted", "strategy.rebalance_every": 5, "strategy.gross": 2.0},
}
