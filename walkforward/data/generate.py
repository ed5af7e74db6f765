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
BTC-USD are volatile. Prices are rounded to `SIG_DIGITS` significant digits.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import polars as pl

from walkforward.data.calendar import calendar_days, is_crypto, nyse_holidays, session_mask, trading_days
from walkforward.errors import DataError

SIG_DIGITS = 6
MARKET_VOL = 0.17  # annual volatility of the market factor
MARKET_GARCH = (0.09, 0.89)  # (alpha, beta) of the market factor
OFF_SESSION_SCALE = 0.35  # factor volatility on calendar days that are not NYSE sessions
SESSIONS_PER_YEAR = 252
DAYS_PER_YEAR = 365.25
_MARKET_KEY = 2**32  # SeedSequence word for the market factor; crc32 values are < 2**32


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
    start, end = _as_date(start, "start"), _as_date(end, "end")
    _check_symbols(symbols)
    if start > end:
        raise DataError(f"generate: start {start} is after end {end}; swap them")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DataError(f"generate: seed must be an integer >= 0, got {seed!r}")
    days = calendar_days(start, end)
    sessions = session_mask(days)
    if not sessions.any() and not all(is_crypto(s) for s in symbols):
        raise DataError(f"generate: no NYSE session between {start} and {end}; widen the range")

    market, market_var = _market_factor(days, sessions, seed)
    params = [symbol_params(seed, s) for s in symbols]
    noise = [
        _symbol_noise(seed, s, len(days), p.jumps_per_year / _rows_per_year(s))
        for s, p in zip(symbols, params, strict=True)
    ]
    idio_var = _garch_variance(
        np.stack([z[0] for z, _ in noise], axis=1),
        np.array([p.idio_vol**2 / _rows_per_year(s) for p, s in zip(params, symbols, strict=True)]),
        np.array([p.garch_alpha for p in params]),
        np.array([p.garch_beta for p in params]),
    )

    # Equity rows: aggregate the factor (and its variance) over the days since the previous session.
    idx = np.flatnonzero(sessions)
    eq_market = np.diff(np.cumsum(market)[idx], prepend=0.0)
    eq_market_var = np.diff(np.cumsum(market_var)[idx], prepend=0.0)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for j, (symbol, p, z) in enumerate(zip(symbols, params, noise, strict=True)):
        if is_crypto(symbol):
            dates, m, m_var = days, market, market_var
        else:
            dates, m, m_var = days[idx], eq_market, eq_market_var
        frame = _ohlcv(dates, m, m_var, idio_var[: len(dates), j], z, p, _rows_per_year(symbol))
        paths.append(_write_atomic(frame, out / f"{symbol}.csv"))
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


def _market_factor(
    days: np.ndarray, sessions: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Daily market-factor log returns on every calendar day, and their conditional variances."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, _MARKET_KEY]))
    z = rng.standard_normal((len(days), 1))
    off_days = DAYS_PER_YEAR - SESSIONS_PER_YEAR
    day_var = MARKET_VOL**2 / (SESSIONS_PER_YEAR + off_days * OFF_SESSION_SCALE**2)
    alpha, beta = MARKET_GARCH
    h = _garch_variance(z, np.array([day_var]), np.array([alpha]), np.array([beta]))[:, 0]
    scale = np.where(sessions, 1.0, OFF_SESSION_SCALE)
    return np.sqrt(h) * z[:, 0] * scale, h * scale**2


def _garch_variance(
    z: np.ndarray, target: np.ndarray, alpha: np.ndarray, beta: np.ndarray
) -> np.ndarray:
    """Conditional variances `h` of GARCH(1,1) shocks `sqrt(h) * z`, one column per series.

    `h_t = w + alpha * h_{t-1} * z_{t-1}^2 + beta * h_{t-1}` with `w = target * (1 - alpha - beta)`:
    a loop over rows, vectorised over columns, capped at 25x the target variance.
    """
    omega = target * (1.0 - alpha - beta)
    cap = 25.0 * target
    zz = z * z
    h = np.empty_like(z)
    h[0] = target
    for t in range(1, len(z)):
        h[t] = np.minimum(omega + (alpha * zz[t - 1] + beta) * h[t - 1], cap)
    return h


def _symbol_noise(
    seed: int, symbol: str, n: int, jump_rate: float
) -> tuple[np.ndarray, np.ndarray]:
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
    jump_var = p.jumps_per_year * (p.jump_mean**2 + p.jump_sd**2)
    drift = (p.mu - 0.5 * (total_var + jump_var) - p.jumps_per_year * p.jump_mean) / per_year
    ret = drift + p.beta * market + np.sqrt(idio_var) * z[0] + jumps
    sigma = np.sqrt(var)

    log_close = np.log(p.price0) + np.cumsum(ret)
    prev_close = np.concatenate(([np.log(p.price0)], log_close[:-1]))
    log_open = prev_close + p.gap_share * ret + 0.1 * sigma * z[2]
    log_high = np.maximum(log_open, log_close) + 0.6 * sigma * np.abs(z[3])
    log_low = np.minimum(log_open, log_close) - 0.6 * sigma * np.abs(z[4])
    surprise = np.abs(ret - drift) / np.maximum(sigma, 1e-12)
    volume = np.exp(np.log(p.volume0) + 0.5 * (surprise - 0.8) + 0.3 * z[5])

    o, h, lo, c = (_round_sig(np.exp(x)) for x in (log_open, log_high, log_low, log_close))
    h = np.maximum(h, np.maximum(o, c))  # rounding is monotone; this makes the invariant exact
    lo = np.minimum(lo, np.minimum(o, c))
    return pl.DataFrame(
        {
            "date": dates,
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": np.maximum(np.rint(volume), 1).astype(np.int64),
        }
    )


def _round_sig(x: np.ndarray, digits: int = SIG_DIGITS) -> np.ndarray:
    """Round positive `x` to `digits` significant digits (the double nearest the short decimal)."""
    x = np.maximum(x, 1e-300)
    d = digits - 1 - np.floor(np.log10(x)).astype(np.int64)
    p = 10.0 ** np.abs(d)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(d >= 0, np.rint(x * p) / p, np.rint(x / p) * p)


# --- files ---------------------------------------------------------------------------------------


def _rows_per_year(symbol: str) -> float:
    return DAYS_PER_YEAR if is_crypto(symbol) else SESSIONS_PER_YEAR


def _as_date(value: dt.date | str, name: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise DataError(f"generate: {name} must be a date as YYYY-MM-DD, got {value!r}") from None


def _check_symbols(symbols: list[str]) -> None:
    if not symbols:
        raise DataError("generate: no symbols given; pass at least one, e.g. SPY,AAPL")
    for s in symbols:
        if not s or s != s.strip() or any(ch in s for ch in '/\\:*?"<>|'):
            raise DataError(f"generate: {s!r} cannot be a file name; use a symbol like AAPL")
    dupes = sorted({s for s in symbols if symbols.count(s) > 1})
    if dupes:
        raise DataError(f"generate: {', '.join(dupes)} listed twice or more; list each once")


def _write_atomic(frame: pl.DataFrame, path: Path) -> Path:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            frame.write_csv(fh, date_format="%Y-%m-%d")
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
