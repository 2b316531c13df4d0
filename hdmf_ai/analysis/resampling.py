"""Bootstrap intervals of statistics of the rows of a table: percentile and BCa, seeded, paired by construction.

A statistic here is a function of row positions (an integer array) that returns one value per quantity, so a
single set of resamples gives the intervals of many metrics at once, and of two models' metrics on the *same*
resampled rows (the paired bootstrap of a difference). The resamples are drawn as ``scipy.stats.bootstrap``
draws them (``numpy.random.default_rng(seed).integers(0, n, (n_resamples, n))``, in consecutive blocks), and the
intervals are computed as it computes them (linear quantiles; BCa from the jackknife), so with the same seed
both give the same numbers; the tests check it. Leave-one-out jackknife runs over at most
:data:`JACKKNIFE_ROWS` rows; a larger table is jackknifed by deleting one of that many groups of rows at a time
(the grouped jackknife estimate of the acceleration), which keeps BCa linear in the table's size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from .stats import normal_quantile

__all__ = ["BOOTSTRAP_METHODS", "JACKKNIFE_ROWS", "Bootstrap", "bootstrap", "resample_blocks"]

#: ``"percentile"`` or ``"bca"`` (bias-corrected and accelerated)
BOOTSTRAP_METHODS = ("percentile", "bca")
#: leave-one-out jackknife up to this many rows; grouped (this many groups) above
JACKKNIFE_ROWS = 1000
# resampled row positions drawn at once: about 32 MiB of int64
_BLOCK_VALUES = 1 << 22

Statistic = Callable[[np.ndarray], np.ndarray]


def resample_blocks(n: int, n_resamples: int, seed: int | None) -> Iterator[np.ndarray]:
    """Yield (resamples, n) arrays of row positions, drawn with replacement, in blocks of bounded size.

    Consecutive blocks continue one random stream, so the rows equal one draw of shape (n_resamples, n).
    """
    rng = np.random.default_rng(seed)
    block = max(1, min(n_resamples, _BLOCK_VALUES // max(n, 1)))
    for start in range(0, n_resamples, block):
        yield rng.integers(0, n, (min(block, n_resamples - start), n))


@dataclass(frozen=True)
class Bootstrap:
    """Intervals of k quantities from one set of resamples: arrays of length k, and how they were made."""

    low: np.ndarray
    high: np.ndarray
    distribution: np.ndarray  # (n_resamples, k)
    method: str
    confidence: float
    n_resamples: int
    seed: int | None


def _jackknife(statistic: Statistic, n: int) -> np.ndarray:
    """The statistic without each row (or, above JACKKNIFE_ROWS rows, without each of that many groups)."""
    positions = np.arange(n)
    groups = n if n <= JACKKNIFE_ROWS else JACKKNIFE_ROWS
    label = positions % groups
    return np.stack([np.asarray(statistic(positions[label != g]), dtype=np.float64) for g in range(groups)])


def _bca_levels(
    statistic: Statistic, n: int, estimate: np.ndarray, distribution: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """The quantile levels of the BCa interval of each quantity (Efron and Tibshirani, 14.3 and 15.4)."""
    below = np.count_nonzero(distribution < estimate, axis=0) + np.count_nonzero(distribution <= estimate, axis=0)
    bias = np.array([normal_quantile(p) for p in below / (2 * len(distribution))])
    jack = _jackknife(statistic, n)
    spread = (len(jack) - 1) * (jack.mean(axis=0) - jack)
    cdf = np.vectorize(lambda z: NormalDist().cdf(z) if math.isfinite(z) else (math.nan if math.isnan(z) else z > 0))
    levels = []
    # a degenerate distribution (every resample on one side of the estimate, or a constant jackknife) gives NaN
    with np.errstate(divide="ignore", invalid="ignore"):
        accel = np.sum(spread**3, axis=0) / len(jack) ** 3 / 6 / (np.sum(spread**2, axis=0) / len(jack) ** 2) ** 1.5
        for z_alpha in (normal_quantile(alpha), -normal_quantile(alpha)):
            shifted = bias + z_alpha
            levels.append(cdf(bias + shifted / (1 - accel * shifted)).astype(np.float64))
    return levels[0], levels[1]


def bootstrap(
    statistic: Statistic,
    n: int,
    *,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    method: str = "bca",
    seed: int | None = 0,
) -> Bootstrap:
    """Two-sided bootstrap intervals of each value ``statistic(rows)`` returns, resampling the n rows.

    Parameters
    ----------
    statistic
        A function of row positions (an integer array) returning a 1-D array of k values (k quantities).
    n
        The number of rows.
    confidence
        The coverage of each interval (its two tails hold ``(1 - confidence) / 2`` each).
    n_resamples
        How many resamples of the rows.
    method
        ``"bca"`` (default: bias-corrected and accelerated) or ``"percentile"``.
    seed
        Seeds the resamples: the same seed gives the same numbers; None draws fresh entropy.

    Returns
    -------
    Bootstrap
        ``low`` and ``high`` (NaN where the statistic is NaN in some resample or its distribution is degenerate
        for BCa), and the bootstrap distribution.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(20.0)
    >>> b = bootstrap(lambda rows: np.array([x[rows].mean()]), len(x), method="percentile", seed=1)
    >>> bool(b.low[0] < x.mean() < b.high[0])
    True
    """
    if method not in BOOTSTRAP_METHODS:
        raise ValueError(f"bootstrap method must be one of {list(BOOTSTRAP_METHODS)}; got {method!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1; got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1; got {n_resamples}")
    if n < 1:
        raise ValueError(f"a bootstrap needs at least one row; got {n}")
    estimate = np.asarray(statistic(np.arange(n)), dtype=np.float64)
    blocks = resample_blocks(n, n_resamples, seed)
    draws = [np.asarray(statistic(rows), dtype=np.float64) for block in blocks for rows in block]
    distribution = np.stack(draws).reshape(n_resamples, -1)
    alpha = (1 - confidence) / 2
    if method == "bca":
        lo_level, hi_level = _bca_levels(statistic, n, estimate, distribution, alpha)
    else:
        lo_level, hi_level = np.full(len(estimate), alpha), np.full(len(estimate), 1 - alpha)
    low, high = (np.full(len(estimate), np.nan) for _ in range(2))
    for j in range(len(estimate)):
        column = distribution[:, j]
        levels = np.array([lo_level[j], hi_level[j]])
        if np.isnan(column).any() or np.isnan(levels).any():
            continue
        low[j], high[j] = np.quantile(column, levels)
    return Bootstrap(low, high, distribution, method, confidence, n_resamples, seed)
