"""Research-scale synthetic universes: `n_symbols` equities `S0001, S0002, ...` that list, delist and sometimes go to
zero over the span, on a market factor and sector factors with fat tails, plus a benchmark index; written as one long
Parquet file and a point-in-time index membership file.

Per symbol `j` on NYSE sessions (the model of `generate.py`, with sectors, fat tails and lives added):

    r_t = drift_j + beta_j * M_t + load_j * F_{k(j),t} + e_t + J_t   (+ the fall of a symbol that goes to zero)

- `M` is `synth.market_factor` (per calendar day, summed over the days since the previous session);
- `F_k` is the factor of sector `k`: GARCH(1,1) with annual volatility `SECTOR_VOL`, from
  `SeedSequence([seed, SECTOR_KEY + k])`; `load_j` and `k(j)` are drawn in lifecycle.py;
- `e` is idiosyncratic GARCH(1,1) noise and `J` jumps, as in generate.py, with generate.py's `symbol_params` (beta,
  volatility, drift, GARCH, jumps, first price and volume); the drift's variance correction includes the sector's;
- the innovations of `M`, `F` and `e` are Student-t with `dof` degrees of freedom scaled to variance 1 (fat tails;
  `dof = inf` gives normal ones);
- listings, delistings, collapses to near zero and index membership are lifecycle.py's;
- the benchmark (`SPX` unless named otherwise) is not one of the `n_symbols`: beta 1, no sector, 2% idiosyncratic
  volatility, every session of the span.

Files in `OUT`: `prices.parquet` (`symbol, date, open, high, low, close, volume`, sorted by symbol and date, benchmark
included) and `membership.csv` (`symbol, start, end`, benchmark excluded), each written atomically. The same seed and
options give byte-identical files; a symbol's series depends only on the seed, its name, the span and the options
other than `n_symbols`, so growing the universe from N to N+1 adds one symbol and changes no other.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import polars as pl

from walkforward.data.calendar import calendar_days, session_mask
from walkforward.data.generate import SymbolParams, as_date, symbol_noise, symbol_params
from walkforward.data.lifecycle import Lifecycle, always_listed, collapse, draw_lifecycles, membership, symbol_rng
from walkforward.data.synth import (
    MARKET_KEY,
    MARKET_VOL,
    SESSIONS_PER_YEAR,
    drift_per_row,
    garch_variance,
    innovations,
    market_factor,
    price_bars,
    session_sums,
    write_atomic,
)
from walkforward.errors import DataError

SECTOR_VOL = 0.12  # annual volatility of a sector factor
SECTOR_GARCH = (0.07, 0.90)  # (alpha, beta) of a sector factor
SECTOR_KEY = MARKET_KEY + 1  # SeedSequence word of sector 0; crc32 values are < 2**32
TAIL_STREAM = 2  # the symbol's SeedSequence child for its Student-t idiosyncratic shocks
INDEX = dict(beta=1.0, idio_vol=0.02, mu=0.08, jumps_per_year=0.5, jump_mean=-0.01, jump_sd=0.02, price0=1000.0,
             volume0=3e9)  # fmt: skip
CHUNK = 256  # symbols simulated at once: bounds the temporaries (about 60 kB per symbol-year)
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
UNIVERSE_FILES = ("prices.parquet", "membership.csv")  # what `generate_universe` writes into its folder


@dataclass(frozen=True)
class UniverseSpec:
    """What `generate_universe` draws; the defaults are `wf data universe`'s."""

    n_symbols: int = 500
    start: dt.date | str = "2005-01-01"
    end: dt.date | str = "2024-12-31"
    seed: int = 42
    sectors: int = 10
    dof: float = 5.0
    listed_share: float = 0.5  # trade from the first session; the others list later
    delist_share: float = 0.3  # stop before the last session
    zero_share: float = 0.3  # of the delistings, those that collapse to near zero
    seasoning: int = 63  # sessions from a later listing to index membership
    benchmark: str = "SPX"


@dataclass(frozen=True)
class Factors:
    """Per session: the market factor's return and variance; per session and sector: the sectors'."""

    market: np.ndarray
    market_var: np.ndarray
    sector: np.ndarray
    sector_var: np.ndarray


def symbol_names(n_symbols: int) -> list[str]:
    """`S0001 .. S{n}`, zero-padded to at least 4 digits (so they sort as they count)."""
    width = max(4, len(str(n_symbols)))
    return [f"S{i:0{width}d}" for i in range(1, n_symbols + 1)]


def check(spec: UniverseSpec, flag: Callable[[str], str] = str) -> tuple[dt.date, dt.date]:
    """Raise a DataError naming the option (as `flag(field)`), the value and the fix; return (start, end)."""

    def need(ok: bool, field: str, rule: str, fix: str) -> None:
        if not ok:
            raise DataError(f"universe: {flag(field)} {rule}, got {getattr(spec, field)!r}; {fix}")

    def integer(field: str, minimum: int) -> bool:
        value = getattr(spec, field)
        return isinstance(value, int) and not isinstance(value, bool) and value >= minimum

    need(integer("n_symbols", 1), "n_symbols", "must be an integer >= 1", "pass how many symbols to draw, e.g. 500")
    need(integer("sectors", 1), "sectors", "must be an integer >= 1", "pass the number of sector factors, e.g. 10")
    dof = spec.dof
    need(isinstance(dof, int | float) and dof > 2, "dof", "must be > 2 (a Student-t with 2 or fewer degrees of "
         "freedom has infinite variance)", "pass e.g. 4 for fat tails, or inf for normal ones")  # fmt: skip
    for field in ("listed_share", "delist_share", "zero_share"):
        value = getattr(spec, field)
        need(isinstance(value, int | float) and 0 <= value <= 1, field, "must be a share from 0 to 1", "pass e.g. 0.3")
    need(integer("seasoning", 0), "seasoning", "must be an integer >= 0", "pass 0 to make listings members at once")
    need(integer("seed", 0), "seed", "must be an integer >= 0", "pass e.g. 42")
    bench = spec.benchmark
    need(isinstance(bench, str) and bool(bench.strip()), "benchmark", "must be a name", "pass e.g. SPX")
    need(bench not in symbol_names(spec.n_symbols), "benchmark", "is one of the universe's symbols", "name it e.g. SPX")
    start, end = as_date(spec.start, flag("start"), "universe"), as_date(spec.end, flag("end"), "universe")
    if start > end:
        raise DataError(f"universe: {flag('start')} {start} is after {flag('end')} {end}; swap them")
    if (n := int(session_mask(calendar_days(start, end)).sum())) < 2:
        where = f"{flag('start')} {start} to {flag('end')} {end}"
        raise DataError(f"universe: {where} holds {n} NYSE session(s), at least 2 are needed; widen the span")
    return start, end


def generate_universe(
    out_dir: str | os.PathLike[str],
    spec: UniverseSpec = UniverseSpec(),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, Path]:
    """Write `OUT/prices.parquet` and `OUT/membership.csv` (see the module docstring); return their paths.

    `progress(done, total)` is called after each chunk of symbols.
    """
    start, end = check(spec)
    days = calendar_days(start, end)
    sessions = session_mask(days)
    idx = np.flatnonzero(sessions)
    dates, n = days[idx], len(idx)
    market, market_var = market_factor(days, sessions, spec.seed, spec.dof)
    factors = Factors(session_sums(market, idx), session_sums(market_var, idx), *sector_factors(spec, n))
    names = symbol_names(spec.n_symbols)
    lives = draw_lifecycles(
        spec.seed, names, n, sectors=spec.sectors, listed_share=spec.listed_share,
        delist_share=spec.delist_share, zero_share=spec.zero_share,
    )  # fmt: skip
    frames = {spec.benchmark: _bars([spec.benchmark], [_index_params(spec)], always_listed(n), factors, dates, spec)}
    cut = bisect.bisect(names, spec.benchmark)  # chunks end there too, so sorting frames by first name sorts rows
    bounds = sorted({*range(0, len(names), CHUNK), cut, len(names)})
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        chunk = names[lo:hi]
        params = [symbol_params(spec.seed, s) for s in chunk]
        frames[chunk[0]] = _bars(chunk, params, lives.take(slice(lo, hi)), factors, dates, spec)
        if progress is not None:
            progress(hi, len(names))
    prices = pl.concat([frames[k] for k in sorted(frames)])
    members = membership(names, lives, dates, spec.seasoning)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    prices_file, members_file = UNIVERSE_FILES
    return (
        write_atomic(out / prices_file, lambda fh: prices.write_parquet(fh, compression="zstd")),
        write_atomic(out / members_file, lambda fh: members.write_csv(fh, date_format="%Y-%m-%d")),
    )


def sector_factors(spec: UniverseSpec, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each sector's log returns and conditional variances on `n` sessions (columns: sectors)."""
    rngs = [np.random.default_rng(np.random.SeedSequence([spec.seed, SECTOR_KEY + k])) for k in range(spec.sectors)]
    z = np.stack([innovations(rng, (n,), spec.dof) for rng in rngs], axis=1)
    ones = np.ones(spec.sectors)
    alpha, beta = SECTOR_GARCH
    h = garch_variance(z, ones * SECTOR_VOL**2 / SESSIONS_PER_YEAR, ones * alpha, ones * beta)
    return np.sqrt(h) * z, h


def _index_params(spec: UniverseSpec) -> SymbolParams:
    return replace(symbol_params(spec.seed, spec.benchmark), **INDEX)


def _noise(seed: int, names: list[str], n: int, jump_rate: np.ndarray, dof: float) -> tuple[np.ndarray, np.ndarray]:
    """generate.py's per-symbol draws, stacked: normals `(6, n, symbols)` (row 0 Student-t when `dof` is finite) and
    jump counts `(n, symbols)`."""
    draws = [symbol_noise(seed, s, n, float(r)) for s, r in zip(names, jump_rate, strict=True)]
    z = np.stack([d[0] for d in draws], axis=2)
    if not math.isinf(dof):
        z[0] = np.stack([innovations(symbol_rng(seed, s, TAIL_STREAM), (n,), dof) for s in names], axis=1)
    return z, np.stack([d[1] for d in draws], axis=1)


def _bars(
    names: list[str], params: list[SymbolParams], life: Lifecycle, f: Factors, dates: np.ndarray, spec: UniverseSpec
) -> pl.DataFrame:
    """The long rows (`symbol, date, open, ..., volume`) of `names`, from their first session to their last."""
    n, m = len(dates), len(names)
    p = {fl.name: np.array([getattr(q, fl.name) for q in params]) for fl in fields(SymbolParams)}
    z, jumps_n = _noise(spec.seed, names, n, p["jumps_per_year"] / SESSIONS_PER_YEAR, spec.dof)
    idio_var = garch_variance(z[0], p["idio_vol"] ** 2 / SESSIONS_PER_YEAR, p["garch_alpha"], p["garch_beta"])
    sector, sector_var = f.sector[:, life.sector] * life.load, f.sector_var[:, life.sector] * life.load**2
    var = p["beta"] ** 2 * f.market_var[:, None] + sector_var + idio_var
    total_var = p["beta"] ** 2 * MARKET_VOL**2 + life.load**2 * SECTOR_VOL**2 + p["idio_vol"] ** 2
    drift = drift_per_row(p["mu"], total_var, p["jumps_per_year"], p["jump_mean"], p["jump_sd"], SESSIONS_PER_YEAR)
    jumps = jumps_n * p["jump_mean"] + np.sqrt(jumps_n) * p["jump_sd"] * z[1]
    ret = drift + p["beta"] * f.market[:, None] + sector + np.sqrt(idio_var) * z[0] + jumps
    rows = np.arange(n)[:, None]
    log_price0 = np.log(p["price0"])
    ret = collapse(np.where(rows >= life.first, ret, 0.0), log_price0, life)  # flat before the listing
    bars = price_bars(log_price0, ret, drift, np.sqrt(var), z, p["gap_share"], p["volume0"])
    keep = ((rows >= life.first) & (rows <= life.last)).T  # (symbols, sessions): rows come out symbol by symbol
    who = np.repeat(np.arange(m), keep.sum(axis=1))
    columns = {"symbol": pl.Series(names, dtype=pl.String).gather(who), "date": np.broadcast_to(dates, (m, n))[keep]}
    return pl.DataFrame(columns | {c: a.T[keep] for c, a in zip(PRICE_COLUMNS, bars, strict=True)})
