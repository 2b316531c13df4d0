"""Array metrics (numpy in, numbers out): classification, regression and clustering scores.

Each gives the value scikit-learn's function for the same metric gives, without needing scikit-learn.
:func:`divide` (a ratio with a fallback where the denominator is 0) and ``AVERAGES`` are shared with the
table functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import ColumnError
from .stats import average_ranks

__all__ = [
    "AVERAGES",
    "accuracy",
    "adjusted_rand_index",
    "balanced_accuracy",
    "calibration_bins",
    "confusion_counts",
    "divide",
    "expected_calibration_error",
    "log_loss",
    "mean_absolute_error",
    "normalized_mutual_information",
    "precision_recall_f1",
    "r2_score",
    "roc_auc",
    "roc_auc_by_class",
    "root_mean_squared_error",
    "silhouette_samples",
    "silhouette_score",
    "top_k_accuracy",
]

AVERAGES = ("macro", "micro", "weighted")


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


def divide(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    """``num / den`` element by element, ``zero_division`` where ``den`` is 0."""
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
    precision = divide(tp, pred_sum, zero_division)
    recall = divide(tp, true_sum, zero_division)
    f1 = divide(2 * tp, pred_sum + true_sum, zero_division)
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


def _binary_auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """The probability that a random positive scores above a random negative (ties 1/2): Mann-Whitney's U / mn."""
    m, n = int(positive.sum()), int((~positive).sum())
    if not m or not n:
        return math.nan
    ranks, _ = average_ranks(scores)
    return float((ranks[positive].sum() - m * (m + 1) / 2) / (m * n))


def roc_auc_by_class(y_true: ArrayLike, probabilities: ArrayLike) -> np.ndarray:
    """The one-vs-rest ROC AUC of each class (its probability against the class), NaN for a class that is
    absent from ``y_true`` or is all of it."""
    t, probs = _probabilities(y_true, probabilities)
    return np.array([_binary_auc(probs[:, c].astype(np.float64), t == c) for c in range(probs.shape[1])])


def roc_auc(y_true: ArrayLike, probabilities: ArrayLike) -> float:
    """Area under the ROC curve: of class 1's probability for two classes; for more, the macro average of the
    one-vs-rest AUCs of the classes present in ``y_true`` (scikit-learn's ``roc_auc_score(multi_class="ovr")``
    when every class is present). NaN when only one class is present."""
    t, probs = _probabilities(y_true, probabilities)
    if probs.shape[1] == 2:
        return _binary_auc(probs[:, 1].astype(np.float64), t == 1)
    per_class = roc_auc_by_class(t, probs)
    return float(np.mean(per_class[~np.isnan(per_class)])) if not np.isnan(per_class).all() else math.nan


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
        "confidence": divide(np.bincount(which, confidence, n_bins), count, math.nan),
        "accuracy": divide(np.bincount(which, correct, n_bins), count, math.nan),
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
    return float(np.mean(np.where(total != 0, 1 - divide(residual, total, 0.0), perfect_constant)))


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


# rows of the distance matrix computed at once by the silhouette (bounds its memory to about 64 MiB)
_SILHOUETTE_BLOCK_VALUES = 1 << 23


def silhouette_samples(embedding: ArrayLike, labels: ArrayLike) -> np.ndarray:
    """The silhouette of each row: (b - a) / max(a, b), with a the mean Euclidean distance to the other rows of
    its cluster and b the smallest mean distance to another cluster's rows; 0 for a row alone in its cluster.
    All NaN unless there are 2 to n - 1 clusters. O(n^2) distances, computed in blocks of rows."""
    x = np.asarray(embedding, dtype=np.float64)
    x = x.reshape(len(x), -1)
    _, codes, counts = np.unique(np.asarray(labels), return_inverse=True, return_counts=True)
    codes = codes.reshape(-1)
    n, k = len(x), len(counts)
    if not 2 <= k <= n - 1:
        return np.full(n, np.nan)
    one_hot = np.zeros((n, k))
    one_hot[np.arange(n), codes] = 1.0
    squared = np.einsum("ij,ij->i", x, x)
    out = np.empty(n)
    block = max(1, _SILHOUETTE_BLOCK_VALUES // n)
    for start in range(0, n, block):
        rows = slice(start, min(n, start + block))
        # |x|^2 + |y|^2 - 2xy (a matrix product: fast), as scikit-learn computes it; clipped at 0
        d2 = squared[rows, None] + squared[None, :] - 2 * x[rows] @ x.T
        sums = np.sqrt(np.maximum(d2, 0.0)) @ one_hot  # distance of each row to each cluster, summed
        own = codes[rows]
        here = np.arange(len(own))
        size = counts[own]
        a = divide(sums[here, own], size - 1.0, 0.0)
        mean = sums / counts
        mean[here, own] = np.inf
        b = mean.min(axis=1)
        out[rows] = np.where(size > 1, divide(b - a, np.maximum(a, b), 0.0), 0.0)
    return out


def silhouette_score(embedding: ArrayLike, labels: ArrayLike) -> float:
    """The mean silhouette of the rows (scikit-learn's ``silhouette_score``, Euclidean); NaN unless 2 to n - 1
    clusters."""
    return float(np.mean(silhouette_samples(embedding, labels))) if len(np.asarray(labels)) else math.nan
