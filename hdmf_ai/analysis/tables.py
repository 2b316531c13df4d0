"""The table functions (a ResultsTable in, a small pandas DataFrame out): :func:`metrics`,
:func:`class_metrics`, :func:`confusion_matrix` and :func:`reliability_curve`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from hdmf.common import DynamicTable

from .._tableview import TableView
from .evaluation import Evaluation, Intervals, evaluation_frame, is_proportion
from .grouping import grouped_rows, require_pandas, selection
from .resampling import bootstrap as resample
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
    roc_auc,
    root_mean_squared_error,
    silhouette_samples,
    top_k_accuracy,
)
from .stats import proportion_interval

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "AUTO",
    "SILHOUETTE_MAX_ROWS",
    "Outputs",
    "class_metrics",
    "confusion_matrix",
    "evaluate",
    "group_names",
    "metric_function",
    "metrics",
    "reliability_curve",
    "resolve_by",
    "where_selected",
]


# -- reading a table --------------------------------------------------------------------------------------


@dataclass
class Outputs:
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
    embedding: np.ndarray | None = None
    # each row's silhouette within these rows' clustering: computed once, carried by resamples of the rows
    silhouettes: np.ndarray | None = None

    @classmethod
    def read(cls, view: TableView) -> Outputs:
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
        if has("cluster_label") and has("embedding") and len(view) <= SILHOUETTE_MAX_ROWS:
            out.embedding = view.values("embedding")
        return out

    def row_silhouettes(self) -> np.ndarray:
        """Each row's silhouette in the clustering of these rows (computed on first use)."""
        if self.silhouettes is None:
            if self.embedding is None or self.cluster is None:
                raise KeyError("the silhouette needs the columns 'embedding' and 'cluster_label'")
            self.silhouettes = silhouette_samples(self.embedding, self.cluster)
        return self.silhouettes

    def subset(self, rows: np.ndarray) -> Outputs:
        """The outputs of some rows: a boolean mask, or row positions (repeats allowed, as a bootstrap draws)."""
        names = ("y_true", "y_pred", "probabilities", "topk", "target", "value", "cluster", "embedding")
        picked = {n: (None if getattr(self, n) is None else getattr(self, n)[rows]) for n in names}
        if rows.dtype == np.bool_:  # a group of rows: a clustering of its own
            return Outputs(n=int(np.count_nonzero(rows)), n_classes=self.n_classes, **picked)
        # a resample of these rows: each row keeps its silhouette (duplicates would be at distance 0 otherwise)
        carried = None if self.embedding is None else self.row_silhouettes()[rows]
        return Outputs(n=len(rows), n_classes=self.n_classes, silhouettes=carried, **picked)

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
            out["roc_auc"] = roc_auc(t, self.probabilities)
            out["log_loss"] = log_loss(t, self.probabilities)
            out["ece"] = expected_calibration_error(t, self.probabilities, n_bins=n_bins)
        if self.target is not None and self.value is not None:
            out["mae"] = mean_absolute_error(self.target, self.value)
            out["rmse"] = root_mean_squared_error(self.target, self.value)
            out["r2"] = r2_score(self.target, self.value)
        if t is not None and self.cluster is not None:
            out["ari"] = adjusted_rand_index(t, self.cluster)
            out["nmi"] = normalized_mutual_information(t, self.cluster)
        if self.cluster is not None and self.embedding is not None:
            out["silhouette"] = float(np.mean(self.row_silhouettes())) if self.n else math.nan
        return out


# metrics computed directly (each scores() call computes them all): what a bootstrap of one metric calls
_DIRECT: dict[str, Any] = {
    "accuracy": lambda o: accuracy(o.y_true, o.y_pred),
    "balanced_accuracy": lambda o: balanced_accuracy(o.y_true, o.y_pred),
    "roc_auc": lambda o: roc_auc(o.y_true, o.probabilities),
    "log_loss": lambda o: log_loss(o.y_true, o.probabilities),
    "mae": lambda o: mean_absolute_error(o.target, o.value),
    "rmse": lambda o: root_mean_squared_error(o.target, o.value),
    "r2": lambda o: r2_score(o.target, o.value),
    "ari": lambda o: adjusted_rand_index(o.y_true, o.cluster),
    "nmi": lambda o: normalized_mutual_information(o.y_true, o.cluster),
    "silhouette": lambda o: float(np.mean(o.row_silhouettes())) if o.n else math.nan,
}
_AVERAGED = {
    f"{kind}_{average}": (i, average) for average in AVERAGES for i, kind in enumerate(("precision", "recall", "f1"))
}


def metric_function(name: str, *, zero_division: float = 0.0, n_bins: int = 10) -> Any:
    """A function of :class:`Outputs` giving the metric ``name`` (any column of :func:`metrics`)."""
    if name in _DIRECT:
        return _DIRECT[name]
    if name in _AVERAGED:
        i, average = _AVERAGED[name]
        return lambda o: precision_recall_f1(o.y_true, o.y_pred, average=average, zero_division=zero_division)[i]
    return lambda o: o.scores(zero_division=zero_division, n_bins=n_bins)[name]


#: tables with more rows get no silhouette: its cost grows with the square of the rows (5,000: about 1 s)
SILHOUETTE_MAX_ROWS = 5_000

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
    ci: float | None = None,
    proportion: str = "wilson",
    bootstrap: str = "bca",
    n_resamples: int = 2000,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Every metric the table's columns allow, one row per group (split, fold or any column) and overall.

    Classification (``true_label`` with ``predicted_class`` or ``predicted_probability``): ``accuracy``,
    ``balanced_accuracy``, ``precision_``/``recall_``/``f1_`` + ``macro``/``micro``/``weighted``;
    ``top_<k>_accuracy`` from ``topk_classes``; ``log_loss`` and ``ece`` (expected calibration error over
    ``n_bins`` bins) from ``predicted_probability``. Regression (``predicted_value`` with numeric
    ``true_label``): ``mae``, ``rmse``, ``r2``. Clustering (``cluster_label`` with ``true_label``): ``ari``,
    ``nmi``; with ``embedding``: ``silhouette`` (Euclidean, within each group; tables of at most
    ``SILHOUETTE_MAX_ROWS`` = 5,000 rows). ``roc_auc`` from ``predicted_probability`` (binary, or one-vs-rest
    macro). Column ``n`` counts the rows of each group.

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
    ci
        None (default) for the values only; a confidence such as 0.95 to follow each metric column ``m`` with
        ``m_low`` and ``m_high``, the bounds of its interval (see :func:`evaluate` for how they are made).
    proportion, bootstrap, n_resamples, seed
        How the intervals are made, as for :func:`evaluate`.

    Examples
    --------
    ``metrics(rt, by="cv_split")`` gives a row per fold and the pooled result; ``metrics(rt, ci=0.95)`` adds
    the 95% interval of every value.
    """
    pd = require_pandas("hdmf_ai.analysis.metrics")
    view = TableView(table, source=source)
    by = resolve_by(view, by)
    outputs = Outputs.read(view)
    parts = grouped_rows(view, by, bins, total, selection(view, split, fold))
    index = pd.Index([label for label, _ in parts], name=by or "group")
    if ci is not None:
        intervals = Intervals(ci, proportion, bootstrap, n_resamples, seed)
        records = [_with_intervals(outputs.subset(mask), intervals, zero_division, n_bins) for _, mask in parts]
        return pd.DataFrame.from_records(records, index=index).astype({"n": np.int64})
    records = [outputs.subset(mask).scores(zero_division=zero_division, n_bins=n_bins) for _, mask in parts]
    return pd.DataFrame.from_records(records, index=index).astype({"n": np.int64})


def _with_intervals(part: Outputs, intervals: Intervals, zero_division: float, n_bins: int) -> dict[str, float]:
    """Each metric of ``part`` followed by the bounds of its interval."""
    record: dict[str, float] = {"n": part.n}
    found = intervals.of_scores(
        lambda rows: part.subset(rows).scores(zero_division=zero_division, n_bins=n_bins), part.n
    )
    for name, interval in found.items():
        record.update({name: interval.value, f"{name}_low": interval.low, f"{name}_high": interval.high})
    return record


def group_names(by: str | None, label: Any, where: str) -> dict[str, Any]:
    """The split (or fold) and slice of one group of :func:`grouped_rows`, as
    :data:`~hdmf_ai.analysis.EVALUATION_COLUMNS` name them.

    ``where`` names the rows selected before grouping (``"test"``, ``"fold 2"``, ``"all"``).
    """
    if label == "all" or by is None:
        return {"split": where}
    if by == "tvt_split":
        return {"split": str(label)}
    if by == "cv_split":
        return {"split": f"fold {label}" if where == "all" else f"{where}, fold {label}"}
    return {"split": where, "slice_column": by, "slice_value": str(label)}


def where_selected(split: str | int | None, fold: int | None) -> str:
    """``"test"``, ``"fold 2"``, ``"test, fold 2"`` or ``"all"``: the rows a split and fold select."""
    from ..checks import TVT_ELEMENTS

    parts = []
    if split is not None:
        parts.append(TVT_ELEMENTS[split] if isinstance(split, int) and 0 <= split < len(TVT_ELEMENTS) else str(split))
    if fold is not None:
        parts.append(f"fold {fold}")
    return ", ".join(parts) or "all"


def evaluate(
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
    metrics: list[str] | None = None,
    ci: float = 0.95,
    proportion: str = "wilson",
    bootstrap: str = "bca",
    n_resamples: int = 2000,
    seed: int | None = 0,
) -> Evaluation:
    """The metrics of :func:`metrics`, each with a confidence interval, as rows ready to store.

    Fractions of rows (``accuracy``, ``top_<k>_accuracy``) get the interval of a binomial proportion:
    Wilson's score interval, or the exact Clopper-Pearson one (``proportion="exact"``). Every other metric
    (F1, balanced accuracy, ROC AUC, log loss, ECE, MAE, RMSE, R^2, ARI, NMI, ...) gets a bootstrap interval over
    the group's rows: BCa (default) or percentile, from ``n_resamples`` resamples seeded by ``seed`` (the same
    seed gives the same numbers).

    Parameters
    ----------
    table, by, split, fold, source, bins, total, zero_division, n_bins
        As for :func:`metrics`.
    metrics
        Only these metrics (default: every one the table allows).
    ci
        The confidence of the intervals.
    proportion
        ``"wilson"`` or ``"exact"``.
    bootstrap
        ``"bca"`` or ``"percentile"``.
    n_resamples, seed
        The resamples of the bootstrap.

    Returns
    -------
    Evaluation
        ``to_frame()`` gives one row per (group, metric): the columns of :data:`~hdmf_ai.analysis.EVALUATION_COLUMNS`.

    Examples
    --------
    ``evaluate(rt, split="test").to_frame()``: every metric of the test rows with its 95% interval.
    """
    intervals = Intervals(ci, proportion, bootstrap, n_resamples, seed)
    view = TableView(table, source=source)
    by = resolve_by(view, by)
    outputs = Outputs.read(view)
    where = where_selected(split, fold)
    functions = {m: metric_function(m, zero_division=zero_division, n_bins=n_bins) for m in metrics or ()}
    records: list[dict[str, Any]] = []
    for label, mask in grouped_rows(view, by, bins, total, selection(view, split, fold)):
        part = outputs.subset(mask)

        def score(rows: np.ndarray, part: Outputs = part) -> dict[str, float]:
            picked = part.subset(rows)
            if metrics is None:
                return picked.scores(zero_division=zero_division, n_bins=n_bins)
            return {m: functions[m](picked) for m in metrics}

        if metrics is not None:
            _check_metrics(metrics, part.scores(zero_division=zero_division, n_bins=n_bins), table.name)
        for name, interval in intervals.of_scores(score, part.n).items():
            records.append(
                {
                    **group_names(by, label, where),
                    "metric": name,
                    "value": interval.value,
                    "ci_low": interval.low,
                    "ci_high": interval.high,
                    "method": interval.method,
                    "n": part.n,
                    "seed": None if is_proportion(name) else intervals.seed,
                    "tables": (table.name,),
                }
            )
    return Evaluation(table.name, intervals, evaluation_frame(records))


def _check_metrics(wanted: list[str], available: dict[str, float], table: str) -> None:
    unknown = [m for m in wanted if m not in available]
    if unknown:
        names = [k for k in available if k != "n"]
        raise ValueError(f"table '{table}' cannot give the metric(s) {unknown}; it gives {names}")


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
    ci: float | None = None,
    proportion: str = "wilson",
    bootstrap: str = "bca",
    n_resamples: int = 2000,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Precision, recall, F1 and support of every class, per group: a long table, one row per (group, class).

    Classes absent from a group have support 0 and ``zero_division`` where a ratio is undefined. ``by`` as for
    :func:`metrics` (default: per split, else per fold, else the whole table). With ``ci`` (e.g. 0.95), each of
    precision, recall and F1 is followed by ``_low`` and ``_high`` bounds: precision and recall are proportions
    (true positives over predicted or actual positives: ``proportion`` interval, ``"wilson"`` or ``"exact"``),
    F1 gets a bootstrap interval over the group's rows (``bootstrap``, ``n_resamples``, ``seed``).
    """
    pd = require_pandas("hdmf_ai.analysis.class_metrics")
    intervals = None if ci is None else Intervals(ci, proportion, bootstrap, n_resamples, seed)
    view = TableView(table, source=source)
    by = resolve_by(view, by)
    y_pred, y_true = view.predictions(), view.labels()
    names = view.class_names()
    labels = np.arange(len(names))
    frames = []
    for group, mask in grouped_rows(view, by, bins, total, selection(view, split, fold)):
        t, q = y_true[mask], y_pred[mask]
        p, r, f = precision_recall_f1(t, q, average=None, labels=labels, zero_division=zero_division)
        support = np.bincount(t, minlength=len(names))[: len(names)]
        columns: dict[str, Any] = {"class": names, "precision": p, "recall": r, "f1": f, "support": support}
        if intervals is not None:
            columns = _class_intervals(columns, t, q, labels, intervals, zero_division)
        frames.append(pd.DataFrame(columns))
        frames[-1].insert(0, by or "group", group)
    return pd.concat(frames, ignore_index=True)


def _class_intervals(
    columns: dict[str, Any],
    t: np.ndarray,
    q: np.ndarray,
    labels: np.ndarray,
    intervals: Intervals,
    zero_division: float,
) -> dict[str, Any]:
    """``columns`` with the bounds of each class's precision, recall (proportions) and F1 (bootstrap)."""
    n_classes = len(labels)
    hits = np.bincount(t[t == q], minlength=n_classes)[:n_classes]
    predicted = np.bincount(q, minlength=n_classes)[:n_classes]
    out = {"class": columns["class"]}
    for name, total in (("precision", predicted), ("recall", columns["support"])):
        low, high = proportion_interval(hits, total, confidence=intervals.confidence, method=intervals.proportion)
        out.update({name: columns[name], f"{name}_low": low, f"{name}_high": high})
    f1_low = f1_high = np.full(n_classes, np.nan)
    if len(t):
        found = resample(
            lambda rows: precision_recall_f1(
                t[rows], q[rows], average=None, labels=labels, zero_division=zero_division
            )[2],
            len(t),
            confidence=intervals.confidence,
            n_resamples=intervals.n_resamples,
            method=intervals.bootstrap,
            seed=intervals.seed,
        )
        f1_low, f1_high = found.low, found.high
    out.update({"f1": columns["f1"], "f1_low": f1_low, "f1_high": f1_high, "support": columns["support"]})
    return out


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
