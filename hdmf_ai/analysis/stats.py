"""Statistics with numpy and :mod:`math` only: intervals of a proportion (Wilson, exact Clopper-Pearson),
Pearson's chi-square test of independence (and the chi-square survival function it needs), Fisher's exact test
of a 2x2 table, and the paired tests of two or more models on the same samples: McNemar's exact and mid-p tests,
Cochran's Q, and DeLong's test of two ROC AUCs (binary, and one-vs-rest macro) from midranks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "PROPORTION_METHODS",
    "DeLongComponents",
    "average_ranks",
    "binomial_half_cdf",
    "chi2_sf",
    "chi_square",
    "clopper_pearson_interval",
    "cochran_q",
    "delong_components",
    "fisher_exact",
    "mcnemar",
    "normal_quantile",
    "normal_two_sided_p",
    "proportion_interval",
    "regularized_beta",
    "wilson_interval",
]

#: the intervals of a proportion: ``"wilson"`` (score interval) or ``"exact"`` (Clopper-Pearson)
PROPORTION_METHODS = ("wilson", "exact")
# below this many discordant pairs, McNemar's binomial tail is summed in exact integer arithmetic
_EXACT_BINOMIAL_LIMIT = 20_000

# p-values of tables as extreme as the observed one, up to float rounding (as R and scipy do)
_FISHER_TOLERANCE = 1 + 1e-7


def wilson_interval(successes: ArrayLike, n: ArrayLike, *, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion: (lower, upper), arrays like ``successes``.

    It stays inside [0, 1] and keeps its coverage for small counts and rates near 0 or 1, where the
    normal (Wald) interval fails. NaN where ``n`` is 0.
    """
    _check_confidence(confidence)
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


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1; got {confidence}")


def normal_quantile(p: float) -> float:
    """The standard normal quantile; -inf at 0, +inf at 1, NaN outside [0, 1]."""
    if p <= 0 or p >= 1:
        return -math.inf if p == 0 else math.inf if p == 1 else math.nan
    return NormalDist().inv_cdf(p)


def normal_two_sided_p(z: float) -> float:
    """P(|Z| >= |z|) for a standard normal Z, accurate far into the tails (``erfc``)."""
    return math.erfc(abs(z) / math.sqrt(2)) if math.isfinite(z) else (0.0 if not math.isnan(z) else math.nan)


# -- the incomplete beta function, for exact binomial intervals and tails ------------------------------------


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz), converging for x < (a+1)/(a+b+2)."""
    tiny, eps = 1e-300, 1e-16
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < eps:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function (the Beta(a, b) distribution function at x)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = a * math.log(x) + b * math.log1p(-x) - (math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b))
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1 - math.exp(log_front) * _beta_fraction(b, a, 1 - x) / b


def _beta_quantile(q: float, a: float, b: float) -> float:
    """The x with I_x(a, b) = q, by bisection to the last bit (I_x rises with x)."""
    lo, hi = 0.0, 1.0
    while True:
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            return mid
        if regularized_beta(a, b, mid) < q:
            lo = mid
        else:
            hi = mid


def clopper_pearson_interval(
    successes: ArrayLike, n: ArrayLike, *, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """The exact (Clopper-Pearson) interval of a binomial proportion: (lower, upper), arrays like ``successes``.

    The Beta quantiles ``Beta(alpha/2; k, n-k+1)`` and ``Beta(1-alpha/2; k+1, n-k)``, 0 at k = 0 and 1 at k = n.
    It covers at least ``confidence`` for every true rate (so it is wider than Wilson's). NaN where ``n`` is 0.
    """
    _check_confidence(confidence)
    k, total = np.broadcast_arrays(np.asarray(successes, dtype=np.float64), np.asarray(n, dtype=np.float64))
    alpha = 1 - confidence
    lower, upper = np.full(k.shape, np.nan), np.full(k.shape, np.nan)
    for i in np.ndindex(k.shape):
        s, t = float(k[i]), float(total[i])
        if t <= 0:
            continue
        lower[i] = 0.0 if s <= 0 else _beta_quantile(alpha / 2, s, t - s + 1)
        upper[i] = 1.0 if s >= t else _beta_quantile(1 - alpha / 2, s + 1, t - s)
    return lower, upper


def proportion_interval(
    successes: ArrayLike, n: ArrayLike, *, confidence: float = 0.95, method: str = "wilson"
) -> tuple[np.ndarray, np.ndarray]:
    """The interval of a binomial proportion by ``method``: ``"wilson"`` or ``"exact"`` (Clopper-Pearson)."""
    if method == "wilson":
        return wilson_interval(successes, n, confidence=confidence)
    if method == "exact":
        return clopper_pearson_interval(successes, n, confidence=confidence)
    raise ValueError(f"proportion method must be one of {list(PROPORTION_METHODS)}; got {method!r}")


# -- paired tests of classifiers ------------------------------------------------------------------------------


def binomial_half_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2): exact integer sums up to 20 000 trials, the incomplete beta above."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    if n <= _EXACT_BINOMIAL_LIMIT:
        term, total = 1, 1
        for i in range(k):
            term = term * (n - i) // (i + 1)
            total += term
        return total / 2**n
    return regularized_beta(n - k, k + 1, 0.5)


def mcnemar(only_a: int, only_b: int) -> tuple[float, float]:
    """McNemar's test of two classifiers on the same samples: (exact p-value, mid-p-value), two-sided.

    ``only_a`` samples are right under model A only, ``only_b`` under B only; under the null each discordant
    sample is either with probability 1/2. The exact p-value doubles the binomial tail of the smaller count
    (capped at 1, as ``statsmodels.stats.contingency_tables.mcnemar(exact=True)``); the mid-p-value subtracts the
    probability of the observed count itself, which keeps the level closer to nominal (Fagerland et al., 2013).
    """
    n, low = only_a + only_b, min(only_a, only_b)
    if n == 0:
        return 1.0, 1.0
    tail = binomial_half_cdf(low, n)
    point = tail - binomial_half_cdf(low - 1, n)
    return min(1.0, 2 * tail), min(1.0, 2 * tail - point)


def cochran_q(correct: ArrayLike) -> tuple[float, int, float]:
    """Cochran's Q test that k classifiers have the same accuracy: (statistic, degrees of freedom, p-value).

    ``correct`` is an (n samples, k models) array of 0/1 (right / wrong). Q is chi-square with k - 1 degrees of
    freedom under the null; with two models it is McNemar's (uncorrected) chi-square. A p-value of 1 when every
    sample is right under all models or wrong under all (nothing to compare).
    """
    x = np.asarray(correct, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2:
        raise ValueError(f"correct must be an (n samples, k >= 2 models) array; got shape {x.shape}")
    k = x.shape[1]
    per_model, per_sample = x.sum(axis=0), x.sum(axis=1)
    total = per_sample.sum()
    denominator = k * total - np.sum(per_sample**2)
    if denominator <= 0:
        return 0.0, k - 1, 1.0
    q = float((k - 1) * (k * np.sum(per_model**2) - total**2) / denominator)
    return q, k - 1, chi2_sf(q, k - 1)


def average_ranks(values: np.ndarray) -> tuple[np.ndarray, float]:
    """Ranks 1..n, ties given their average rank, and the tie term sum(t^3 - t) over groups of t ties."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts
    ranks = (below + (counts + 1) / 2)[inverse.reshape(-1)]
    tcounts = counts.astype(np.float64)
    return ranks.astype(np.float64), float(np.sum(tcounts**3 - tcounts))


@dataclass(frozen=True)
class DeLongComponents:
    """A ROC AUC and each sample's share of its variance, from DeLong's structural components.

    ``influence[i]`` is ``(V10_i - auc) / sqrt(m (m - 1))`` for each of the m positive samples and
    ``(V01_j - auc) / sqrt(n (n - 1))`` for each of the n negative ones, where V10_i is the fraction of negatives
    scored below positive i (ties count 1/2) and V01_j the fraction of positives scored above negative j. So the
    DeLong covariance of two AUCs over the same samples is ``sum(influence_a * influence_b)``, and the variance
    of any average of AUCs is the sum of squares of the averaged influences.
    """

    auc: float
    influence: np.ndarray


def delong_components(scores: ArrayLike, positive: ArrayLike) -> DeLongComponents:
    """The AUC of ``scores`` for the 0/1 ``positive`` and its structural components (midranks, O(n log n)).

    NaN AUC (and zero influence) when there are fewer than two positives or two negatives.
    """
    s = np.asarray(scores, dtype=np.float64)
    pos = np.asarray(positive, dtype=bool)
    m, n = int(pos.sum()), int((~pos).sum())
    if m < 2 or n < 2:
        return DeLongComponents(math.nan, np.zeros(len(s)))
    overall, _ = average_ranks(s)
    within_pos, _ = average_ranks(s[pos])
    within_neg, _ = average_ranks(s[~pos])
    v10 = (overall[pos] - within_pos) / n  # negatives below each positive
    v01 = 1 - (overall[~pos] - within_neg) / m  # positives above each negative
    auc = float(v10.mean())
    influence = np.empty(len(s))
    influence[pos] = (v10 - auc) / math.sqrt(m * (m - 1))
    influence[~pos] = (v01 - auc) / math.sqrt(n * (n - 1))
    return DeLongComponents(auc, influence)
