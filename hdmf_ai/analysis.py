"""What a model got right and wrong: metrics per split and fold, and error rates by any source-table column.

Two layers:

* **Array functions** (numpy in, numbers out): :func:`accuracy`, :func:`balanced_accuracy`,
  :func:`precision_recall_f1`, :func:`confusion_counts`, :func:`top_k_accuracy`, :func:`log_loss`,
  :func:`calibration_bins`, :func:`expected_calibration_error`, :func:`mean_absolute_error`,
  :func:`root_mean_squared_error`, :func:`r2_score`, :func:`adjusted_rand_index`,
  :func:`normalized_mutual_information` and :func:`wilson_interval`. Each gives the value scikit-learn's
  function for the same metric gives (the tests check it), without needing scikit-learn.
* **Table functions** (a ResultsTable in, a small pandas DataFrame out): :func:`metrics` (one row per split
  or fold), :func:`class_metrics`, :func:`confusion_matrix`, :func:`reliability_curve` and
  :func:`error_breakdown` (the nuisance-variable question: does the error rate depend on the site, scanner
  or session of the sample, a column of the source table reached through ``samples``?). They work on a table
  built in memory, read with :func:`hdmf_ai.read`, or open lazily with :func:`hdmf_ai.open`, and read each
  column they need once. Classes are named by the ``true_label`` enum when there is one.

Only numpy is imported with this module; pandas (``pip install 'hdmf-ai[analysis]'``) when a table function
builds its DataFrame. The statistics (Wilson intervals, chi-square and Fisher's exact test) are computed here
with numpy and :mod:`math`.

Example
-------
>>> import numpy as np, hdmf_ai
>>> from hdmf_ai import analysis
>>> rt = hdmf_ai.ResultsTable(name="toy")
>>> _ = rt.add_tvt_split(["train", "train", "test", "test"])
>>> _ = rt.add_true_label(["cat", "dog", "cat", "dog"])
>>> _ = rt.add_predicted_class([0, 1, 0, 0])
>>> analysis.metrics(rt)[["n", "accuracy", "f1_macro"]].round(3)
           n  accuracy  f1_macro
tvt_split
train      2      1.00     1.000
test       2      0.50     0.333
all        4      0.75     0.733
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

from ._tableview import TableView, require
from .checks import TVT_ELEMENTS
from .errors import ColumnError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ErrorBreakdown",
    "accuracy",
    "adjusted_rand_index",
    "balanced_accuracy",
    "calibration_bins",
    "class_metrics",
    "confusion_counts",
    "confusion_matrix",
    "error_breakdown",
    "expected_calibration_error",
    "log_loss",
    "mean_absolute_error",
    "metrics",
    "normalized_mutual_information",
    "precision_recall_f1",
    "r2_score",
    "reliability_curve",
    "root_mean_squared_error",
    "top_k_accuracy",
    "wilson_interval",
]

AVERAGES = ("macro", "micro", "weighted")
# Cochran's rule: the chi-square approximation needs expected counts of about 5 or more
MIN_EXPECTED = 5.0
# an integer column with at most this many values holds codes (sessions, subjects, clusters), not a quantity
MAX_INTEGER_CODES = 20
# columns of a ResultsTable that hold labels: grouped by value, never binned
LABEL_COLUMNS = ("samples", "tvt_split", "cv_split", "true_label", "predicted_class", "cluster_label")
# p-values of tables as extreme as the observed one, up to float rounding (as R and scipy do)
_FISHER_TOLERANCE = 1 + 1e-7


# -- array functions: classification ------------------------------------------------------------------------


def _pair(y_true: ArrayLike, y_pred: ArrayLike, what: str = "y_pred") -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.ndim != 1 or p.shape[:1] != t.shape:
        raise ColumnError(what, f"one entry per sample of y_true {t.shape}", f"shape {p.shape}")
    return t, p


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The fraction of samples whose predicted class is the true class (NaN for no samples)."""
    t, p = _pair(y_true, y_pred)
    return float(np.mean(t == p)) if t.size else math.nan


def balanced_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The mean recall over the classes present in ``y_true``."""
    t, p = _pair(y_true, y_pred)
    if not t.size:
        return math.nan
    _, code = np.unique(t, return_inverse=True)
    hits = np.bincount(code, weights=(t == p).astype(np.float64))
    return float(np.mean(hits / np.bincount(code)))


def _positions(values: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The position of each value in ``labels`` (any order), -1 where it is not a label."""
    if not labels.size:
        return np.full(values.shape, -1, dtype=np.int64)
    order = np.argsort(labels, kind="stable")
    ordered = labels[order]
    at = np.clip(np.searchsorted(ordered, values), 0, len(ordered) - 1)
    return np.where(ordered[at] == values, order[at], -1)


def _label_counts(t: np.ndarray, p: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, ...]:
    pt, pp = _positions(t, labels), _positions(p, labels)
    n = len(labels)
    tp = np.bincount(pt[(pt >= 0) & (t == p)], minlength=n).astype(np.float64)
    pred_sum = np.bincount(pp[pp >= 0], minlength=n).astype(np.float64)
    true_sum = np.bincount(pt[pt >= 0], minlength=n).astype(np.float64)
    return tp, pred_sum, true_sum


def _divide(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    out = np.full(num.shape, float(zero_division))
    np.divide(num, den, out=out, where=den != 0)
    return out


def _nanaverage(values: np.ndarray, weights: np.ndarray | None) -> float:
    keep = ~np.isnan(values)
    if not keep.any():
        return math.nan
    if weights is None or not weights[keep].sum():
        return float(np.mean(values[keep]))
    return float(np.average(values[keep], weights=weights[keep]))


def precision_recall_f1(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    average: str | None = "macro",
    labels: ArrayLike | None = None,
    zero_division: float = 0.0,
) -> tuple[Any, Any, Any]:
    """Precision, recall and F1, averaged (``"macro"``, ``"micro"``, ``"weighted"``) or per label (None).

    Parameters
    ----------
    y_true, y_pred
        Class labels of each sample.
    average
        How per-class values are combined: unweighted mean, pooled counts, or weighted by support.
        ``None`` returns one array per measure with a value per label.
    labels
        The classes to score; default: those in ``y_true`` or ``y_pred``. Name every class to get per-class
        values for classes that a split lacks.
    zero_division
        The value where a ratio has no denominator (no predictions of, or no samples of, a class):
        0.0, 1.0 or NaN (then left out of averages).
    """
    if average not in (*AVERAGES, None):
        raise ValueError(f"average must be one of {AVERAGES} or None; got {average!r}")
    t, p = _pair(y_true, y_pred)
    chosen = np.union1d(t, p) if labels is None else np.asarray(labels)
    tp, pred_sum, true_sum = _label_counts(t, p, chosen)
    if average == "micro":
        tp, pred_sum, true_sum = (np.atleast_1d(x.sum()) for x in (tp, pred_sum, true_sum))
    precision = _divide(tp, pred_sum, zero_division)
    recall = _divide(tp, true_sum, zero_division)
    f1 = _divide(2 * tp, pred_sum + true_sum, zero_division)
    if average is None:
        return precision, recall, f1
    weights = true_sum if average == "weighted" else None
    return _nanaverage(precision, weights), _nanaverage(recall, weights), _nanaverage(f1, weights)


def confusion_counts(y_true: ArrayLike, y_pred: ArrayLike, *, n_classes: int | None = None) -> np.ndarray:
    """Counts of (true class, predicted class) pairs: row = true, column = predicted, classes ``0..n-1``."""
    t, p = _pair(y_true, y_pred)
    t, p = t.astype(np.int64), p.astype(np.int64)
    n = n_classes if n_classes is not None else int(max(t.max(initial=-1), p.max(initial=-1)) + 1)
    for name, values in (("y_true", t), ("y_pred", p)):
        if values.size and (values.min() < 0 or values.max() >= n):
            raise ColumnError(name, f"class indices in range({n})", f"values from {values.min()} to {values.max()}")
    return np.bincount(t * n + p, minlength=n * n).reshape(n, n)


def top_k_accuracy(y_true: ArrayLike, topk_classes: ArrayLike, *, k: int | None = None) -> float:
    """The fraction of samples whose true class is among the first ``k`` of ``topk_classes`` (default all)."""
    t, top = _pair(y_true, topk_classes, "topk_classes")
    if top.ndim != 2:
        raise ColumnError("topk_classes", "a 2-D array (n_samples, k)", f"shape {top.shape}")
    k = top.shape[1] if k is None else k
    if not 1 <= k <= top.shape[1]:
        raise ValueError(f"k must be in 1..{top.shape[1]} (the columns of topk_classes); got {k}")
    return float(np.mean(np.any(top[:, :k] == t[:, None], axis=1))) if t.size else math.nan


def _probabilities(y_true: ArrayLike, probabilities: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t, probs = _pair(y_true, probabilities, "predicted_probability")
    if probs.ndim != 2:
        raise ColumnError("predicted_probability", "a 2-D array (n_samples, n_classes)", f"shape {probs.shape}")
    t = t.astype(np.int64)
    if t.size and (t.min() < 0 or t.max() >= probs.shape[1]):
        raise ColumnError("y_true", f"class indices below {probs.shape[1]} (the probabilities' width)", f"{t.max()}")
    return t, probs


def log_loss(y_true: ArrayLike, probabilities: ArrayLike) -> float:
    """Mean negative log-probability of the true class (natural log), probabilities clipped to [eps, 1-eps]."""
    t, probs = _probabilities(y_true, probabilities)
    if not t.size:
        return math.nan
    probs = probs if probs.dtype.kind == "f" else probs.astype(np.float64)
    eps = np.finfo(probs.dtype).eps
    true_prob = np.clip(probs[np.arange(len(t)), t], eps, 1 - eps)
    return float(-np.mean(np.log(true_prob)))


def calibration_bins(y_true: ArrayLike, probabilities: ArrayLike, *, n_bins: int = 10) -> dict[str, np.ndarray]:
    """Confidence (top probability) against accuracy in ``n_bins`` equal-width bins of confidence.

    Bin ``i`` holds confidences in ``(i/n, (i+1)/n]`` (the first also 0). Returns arrays of ``n_bins``
    values: ``lower``, ``upper``, ``count``, ``confidence`` (mean top probability) and ``accuracy``
    (fraction whose most probable class is the true class); NaN for empty bins.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be at least 1; got {n_bins}")
    t, probs = _probabilities(y_true, probabilities)
    confidence = probs.max(axis=1).astype(np.float64) if t.size else np.zeros(0)
    correct = (np.argmax(probs, axis=1) == t).astype(np.float64) if t.size else np.zeros(0)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.searchsorted(edges[1:-1], confidence)
    count = np.bincount(which, minlength=n_bins)
    return {
        "lower": edges[:-1],
        "upper": edges[1:],
        "count": count,
        "confidence": _divide(np.bincount(which, confidence, n_bins), count, math.nan),
        "accuracy": _divide(np.bincount(which, correct, n_bins), count, math.nan),
    }


def expected_calibration_error(y_true: ArrayLike, probabilities: ArrayLike, *, n_bins: int = 10) -> float:
    """The count-weighted mean gap between accuracy and confidence over the bins of :func:`calibration_bins`."""
    bins = calibration_bins(y_true, probabilities, n_bins=n_bins)
    count = bins["count"]
    if not count.sum():
        return math.nan
    used = count > 0
    gap = np.abs(bins["accuracy"][used] - bins["confidence"][used])
    return float(np.sum(gap * count[used]) / count.sum())


# -- array functions: regression ----------------------------------------------------------------------------


def _outputs(y_true: ArrayLike, y_pred: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t, p = (np.asarray(a, dtype=np.float64) for a in (y_true, y_pred))
    t, p = (a.reshape(len(a), -1) if a.ndim == 1 else a for a in (t, p))
    if t.shape != p.shape:
        raise ColumnError("predicted_value", f"the shape of the true values {t.shape}", f"shape {p.shape}")
    return t, p


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error, averaged over outputs for 2-D values."""
    t, p = _outputs(y_true, y_pred)
    return float(np.mean(np.abs(t - p))) if t.size else math.nan


def root_mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error of each output, averaged over outputs."""
    t, p = _outputs(y_true, y_pred)
    return float(np.mean(np.sqrt(np.mean((t - p) ** 2, axis=0)))) if t.size else math.nan


def r2_score(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Coefficient of determination per output, averaged; a constant truth scores 1 if matched, else 0."""
    t, p = _outputs(y_true, y_pred)
    if not t.size:
        return math.nan
    residual = np.sum((t - p) ** 2, axis=0)
    total = np.sum((t - t.mean(axis=0)) ** 2, axis=0)
    perfect_constant = np.where(residual == 0, 1.0, 0.0)
    return float(np.mean(np.where(total != 0, 1 - _divide(residual, total, 0.0), perfect_constant)))


# -- array functions: clustering ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Contingency:
    """The contingency table of two labellings, sparse: its non-zero cells (with their row and column) and
    its margins. A dense table of, say, 10 000 clusters by 10 000 classes would not fit in memory."""

    cells: np.ndarray
    row: np.ndarray
    col: np.ndarray
    rows: np.ndarray
    cols: np.ndarray

    @classmethod
    def of(cls, a: ArrayLike, b: ArrayLike) -> _Contingency:
        x, y = _pair(a, b, "cluster_label")
        _, row = np.unique(x, return_inverse=True)
        _, col = np.unique(y, return_inverse=True)
        width = int(col.max(initial=0)) + 1
        joint, cells = np.unique(row.astype(np.int64) * width + col, return_counts=True)
        as_float = np.float64
        return cls(
            cells.astype(as_float),
            joint // width,
            joint % width,
            np.bincount(row).astype(as_float),
            np.bincount(col).astype(as_float),
        )


def _pairs(counts: np.ndarray) -> float:
    return float(np.sum(counts * (counts - 1) / 2))


def adjusted_rand_index(labels_true: ArrayLike, labels_pred: ArrayLike) -> float:
    """Adjusted Rand index of two labellings (1 = identical partitions, about 0 = chance)."""
    table = _Contingency.of(labels_true, labels_pred)
    together, a, b = _pairs(table.cells), _pairs(table.rows), _pairs(table.cols)
    n_pairs = _pairs(np.array([table.rows.sum()]))
    expected = a * b / n_pairs if n_pairs else 0.0
    best = (a + b) / 2
    if best == expected:  # both partitions all singletons or one block: identical
        return 1.0
    return float((together - expected) / (best - expected))


def _entropy(counts: np.ndarray) -> float:
    p = counts / counts.sum()
    return float(-np.sum(p * np.log(p)))


def normalized_mutual_information(labels_true: ArrayLike, labels_pred: ArrayLike) -> float:
    """Mutual information of two labellings over the arithmetic mean of their entropies (natural log)."""
    table = _Contingency.of(labels_true, labels_pred)
    if len(table.rows) == len(table.cols) <= 1:  # neither labelling splits the data: a perfect match
        return 1.0
    n = table.rows.sum()
    log_ratio = np.log(table.cells) + np.log(n) - np.log(table.rows[table.row]) - np.log(table.cols[table.col])
    terms = table.cells / n * log_ratio
    # terms of independent cells are 0 up to rounding; summed, the rounding could leave a tiny MI
    mi = float(np.sum(np.where(np.abs(terms) < np.finfo(np.float64).eps, 0.0, terms)))
    if mi <= 0:
        return 0.0
    return mi / float(np.mean([_entropy(table.rows), _entropy(table.cols)]))


# -- statistics -------------------------------------------------------------------------------------------


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


def _chi2_sf(x: float, dof: int) -> float:
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


def _chi_square(observed: np.ndarray) -> tuple[float, int, float, float]:
    """Pearson's chi-square test of independence: (statistic, dof, p-value, smallest expected count)."""
    observed = observed[observed.sum(axis=1) > 0][:, observed.sum(axis=0) > 0].astype(np.float64)
    if min(observed.shape) < 2:  # one group, or no errors (or no successes) at all: nothing can vary
        return 0.0, 0, 1.0, math.inf
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    statistic = float(np.sum((observed - expected) ** 2 / expected))
    dof = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    return statistic, dof, _chi2_sf(statistic, dof), float(expected.min())


def _fisher_exact(table: np.ndarray) -> float:
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


# -- reading a table --------------------------------------------------------------------------------------


@dataclass
class _Outputs:
    """The arrays the metrics need, read once from a table; subsets by row mask share nothing on disk."""

    n: int
    n_classes: int
    y_true: np.ndarray | None = None
    y_pred: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    topk: np.ndarray | None = None
    target: np.ndarray | None = None
    value: np.ndarray | None = None
    cluster: np.ndarray | None = None

    @classmethod
    def read(cls, view: TableView) -> _Outputs:
        has = view.has
        labelled = has("true_label")
        classifier = any(has(c) for c in ("predicted_class", "predicted_probability", "topk_classes"))
        out = cls(n=len(view), n_classes=view.n_classes() if labelled or classifier else 0)
        numeric = labelled and view.elements("true_label") is None and view.values("true_label").dtype.kind in "biuf"
        if numeric and not classifier:  # a classifier's integer labels are classes, not regression targets
            out.target = view.values("true_label")
        if labelled and (classifier or has("cluster_label")):
            out.y_true = view.labels()
        if classifier and (has("predicted_class") or has("predicted_probability")):
            out.y_pred = view.predictions()
        if has("predicted_probability"):
            out.probabilities = view.values("predicted_probability")
        if has("topk_classes"):
            out.topk = view.values("topk_classes").astype(np.int64)
        if has("predicted_value"):
            out.value = view.values("predicted_value")
        if has("cluster_label"):
            out.cluster = view.values("cluster_label")
        return out

    def subset(self, mask: np.ndarray) -> _Outputs:
        names = ("y_true", "y_pred", "probabilities", "topk", "target", "value", "cluster")
        picked = {n: (None if getattr(self, n) is None else getattr(self, n)[mask]) for n in names}
        return _Outputs(n=int(np.count_nonzero(mask)), n_classes=self.n_classes, **picked)

    def scores(self, *, zero_division: float, n_bins: int) -> dict[str, float]:
        """Every metric these outputs support, by name."""
        out: dict[str, float] = {"n": self.n}
        t = self.y_true
        if t is not None and self.y_pred is not None:
            out["accuracy"] = accuracy(t, self.y_pred)
            out["balanced_accuracy"] = balanced_accuracy(t, self.y_pred)
            for avg in AVERAGES:
                p, r, f = precision_recall_f1(t, self.y_pred, average=avg, zero_division=zero_division)
                out.update({f"precision_{avg}": p, f"recall_{avg}": r, f"f1_{avg}": f})
        if t is not None and self.topk is not None:
            for k in range(1, self.topk.shape[1] + 1):
                out[f"top_{k}_accuracy"] = top_k_accuracy(t, self.topk, k=k)
        if t is not None and self.probabilities is not None:
            out["log_loss"] = log_loss(t, self.probabilities)
            out["ece"] = expected_calibration_error(t, self.probabilities, n_bins=n_bins)
        if self.target is not None and self.value is not None:
            out["mae"] = mean_absolute_error(self.target, self.value)
            out["rmse"] = root_mean_squared_error(self.target, self.value)
            out["r2"] = r2_score(self.target, self.value)
        if t is not None and self.cluster is not None:
            out["ari"] = adjusted_rand_index(t, self.cluster)
            out["nmi"] = normalized_mutual_information(t, self.cluster)
        return out


def _pandas(feature: str) -> Any:
    return require("pandas", "analysis", feature)


def _selection(view: TableView, split: str | int | None, fold: int | None) -> np.ndarray:
    """A row mask for one train/validate/test split and/or one cross-validation fold."""
    mask = np.ones(len(view), dtype=bool)
    if split is not None:
        code = TVT_ELEMENTS.index(split) if isinstance(split, str) and split in TVT_ELEMENTS else split
        if code not in range(len(TVT_ELEMENTS)):
            raise ValueError(f"split must be one of {list(TVT_ELEMENTS)} or 0/1/2; got {split!r}")
        mask &= view.values("tvt_split") == code
    if fold is not None:
        mask &= view.values("cv_split") == fold
    return mask


@dataclass(frozen=True)
class _Groups:
    """Rows partitioned by a column: the label of each group, in order, and each row's group number."""

    labels: list[Any]
    codes: np.ndarray
    edges: tuple[float, ...] | None = None

    def masks(self) -> list[tuple[Any, np.ndarray]]:
        return [(label, self.codes == i) for i, label in enumerate(self.labels)]


def _is_quantity(view: TableView, by: str, values: np.ndarray, bins: int | None) -> bool:
    """Whether to cut a column into quantile bins: floats with more than ``bins`` distinct values, integers
    with more than ``MAX_INTEGER_CODES`` (fewer are codes: sessions, clusters), never label columns."""
    if bins is None or values.dtype.kind not in "iuf" or (by in LABEL_COLUMNS and view.has(by)):
        return False
    distinct = len(np.unique(values[~np.isnan(values)]))
    return distinct > (bins if values.dtype.kind == "f" else max(bins, MAX_INTEGER_CODES))


def _groups(view: TableView, by: str, bins: int | None) -> _Groups:
    """Group rows by a column of the results or source table; a numeric quantity is cut at its quantiles."""
    values = view.lookup(by)
    if _is_quantity(view, by, values, bins):
        return _quantile_groups(values.astype(np.float64), bins or 1)
    order = view.categories(by)
    present, codes = np.unique(values.astype(str) if values.dtype.kind in "OUS" else values, return_inverse=True)
    labels = present.tolist()
    if order is not None:  # an enum keeps its stored order (train, validate, test)
        rank = {label: i for i, label in enumerate(order)}
        sort = np.argsort([rank[label] for label in labels], kind="stable")
        labels = [labels[i] for i in sort]
        codes = np.argsort(sort)[codes]
    return _Groups(labels, codes.reshape(-1))


def _quantile_groups(values: np.ndarray, bins: int) -> _Groups:
    missing = np.isnan(values)
    if missing.all():
        return _Groups(["missing"], np.zeros(len(values), dtype=np.int64))
    edges = np.unique(np.quantile(values[~missing], np.linspace(0, 1, bins + 1)))
    # bins are [lo, hi) except the last, [lo, hi]
    codes = np.searchsorted(edges[1:-1], values, side="right")
    labels = [f"[{lo:.4g}, {hi:.4g})" for lo, hi in itertools.pairwise(edges)]
    labels[-1] = labels[-1][:-1] + "]"
    if missing.any():
        codes = np.where(missing, len(labels), codes)
        labels.append("missing")
    return _Groups(labels, codes, tuple(float(e) for e in edges))


def _grouped_rows(
    view: TableView, by: str | None, bins: int | None, total: bool, within: np.ndarray
) -> list[tuple[Any, np.ndarray]]:
    parts = [] if by is None else [(label, mask & within) for label, mask in _groups(view, by, bins).masks()]
    parts = [(label, mask) for label, mask in parts if mask.any()]
    if total or by is None:
        parts.append(("all", within))
    return parts


# -- table functions --------------------------------------------------------------------------------------


def metrics(
    table: DynamicTable,
    *,
    by: str | None = "tvt_split",
    split: str | int | None = None,
    fold: int | None = None,
    source: DynamicTable | None = None,
    bins: int | None = 4,
    total: bool = True,
    zero_division: float = 0.0,
    n_bins: int = 10,
) -> pd.DataFrame:
    """Every metric the table's columns allow, one row per group (split, fold or any column) and overall.

    Classification (``true_label`` with ``predicted_class`` or ``predicted_probability``): ``accuracy``,
    ``balanced_accuracy``, ``precision_``/``recall_``/``f1_`` + ``macro``/``micro``/``weighted``;
    ``top_<k>_accuracy`` from ``topk_classes``; ``log_loss`` and ``ece`` (expected calibration error over
    ``n_bins`` bins) from ``predicted_probability``. Regression (``predicted_value`` with numeric
    ``true_label``): ``mae``, ``rmse``, ``r2``. Clustering (``cluster_label`` with ``true_label``): ``ari``,
    ``nmi``. Column ``n`` counts the rows of each group.

    Parameters
    ----------
    table
        A ResultsTable, in memory or open.
    by
        ``"tvt_split"``, ``"cv_split"``, any other column of the table or of its source table (numeric
        quantities cut into ``bins`` quantile bins, as in :func:`error_breakdown`), or None for the whole table
        only.
    split, fold
        Restrict to one split (``"test"`` or 2) and/or one cross-validation fold first.
    source
        The source table, when ``samples`` does not lead to it.
    total
        Append a row ``"all"`` for every selected row together.
    zero_division
        As in :func:`precision_recall_f1`.

    Example: ``metrics(rt, by="cv_split")`` gives a row per fold and the pooled result.
    """
    pd = _pandas("hdmf_ai.analysis.metrics")
    view = TableView(table, source=source)
    outputs = _Outputs.read(view)
    parts = _grouped_rows(view, by, bins, total, _selection(view, split, fold))
    records = [outputs.subset(mask).scores(zero_division=zero_division, n_bins=n_bins) for _, mask in parts]
    frame = pd.DataFrame.from_records(records, index=pd.Index([label for label, _ in parts], name=by or "group"))
    return frame.astype({"n": np.int64})


def class_metrics(
    table: DynamicTable,
    *,
    by: str | None = "tvt_split",
    split: str | int | None = None,
    fold: int | None = None,
    source: DynamicTable | None = None,
    bins: int | None = 4,
    total: bool = True,
    zero_division: float = 0.0,
) -> pd.DataFrame:
    """Precision, recall, F1 and support of every class, per group: a long table, one row per (group, class).

    Classes absent from a group have support 0 and ``zero_division`` where a ratio is undefined.
    """
    pd = _pandas("hdmf_ai.analysis.class_metrics")
    view = TableView(table, source=source)
    y_pred, y_true = view.predictions(), view.labels()
    names = view.class_names()
    labels = np.arange(len(names))
    frames = []
    for group, mask in _grouped_rows(view, by, bins, total, _selection(view, split, fold)):
        p, r, f = precision_recall_f1(
            y_true[mask], y_pred[mask], average=None, labels=labels, zero_division=zero_division
        )
        support = np.bincount(y_true[mask], minlength=len(names))[: len(names)]
        frames.append(pd.DataFrame({"class": names, "precision": p, "recall": r, "f1": f, "support": support}))
        frames[-1].insert(0, by or "group", group)
    return pd.concat(frames, ignore_index=True)


def confusion_matrix(
    table: DynamicTable,
    *,
    split: str | int | None = None,
    fold: int | None = None,
    normalize: str | None = None,
) -> pd.DataFrame:
    """Counts of true (rows) against predicted (columns) classes, named by the label enum.

    ``normalize``: None for counts, ``"true"`` (rows sum to 1: recall on the diagonal), ``"pred"``
    (columns sum to 1: precision on the diagonal) or ``"all"``. Every class of the model appears, present in
    the selection or not, so matrices of different splits line up.
    """
    if normalize not in (None, "true", "pred", "all"):
        raise ValueError(f"normalize must be None, 'true', 'pred' or 'all'; got {normalize!r}")
    pd = _pandas("hdmf_ai.analysis.confusion_matrix")
    view = TableView(table)
    mask = _selection(view, split, fold)
    names = view.class_names()
    y_pred = view.predictions()
    counts = confusion_counts(view.labels()[mask], y_pred[mask], n_classes=len(names))
    values: np.ndarray = counts
    if normalize is not None:
        axis = {"true": 1, "pred": 0, "all": None}[normalize]
        totals = counts.sum() if axis is None else counts.sum(axis=axis, keepdims=True)
        values = _divide(counts.astype(np.float64), np.broadcast_to(totals, counts.shape).astype(np.float64), 0.0)
    return pd.DataFrame(values, index=pd.Index(names, name="true"), columns=pd.Index(names, name="predicted"))


def reliability_curve(
    table: DynamicTable, *, split: str | int | None = None, fold: int | None = None, n_bins: int = 10
) -> pd.DataFrame:
    """Calibration of the top probability: one row per confidence bin (see :func:`calibration_bins`)."""
    pd = _pandas("hdmf_ai.analysis.reliability_curve")
    view = TableView(table)
    mask = _selection(view, split, fold)
    bins = calibration_bins(view.labels()[mask], view.values("predicted_probability")[mask], n_bins=n_bins)
    return pd.DataFrame(bins).astype({"count": np.int64})


# -- the nuisance-variable question ------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorBreakdown:
    """Error rates per group of a column, and whether error depends on the group.

    Attributes
    ----------
    by
        The column the rows were grouped by.
    groups
        One row per group: ``count``, ``errors``, ``error_rate``, ``ci_low``, ``ci_high`` (Wilson interval
        at ``confidence``).
    test
        ``"chi-square"`` (Pearson, no continuity correction), ``"fisher-exact"`` (two groups with an expected
        count below 5), or ``"none"`` when nothing can vary (one group, no errors, or no correct samples).
    statistic, dof
        The chi-square statistic and its degrees of freedom (reported for the exact test too).
    p_value
        The test's p-value: small when the error rate differs between groups more than chance allows.
    cramers_v
        Effect size in [0, 1]: sqrt(statistic / n) for this 2 x groups table.
    approximate
        The chi-square approximation was used with an expected count below 5 (more than two groups).
    bin_edges
        The quantile edges, when a numeric column was binned.
    """

    by: str
    groups: pd.DataFrame
    test: str
    statistic: float
    dof: int
    p_value: float
    cramers_v: float
    confidence: float
    approximate: bool = False
    bin_edges: tuple[float, ...] | None = None

    @property
    def n(self) -> int:
        return int(self.groups["count"].sum())

    @property
    def error_rate(self) -> float:
        return float(self.groups["errors"].sum() / self.n) if self.n else math.nan

    def depends(self, alpha: float = 0.05) -> bool:
        """Whether the test rejects "error is independent of the group" at level ``alpha``."""
        return self.p_value < alpha

    def summary(self) -> str:
        """One line: the verdict and the test behind it."""
        verdict = "depends on" if self.depends() else "shows no dependence on"
        detail = f"{self.test}, statistic {self.statistic:.3g}, dof {self.dof}, p = {self.p_value:.3g}"
        if self.approximate:
            detail += ", approximate: expected counts below 5"
        return (
            f"error rate {self.error_rate:.3g} over {self.n} samples {verdict} '{self.by}' at alpha 0.05 "
            f"({len(self.groups)} groups; {detail}; Cramér's V {self.cramers_v:.3g})"
        )

    def __str__(self) -> str:
        return f"{self.summary()}\n{self.groups.to_string()}"


def _errors(view: TableView, error: str | ArrayLike | None) -> np.ndarray:
    """Which rows are errors: predicted class != true label, or a given boolean column or array."""
    if error is None:
        if not view.has("true_label"):
            raise KeyError(f"table '{view.table.name}' has no 'true_label'; pass error=<column or array>")
        return view.predictions() != view.labels()
    values = view.values(error) if isinstance(error, str) else np.asarray(error)
    if values.shape != (len(view),) or values.dtype.kind not in "biu" or not np.isin(values, (0, 1)).all():
        name = error if isinstance(error, str) else "error"
        raise ColumnError(
            name, f"{len(view)} booleans (or 0/1), one per row", f"{values.dtype} of shape {values.shape}"
        )
    return values.astype(bool)


def error_breakdown(
    table: DynamicTable,
    by: str = "site",
    *,
    source: DynamicTable | None = None,
    split: str | int | None = None,
    fold: int | None = None,
    error: str | ArrayLike | None = None,
    bins: int | None = 4,
    confidence: float = 0.95,
) -> ErrorBreakdown:
    """Does the error rate depend on ``by``, a column of the source table (or of the results table)?

    Parameters
    ----------
    table
        A ResultsTable, in memory or open; its ``samples`` lead to the source table.
    by
        A column of the results table, else of the source table reached through ``samples``. A float column
        with more than ``bins`` distinct values, or an integer one with more than 20, is cut into ``bins``
        quantile bins (NaN: "missing"); fewer integers are codes (sessions, clusters), one group each.
    source
        The source table, when it is not the one ``samples`` points at (or there is no ``samples`` column and
        its rows are the results' rows).
    split, fold
        Look at one split (usually ``"test"``) and/or one cross-validation fold only.
    error
        Which rows count as errors: default predicted class != true label; or the name of a boolean column,
        or a boolean array (e.g. ``abs(residual) > tolerance`` for a regression).
    bins
        Quantile bins for a numeric column; None treats every value as a group.
    confidence
        Level of the Wilson intervals.

    Returns
    -------
    ErrorBreakdown
        Per-group counts, error rates with intervals, and the test of independence.

    Example: ``error_breakdown(rt, "site", split="test").depends()`` is True when errors track the site.
    """
    pd = _pandas("hdmf_ai.analysis.error_breakdown")
    view = TableView(table, source=source)
    within = _selection(view, split, fold)
    wrong = _errors(view, error)
    grouping = _groups(view, by, bins)
    # counted in one pass (a column such as a subject id can have thousands of groups)
    n_groups = len(grouping.labels)
    count = np.bincount(grouping.codes[within], minlength=n_groups)
    errors = np.bincount(grouping.codes[within & wrong], minlength=n_groups)
    present = count > 0
    labels = [label for label, keep in zip(grouping.labels, present, strict=True) if keep]
    count, errors = count[present].astype(np.int64), errors[present].astype(np.int64)
    low, high = wilson_interval(errors, count, confidence=confidence)
    rate = _divide(errors.astype(np.float64), count.astype(np.float64), math.nan)
    frame = pd.DataFrame(
        {"count": count, "errors": errors, "error_rate": rate, "ci_low": low, "ci_high": high},
        index=pd.Index(labels, name=by),
    )
    observed = np.stack([errors, count - errors], axis=1)
    statistic, dof, p_value, min_expected = _chi_square(observed)
    test = "chi-square" if dof else "none"
    if dof == 1 and min_expected < MIN_EXPECTED:
        test, p_value = "fisher-exact", _fisher_exact(observed)
    n = int(count.sum())
    return ErrorBreakdown(
        by=by,
        groups=frame,
        test=test,
        statistic=statistic,
        dof=dof,
        p_value=p_value,
        cramers_v=math.sqrt(statistic / n) if n else math.nan,
        confidence=confidence,
        approximate=test == "chi-square" and min_expected < MIN_EXPECTED,
        bin_edges=grouping.edges,
    )
