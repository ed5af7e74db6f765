"""The look-ahead check (`wf features check`, methodology §2): a feature at date t may use data at or before t only.

Every configured feature column (`Config.feature_names`: built-in kinds, custom features and whatever else the plan
adds) is computed by the one feature plan on the full data, then again on the data truncated after each of a few
cut dates. A value at or before a cut that differs between the two used data after the cut: a finding, naming the
feature, the symbol, the date and both values. Values compare exactly (a missing value equals only a missing value),
or within an absolute `tolerance` when one is given.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import polars as pl

from walkforward.config import Config
from walkforward.data.store import ensure_store, scan
from walkforward.errors import ConfigError, DataError
from walkforward.features.plan import feature_plan
from walkforward.universe import resolve_assets

DEFAULT_CUTS = 5


MAX_CUTS = 100  # each cut is a feature plan of its own, all collected together: memory and time grow with them


@dataclass(frozen=True)
class Finding:
    """A feature value at or before `cut` that changed when the data after `cut` was removed."""

    feature: str
    symbol: str
    date: dt.date
    cut: dt.date
    full: float | None  # the value on the full data (None: missing)
    truncated: float | None  # the value on the data up to `cut`


def cut_dates(dates: pl.Series, n: int) -> list[dt.date]:
    """`n` cut dates evenly spaced inside the data's sorted distinct `dates` (never the first or the last date)."""
    if not 1 <= n <= MAX_CUTS:
        raise ConfigError(
            f"--cuts must be between 1 and {MAX_CUTS} (each cut recomputes every feature on the data up to it), got {n}"
        )
    days = dates.unique().sort()
    if days.len() < 3:
        raise DataError(f"the data has {days.len()} distinct dates; the look-ahead check needs at least 3")
    picks = sorted({min(days.len() - 2, max(1, round(i * (days.len() - 1) / (n + 1)))) for i in range(1, n + 1)})
    return [days[i] for i in picks]


def compare_at_cuts(prices: pl.DataFrame, config: Config, cuts: list[dt.date], tolerance: float = 0.0) -> list[Finding]:
    """The findings of every cut: `prices` (symbol, date, open, high, low, close, volume) is the full data."""
    names = list(config.feature_names)
    full = feature_plan(prices.lazy(), config).select("symbol", "date", *names)
    plans = [feature_plan(prices.lazy().filter(pl.col("date") <= cut), config) for cut in cuts]
    frames = pl.collect_all([full, *(p.select("symbol", "date", *names) for p in plans)])
    findings: list[Finding] = []
    for cut, truncated in zip(cuts, frames[1:], strict=True):
        findings += _differences(frames[0].filter(pl.col("date") <= cut), truncated, names, cut, tolerance)
    return findings


def _differences(
    full: pl.DataFrame, truncated: pl.DataFrame, names: list[str], cut: dt.date, tolerance: float
) -> list[Finding]:
    joined = full.join(truncated, on=["symbol", "date"], how="left", suffix="__cut")
    findings = []
    for name in names:
        a, b = pl.col(name).fill_nan(None), pl.col(f"{name}__cut").fill_nan(None)
        same = a.eq_missing(b) if tolerance == 0 else a.eq_missing(b) | ((a - b).abs() <= tolerance)
        bad = joined.filter(~same.fill_null(False)).sort("date", "symbol")
        for symbol, date, x, y in bad.select("symbol", "date", name, f"{name}__cut").iter_rows():
            findings.append(Finding(name, symbol, date, cut, _number(x), _number(y)))
    return findings


def _number(x: float | None) -> float | None:
    return None if x is None or math.isnan(x) else x


def check_lookahead(config: Config, cuts: int = DEFAULT_CUTS, tolerance: float = 0.0) -> list[Finding]:
    """Read the config's data (every asset and the benchmark, all dates) and return the look-ahead findings of
    every configured feature at `cuts` cut dates, sorted by cut, feature, date and symbol; [] when none."""
    if not (tolerance >= 0 and math.isfinite(tolerance)):
        raise ConfigError(f"--tolerance must be a finite number >= 0, got {tolerance}")
    config = resolve_assets(config)
    path, _ = ensure_store(config.data_path, config.symbols, config.price_column)
    prices = scan(path).filter(pl.col("symbol").is_in(list(config.symbols))).collect()
    return compare_at_cuts(prices, config, cut_dates(prices["date"], cuts), tolerance)
