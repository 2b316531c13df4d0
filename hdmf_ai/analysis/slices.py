"""Where a model fails: :func:`find_slices` searches single columns and pairs of columns of the source table
(and user columns of the results table) for subgroups whose error differs from the rest, and controls the
false-discovery rate over every slice it tests (Benjamini-Hochberg).

Everything is counted with ``np.bincount`` over integer codes: a pair of columns is one combined code per row,
so the cost is a few passes over the rows per column pair, whatever the number of categories.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import numpy as np
from hdmf.common import DynamicTable
from numpy.typing import ArrayLike

from .._tableview import TableView
from ..coercion import PREDEFINED
from ..errors import ColumnError
from .grouping import groups, require_pandas, selection
from .stats import average_ranks, wilson_interval

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "PREDEFINED_COLUMNS",
    "benjamini_hochberg",
    "find_slices",
    "fisher_doubled",
    "row_errors",
    "slice_columns",
]

# the columns the schema defines (outputs and bookkeeping) are never a candidate for slicing
PREDEFINED_COLUMNS = PREDEFINED
# smallest slice tested by default: the larger of this and 1% of the rows
MIN_SIZE = 30


def benjamini_hochberg(p_values: ArrayLike) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values): reject those <= alpha to keep the FDR at alpha."""
    p = np.asarray(p_values, dtype=np.float64)
    m = p.size
    if not m:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.clip(adjusted, 0, 1)
    return q


def row_errors(view: TableView, error: str | ArrayLike | None) -> tuple[np.ndarray, bool]:
    """Each row's error and whether it is a regression's absolute error (else 0/1 for a wrong class)."""
    if error is not None:
        values = view.values(error) if isinstance(error, str) else np.asarray(error)
        if values.shape != (len(view),) or values.dtype.kind not in "biuf":
            name = error if isinstance(error, str) else "error"
            raise ColumnError(name, f"{len(view)} numbers, one per row", f"{values.dtype} of shape {values.shape}")
        binary = bool(np.isin(values, (0, 1)).all())
        return values.astype(np.float64), not binary
    if not view.has("true_label"):
        raise KeyError(f"table '{view.table.name}' has no 'true_label'; pass error=<column or array>")
    classifier = any(view.has(c) for c in ("predicted_class", "predicted_probability"))
    if not classifier and view.has("predicted_value"):
        truth, value = view.values("true_label"), view.values("predicted_value")
        if truth.shape != value.shape or truth.ndim != 1:
            raise ColumnError("predicted_value", f"one value per row, like true_label {truth.shape}", f"{value.shape}")
        return np.abs(value.astype(np.float64) - truth.astype(np.float64)), True
    return (view.predictions() != view.labels()).astype(np.float64), False


def slice_columns(view: TableView) -> list[str]:
    """The columns :func:`find_slices` searches by default: every column of the source table, and the user
    columns of the results table (not the predefined outputs and splits)."""
    own = [c for c in view.table.colnames if c not in PREDEFINED_COLUMNS]
    try:
        source = list(view.source().colnames)
    except KeyError:
        source = []
    return [*own, *(c for c in source if c not in own)]


@dataclass(frozen=True)
class _Coded:
    name: str
    labels: list[Any]
    codes: np.ndarray  # one group number per selected row


def _text_groups(view: TableView, name: str) -> tuple[list[Any], np.ndarray] | None:
    """Labels (sorted) and codes of a plain text column by hashing (pandas' factorize), where sorting a million
    strings, as :func:`groups` does, would take most of the search's time; None for other columns."""
    values = view.lookup(name)
    if values.dtype.kind not in "OUS" or view.categories(name) is not None:
        return None
    pd = require_pandas("hdmf_ai.analysis.find_slices")
    codes, uniques = pd.factorize(values.astype(str) if values.dtype.kind == "S" else values, use_na_sentinel=False)
    labels = [str(u) for u in uniques]
    order = np.argsort(np.asarray(labels, dtype=object), kind="stable")
    return [labels[i] for i in order], np.argsort(order)[codes]


def _code(view: TableView, name: str, within: np.ndarray, bins: int | None, strict: bool) -> _Coded | None:
    try:
        text = _text_groups(view, name)
        if text is None:
            grouping = groups(view, name, bins)
            text = grouping.labels, grouping.codes
        labels, codes = text
    except ColumnError:
        if strict:
            raise
        return None  # ragged, 2-D or a region: not a column one can slice by
    codes = codes[within].astype(np.int64)
    if len(np.unique(codes)) < 2 and not strict:
        return None
    return _Coded(name, labels, codes)


@dataclass
class _Counts:
    """Per-slice row counts and sums of each per-row weight (rows of ``sums``), one column per tested slice."""

    conditions: list[tuple[tuple[str, Any], ...]]
    size: np.ndarray
    sums: np.ndarray

    @classmethod
    def join(cls, parts: list[_Counts], n_weights: int) -> _Counts:
        return cls(
            [c for part in parts for c in part.conditions],
            np.concatenate([np.empty(0), *(part.size for part in parts)]),
            np.concatenate([np.empty((n_weights, 0)), *(part.sums for part in parts)], axis=1),
        )


def _counted(code: np.ndarray, k: int, keep: np.ndarray, size: np.ndarray, weights: np.ndarray) -> tuple[Any, ...]:
    sums = np.stack([np.bincount(code, weights=w, minlength=k)[keep] for w in weights])
    return size[keep].astype(np.float64), sums


def _singles(coded: list[_Coded], weights: np.ndarray, min_size: int, n: int) -> list[_Counts]:
    parts = []
    for c in coded:
        k = len(c.labels)
        size = np.bincount(c.codes, minlength=k)
        keep = np.flatnonzero((size >= min_size) & (size < n))
        parts.append(_Counts([((c.name, c.labels[i]),) for i in keep], *_counted(c.codes, k, keep, size, weights)))
    return parts


def _pairs(coded: list[_Coded], weights: np.ndarray, min_size: int, n: int) -> list[_Counts]:
    parts = []
    sizes = [np.bincount(c.codes, minlength=len(c.labels)) for c in coded]
    for (i, a), (j, b) in itertools.combinations(enumerate(coded), 2):
        ka, kb = len(a.labels), len(b.labels)
        code = a.codes * kb + b.codes
        size = np.bincount(code, minlength=ka * kb)
        ia, ib = np.divmod(np.arange(ka * kb), kb)
        # a pair with the rows of one of its parents is that parent, already tested
        new = (size != sizes[i][ia]) & (size != sizes[j][ib])
        keep = np.flatnonzero((size >= min_size) & (size < n) & new)
        conditions: list[tuple[tuple[str, Any], ...]] = [
            ((a.name, a.labels[ia[x]]), (b.name, b.labels[ib[x]])) for x in keep
        ]
        parts.append(_Counts(conditions, *_counted(code, ka * kb, keep, size, weights)))
    return parts


def _log_normal_sf(z: np.ndarray) -> np.ndarray:
    """log P(|Z| >= z) for a standard normal Z, without underflow for large z (for sorting)."""
    z = np.abs(z)
    p = np.array([math.erfc(v / math.sqrt(2)) for v in z.tolist()])
    # Mills' ratio asymptote where erfc underflows
    tail = -z * z / 2 - np.log(np.where(z > 0, z, 1.0)) + math.log(math.sqrt(2 / math.pi))
    with np.errstate(divide="ignore"):
        return np.where(p > 0, np.log(p), tail)


def _log_factorials(n: int) -> np.ndarray:
    """log(k!) for k = 0..n, each from :func:`math.lgamma` (a cumulative sum of logs would drift)."""
    return np.array([math.lgamma(k + 1) for k in range(n + 1)])


def _log_sum_exp(terms: np.ndarray, valid: np.ndarray) -> np.ndarray:
    top = np.max(np.where(valid, terms, -np.inf), axis=1)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(under="ignore"):
        return top + np.log(np.sum(np.where(valid, np.exp(terms - top[:, None]), 0.0), axis=1))


def fisher_doubled(
    k: np.ndarray, m: np.ndarray, errors: int, n: int, *, chunk: int = 2_000_000
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values (and their logs) of Fisher's exact test of slices against the rest, by doubling the
    smaller one-sided tail: a slice of ``m`` rows holds ``k`` of the ``errors`` errors among ``n`` rows.

    Vectorised over slices: each tail is summed from ``k`` outwards over at most ~10 standard deviations of
    the hypergeometric distribution, past which its terms are below 1e-20 of the first.
    """
    k, m = np.asarray(k, dtype=np.int64), np.asarray(m, dtype=np.int64)
    if errors in (0, n) or not k.size:
        return np.ones(k.shape), np.zeros(k.shape)
    lf = _log_factorials(n)
    lo, hi = np.maximum(0, m - (n - errors)), np.minimum(m, errors)
    share = errors / n
    mean = m * share
    sd = np.sqrt(m * share * (1 - share) * (n - m) / max(n - 1, 1))
    step = np.where(k >= mean, 1, -1)
    width = np.minimum(np.ceil(10 * sd + 20).astype(np.int64), np.where(step > 0, hi - k, k - lo) + 1)
    log_tail = np.empty(k.shape)
    constant = lf[errors] + lf[n - errors] - lf[n]
    order = np.argsort(width, kind="stable")
    start = 0
    while start < len(order):  # slices of similar width together, at most ``chunk`` terms at once
        idx = order[start : start + max(1, chunk // max(1, int(width[order[start]])))]
        idx = idx[: max(1, chunk // max(1, int(width[idx].max())))]
        start += len(idx)
        w = int(width[idx].max())
        x = k[idx, None] + step[idx, None] * np.arange(w)
        valid = np.arange(w) < width[idx, None]
        mm = m[idx, None]
        x = np.where(valid, x, k[idx, None])
        log_pmf = constant - lf[x] - lf[errors - x] - lf[mm - x] - lf[n - errors - mm + x] + lf[mm] + lf[n - mm]
        log_tail[idx] = _log_sum_exp(log_pmf, valid)
    log_p = np.minimum(0.0, math.log(2) + log_tail)
    return np.exp(log_p), log_p


def _binary_tests(c: _Counts, n: int, total_errors: float) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values of "the slice's error rate equals the rest's": Fisher's exact test, doubled tail."""
    return fisher_doubled(np.round(c.sums[0]).astype(np.int64), c.size.astype(np.int64), round(total_errors), n)


def _rank_tests(c: _Counts, n: int, tie_term: float) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values of the Mann-Whitney U test of the slice's absolute errors against the rest's (normal
    approximation with tie and continuity corrections, as scipy's ``mannwhitneyu(method="asymptotic")``).
    Ranks, unlike a test of means, keep their level under the heavy tails absolute errors often have."""
    rest = n - c.size
    u = c.sums[2] - c.size * (c.size + 1) / 2
    u = np.maximum(u, c.size * rest - u)
    sd = np.sqrt(c.size * rest / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, np.maximum(u - c.size * rest / 2 - 0.5, 0) / sd, 0.0)
    log_p = _log_normal_sf(z)
    return np.minimum(np.exp(log_p), 1.0), log_p


def _mean_interval(c: _Counts, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Normal interval on each slice's mean absolute error."""
    mean = c.sums[0] / c.size
    var = np.maximum(c.sums[1] - c.size * mean**2, 0) / np.maximum(c.size - 1, 1)
    half = z * np.sqrt(var / c.size)
    return mean - half, mean + half


def find_slices(
    table: DynamicTable,
    by: list[str] | None = None,
    *,
    max_order: int = 2,
    min_size: int | None = None,
    split: str | int | None = None,
    fold: int | None = None,
    source: DynamicTable | None = None,
    error: str | ArrayLike | None = None,
    bins: int | None = 4,
    alpha: float = 0.05,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Subgroups (slices) of the samples whose error differs from the rest, with false-discovery control.

    Every value of a column (a numeric quantity cut into ``bins`` quantile bins, as in
    :func:`error_breakdown`) is a slice of order 1; with ``max_order=2`` every pair of values of two columns
    is one of order 2 (a pair with exactly the rows of one of its values is not repeated). Each slice of at
    least ``min_size`` rows is tested against the rest: for a classifier, error = wrong class, Fisher's exact
    test (two-sided by doubling the smaller tail); for a regression (``predicted_value`` and a numeric
    ``true_label``) or a numeric ``error``, error = absolute error, the Mann-Whitney U test. The p-values of
    all tested slices are adjusted together by Benjamini-Hochberg.

    Parameters
    ----------
    table
        A ResultsTable, in memory or open; ``samples`` leads to the source table.
    by
        The columns to search (results or source table); default every source column and user column.
    max_order
        1 for single columns only, 2 for pairs too.
    min_size
        Smallest slice tested; default the larger of 30 and 1% of the selected rows.
    split, fold
        Search one split (usually ``"test"``) and/or one cross-validation fold.
    error
        Per-row error instead of the default: a column name or an array (0/1, or any non-negative number).
    alpha
        FDR level: ``significant`` is ``q_value <= alpha``.

    Returns
    -------
    pandas.DataFrame
        One row per tested slice, most significant first (ties: larger effect first): ``slice`` (text),
        ``order``, ``conditions`` (tuple of (column, value)), ``size``, ``errors`` (classification),
        ``error_rate`` (or mean absolute error), ``ci_low``, ``ci_high`` (Wilson; for a regression, the normal
        interval of the mean),
        ``rest_rate``, ``effect`` (rate - rest rate), ``p_value``, ``q_value``, ``significant``.
    """
    pd = require_pandas("hdmf_ai.analysis.find_slices")
    if max_order not in (1, 2):
        raise ValueError(f"max_order must be 1 or 2; got {max_order}")
    view = TableView(table, source=source)
    within = selection(view, split, fold)
    err_all, regression = row_errors(view, error)
    err = err_all[within]
    n = len(err)
    min_size = max(MIN_SIZE, math.ceil(0.01 * n)) if min_size is None else max(1, int(min_size))
    names = slice_columns(view) if by is None else list(by)
    coded = [c for name in names if (c := _code(view, name, within, bins, strict=by is not None)) is not None]
    if regression:
        ranks, tie_term = average_ranks(err)
        weights = np.stack([err, err * err, ranks])
    else:
        weights = err[None, :]
    parts = _singles(coded, weights, min_size, n) + (_pairs(coded, weights, min_size, n) if max_order == 2 else [])
    counts = _Counts.join(parts, len(weights))
    total = float(err.sum())
    rate = counts.sums[0] / np.maximum(counts.size, 1)
    rest_rate = (total - counts.sums[0]) / np.maximum(n - counts.size, 1)
    if regression:
        p, log_p = _rank_tests(counts, n, tie_term)
        low, high = _mean_interval(counts, NormalDist().inv_cdf(0.5 + confidence / 2))
    else:
        p, log_p = _binary_tests(counts, n, total)
        low, high = wilson_interval(counts.sums[0], counts.size, confidence=confidence)
    q = benjamini_hochberg(p)
    frame = pd.DataFrame(
        {
            "slice": [" & ".join(f"{c} = {v}" for c, v in cond) for cond in counts.conditions],
            "order": np.array([len(cond) for cond in counts.conditions], dtype=np.int64),
            "conditions": pd.Series(counts.conditions, dtype=object),
            "size": counts.size.astype(np.int64),
            "errors": np.nan if regression else counts.sums[0].round().astype(np.int64),
            "error_rate": rate,
            "ci_low": low,
            "ci_high": high,
            "rest_rate": rest_rate,
            "effect": rate - rest_rate,
            "p_value": p,
            "q_value": q,
            "significant": q <= alpha,
        }
    )
    if regression:
        frame = frame.drop(columns="errors")
    order = np.lexsort((-frame["effect"].to_numpy(), log_p))
    return frame.iloc[order].reset_index(drop=True)
