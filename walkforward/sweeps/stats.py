"""Overfitting statistics across a sweep's trials (docs/methodology.md §9).

- `probabilistic_sharpe`: the Probabilistic Sharpe Ratio (Bailey & López de Prado 2012) of one return series.
- `deflated_sharpe`: the Deflated Sharpe Ratio (Bailey & López de Prado 2014): the PSR against the Sharpe ratio
  the best of N unskilled trials would reach.
- `pbo`: the Probability of Backtest Overfitting by combinatorially symmetric cross-validation (Bailey, Borwein,
  López de Prado & Zhu 2017), with the performance degradation (OOS Sharpe on IS Sharpe).

Every Sharpe ratio here is per period (not annualised): `mean(r) / std(r, ddof=1)`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import combinations
from statistics import NormalDist
from typing import Any

import numpy as np

EULER_GAMMA = 0.5772156649015329  # the Euler-Mascheroni constant
DEFAULT_BLOCKS = 16
_PHI = NormalDist()


def sharpe(r: Sequence[float] | np.ndarray) -> float | None:
    """Per-period Sharpe ratio `mean(r) / std(r, ddof=1)`; None for fewer than 2 rows or a series that never varies."""
    r = np.asarray(r, dtype=np.float64)
    if len(r) < 2:
        return None
    sd = float(np.std(r, ddof=1))
    return float(np.mean(r)) / sd if sd > 0 else None


def moments(r: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Skewness `m3 / m2^1.5` and (non-excess) kurtosis `m4 / m2^2`, with `m_k = mean((r - mean(r))^k)` (the
    population central moments, as `scipy.stats.skew` and `kurtosis(fisher=False)` compute them by default)."""
    r = np.asarray(r, dtype=np.float64)
    d = r - r.mean()
    m2 = float(np.mean(d**2))
    return float(np.mean(d**3)) / m2**1.5, float(np.mean(d**4)) / m2**2


def probabilistic_sharpe(r: Sequence[float] | np.ndarray, benchmark: float = 0.0) -> float | None:
    """`Φ((SR - SR*) √(T - 1) / √(1 - γ3 SR + (γ4 - 1) / 4 SR²))`: the probability that the true per-period Sharpe
    ratio exceeds `benchmark` (SR*), given T returns with skewness γ3 and kurtosis γ4. None where SR is undefined."""
    sr = sharpe(r)
    if sr is None:
        return None
    skew, kurt = moments(r)
    var = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr  # >= (1 - γ3 SR / 2)^2 since γ4 >= γ3^2 + 1
    if var <= 0:
        return None
    return _PHI.cdf((sr - benchmark) * math.sqrt(len(r) - 1) / math.sqrt(var))


def expected_max_sharpe(sharpes: Sequence[float], n_trials: int | None = None) -> float:
    """SR0 = σ_SR ((1 - γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e))): about the largest of N per-period Sharpe ratios
    expected by chance. σ_SR is the trials' std (ddof 1; 0 for fewer than 2), N `n_trials` (default: their number);
    N = 1 gives 0."""
    n = len(sharpes) if n_trials is None else n_trials
    if n <= 1:
        return 0.0
    sigma = float(np.std(np.asarray(sharpes, dtype=np.float64), ddof=1)) if len(sharpes) > 1 else 0.0
    z = (1 - EULER_GAMMA) * _PHI.inv_cdf(1 - 1 / n) + EULER_GAMMA * _PHI.inv_cdf(1 - 1 / (n * math.e))
    return sigma * z


def deflated_sharpe(
    r: Sequence[float] | np.ndarray, sharpes: Sequence[float], n_trials: int | None = None
) -> float | None:
    """The PSR of `r` against SR0 of the trials' Sharpe ratios `sharpes` (`expected_max_sharpe`)."""
    return probabilistic_sharpe(r, expected_max_sharpe(sharpes, n_trials))


def block_bounds(t: int, s: int) -> list[tuple[int, int]]:
    """S consecutive blocks of T rows, in time order; when S does not divide T the first `T mod S` blocks have one
    row more (`numpy.array_split`'s split)."""
    size, extra = divmod(t, s)
    bounds, lo = [], 0
    for i in range(s):
        hi = lo + size + (1 if i < extra else 0)
        bounds.append((lo, hi))
        lo = hi
    return bounds


def _sharpes_of(total: np.ndarray, squares: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Per-period Sharpe ratios from sums and sums of squares (ddof 1); 0/0 (a flat series) counts as 0."""
    mean = total / n
    var = np.maximum(squares - total * mean, 0.0) / (n - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = mean / np.sqrt(var)
    return np.nan_to_num(out, nan=0.0, posinf=np.inf, neginf=-np.inf)


def _oos_rank(oos: np.ndarray, best: np.ndarray) -> np.ndarray:
    """The rank (1 = worst, N = best; ties share their average rank) of each row's `best` trial among its N."""
    own = oos[np.arange(len(oos)), best][:, None]
    below = (oos < own).sum(axis=1)
    tied = (oos == own).sum(axis=1)  # itself included
    return below + (tied + 1) / 2


def pbo(returns: np.ndarray, blocks: int = DEFAULT_BLOCKS) -> dict[str, Any]:
    """PBO by CSCV over a T × N matrix of the trials' per-period returns (methodology §9): for each of the C(S, S/2)
    choices of S/2 blocks as in-sample, the trial with the best in-sample Sharpe ratio (the first on ties), its
    out-of-sample rank ω = rank / (N + 1) and logit λ = ln(ω / (1 - ω)). PBO is the share of λ <= 0; the degradation
    is the OLS slope (and intercept) of the chosen trial's OOS Sharpe on its IS Sharpe over the combinations."""
    m = np.asarray(returns, dtype=np.float64)
    t, n = m.shape
    if blocks < 2 or blocks % 2 or t < 2 * blocks:
        raise ValueError(f"PBO needs an even number of blocks >= 2 with at least 2 rows each; got S={blocks}, T={t}")
    if n < 2:
        raise ValueError(f"PBO compares trials: it needs at least 2, got N={n}")
    bounds = block_bounds(t, blocks)
    total = np.array([m[lo:hi].sum(axis=0) for lo, hi in bounds])  # S × N
    squares = np.array([(m[lo:hi] ** 2).sum(axis=0) for lo, hi in bounds])
    rows = np.array([hi - lo for lo, hi in bounds], dtype=np.float64)
    chosen = np.zeros((math.comb(blocks, blocks // 2), blocks), dtype=bool)
    for i, c in enumerate(combinations(range(blocks), blocks // 2)):
        chosen[i, list(c)] = True
    ins = _sharpes_of(chosen @ total, chosen @ squares, (chosen @ rows)[:, None])
    outs = _sharpes_of(~chosen @ total, ~chosen @ squares, (~chosen @ rows)[:, None])
    best = np.argmax(ins, axis=1)
    omega = _oos_rank(outs, best) / (n + 1)
    logits = np.log(omega / (1 - omega))
    x, y = ins[np.arange(len(best)), best], outs[np.arange(len(best)), best]
    slope, intercept = _ols(x, y)
    return {
        "pbo": float(np.mean(logits <= 0)),
        "logits": logits.tolist(),
        "is_sharpe": x.tolist(),
        "oos_sharpe": y.tolist(),
        "degradation_slope": slope,
        "degradation_intercept": intercept,
        "prob_oos_loss": float(np.mean(y < 0)),
        "S": blocks,
        "N": n,
        "T": t,
        "combinations": len(best),
    }


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None]:
    """Slope and intercept of the least-squares line of y on x; None when x never varies (or is not finite)."""
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        return None, None
    dx = x - x.mean()
    sxx = float(dx @ dx)
    if sxx == 0:
        return None, None
    slope = float(dx @ (y - y.mean())) / sxx
    return slope, float(y.mean() - slope * x.mean())
