"""The small universe many tests share: SPY (the benchmark), one equity and one crypto asset, 2017-2019, and a
config whose folds of 63 sessions tile 2019H1, trained on 200 sessions, LightGBM with 10 rounds."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

from walkforward.config import Config
from walkforward.data.generate import generate

SYMBOLS = ["SPY", "AAA", "BTC-USD"]


def make_small_data(out: Path) -> Path:
    generate(out, SYMBOLS, dt.date(2017, 1, 1), dt.date(2019, 12, 31), seed=1)
    return out


def small_config(data_dir: Path, out_dir: Path | None = None, **changes: Any) -> Config:
    """The small config; `changes` are config keys (dotted keys reach into sections: `**{"model.scope": ...}`)."""
    cfg = Config.from_dict(
        {
            "data_dir": str(data_dir),
            "assets": SYMBOLS,
            "benchmark": "SPY",
            "start_date": "2019-01-01",
            "end_date": "2019-06-30",
            "fold_length": 200,
            "step_size": 63,
            "model": {"kind": "lightgbm", "params": {"n_estimators": 10}},
            "n_jobs": 2,
            **({"output_dir": str(out_dir)} if out_dir is not None else {}),
        }
    )
    return cfg.replace(**changes) if changes else cfg


def snapshot(root: Path) -> dict[str, str]:
    """Every file under `root` and the SHA-256 of its content: two snapshots are equal when nothing changed."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }
