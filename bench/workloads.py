"""The performance plan's workloads. Datasets are generated deterministically on first use and cached.

small/medium/large use the five default symbols on the bundled data's seed (so the cached files equal `data/`);
wide trades 100 generated symbols (94 equities, 5 crypto and SPY) over the same ten years as large.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache"
DEFAULT_SYMBOLS = ("SPY", "AAPL", "TSLA", "GOOG", "BTC-USD")
WIDE_SYMBOLS = ("SPY", *(f"EQ{i:03d}" for i in range(1, 95)), *(f"C{i}-USD" for i in range(1, 6)))
DATA_START, DATA_END, DATA_SEED = dt.date(2010, 1, 1), dt.date(2024, 12, 31), 42


@dataclass(frozen=True)
class Workload:
    name: str
    start_date: str
    end_date: str
    symbols: tuple[str, ...]
    expected_folds: int

    @property
    def data_dir(self) -> Path:
        return CACHE / f"data-{len(self.symbols)}"

    def overrides(self) -> dict[str, object]:
        """Config keys on top of the default config (fold_length 252, step_size 126, lightgbm)."""
        return {
            "data_dir": str(self.data_dir),
            "assets": list(self.symbols),
            "benchmark": "SPY",
            "start_date": self.start_date,
            "end_date": self.end_date,
        }


WORKLOADS = {
    w.name: w
    for w in (
        Workload("small", "2020-01-01", "2021-12-31", DEFAULT_SYMBOLS, 4),
        Workload("medium", "2017-01-01", "2021-12-31", DEFAULT_SYMBOLS, 10),
        Workload("large", "2015-01-01", "2024-12-31", DEFAULT_SYMBOLS, 20),
        Workload("wide", "2015-01-01", "2024-12-31", WIDE_SYMBOLS, 20),
    )
}


def ensure_dataset(workload: Workload) -> Path:
    """Generate the workload's CSVs once; later calls find them by a marker naming what was generated."""
    from walkforward.data.generate import generate

    out = workload.data_dir
    marker = out / ".generated.json"
    want = {"symbols": list(workload.symbols), "start": str(DATA_START), "end": str(DATA_END), "seed": DATA_SEED}
    if marker.exists() and json.loads(marker.read_text()) == want:
        return out
    out.mkdir(parents=True, exist_ok=True)
    generate(out, list(workload.symbols), DATA_START, DATA_END, DATA_SEED)
    marker.write_text(json.dumps(want))
    return out
