"""The statistics of the error breakdown, with numpy and :mod:`math`: Wilson intervals, Pearson's chi-square
test of independence (and the chi-square survival function it needs) and Fisher's exact test of a 2x2 table.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["chi2_sf", "chi_square", "fisher_exact", "wilson_interval"]

# p-values of tables as extreme as the observed one, up to float rounding (as R and scipy do)
_FISHER_TOLERANCE = 1 + 1e-7


def wilson_interval(successes: ArrayLike, n: ArrayLike, *, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion: (lower, upper), arrays like ``successes``.

    It stays inside [0, 1] and keeps its coverage for small counts and rates near 0 or 1, where the
    normal (Wald) interval fails. NaN where ``n`` is 0.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1; got {confidence}")
    k, total = np.asarray(successes, dtype=np.float64), np.asarray(n, dtype=np.float64)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    safe = np.where(total > 0, total, 1.0)
    rate = k / safe
    scale = 1 + z * z / safe
    centre = (rate + z * z / (2 * safe)) / scale
    half = z * np.sqrt(rate * (1 - rate) / safe + z * z / (4 * safe * safe)) / scale
    lower = np.where(total > 0, np.clip(centre - half, 0, 1), np.nan)
    upper = np.where(total > 0, np.clip(centre + half, 0, 1), np.nan)
    return lower, upper


def _log_sum_exp(terms: list[float]) -> float:
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def chi2_sf(x: float, dof: int) -> float:
    """P(X >= x) for X ~ chi-square(dof), dof a positive integer, from the closed-form sums.

    Even dof: exp(-x/2) * sum_{i<dof/2} (x/2)^i / i!. Odd dof: erfc(sqrt(x/2)) plus
    exp(-x/2) * sum_{1<=i<=(dof-1)/2} (x/2)^(i-1/2) / Gamma(i+1/2). Terms are summed in log space, so
    large statistics and many degrees of freedom neither overflow nor underflow early.
    """
    if x <= 0:
        return 1.0
    half = x / 2
    if dof % 2 == 0:
        terms = [i * math.log(half) - math.lgamma(i + 1) for i in range(dof // 2)]
        return min(1.0, math.exp(_log_sum_exp(terms) - half))
    tail = math.erfc(math.sqrt(half))
    terms = [(i - 0.5) * math.log(half) - math.lgamma(i + 0.5) for i in range(1, (dof + 1) // 2)]
    return min(1.0, tail + (math.exp(_log_sum_exp(terms) - half) if terms else 0.0))


def chi_square(observed: np.ndarray) -> tuple[float, int, float, float]:
    """Pearson's chi-square test of independence: (statistic, dof, p-value, smallest expected count)."""
    observed = observed[observed.sum(axis=1) > 0][:, observed.sum(axis=0) > 0].astype(np.float64)
    if min(observed.shape) < 2:  # one group, or no errors (or no successes) at all: nothing can vary
        return 0.0, 0, 1.0, math.inf
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    dof = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    return statistic, dof, chi2_sf(statistic, dof), float(expected.min())


def fisher_exact(table: np.ndarray) -> float:
    """Two-sided p-value of Fisher's exact test of a 2x2 table: the probability, with the margins fixed,
    of tables no more probable than the one observed."""
    (a, b), (c, d) = (int(v) for v in table[0]), (int(v) for v in table[1])
    row, col, n = a + b, a + c, a + b + c + d

    def log_p(x: int) -> float:  # hypergeometric: x of the `col` column total fall in the first row
        return _log_comb(row, x) + _log_comb(n - row, col - x) - _log_comb(n, col)

    observed = log_p(a)
    support = [log_p(x) for x in range(max(0, col - (n - row)), min(row, col) + 1)]
    limit = observed + math.log(_FISHER_TOLERANCE)
    return min(1.0, sum(math.exp(lp) for lp in support if lp <= limit))


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
