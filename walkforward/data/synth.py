"""The kernels of the synthetic price model (see `walkforward/data/generate.py` for the model): the GARCH(1,1)
market factor on calendar days, GARCH variances, innovations (normal or Student-t), the drift that makes prices grow
at a target rate, and the bars (open, high, low, close, volume) built from log returns. Shared by `generate.py` (one
CSV per symbol) and `universe.py` (a long Parquet file for hundreds of symbols).

Every array function works on one series (shape `(rows,)`) or on many at once (shape `(rows, series)`, parameters of
shape `(series,)`): a loop over rows at most, never over series. Nothing here knows about symbols or files except
`write_atomic`.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np

from walkforward.errors import DataError
from walkforward.files import make_folder

SIG_DIGITS = 6
MARKET_VOL = 0.17  # annual volatility of the market factor
MARKET_GARCH = (0.09, 0.89)  # (alpha, beta) of the market factor
OFF_SESSION_SCALE = 0.35  # factor volatility on calendar days that are not NYSE sessions
SESSIONS_PER_YEAR = 252
DAYS_PER_YEAR = 365.25
MARKET_KEY = 2**32  # SeedSequence word for the market factor; crc32 values are < 2**32

Num = float | np.ndarray  # a parameter: one value, or one per series


def innovations(rng: np.random.Generator, shape: tuple[int, ...], dof: float = math.inf) -> np.ndarray:
    """Unit-variance shocks: standard normal when `dof` is infinite, else Student-t with `dof > 2` degrees of
    freedom scaled by `sqrt((dof - 2) / dof)` (variance 1, excess kurtosis `6 / (dof - 4)` for `dof > 4`)."""
    if math.isinf(dof):
        return rng.standard_normal(shape)
    return rng.standard_t(dof, shape) * math.sqrt((dof - 2.0) / dof)


def market_factor(
    days: np.ndarray, sessions: np.ndarray, seed: int, dof: float = math.inf
) -> tuple[np.ndarray, np.ndarray]:
    """Daily market-factor log returns on every calendar day, and their conditional variances."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, MARKET_KEY]))
    z = innovations(rng, (len(days), 1), dof)
    off_days = DAYS_PER_YEAR - SESSIONS_PER_YEAR
    day_var = MARKET_VOL**2 / (SESSIONS_PER_YEAR + off_days * OFF_SESSION_SCALE**2)
    alpha, beta = MARKET_GARCH
    h = garch_variance(z, np.array([day_var]), np.array([alpha]), np.array([beta]))[:, 0]
    scale = np.where(sessions, 1.0, OFF_SESSION_SCALE)
    return np.sqrt(h) * z[:, 0] * scale, h * scale**2


def session_sums(daily: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Sums of a daily series over the calendar days since the previous session (`idx`: the sessions' positions)."""
    return np.diff(np.cumsum(daily)[idx], prepend=0.0)


def garch_variance(z: np.ndarray, target: np.ndarray, alpha: np.ndarray, beta: np.ndarray) -> np.ndarray:
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


def drift_per_row(mu: Num, total_var: Num, jumps_per_year: Num, jump_mean: Num, jump_sd: Num, per_year: float) -> Num:
    """The log-return drift per row that makes prices grow at `mu` a year: the variance correction of the diffusion
    (`total_var`, annual) and of the jumps, and the jumps' mean, taken out."""
    jump_var = jumps_per_year * (jump_mean**2 + jump_sd**2)
    return (mu - 0.5 * (total_var + jump_var) - jumps_per_year * jump_mean) / per_year


def price_bars(
    log_price0: Num, ret: np.ndarray, drift: Num, sigma: np.ndarray, z: np.ndarray, gap_share: Num, volume0: Num
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Open, high, low, close (rounded to `SIG_DIGITS`) and integer volume from log returns `ret` (rows first).

    The close compounds `ret` from `exp(log_price0)`; the open is the previous close times a gap (`gap_share` of the
    row's return plus noise `z[2]`); high and low reach beyond max/min(open, close) by `0.6 * sigma * |z[3]|`,
    `|z[4]|`; volume is lognormal around `volume0` (noise `z[5]`) and rises with `|ret - drift| / sigma`.
    """
    log_close = log_price0 + np.cumsum(ret, axis=0)
    first = np.broadcast_to(log_price0, (1, *ret.shape[1:]))
    prev_close = np.concatenate((first, log_close[:-1]))
    log_open = prev_close + gap_share * ret + 0.1 * sigma * z[2]
    log_high = np.maximum(log_open, log_close) + 0.6 * sigma * np.abs(z[3])
    log_low = np.minimum(log_open, log_close) - 0.6 * sigma * np.abs(z[4])
    surprise = np.abs(ret - drift) / np.maximum(sigma, 1e-12)
    volume = np.exp(np.log(volume0) + 0.5 * (surprise - 0.8) + 0.3 * z[5])

    o, h, lo, c = (round_sig(np.exp(x)) for x in (log_open, log_high, log_low, log_close))
    h = np.maximum(h, np.maximum(o, c))  # rounding is monotone; this makes the invariant exact
    lo = np.minimum(lo, np.minimum(o, c))
    return o, h, lo, c, np.maximum(np.rint(volume), 1).astype(np.int64)


def round_sig(x: np.ndarray, digits: int = SIG_DIGITS) -> np.ndarray:
    """Round positive `x` to `digits` significant digits (the double nearest the short decimal)."""
    x = np.maximum(x, 1e-300)
    d = digits - 1 - np.floor(np.log10(x)).astype(np.int64)
    p = 10.0 ** np.abs(d)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(d >= 0, np.rint(x * p) / p, np.rint(x / p) * p)


def check_out(out_dir: str | os.PathLike[str], names: list[str], *, overwrite: bool, flag: str = "--out") -> Path:
    """The folder a generator writes the files `names` into, created if missing. Refused in one line when it is a
    file, cannot be created or written, or already holds one of `names` (a user's own data, say) unless
    `overwrite`."""
    out = Path(out_dir)
    held = [name for name in names if out.is_dir() and (out / name).exists()]
    if held and not overwrite:
        more = f" (and {len(held) - 1} more of the files it would write)" if len(held) > 1 else ""
        raise DataError(
            f"{flag} {str(out)!r} already holds {held[0]}{more}; pass --overwrite to replace them, or pick another "
            f"{flag}"
        )
    return make_folder(out, flag, flag, DataError)


def write_atomic(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Call `write(fh)` on a temporary file next to `path`, then rename it over `path` (readers never see a partial
    file; a failure removes the temporary file)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600 files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
