"""The peer reads the data once: per-symbol CSVs (`<SYMBOL>.csv` in a folder) or one long Parquet or CSV file.

No store, no validation beyond what pandas does: the bench's data is generated and known good (wf checks it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from walkforward.errors import DataError

COLUMNS = ["symbol", "date", "close", "volume"]


def _read_csv(path: Path) -> pd.DataFrame:
    # pandas 3's default parser rounds correctly, as Polars does (`float_precision="round_trip"` is deprecated and,
    # on the 100 wide CSVs, reads the same bits)
    return pd.read_csv(path).rename(columns=str.lower)


def _read_long(path: Path, symbols: list[str]) -> pd.DataFrame:
    if path.suffix in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        table = pq.read_table(path, filters=[("symbol", "in", symbols)])
        return table.select([c for c in table.column_names if c.lower() in COLUMNS]).to_pandas(date_as_object=False)
    if path.suffix == ".csv":
        frame = _read_csv(path)
        return frame[frame["symbol"].isin(symbols)]
    raise DataError(f"the peer baseline reads a folder of <SYMBOL>.csv or one long .parquet/.csv; got {path}")


def read_prices(data_path: str | Path, symbols: list[str]) -> pd.DataFrame:
    """symbol, date (datetime64), close, volume (float64) of `symbols`, sorted by (symbol, date), index 0..n-1."""
    path, symbols = Path(data_path), sorted(set(symbols))
    if path.is_dir():
        frames = [_read_csv(path / f"{s}.csv").assign(symbol=s) for s in symbols]
        frame = pd.concat(frames, ignore_index=True)[COLUMNS]  # sorted by symbol; by date within, if each file is
    else:
        frame = _read_long(path, symbols).rename(columns=str.lower)[COLUMNS]
    if frame["date"].dtype == object or str(frame["date"].dtype).startswith(("str", "string")):
        frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")  # ISO dates, one pass over every file's
    frame["date"] = frame["date"].astype("datetime64[ns]")
    frame["volume"] = frame["volume"].astype(np.float64)
    missing = sorted(set(symbols) - set(frame["symbol"].unique()))
    if missing:
        raise DataError(f"no rows for {', '.join(missing)} in {path}; check the data")
    return by_symbol_and_date(frame)


def by_symbol_and_date(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` sorted by (symbol, date): as it is when it already is (per-symbol files in date order)."""
    symbol, day = frame["symbol"].to_numpy(), frame["date"].to_numpy()
    same = symbol[1:] == symbol[:-1]
    if frame["symbol"].is_monotonic_increasing and (day[1:][same] > day[:-1][same]).all():
        return frame.reset_index(drop=True)
    return frame.sort_values(["symbol", "date"], kind="stable", ignore_index=True)
