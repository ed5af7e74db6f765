"""Deterministic synthetic daily OHLCV data: one CSV per symbol, realistic enough to backtest.

The model, per symbol `s` with log return `r` on each row of its own calendar:

    r_t = drift_s + beta_s * M_t + e_t + J_t

- `M` is a **market factor** simulated once per **calendar day** (GARCH(1,1) volatility) and
  shared by every symbol. Equities trade on NYSE sessions (business days less the main NYSE
  holidays, see `nyse_holidays`); an equity row's `M_t` is the *sum* of the factor over the
  calendar days since its previous session, so a Monday carries the weekend's market moves.
  Crypto (`*-USD`) trades every day and takes each day's factor. On days that are not NYSE
  sessions the factor's volatility is scaled by `OFF_SESSION_SCALE`: weekends move markets, but
  less than sessions do.
- `e` is idiosyncratic noise with its own GARCH(1,1) volatility (volatility clustering); `J` are
  jumps (Poisson count per row, normal sizes); `drift` carries the variance correction so that
  prices grow at about the symbol's annual drift `mu`.
- Open is the previous close times a small overnight gap (a share of the day's return plus
  noise); high and low reach beyond max/min(open, close) by a multiple of the row's volatility;
  volume is lognormal and rises with |return| / volatility.

Per-symbol parameters and noise come from `SeedSequence([seed, crc32(symbol)])`, the market from
`SeedSequence([seed, 2**32])`: adding or removing a symbol never changes another symbol's file,
and the same seed gives byte-identical files (same numpy and polars versions). `PRESETS` pins
the bundled symbols: SPY behaves like an index (beta 1, low idiosyncratic volatility), TSLA and
BTC-USD are volatile. Prices are rounded to `SIG_DIGITS` significant digits. The kernels (market
factor, GARCH, drift, bars, atomic writes) live in `synth.py`, shared with `universe.py`.
"""

from __future__ import annotations

import datetime as dt
import os
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from walkforward.data.calendar import calendar_days, is_crypto, session_mask
from walkforward.data.synth import (
    DAYS_PER_YEAR,
    MARKET_VOL,
    SESSIONS_PER_YEAR,
    drift_per_row,
    garch_variance,
    market_factor,
    price_bars,
    session_sums,
    write_atomic,
)
from walkforward.errors import DataError


@dataclass(frozen=True)
class SymbolParams:
    """Annualised parameters of one synthetic symbol."""

    beta: float
    idio_vol: float
    mu: float
    garch_alpha: float
    garch_beta: float
    jumps_per_year: float
    jump_mean: float
    jump_sd: float
    price0: float
    volume0: float
    gap_share: float


PRESETS: dict[str, dict[str, float]] = {
    "SPY": dict(beta=1.0, idio_vol=0.03, mu=0.09, jumps_per_year=0.5, jump_sd=0.02, price0=110.0,
                volume0=8e7),
    "AAPL": dict(beta=1.15, idio_vol=0.22, mu=0.20, price0=30.0, volume0=4e8),
    "TSLA": dict(beta=1.5, idio_vol=0.50, mu=0.35, jumps_per_year=6.0, jump_sd=0.08, price0=5.0,
                 volume0=1e8),
    "GOOG": dict(beta=1.05, idio_vol=0.20, mu=0.15, price0=15.0, volume0=6e7),
    "BTC-USD": dict(beta=1.2, idio_vol=0.70, mu=0.50, jumps_per_year=8.0, jump_sd=0.10,
                    price0=100.0, volume0=2e9),
}  # fmt: skip


def generate(
    out_dir: str | os.PathLike[str],
    symbols: Iterable[str],
    start: dt.date | str,
    end: dt.date | str,
    seed: int,
) -> list[Path]:
    """Write `OUT_DIR/<SYMBOL>.csv` (`date,open,high,low,close,volume`) per symbol; return paths.

    Deterministic in (seed, symbol, start, end); each file is written atomically.
    """
    symbols = list(symbols)
    start, end = as_date(start, "start"), as_date(end, "end")
    _check_symbols(symbols)
    if start > end:
        raise DataError(f"generate: start {start} is after end {end}; swap them")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DataError(f"generate: seed must be an integer >= 0, got {seed!r}")
    days = calendar_days(start, end)
    sessions = session_mask(days)
    if not sessions.any() and not all(is_crypto(s) for s in symbols):
        raise DataError(f"generate: no NYSE session between {start} and {end}; widen the range")

    market, market_var = market_factor(days, sessions, seed)
    params = [symbol_params(seed, s) for s in symbols]
    noise = [
        symbol_noise(seed, s, len(days), p.jumps_per_year / _rows_per_year(s))
        for s, p in zip(symbols, params, strict=True)
    ]
    idio_var = garch_variance(
        np.stack([z[0] for z, _ in noise], axis=1),
        np.array([p.idio_vol**2 / _rows_per_year(s) for p, s in zip(params, symbols, strict=True)]),
        np.array([p.garch_alpha for p in params]),
        np.array([p.garch_beta for p in params]),
    )

    # Equity rows: aggregate the factor (and its variance) over the days since the previous session.
    idx = np.flatnonzero(sessions)
    eq_market, eq_market_var = session_sums(market, idx), session_sums(market_var, idx)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for j, (symbol, p, z) in enumerate(zip(symbols, params, noise, strict=True)):
        if is_crypto(symbol):
            dates, m, m_var = days, market, market_var
        else:
            dates, m, m_var = days[idx], eq_market, eq_market_var
        frame = _ohlcv(dates, m, m_var, idio_var[: len(dates), j], z, p, _rows_per_year(symbol))
        paths.append(write_atomic(out / f"{symbol}.csv", lambda fh, f=frame: f.write_csv(fh, date_format="%Y-%m-%d")))
    return paths


def symbol_params(seed: int, symbol: str) -> SymbolParams:
    """The parameters of `symbol`: drawn from (seed, symbol), then `PRESETS` applied."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(symbol.encode())]))
    u = [float(x) for x in rng.random(11)]
    crypto = is_crypto(symbol)
    alpha = 0.06 + 0.06 * u[3]
    drawn = SymbolParams(
        beta=(0.6 + 0.8 * u[0]) if crypto else (0.7 + 0.7 * u[0]),
        idio_vol=(0.5 + 0.3 * u[1]) if crypto else (0.15 + 0.2 * u[1]),
        mu=(0.4 * u[2]) if crypto else (0.15 * u[2]),
        garch_alpha=alpha,
        garch_beta=0.96 + 0.025 * u[4] - alpha,
        jumps_per_year=(3.0 + 5.0 * u[5]) if crypto else (1.0 + 3.0 * u[5]),
        jump_mean=-0.02 * u[6],
        jump_sd=(0.05 + 0.07 * u[7]) if crypto else (0.03 + 0.03 * u[7]),
        price0=float(np.exp(np.log(10.0) + np.log(30.0) * u[8])),
        volume0=float(np.exp(np.log(1e6) + np.log(50.0) * u[9])),
        gap_share=0.1 + 0.2 * u[10],
    )
    return replace(drawn, **PRESETS.get(symbol, {}))


# --- simulation ----------------------------------------------------------------------------------


def symbol_noise(seed: int, symbol: str, n: int, jump_rate: float) -> tuple[np.ndarray, np.ndarray]:
    """One symbol's draws for `n` rows: standard normals (rows: idio, jump size, gap, high, low,
    volume) and Poisson jump counts with `jump_rate` per row."""
    ss = np.random.SeedSequence([seed, zlib.crc32(symbol.encode())])
    rng = np.random.default_rng(ss.spawn(1)[0])  # a stream apart from symbol_params' draws
    return rng.standard_normal((6, n)), rng.poisson(jump_rate, n)


def _ohlcv(
    dates: np.ndarray,
    market: np.ndarray,
    market_var: np.ndarray,
    idio_var: np.ndarray,
    noise: tuple[np.ndarray, np.ndarray],
    p: SymbolParams,
    per_year: float,
) -> pl.DataFrame:
    n = len(dates)
    z, n_jumps = noise[0][:, :n], noise[1][:n]
    jumps = n_jumps * p.jump_mean + np.sqrt(n_jumps) * p.jump_sd * z[1]
    var = p.beta**2 * market_var + idio_var
    total_var = p.beta**2 * MARKET_VOL**2 + p.idio_vol**2
    drift = drift_per_row(p.mu, total_var, p.jumps_per_year, p.jump_mean, p.jump_sd, per_year)
    ret = drift + p.beta * market + np.sqrt(idio_var) * z[0] + jumps
    o, h, lo, c, volume = price_bars(np.log(p.price0), ret, drift, np.sqrt(var), z, p.gap_share, p.volume0)
    return pl.DataFrame({"date": dates, "open": o, "high": h, "low": lo, "close": c, "volume": volume})


# --- files ---------------------------------------------------------------------------------------


def _rows_per_year(symbol: str) -> float:
    return DAYS_PER_YEAR if is_crypto(symbol) else SESSIONS_PER_YEAR


def as_date(value: dt.date | str, name: str, where: str = "generate") -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise DataError(f"{where}: {name} must be a date as YYYY-MM-DD, got {value!r}") from None


def _check_symbols(symbols: list[str]) -> None:
    if not symbols:
        raise DataError("generate: no symbols given; pass at least one, e.g. SPY,AAPL")
    for s in symbols:
        if not s or s != s.strip() or any(ch in s for ch in '/\\:*?"<>|'):
            raise DataError(f"generate: {s!r} cannot be a file name; use a symbol like AAPL")
    dupes = sorted({s for s in symbols if symbols.count(s) > 1})
    if dupes:
        raise DataError(f"generate: {', '.join(dupes)} listed twice or more; list each once")
