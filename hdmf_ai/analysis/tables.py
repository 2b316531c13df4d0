"""The table functions (a ResultsTable in, a small pandas DataFrame out): :func:`metrics`,
:func:`class_metrics`, :func:`confusion_matrix` and :func:`reliability_curve`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from hdmf.common import DynamicTable

from .._tableview import TableView
from .grouping import grouped_rows, require_pandas, selection
from .scores import (
    AVERAGES,
    accuracy,
    adjusted_rand_index,
    balanced_accuracy,
    calibration_bins,
    confusion_counts,
    divide,
    expected_calibration_error,
    log_loss,
    mean_absolute_error,
    normalized_mutual_information,
    precision_recall_f1,
    r2_score,
    root_mean_squared_error,
    top_k_accuracy,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AUTO", "class_metrics", "confusion_matrix", "metrics", "reliability_curve", "resolve_by"]


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


#: the default grouping of :func:`metrics` and :func:`class_metrics`: the table's own partition, whichever it has
AUTO = "auto"


def resolve_by(view: TableView, by: str | None) -> str | None:
    """``by`` itself, or for :data:`AUTO`: ``tvt_split`` if the table has it, else ``cv_split``, else None."""
    if by != AUTO:
        return by
    return next((column for column in ("tvt_split", "cv_split") if view.has(column)), None)


# -- table functions --------------------------------------------------------------------------------------


def metrics(
    table: DynamicTable,
    *,
    by: str | None = AUTO,
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
        ``"auto"`` (default): ``tvt_split`` when the table has one, else ``cv_split`` (a row per fold, and the
        pooled out-of-fold result), else the whole table only. Or ``"tvt_split"``, ``"cv_split"``, any other
        column of the table or of its source table (numeric quantities cut into ``bins`` quantile bins, as in
        :func:`error_breakdown`), or None for the whole table only.
    split, fold
        Restrict to one split (``"test"`` or 2) and/or one cross-validation fold first.
    source
        The source table, when ``samples`` does not lead to it.
    total
        Append a row ``"all"`` for every selected row together.
    zero_division
        As in :func:`precision_recall_f1`.

    Examples
    --------
    ``metrics(rt, by="cv_split")`` gives a row per fold and the pooled result.
    """
    pd = require_pandas("hdmf_ai.analysis.metrics")
    view = TableView(table, source=source)
    by = resolve_by(view, by)
    outputs = _Outputs.read(view)
    parts = grouped_rows(view, by, bins, total, selection(view, split, fold))
    records = [outputs.subset(mask).scores(zero_division=zero_division, n_bins=n_bins) for _, mask in parts]
    frame = pd.DataFrame.from_records(records, index=pd.Index([label for label, _ in parts], name=by or "group"))
    return frame.astype({"n": np.int64})


def class_metrics(
    table: DynamicTable,
    *,
    by: str | None = AUTO,
    split: str | int | None = None,
    fold: int | None = None,
    source: DynamicTable | None = None,
    bins: int | None = 4,
    total: bool = True,
    zero_division: float = 0.0,
) -> pd.DataFrame:
    """Precision, recall, F1 and support of every class, per group: a long table, one row per (group, class).

    Classes absent from a group have support 0 and ``zero_division`` where a ratio is undefined. ``by`` as for
    :func:`metrics` (default: per split, else per fold, else the whole table).
    """
    pd = require_pandas("hdmf_ai.analysis.class_metrics")
    view = TableView(table, source=source)
    by = resolve_by(view, by)
    y_pred, y_true = view.predictions(), view.labels()
    names = view.class_names()
    labels = np.arange(len(names))
    frames = []
    for group, mask in grouped_rows(view, by, bins, total, selection(view, split, fold)):
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
    pd = require_pandas("hdmf_ai.analysis.confusion_matrix")
    view = TableView(table)
    mask = selection(view, split, fold)
    names = view.class_names()
    y_pred = view.predictions()
    counts = confusion_counts(view.labels()[mask], y_pred[mask], n_classes=len(names))
    values: np.ndarray = counts
    if normalize is not None:
        axis = {"true": 1, "pred": 0, "all": None}[normalize]
        totals = counts.sum() if axis is None else counts.sum(axis=axis, keepdims=True)
        values = divide(counts.astype(np.float64), np.broadcast_to(totals, counts.shape).astype(np.float64), 0.0)
    return pd.DataFrame(values, index=pd.Index(names, name="true"), columns=pd.Index(names, name="predicted"))


def reliability_curve(
    table: DynamicTable, *, split: str | int | None = None, fold: int | None = None, n_bins: int = 10
) -> pd.DataFrame:
    """Calibration of the top probability: one row per confidence bin (see :func:`calibration_bins`)."""
    pd = require_pandas("hdmf_ai.analysis.reliability_curve")
    view = TableView(table)
    mask = selection(view, split, fold)
    bins = calibration_bins(view.labels()[mask], view.values("predicted_probability")[mask], n_bins=n_bins)
    return pd.DataFrame(bins).astype({"count": np.int64})
