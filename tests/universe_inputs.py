"""A small universe for methodology §8's tests: SPY (the benchmark, not traded), AAA (a member with a gap in its
membership inside the test period), BBB (listed on 2019-02-15, inside the test period; a member from 2019-03-01),
CCC (delisted after 2019-04-10, a member throughout), ETH-USD (trades every day, absent from the membership file:
never a member) and ZZZ (a member without any data), 2017-2019, as one long Parquet file and a membership CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from walkforward.config import Config
from walkforward.data.generate import generate
from walkforward.data.read import load_panel

SYMBOLS = ["SPY", "AAA", "BBB", "CCC", "ETH-USD"]
TRADED = ["AAA", "BBB", "CCC", "ETH-USD"]  # assets "all": every symbol but the benchmark, sorted
LISTED, DELISTED = dt.date(2019, 2, 15), dt.date(2019, 4, 10)
MEMBERSHIP = """symbol,start,end
AAA,2017-01-01,2019-03-15
AAA,2019-05-01,2019-12-31
BBB,2019-03-01,2019-12-31
CCC,2017-01-01,2019-12-31
ZZZ,2018-01-01,2019-12-31
"""
WINDOWS = {  # the file's windows (inclusive)
    "AAA": [(dt.date(2017, 1, 1), dt.date(2019, 3, 15)), (dt.date(2019, 5, 1), dt.date(2019, 12, 31))],
    "BBB": [(dt.date(2019, 3, 1), dt.date(2019, 12, 31))],
    "CCC": [(dt.date(2017, 1, 1), dt.date(2019, 12, 31))],
}


def make_universe(root: Path) -> tuple[Path, Path]:
    """(the long Parquet file, the membership file) under `root`."""
    generate(root / "csv", SYMBOLS, dt.date(2017, 1, 1), dt.date(2019, 12, 31), seed=5)
    panel = load_panel(root / "csv", SYMBOLS).filter(
        ~((pl.col("symbol") == "BBB") & (pl.col("date") < LISTED))
        & ~((pl.col("symbol") == "CCC") & (pl.col("date") > DELISTED))
    )
    prices = root / "long" / "prices.parquet"
    prices.parent.mkdir()
    panel.write_parquet(prices)
    membership = root / "membership.csv"
    membership.write_text(MEMBERSHIP)
    return prices, membership


def universe_config(prices: Path, out: Path | None = None, **changes: Any) -> Config:
    """2019H1 out of sample in two folds of 63 sessions, trained on 200; LightGBM with 10 rounds."""
    cfg = Config.from_dict(
        {
            "data_path": str(prices),
            "assets": "all",
            "benchmark": "SPY",
            "start_date": "2019-01-01",
            "end_date": "2019-06-30",
            "fold_length": 200,
            "step_size": 63,
            "annualization": 252,
            "model": {"kind": "lightgbm", "params": {"n_estimators": 10}},
            "n_jobs": 2,
            **({"output_dir": str(out)} if out is not None else {}),
        }
    )
    return cfg.replace(**changes) if changes else cfg
