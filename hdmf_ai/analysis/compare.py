"""Which model is better, and is the difference real: paired comparison of two or more ResultsTables over the
same samples (:func:`compare`).

The tables may be in memory, in one file or in several: their rows are matched through ``samples`` to the
rows of the source table (or, without ``samples``, by position), so each model is judged on exactly the same
samples. Per pair of models: the difference of each metric with a paired-bootstrap interval (both models'
metrics on the same resampled rows), McNemar's exact and mid-p tests of their accuracies, and DeLong's test
of their ROC AUCs (binary, or the macro average of one-vs-rest AUCs); for three models or more, Cochran's Q.
And the rows where the models disagree, joined to the source table.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from hdmf.common import DynamicTable

from .._tableview import TableView
from ..errors import ComparisonError
from .evaluation import Intervals, evaluation_frame, is_proportion
from .grouping import require_pandas, selection
from .resampling import bootstrap
from .stats import cochran_q, delong_components, mcnemar, normal_quantile, normal_two_sided_p
from .tables import Outputs, metric_function, where_selected

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CochranQ",
    "Comparison",
    "DeLong",
    "McNemar",
    "MetricDifference",
    "ModelMetric",
    "PairComparison",
    "compare",
    "compare_files",
    "delong_test",
]


# -- the results ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelMetric:
    """One model's value of a metric on the compared rows, with its interval."""

    model: str
    metric: str
    value: float
    ci_low: float
    ci_high: float
    method: str


@dataclass(frozen=True)
class MetricDifference:
    """``metric(a) - metric(b)`` on the same rows, with its paired-bootstrap interval."""

    metric: str
    value_a: float
    value_b: float
    difference: float
    ci_low: float
    ci_high: float
    method: str


@dataclass(frozen=True)
class McNemar:
    """McNemar's test of equal accuracy: rows right under ``a`` only and ``b`` only, and the two-sided p-values
    (exact binomial, and mid-p)."""

    only_a: int
    only_b: int
    p_exact: float
    p_midp: float


@dataclass(frozen=True)
class DeLong:
    """DeLong's test of equal ROC AUC: ``average`` is ``"binary"`` or ``"macro"`` (one-vs-rest, over the classes
    with at least two positive and two negative rows); the difference ``auc_a - auc_b``, its standard error and
    normal-theory interval, z and the two-sided p-value."""

    average: str
    auc_a: float
    auc_b: float
    difference: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float


@dataclass(frozen=True)
class PairComparison:
    """Two models compared: the difference of every metric, McNemar's and DeLong's tests where they apply."""

    a: str
    b: str
    differences: tuple[MetricDifference, ...]
    mcnemar: McNemar | None
    delong: DeLong | None


@dataclass(frozen=True)
class CochranQ:
    """Cochran's Q test that all models have the same accuracy (three models or more)."""

    statistic: float
    dof: int
    p_value: float


@dataclass(frozen=True, repr=False)
class Comparison:
    """The result of :func:`compare`.

    Attributes
    ----------
    models
        The names of the tables compared, in order.
    split
        Which rows were compared (``"test"``, ``"fold 2"``, ``"all"``).
    n
        How many rows (samples) each model was judged on.
    metrics
        The metrics compared.
    intervals
        How the intervals were made (confidence, bootstrap method, resamples, seed).
    values
        Each model's value of each metric, with its interval.
    pairs
        One :class:`PairComparison` per pair of models (a before b in ``models``' order).
    cochran_q
        Cochran's Q over all models (three or more classifiers), else None.
    disagreements
        The rows where the models predict different classes (a DataFrame): the source row, the true class,
        each model's predicted class, and the source table's columns.
    """

    models: tuple[str, ...]
    split: str
    n: int
    metrics: tuple[str, ...]
    intervals: Intervals
    values: tuple[ModelMetric, ...]
    pairs: tuple[PairComparison, ...]
    cochran_q: CochranQ | None
    disagreements: Any  # a pandas DataFrame; typed loosely so that pandas stays an optional import

    def summary(self) -> pd.DataFrame:
        """One row per (pair, metric): both values, the difference and its interval, and the tests' p-values."""
        pd = require_pandas("hdmf_ai.analysis.Comparison.summary")
        records = []
        for pair in self.pairs:
            for d in pair.differences:
                record = {
                    "a": pair.a,
                    "b": pair.b,
                    "metric": d.metric,
                    "value_a": d.value_a,
                    "value_b": d.value_b,
                    "difference": d.difference,
                    "ci_low": d.ci_low,
                    "ci_high": d.ci_high,
                }
                if pair.mcnemar is not None:
                    record.update(mcnemar_p=pair.mcnemar.p_exact, mcnemar_midp=pair.mcnemar.p_midp)
                if pair.delong is not None:
                    record.update(delong_p=pair.delong.p_value)
                records.append(record)
        return pd.DataFrame.from_records(records)

    def to_frame(self) -> pd.DataFrame:
        """Every number as a row of :data:`~hdmf_ai.analysis.EVALUATION_COLUMNS`: each model's metrics, each
        pair's differences and p-values (``value`` holds the p-value of a test), and Cochran's Q."""
        i = self.intervals
        common = {"split": self.split, "n": self.n}
        records: list[dict[str, Any]] = []
        for v in self.values:
            seed = None if is_proportion(v.metric) else i.seed
            records.append(
                {**common, "metric": v.metric, "value": v.value, "ci_low": v.ci_low, "ci_high": v.ci_high}
                | {"method": v.method, "seed": seed, "tables": (v.model,)}
            )
        for pair in self.pairs:
            names = (pair.a, pair.b)
            for d in pair.differences:
                records.append(
                    {**common, "metric": f"{d.metric} difference", "value": d.difference, "ci_low": d.ci_low}
                    | {"ci_high": d.ci_high, "method": d.method, "seed": i.seed, "tables": names}
                )
            if pair.mcnemar is not None:
                for metric, p in (("mcnemar p", pair.mcnemar.p_exact), ("mcnemar mid-p", pair.mcnemar.p_midp)):
                    records.append({**common, "metric": metric, "value": p, "method": "McNemar", "tables": names})
            if pair.delong is not None:
                t = pair.delong
                name = f"roc_auc ({t.average}) difference"
                records.append(
                    {**common, "metric": name, "value": t.difference, "ci_low": t.ci_low, "ci_high": t.ci_high}
                    | {"method": "DeLong", "tables": names}
                )
                records.append(
                    {**common, "metric": "delong p", "value": t.p_value, "method": "DeLong", "tables": names}
                )
        if self.cochran_q is not None:
            q = self.cochran_q
            records.append(
                {**common, "metric": "cochran q p", "value": q.p_value}
                | {"method": f"Cochran's Q = {q.statistic:.6g}, dof {q.dof}", "tables": self.models}
            )
        return evaluation_frame(records)

    def lines(self) -> list[str]:
        """The comparison as printable lines (what ``hdmf-ai compare`` prints)."""
        i = self.intervals
        out = [
            f"{len(self.models)} models on the same {self.n} samples ({self.split} rows); "
            f"{i.confidence:.0%} intervals, {i.bootstrap} bootstrap, {i.n_resamples} resamples, seed {i.seed}"
        ]
        width = max(len(m) for m in self.models)
        for v in self.values:
            out.append(f"  {v.model:<{width}}  {v.metric} {v.value:.4f} [{v.ci_low:.4f}, {v.ci_high:.4f}] ({v.method})")
        for pair in self.pairs:
            out.append(f"{pair.a} - {pair.b}:")
            for d in pair.differences:
                out.append(
                    f"  {d.metric} difference {d.difference:+.4f} [{d.ci_low:+.4f}, {d.ci_high:+.4f}] ({d.method})"
                )
            if pair.mcnemar is not None:
                m = pair.mcnemar
                out.append(
                    f"  McNemar: right only under {pair.a} {m.only_a}, only under {pair.b} {m.only_b}; "
                    f"p = {m.p_exact:.4g} (exact), {m.p_midp:.4g} (mid-p)"
                )
            if pair.delong is not None:
                t = pair.delong
                out.append(
                    f"  DeLong ({t.average} ROC AUC): {t.auc_a:.4f} vs {t.auc_b:.4f}, difference {t.difference:+.4f} "
                    f"[{t.ci_low:+.4f}, {t.ci_high:+.4f}], p = {t.p_value:.4g}"
                )
        if self.cochran_q is not None:
            q = self.cochran_q
            out.append(
                f"Cochran's Q over all {len(self.models)} models: {q.statistic:.4g} (dof {q.dof}), p = {q.p_value:.4g}"
            )
        if self.disagreements is not None:
            out.append(f"rows where the models disagree: {len(self.disagreements)}")
        return out

    def __repr__(self) -> str:
        return "\n".join(self.lines())


# -- matching the tables' rows -------------------------------------------------------------------------------


def _named(tables: Sequence[DynamicTable] | Mapping[str, DynamicTable]) -> dict[str, DynamicTable]:
    if isinstance(tables, Mapping):
        named = dict(tables)
    else:
        named = {}
        for table in tables:
            if table.name in named:
                raise ComparisonError(
                    f"two tables are named '{table.name}'; pass a dict {{name: table}} to tell them apart"
                )
            named[table.name] = table
    if len(named) < 2:
        raise ComparisonError(f"compare needs at least two tables; got {len(named)}")
    return named


def _sample_keys(view: TableView) -> np.ndarray:
    """The source row of every row, or its position when there is neither ``samples`` nor a source table."""
    try:
        return view.source_rows()
    except KeyError:  # no source table to point into: row i is sample i
        return np.arange(len(view))


def _source_signature(view: TableView) -> tuple[int, tuple[str, ...]] | None:
    try:
        source = view.source()
    except KeyError:
        return None
    return len(source), tuple(source.colnames)


def _matched_rows(
    views: dict[str, TableView], split: str | int | None, fold: int | None, where: str
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The rows of each table, in the order of the samples they describe; and those samples."""
    first, *rest = views
    signature = _source_signature(views[first])
    keys: dict[str, np.ndarray] = {}
    positions: dict[str, np.ndarray] = {}
    for name, view in views.items():
        try:
            rows = np.flatnonzero(selection(view, split, fold))
        except (KeyError, ValueError) as err:  # no such column, or no such split: the user's to fix
            raise ComparisonError(f"table '{name}': {err.args[0] if err.args else err}") from err
        key = _sample_keys(view)[rows]
        order = np.argsort(key, kind="stable")
        keys[name], positions[name] = key[order], rows[order]
    for name in rest:
        other = _source_signature(views[name])
        if signature is not None and other is not None and other != signature:
            raise ComparisonError(
                f"tables '{first}' and '{name}' link different source tables: {signature[0]} rows with columns "
                f"{list(signature[1])} against {other[0]} rows with columns {list(other[1])}"
            )
        a, b = keys[first], keys[name]
        if len(a) != len(b) or not np.array_equal(a, b):
            differ = int(np.count_nonzero(~np.isin(a, b)) + np.count_nonzero(~np.isin(b, a)))
            differ = differ or abs(len(a) - len(b)) or int(np.count_nonzero(a != b))
            raise ComparisonError(
                f"tables '{first}' and '{name}' do not describe the same samples ({where} rows): {differ} rows "
                f"differ ({len(a)} rows against {len(b)}); compare needs the same samples in every table"
            )
    return positions, keys[first]


def _check_same_truth(outputs: dict[str, Outputs]) -> None:
    first, *rest = outputs
    for name in rest:
        for attr, what in (("y_true", "true_label"), ("target", "true_label")):
            a, b = getattr(outputs[first], attr), getattr(outputs[name], attr)
            if a is not None and b is not None and not np.array_equal(a, b):
                differ = int(np.count_nonzero(a != b))
                raise ComparisonError(
                    f"column '{what}': tables '{first}' and '{name}' hold different truths for the same samples "
                    f"({differ} rows differ)"
                )


# -- the tests -----------------------------------------------------------------------------------------------


def delong_test(
    y_true: np.ndarray, probabilities_a: np.ndarray, probabilities_b: np.ndarray, *, confidence: float = 0.95
) -> DeLong | None:
    """DeLong's test that two models' ROC AUCs on the same samples are equal.

    Two classes: the AUC of class 1's probability. More: the macro average of the one-vs-rest AUCs of the classes
    with at least two positive and two negative samples, its variance from each sample's per-class structural
    components (:func:`~hdmf_ai.analysis.delong_components`), which the classes share. None when no class has
    enough samples of both kinds, or the probabilities' widths differ.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.array([0, 0, 0, 1, 1, 1])
    >>> good = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8], [0.4, 0.6]])
    >>> poor = np.array([[0.5, 0.5], [0.3, 0.7], [0.6, 0.4], [0.4, 0.6], [0.7, 0.3], [0.2, 0.8]])
    >>> t = delong_test(y, good, poor)
    >>> t.average, round(t.auc_a, 3), round(t.auc_b, 3)
    ('binary', 1.0, 0.556)
    """
    t = np.asarray(y_true, dtype=np.int64)
    n_classes = probabilities_a.shape[1]
    if n_classes == 2:
        classes, average = [1], "binary"
    else:
        counts = np.bincount(t, minlength=n_classes)
        classes = [c for c in range(n_classes) if counts[c] >= 2 and len(t) - counts[c] >= 2]
        average = "macro"
    if not classes or probabilities_b.shape[1] != n_classes:
        return None
    parts_a = [delong_components(probabilities_a[:, c], t == c) for c in classes]
    parts_b = [delong_components(probabilities_b[:, c], t == c) for c in classes]
    if any(math.isnan(p.auc) for p in parts_a):
        return None
    auc_a = float(np.mean([p.auc for p in parts_a]))
    auc_b = float(np.mean([p.auc for p in parts_b]))
    influence = np.mean([pa.influence - pb.influence for pa, pb in zip(parts_a, parts_b, strict=True)], axis=0)
    se = float(np.sqrt(np.sum(influence**2)))
    difference = auc_a - auc_b
    z = difference / se if se > 0 else (0.0 if difference == 0 else math.copysign(math.inf, difference))
    half = normal_quantile(0.5 + confidence / 2) * se
    return DeLong(average, auc_a, auc_b, difference, se, difference - half, difference + half, z, normal_two_sided_p(z))


def _delong(a: Outputs, b: Outputs, confidence: float) -> DeLong | None:
    if a.probabilities is None or b.probabilities is None or a.y_true is None:
        return None
    return delong_test(a.y_true, a.probabilities, b.probabilities, confidence=confidence)


def _mcnemar(a: Outputs, b: Outputs) -> McNemar | None:
    if a.y_pred is None or b.y_pred is None or a.y_true is None:
        return None
    right_a, right_b = a.y_pred == a.y_true, b.y_pred == b.y_true
    only_a, only_b = int(np.count_nonzero(right_a & ~right_b)), int(np.count_nonzero(right_b & ~right_a))
    p_exact, p_midp = mcnemar(only_a, only_b)
    return McNemar(only_a, only_b, p_exact, p_midp)


def _differences(
    a: Outputs, b: Outputs, metrics: tuple[str, ...], functions: dict[str, Any], intervals: Intervals
) -> tuple[MetricDifference, ...]:
    def statistic(rows: np.ndarray) -> np.ndarray:
        sa, sb = a.subset(rows), b.subset(rows)
        return np.array([functions[m](sa) - functions[m](sb) for m in metrics], dtype=np.float64)

    found = bootstrap(
        statistic,
        a.n,
        confidence=intervals.confidence,
        n_resamples=intervals.n_resamples,
        method=intervals.bootstrap,
        seed=intervals.seed,
    )
    method = f"paired {intervals.bootstrap_method}"
    out = []
    for j, m in enumerate(metrics):
        va, vb = float(functions[m](a)), float(functions[m](b))
        out.append(MetricDifference(m, va, vb, va - vb, float(found.low[j]), float(found.high[j]), method))
    return tuple(out)


# -- the disagreements ---------------------------------------------------------------------------------------


def _disagreements(
    views: dict[str, TableView], outputs: dict[str, Outputs], positions: dict[str, np.ndarray], keys: np.ndarray
) -> pd.DataFrame | None:
    found = [o.y_pred for o in outputs.values()]
    if any(p is None for p in found):
        return None
    pd = require_pandas("hdmf_ai.analysis.compare")
    first = next(iter(views))
    predicted = np.stack([p for p in found if p is not None])
    differ = np.flatnonzero((predicted != predicted[0]).any(axis=0))
    names = np.asarray(views[first].class_names(), dtype=object)
    data: dict[str, Any] = {}
    truth = outputs[first].y_true
    if truth is not None:
        data["true_label"] = names[truth[differ]]
    for name, o in outputs.items():
        data[name] = names[np.asarray(o.y_pred)[differ]]
    index_name = "source_row"
    view = views[first]
    try:
        source = view.source()
    except KeyError:
        source, index_name = None, "row"
    if source is not None:
        picked = TableView(view.table, source=source, rows=positions[first][differ])
        for column in source.colnames:
            if column in data or column not in _value_columns(source):
                continue
            values = picked.source_values(column)
            data[column] = values if isinstance(values, np.ndarray) and values.ndim == 1 else list(values)
    return pd.DataFrame(data, index=pd.Index(keys[differ], name=index_name))


def _value_columns(source: DynamicTable) -> list[str]:
    from hdmf.common import DynamicTableRegion

    return [c for c in source.colnames if not isinstance(source[c], DynamicTableRegion)]


# -- the entry point -----------------------------------------------------------------------------------------


def _default_metrics(outputs: Outputs) -> tuple[str, ...]:
    if outputs.y_pred is not None and outputs.y_true is not None:
        return ("accuracy",)
    if outputs.value is not None and outputs.target is not None:
        return ("rmse",)
    raise ComparisonError("compare found no metric to compare: the tables need true_label and predictions")


def compare(
    tables: Sequence[DynamicTable] | Mapping[str, DynamicTable],
    *,
    split: str | int | None = None,
    fold: int | None = None,
    metric: str | Sequence[str] | None = None,
    ci: float = 0.95,
    bootstrap: str = "bca",
    proportion: str = "wilson",
    n_resamples: int = 2000,
    seed: int | None = 0,
    zero_division: float = 0.0,
    n_bins: int = 10,
    source: DynamicTable | None = None,
) -> Comparison:
    """Compare two or more models' results on the same samples: differences, intervals, paired tests.

    Parameters
    ----------
    tables
        Two or more ResultsTables (in memory, read, or open lazily; from one file or several), or a dict
        ``{name: table}`` when their names clash. Their rows are matched through ``samples`` to the same source
        rows (by position without ``samples``); tables whose samples differ, or whose true labels differ on the
        same samples, are refused with an error that says how many rows differ.
    split, fold
        Compare only these rows (e.g. ``split="test"``); each table's own ``tvt_split`` / ``cv_split`` selects.
    metric
        One metric or several, named as the columns of :func:`metrics` (``"accuracy"``, ``"f1_macro"``,
        ``"roc_auc"``, ``"log_loss"``, ``"rmse"``, ...); default ``"accuracy"`` for classifiers, ``"rmse"`` for
        regressors.
    ci
        The confidence of every interval.
    bootstrap
        ``"bca"`` (default) or ``"percentile"``: the paired-bootstrap interval of each difference, and of each
        model's metrics other than proportions.
    proportion
        ``"wilson"`` or ``"exact"``: the interval of each model's accuracy.
    n_resamples, seed
        The bootstrap's resamples; the same seed gives the same numbers.
    zero_division, n_bins
        As for :func:`metrics`.
    source
        The source table, when ``samples`` does not lead to it.

    Returns
    -------
    Comparison
        Per pair: each metric's difference with its paired-bootstrap interval, McNemar's exact and mid-p tests
        of accuracy (classifiers), DeLong's test of ROC AUC (tables with ``predicted_probability``: binary, or
        one-vs-rest macro); Cochran's Q for three classifiers or more; the rows where the models disagree.
        ``summary()`` is a DataFrame of the pairs, ``to_frame()`` the rows to store.

    Examples
    --------
    >>> import numpy as np, hdmf_ai
    >>> from hdmf_ai import analysis
    >>> y = np.arange(60) % 2
    >>> a, b = hdmf_ai.ResultsTable(name="a"), hdmf_ai.ResultsTable(name="b")
    >>> for rt, wrong in ((a, 3), (b, 12)):
    ...     _ = rt.add_true_label(y)
    ...     _ = rt.add_predicted_class(np.where(np.arange(60) < wrong, 1 - y, y))
    >>> result = analysis.compare([a, b], n_resamples=500)
    >>> pair = result.pairs[0]
    >>> round(pair.differences[0].difference, 3), pair.mcnemar.only_a, pair.mcnemar.only_b
    (0.15, 9, 0)
    >>> round(pair.mcnemar.p_exact, 4)
    0.0039
    """
    try:
        intervals = Intervals(ci, proportion, bootstrap, n_resamples, seed)
    except ValueError as err:
        raise ComparisonError(str(err)) from err
    named = _named(tables)
    views = {name: TableView(table, source=source) for name, table in named.items()}
    where = where_selected(split, fold)
    positions, keys = _matched_rows(views, split, fold, where)
    outputs = {name: Outputs.read(views[name]).subset(positions[name]) for name in views}
    _check_same_truth(outputs)
    first = outputs[next(iter(outputs))]
    if first.n == 0:
        raise ComparisonError(f"compare found no rows to compare ({where} rows)")
    metrics = _default_metrics(first) if metric is None else (metric,) if isinstance(metric, str) else tuple(metric)
    available = first.scores(zero_division=zero_division, n_bins=n_bins)
    unknown = [m for m in metrics if m not in available or m == "n"]
    if unknown:
        raise ComparisonError(
            f"cannot compare the metric(s) {unknown}; these tables give {[k for k in available if k != 'n']}"
        )
    functions = {m: metric_function(m, zero_division=zero_division, n_bins=n_bins) for m in metrics}
    values = []
    for name, o in outputs.items():

        def score(rows: np.ndarray, o: Outputs = o) -> dict[str, float]:
            return {m: functions[m](o.subset(rows)) for m in metrics}

        found = intervals.of_scores(score, o.n)
        values += [ModelMetric(name, m, v.value, v.low, v.high, v.method) for m, v in found.items()]
    pairs = tuple(
        PairComparison(
            a,
            b,
            _differences(outputs[a], outputs[b], metrics, functions, intervals),
            _mcnemar(outputs[a], outputs[b]),
            _delong(outputs[a], outputs[b], ci),
        )
        for a, b in itertools.combinations(outputs, 2)
    )
    q = None
    if len(outputs) > 2 and all(o.y_pred is not None for o in outputs.values()) and first.y_true is not None:
        statistic, dof, p = cochran_q(np.stack([o.y_pred == o.y_true for o in outputs.values()], axis=1))
        q = CochranQ(statistic, dof, p)
    return Comparison(
        tuple(outputs),
        where,
        first.n,
        metrics,
        intervals,
        tuple(values),
        pairs,
        q,
        _disagreements(views, outputs, positions, keys),
    )


# -- files ---------------------------------------------------------------------------------------------------


def compare_files(
    paths: Sequence[str | os.PathLike[str]],
    *,
    tables: Sequence[str] | None = None,
    split: str | None = None,
    backend: str | None = None,
    **options: Any,
) -> Comparison:
    """:func:`compare` the ResultsTables of one or more files (what ``hdmf-ai compare`` runs).

    Every ResultsTable of every file is compared (files in order, tables of a file by name), or those named
    in ``tables``. A model is named by its
    table's name, or ``file:table`` when two files hold tables of the same name. ``split`` None compares the
    test rows when every table has a ``tvt_split``, else all rows; ``"all"`` compares all rows. ``options`` go
    to :func:`compare`. Tables are opened lazily and closed on return.
    """
    from ..io import list_tables
    from ..io import open as open_table

    found: list[tuple[Path, str]] = []
    for path in map(Path, paths):
        names = sorted(i.name for i in list_tables(path, backend=backend) if i.data_type == "ResultsTable")
        found += [(path, name) for name in names if tables is None or name in tables]
    missing = [t for t in tables or () if t not in {name for _, name in found}]
    if missing:
        raise ComparisonError(f"no ResultsTable named {missing} in {[str(p) for p in paths]}")
    if len(found) < 2:
        listed = ", ".join(f"{p}:{n}" for p, n in found) or "none"
        raise ComparisonError(f"compare needs at least two ResultsTables; found {len(found)} ({listed})")
    clash = {n for _, n in found if sum(name == n for _, name in found) > 1}
    with contextlib.ExitStack() as stack:
        opened = {
            (f"{path}:{name}" if name in clash else name): stack.enter_context(
                open_table(path, table=name, backend=backend)
            )
            for path, name in found
        }
        if split is None:
            split = "test" if all("tvt_split" in t.colnames for t in opened.values()) else None
        return compare(opened, split=None if split == "all" else split, **options)
