"""The overfitting statistics (methodology §9) against values worked out by hand, or by a separate plain-Python
implementation written here from the definitions, on small series and matrices; and their properties."""

from __future__ import annotations

import math
import statistics
from itertools import combinations
from statistics import NormalDist

import numpy as np
import pytest

from walkforward.sweeps.stats import (
    EULER_GAMMA,
    block_bounds,
    deflated_sharpe,
    expected_max_sharpe,
    moments,
    pbo,
    probabilistic_sharpe,
    sharpe,
)

REL = 1e-9
PHI = NormalDist()


def test_psr_by_hand_symmetric_series():
    # r = 2, 0, 1, 3 (%): mean 1.5%, deviations ±0.5, ±1.5 (%); std (ddof 1) = sqrt(5e-4 / 3), so SR² = 2.25e-4 /
    # (5e-4 / 3) = 1.35. m2 = 1.25e-4, m3 = 0 (the deviations are symmetric), m4 = 2 (6.25e-10 + 5.0625e-8) / 4 =
    # 2.5625e-8, so γ3 = 0 and γ4 = 2.5625e-8 / 1.5625e-8 = 1.64. Denominator 1 + 0.64 / 4 * 1.35 = 1.216, and
    # z = SR √3 / √1.216 = √(1.35 * 3 / 1.216).
    r = [0.02, 0.0, 0.01, 0.03]
    assert sharpe(r) == pytest.approx(math.sqrt(1.35), rel=REL)
    skew, kurt = moments(r)
    assert skew == pytest.approx(0.0, abs=1e-12) and kurt == pytest.approx(1.64, rel=REL)
    assert probabilistic_sharpe(r) == pytest.approx(PHI.cdf(math.sqrt(4.05 / 1.216)), rel=REL)


def test_psr_of_a_zero_mean_series_is_one_half():
    assert probabilistic_sharpe([0.01, -0.01, 0.01, -0.01]) == pytest.approx(0.5, abs=1e-12)


def test_psr_skewed_series_against_plain_python():
    r = [0.05, -0.01, 0.0, -0.02, 0.01, -0.01]
    mean, sd = statistics.fmean(r), statistics.stdev(r)
    sr = mean / sd
    m = lambda k: sum((x - mean) ** k for x in r) / len(r)  # noqa: E731 - population central moments
    skew, kurt = m(3) / m(2) ** 1.5, m(4) / m(2) ** 2
    assert skew > 0.5  # the formula's skew term matters here
    z = (sr - 0.1) * math.sqrt(len(r) - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    assert probabilistic_sharpe(r, 0.1) == pytest.approx(PHI.cdf(z), rel=REL)


def test_psr_undefined_for_a_flat_or_one_row_series():
    assert probabilistic_sharpe([0.01, 0.01, 0.01]) is None
    assert probabilistic_sharpe([0.01]) is None


def test_dsr_by_hand_three_trials():
    # Sharpe ratios 0.1, 0.2, 0.3: σ_SR = 0.1 (deviations ±0.1 and 0, ddof 1: sqrt(0.02 / 2)); N = 3.
    sr0 = 0.1 * ((1 - EULER_GAMMA) * PHI.inv_cdf(2 / 3) + EULER_GAMMA * PHI.inv_cdf(1 - 1 / (3 * math.e)))
    assert expected_max_sharpe([0.1, 0.2, 0.3]) == pytest.approx(sr0, rel=REL)
    r = [0.02, 0.0, 0.01, 0.03]
    assert deflated_sharpe(r, [0.1, 0.2, 0.3]) == pytest.approx(probabilistic_sharpe(r, sr0), rel=REL)
    assert deflated_sharpe(r, [0.1, 0.2, 0.3]) < probabilistic_sharpe(r)


def test_one_trial_gives_dsr_equal_to_psr():
    r = [0.05, -0.01, 0.0, -0.02, 0.01, -0.01]
    assert expected_max_sharpe([sharpe(r)]) == 0.0
    assert deflated_sharpe(r, [sharpe(r)]) == probabilistic_sharpe(r)


def test_block_bounds_when_blocks_do_not_divide_rows():
    assert block_bounds(9, 4) == [(0, 3), (3, 5), (5, 7), (7, 9)]
    assert block_bounds(8, 4) == [(0, 2), (2, 4), (4, 6), (6, 8)]


def test_pbo_by_hand_two_blocks():
    # S = 2: IS block 0 / OOS block 1, then the reverse. Per-block Sharpe ratios (2 rows each):
    #   A: block 0 [1, 3]% -> mean 2%, std √2% -> √2;  block 1 [0, -1]% -> -0.5% / (0.5√2%) = -1/√2
    #   B: block 0 [0, 1]% -> 1/√2;                     block 1 [1, 3]% -> √2
    # IS block 0: best A, OOS A is the worse of 2: rank 1, ω = 1/3, λ = ln(1/2). IS block 1: best B, OOS B is the
    # worse: λ = ln(1/2). PBO = 1; both chosen IS Sharpe ratios are √2, so the slope is undefined.
    m = np.array([[0.01, 0.0], [0.03, 0.01], [0.0, 0.01], [-0.01, 0.03]])
    out = pbo(m, blocks=2)
    assert out["pbo"] == 1.0
    assert out["logits"] == pytest.approx([math.log(0.5)] * 2, rel=REL)
    assert out["is_sharpe"] == pytest.approx([math.sqrt(2)] * 2, rel=REL)
    assert out["oos_sharpe"] == pytest.approx([-1 / math.sqrt(2), 1 / math.sqrt(2)], rel=REL)
    assert out["degradation_slope"] is None
    assert (out["S"], out["N"], out["T"], out["combinations"]) == (2, 2, 4, 2)


def _plain_cscv(m: list[list[float]], s: int) -> tuple[list[float], list[float], list[float]]:
    """CSCV from the definitions, one combination at a time: rows by block, Sharpe by `statistics`, ranks by
    counting."""
    t, n = len(m), len(m[0])
    size, extra = divmod(t, s)
    starts = [sum(size + (i < extra) for i in range(b)) for b in range(s + 1)]
    logits, xs, ys = [], [], []
    for chosen in combinations(range(s), s // 2):
        ins = [r for b in chosen for r in range(starts[b], starts[b + 1])]
        outs = [r for b in range(s) if b not in chosen for r in range(starts[b], starts[b + 1])]
        sr = lambda rows, j: statistics.fmean(m[r][j] for r in rows) / statistics.stdev(m[r][j] for r in rows)  # noqa: E731
        is_sr = [sr(ins, j) for j in range(n)]
        oos_sr = [sr(outs, j) for j in range(n)]
        best = is_sr.index(max(is_sr))
        rank = 1 + sum(v < oos_sr[best] for v in oos_sr)  # no ties in this data
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
        xs.append(is_sr[best])
        ys.append(oos_sr[best])
    return logits, xs, ys


def test_pbo_against_plain_python_cscv():
    rng = np.random.default_rng(3)
    m = rng.normal(0.001, 0.01, size=(11, 3))  # 11 rows in 4 blocks: 3, 3, 3, 2
    logits, xs, ys = _plain_cscv(m.tolist(), 4)
    out = pbo(m, blocks=4)
    assert out["logits"] == pytest.approx(logits, rel=REL)
    assert out["pbo"] == sum(v <= 0 for v in logits) / 6
    slope = statistics.linear_regression(xs, ys).slope
    assert out["degradation_slope"] == pytest.approx(slope, rel=1e-7)


def test_pbo_of_pure_noise_is_near_one_half():
    rng = np.random.default_rng(16)
    out = pbo(rng.normal(0.0, 0.01, size=(1000, 50)))
    assert out["combinations"] == math.comb(16, 8)
    assert abs(out["pbo"] - 0.5) < 0.1


def test_pbo_of_a_trial_that_dominates_everywhere_is_zero():
    rng = np.random.default_rng(5)
    m = rng.normal(0.0, 0.01, size=(320, 10))
    m[:, 0] = rng.normal(0.05, 0.01, size=320)  # a Sharpe ratio of ~5 per period in every block
    out = pbo(m, blocks=8)
    assert out["pbo"] == 0.0
    assert all(v == pytest.approx(math.log(10)) for v in out["logits"])  # rank N: ω = N / (N + 1)


@pytest.mark.parametrize(
    ("shape", "blocks", "match"), [((40, 3), 3, "even"), ((10, 3), 16, "T=10"), ((40, 1), 4, "N=1")]
)
def test_pbo_refuses_what_it_cannot_compute(shape, blocks, match):
    with pytest.raises(ValueError, match=match):
        pbo(np.zeros(shape), blocks=blocks)
