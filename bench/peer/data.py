"""The peer reads the data once: per-symbol CSVs (`<SYMBOL>.csv` in a folder) or one long Parquet or CSV file.

No store, no validation beyond what pandas does: the bench's data is generated and known good (wf checks it).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from walkforward.errors import DataError

COLUMNS = ["date", "close", "volume"]


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.rename(columns=str.lower)
    frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d") if frame["date"].dtype == object else frame["date"]
    frame["date"] = frame["date"].astype("datetime64[ns]")
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    # pandas 3's default parser rounds correctly, as Polars does (`float_precision="round_trip"` is deprecated and,
    # on the 100 wide CSVs, reads the same bits)
    return _tidy(pd.read_csv(path))


def read_prices(data_path: str | Path, symbols: list[str]) -> dict[str, pd.DataFrame]:
    """Per symbol: date, close, volume, sorted by date, index 0..n-1."""
    path = Path(data_path)
    if path.is_dir():
        frames = {s: _read_csv(path / f"{s}.csv") for s in symbols}
    elif path.suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        table = pq.read_table(path, columns=["symbol", *COLUMNS], filters=[("symbol", "in", list(symbols))])
        frames = dict(tuple(_tidy(table.to_pandas()).groupby("symbol", sort=False)))
    elif path.suffix == ".csv":
        frames = dict(tuple(_read_csv(path).groupby("symbol", sort=False)))
    else:
        raise DataError(f"the peer baseline reads a folder of <SYMBOL>.csv or one long .parquet/.csv; got {path}")
    missing = [s for s in symbols if s not in frames or frames[s].empty]
    if missing:
        raise DataError(f"no rows for {', '.join(missing)} in {path}; check the data")
    return {s: frames[s][COLUMNS].sort_values("date", kind="stable").reset_index(drop=True) for s in symbols}
