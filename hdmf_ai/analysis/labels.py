"""Possibly wrong labels, by confident learning (Northcutt, Jiang and Chuang, "Confident learning: estimating
uncertainty in dataset labels", JAIR 2021) from the stored out-of-sample probabilities and the true labels.

:func:`confident_learning` is the array function; :func:`label_issues` reads a table, refuses probabilities a
model made for rows it was trained on, and ranks the rows it flags. The method is the paper's "prune by noise
rate", the default of cleanlab's ``find_label_issues`` (the tests check the masks are equal):

1. per class ``k``, the threshold ``t_k`` is the mean probability of ``k`` over rows labelled ``k``;
2. a row is counted as confidently of class ``j`` when ``p_j >= t_j`` (the most probable class when several
   pass), giving the confident joint ``C[given, true]`` (diagonal at least 1), then calibrated so that each
   row sums to the label's count and the whole to ``n``, rounded keeping row totals;
3. for each given label ``k`` and other class ``j``, the ``C[k, j]`` rows labelled ``k`` with the largest
   margin ``p_j - p_k`` are flagged;
4. a flagged row whose most probable class is its label is unflagged.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from hdmf.common import DynamicTable
from numpy.typing import ArrayLike

from .._tableview import TableView
from ..checks import TVT_ELEMENTS
from ..errors import ColumnError, InSampleError, InSampleWarning
from .grouping import require_pandas, selection

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["LabelIssues", "confident_learning", "label_issues"]

# probabilities equal up to this are equal (thresholds, and the final argmax that favours the given label)
TOLERANCE = 1e-6
# a class no row is labelled with gets a threshold no probability reaches
ABSENT_THRESHOLD = 2.0


def _round_rows(matrix: np.ndarray) -> np.ndarray:
    """Round each row to integers whose sum is the row's rounded sum: entries whose rounding lost the most
    gain 1 (or, if the rounded row is too large, those that gained the most lose 1)."""
    out = np.rint(matrix)
    for i, row in enumerate(matrix):
        missing = int(np.rint(row.sum()) - out[i].sum())
        while missing:
            step = 1 if missing > 0 else -1
            residual = row - out[i]
            picked = np.argsort(residual)[::-step][: min(abs(missing), len(row))]
            out[i, picked] += step
            missing = int(np.rint(row.sum()) - out[i].sum())
    return out.astype(np.int64)


def _confident_joint(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    k = probs.shape[1]
    counts = np.bincount(labels, minlength=k)
    sums = np.bincount(labels, weights=probs[np.arange(len(labels)), labels], minlength=k)
    thresholds = np.where(counts > 0, sums / np.maximum(counts, 1), ABSENT_THRESHOLD)
    thresholds = np.maximum(thresholds, 2 * TOLERANCE)
    confident = probs >= thresholds - TOLERANCE
    how_many = confident.sum(axis=1)
    guess = np.where(how_many > 1, probs.argmax(axis=1), confident.argmax(axis=1))
    counted = how_many > 0
    joint = np.bincount(labels[counted] * k + guess[counted], minlength=k * k).reshape(k, k).astype(np.float64)
    joint[np.diag_indices(k)] = np.maximum(joint.diagonal(), 1)
    # calibrated: each given label's row sums to its count, the whole to n
    joint = joint / np.maximum(joint.sum(axis=1, keepdims=True), 1e-100) * counts[:, None]
    joint = joint / max(joint.sum(), 1e-100) * counts.sum()
    return _round_rows(joint)


def _at_least_one_kept(joint: np.ndarray) -> np.ndarray:
    """Per given label, keep at least one row: raise the diagonal to 1 and take as much from that label's
    non-zero off-diagonal counts, in equal parts."""
    prune = joint.T.astype(np.float64)  # prune[true, given]
    diagonal = prune.diagonal().copy()
    raised = np.maximum(diagonal, 1)
    others = np.maximum(np.count_nonzero(prune, axis=0) - 1.0, 1.0)
    prune = np.maximum(prune - (raised - diagonal) / others, 0)
    prune[np.diag_indices(len(prune))] = raised
    return _round_rows(prune).T


def confident_learning(labels: ArrayLike, probabilities: ArrayLike) -> np.ndarray:
    """Which rows are probably mislabelled: a boolean mask, by confident learning ("prune by noise rate").

    ``probabilities`` must be out-of-sample (cross-validated, or from a model that never saw the rows);
    ``labels`` are integer classes, columns of ``probabilities``.
    """
    y = np.asarray(labels)
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 2 or y.shape != (len(probs),):
        raise ColumnError("predicted_probability", f"(n, classes) for {y.shape} labels", f"shape {probs.shape}")
    if y.size and (y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= probs.shape[1]):
        raise ColumnError("true_label", f"integer classes in range({probs.shape[1]})", f"{y.dtype} {y.min()}..")
    y = y.astype(np.int64)
    n_classes = probs.shape[1]
    mask = np.zeros(len(y), dtype=bool)
    if not y.size:
        return mask
    joint = _at_least_one_kept(_confident_joint(y, probs))
    for k in range(n_classes):
        rows = np.flatnonzero(y == k)
        if len(rows) <= 1:
            continue
        for j in np.flatnonzero(joint[k] > 0):
            if j == k:
                continue
            margin = probs[rows, j] - probs[rows, k]
            mask[rows[np.argsort(-margin, kind="stable")[: joint[k, j]]]] = True
    favoured = probs.copy()
    favoured[np.arange(len(y)), y] += TOLERANCE
    mask[favoured.argmax(axis=1) == y] = False
    return mask


@dataclass(frozen=True)
class LabelIssues:
    """Rows whose label is probably wrong.

    Attributes
    ----------
    mask
        One boolean per row of the table (False for rows not examined).
    score
        Self-confidence, the probability the model gives the row's label: low first (NaN: not examined).
    issues
        The flagged rows, lowest score first: ``row`` (of the results table), ``source_row`` (of the source
        table, when ``samples`` links one), ``label``, ``suggested`` (the most probable class), ``score``.
    """

    mask: np.ndarray
    score: np.ndarray
    issues: pd.DataFrame

    def __len__(self) -> int:
        return int(self.mask.sum())


def _guard_in_sample(view: TableView, within: np.ndarray, strict: bool) -> None:
    if not view.has("tvt_split") or view.has("cv_split"):
        return
    trained = within & (view.values("tvt_split") == TVT_ELEMENTS.index("train"))
    if not trained.any():
        return
    message = (
        f"{int(trained.sum())} rows of table '{view.table.name}' are in the train split and the table has no "
        "cv_split: their probabilities come from a model that saw them (in-sample), and confident learning "
        "needs out-of-sample ones. Pass split='test' (or 'validate'), store cross-validated probabilities with "
        "a cv_split, or pass strict=False to go on anyway"
    )
    if strict:
        raise InSampleError(message)
    warnings.warn(message, InSampleWarning, stacklevel=3)


def label_issues(
    table: DynamicTable,
    *,
    split: str | int | None = None,
    fold: int | None = None,
    source: DynamicTable | None = None,
    strict: bool = True,
) -> LabelIssues:
    """Rows whose ``true_label`` is probably wrong, from ``predicted_probability`` by confident learning.

    Parameters
    ----------
    table
        A ResultsTable with ``true_label`` and ``predicted_probability``, in memory or open.
    split, fold
        Examine one split and/or fold only.
    source
        The source table, when ``samples`` does not lead to it (only for ``source_row``).
    strict
        Raise :class:`~hdmf_ai.errors.InSampleError` when examined rows are in the train split of a table
        without ``cv_split`` (probabilities made by a model that saw those rows); False: warn
        (:class:`~hdmf_ai.errors.InSampleWarning`) and go on.

    Example: ``label_issues(rt, split="test").issues.head()`` lists the most suspicious labels first.
    """
    pd = require_pandas("hdmf_ai.analysis.label_issues")
    view = TableView(table, source=source)
    within = selection(view, split, fold)
    _guard_in_sample(view, within, strict)
    labels, probs = view.labels(), view.values("predicted_probability")
    rows = np.flatnonzero(within)
    found = confident_learning(labels[rows], probs[rows])
    mask = np.zeros(len(view), dtype=bool)
    mask[rows[found]] = True
    score = np.full(len(view), np.nan)
    score[rows] = probs[rows, labels[rows]]
    flagged = np.flatnonzero(mask)
    flagged = flagged[np.argsort(score[flagged], kind="stable")]
    names = np.asarray(view.class_names(), dtype=object)
    columns: dict[str, object] = {"row": flagged}
    if view.has("samples"):
        columns["source_row"] = view.values("samples").astype(np.int64)[flagged]
    columns |= {
        "label": names[labels[flagged]],
        "suggested": names[probs[flagged].argmax(axis=1)],
        "score": score[flagged],
    }
    return LabelIssues(mask=mask, score=score, issues=pd.DataFrame(columns))
