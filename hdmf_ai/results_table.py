"""``ResultsTable``: one row per data sample, with what a model said about it.

Example
-------
>>> import numpy as np, hdmf_ai
>>> rt = hdmf_ai.ResultsTable(name="logreg", description="logistic regression on digits")
>>> rt.add_true_label(["cat", "dog", "cat"]).elements.data
['cat', 'dog']
>>> rt.add_predicted_class([0, 1, 1]).training_labels.name
'true_label'
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, VectorData
from numpy.typing import ArrayLike

from . import checks, coercion
from ._frames import DataFrameMethods
from ._signature import publish_signature
from .columns import (
    ClassLabel,
    ClassProbability,
    ClusterLabel,
    CrossValidationSplit,
    EmbeddedValues,
    EnumColumn,
    FeatureAttribution,
    RegressionOutput,
    SupervisedOutput,
    TopKClasses,
    TopKProbabilities,
    TrainValidateTestSplit,
)
from .errors import ColumnError

__all__ = ["ResultsTable"]


def _predefined(name: str, cls: type | None, description: str, **extra: Any) -> dict[str, Any]:
    conf = {"name": name, "description": description, "required": False, **extra}
    if cls is not None:  # no class: true_label is VectorData or EnumData depending on its values
        conf["class"] = cls
    return conf


# (column with the attribute, attribute, column it points at)
_LINKS: tuple[tuple[str, str, str], ...] = (
    ("predicted_class", "probabilities", "predicted_probability"),
    ("topk_classes", "probabilities", "topk_probabilities"),
)


@publish_signature
class ResultsTable(DataFrameMethods, DynamicTable):
    """A table of per-sample results of an AI/ML workflow (``ResultsTable`` of the ``hdmf-ai`` schema).

    Parameters
    ----------
    name
        The table's name; several tables in one file need distinct names.
    description
        What the results are, in a sentence.
    source_code, model_description, pre_trained_model
        One string per workflow step (a lone string is one step): where the code is, what the model is,
        which pre-trained model it started from.
    parameters
        One JSON document per step: a dict (serialised here) or JSON text.
    n_samples
        The number of rows, when known before any column is added; every column must then match it.
    id, columns, colnames, target_tables, meanings_tables
        As for :class:`hdmf.common.DynamicTable`; hdmf passes them when it reads a file.
    """

    __fields__ = ("source_code", "parameters", "model_description", "pre_trained_model")

    __columns__ = (
        _predefined("samples", DynamicTableRegion, "The rows of the source data table, one per result.", table=True),
        _predefined("tvt_split", TrainValidateTestSplit, "Train/validate/test use of each sample.", enum=True),
        _predefined("cv_split", CrossValidationSplit, CrossValidationSplit.default_description),
        _predefined("true_label", None, "The true label of each sample."),
        _predefined("predicted_probability", ClassProbability, ClassProbability.default_description),
        _predefined("predicted_class", ClassLabel, ClassLabel.default_description),
        _predefined("topk_probabilities", TopKProbabilities, TopKProbabilities.default_description),
        _predefined("topk_classes", TopKClasses, TopKClasses.default_description),
        _predefined("predicted_value", RegressionOutput, RegressionOutput.default_description),
        _predefined("cluster_label", ClusterLabel, ClusterLabel.default_description),
        _predefined("embedding", EmbeddedValues, EmbeddedValues.default_description),
        _predefined("viz_embedding", EmbeddedValues, "A low-dimensional embedding of each sample for plotting."),
    )

    def __init__(
        self,
        *,
        name: str = "results",
        description: str = "Results of an AI/ML workflow, one row per data sample.",
        source_code: str | Sequence[str] | None = None,
        parameters: Any = None,
        model_description: str | Sequence[str] | None = None,
        pre_trained_model: str | Sequence[str] | None = None,
        n_samples: int | None = None,
        id: Any = None,
        columns: Sequence[VectorData] | None = None,
        colnames: Sequence[str] | None = None,
        target_tables: dict[str, DynamicTable] | None = None,
        meanings_tables: Sequence[Any] | None = None,
    ) -> None:
        checks.check_table_name(name)
        if id is None:
            # an ndarray (not hdmf's default list) so ids extend by concatenation, not element by element
            id = np.arange(n_samples or 0, dtype=np.int64) if not columns else None
        super().__init__(
            name=name,
            description=description,
            id=id,
            columns=columns,
            colnames=colnames,
            target_tables=target_tables,
            meanings_tables=meanings_tables,
        )
        self._rows_fixed = n_samples is not None or bool(columns) or len(self.id) > 0
        # what a file holds is kept as stored; only new values are held to the JSON rule
        as_json = checks.text_list if self._in_construct_mode else checks.json_list
        self.source_code = checks.text_list("source_code", source_code)
        self.parameters = as_json("parameters", parameters)
        self.model_description = checks.text_list("model_description", model_description)
        self.pre_trained_model = checks.text_list("pre_trained_model", pre_trained_model)

    # -- queries ------------------------------------------------------------------------------------------

    @property
    def n_rows(self) -> int | None:
        """The number of rows, or None while no column has fixed it."""
        return len(self.id) if self._rows_fixed else None

    def get_parameters(self, step: int = 0) -> dict[str, Any]:
        """The ``parameters`` of one workflow step, parsed from JSON."""
        if not self.parameters:
            raise KeyError(f"ResultsTable '{self.name}' has no parameters")
        return json.loads(self.parameters[step])

    def _column(self, name: str) -> VectorData | None:
        return next((c for c in self.columns if c.name == name), None)

    # -- generic column addition ---------------------------------------------------------------------------

    def add_column(self, name: str, description: str, data: Any = None, **kwargs: Any) -> VectorData:
        """Add a column (a user column such as a loss or metric, or a predefined one).

        Parameters
        ----------
        name, description
            The column's name and what it holds.
        data
            One entry per row; must match the table's row count once any column exists.
        **kwargs
            Passed to :meth:`hdmf.common.DynamicTable.add_column` (``col_cls``, ``enum``, ``index``, ...).
        """
        if name in self.colnames:
            raise ColumnError(name, "a column name not yet in the table", f"a second column named '{name}'")
        data = [] if data is None else data
        checks.check_storable(name, data)
        n = len(data)
        if not kwargs.get("index"):
            checks.check_length(name, self.n_rows, n)
        if not self._rows_fixed:
            self.id.extend(np.arange(n, dtype=np.int64))
            self._rows_fixed = True
        super().add_column(name=name, description=description, data=data, **kwargs)
        self._link_columns()
        return self._column(name)

    def _add_predefined(self, name: str, data: Any, description: str | None, **kwargs: Any) -> Any:
        conf = next(c for c in self.__columns__ if c["name"] == name)
        if "class" in conf:
            kwargs.setdefault("col_cls", conf["class"])
        return self.add_column(name, description or conf["description"], data, **kwargs)

    def _link_columns(self) -> None:
        """Point columns at the columns they derive from, whichever was added first."""
        by_name = {c.name: c for c in self.columns}
        for source, attr, target in _LINKS:
            col = by_name.get(source)
            if col is not None and target in by_name and getattr(col, attr) is None:
                setattr(col, attr, by_name[target])
        labels = by_name.get("true_label")
        if labels is None:
            return
        for col in self.columns:
            if isinstance(col, (SupervisedOutput, ClusterLabel)) and col.training_labels is None:
                col.training_labels = labels

    # -- predefined columns ------------------------------------------------------------------------------

    def add_samples(
        self, indices: ArrayLike, *, table: DynamicTable, description: str | None = None
    ) -> DynamicTableRegion:
        """Link each row to the row of the source data ``table`` it describes.

        Example: ``rt.add_samples(np.arange(len(images)), table=images)``. Indices must lie in the table.
        """
        arr = coercion.samples(indices, n_source=len(table), what=f"the {len(table)} rows of table '{table.name}'")
        # hdmf-common declares region indices int32 at least; narrower types would be widened with a warning
        arr = arr.astype(np.int32 if arr.size == 0 or arr.max() < 2**31 else np.int64)
        column = self._add_predefined("samples", arr, description, table=True)
        column.table = table
        return column

    def add_tvt_split(self, data: ArrayLike, *, description: str | None = None) -> TrainValidateTestSplit:
        """Which samples were used to train (0, 'train'), validate (1, 'validate') or test (2, 'test')."""
        codes = coercion.tvt_split(data)
        return self._add_predefined("tvt_split", codes, description, enum=list(checks.TVT_ELEMENTS))

    def add_cv_split(
        self, data: ArrayLike, *, n_splits: int | None = None, description: str | None = None
    ) -> CrossValidationSplit:
        """The cross-validation fold of each sample; ``n_splits`` defaults to the largest fold + 1."""
        folds, n_splits = coercion.cv_split(data, n_splits=n_splits)
        return self._add_predefined("cv_split", folds, description, n_splits=n_splits)

    def add_true_label(
        self, data: ArrayLike, *, classes: Sequence[str] | None = None, description: str | None = None
    ) -> VectorData:
        """The true label of each sample: integer classes, or strings (stored as an enum).

        Parameters
        ----------
        data
            Integer class indices, or string labels.
        classes
            The class names in the model's order (e.g. ``model.classes_``). With string ``data`` they fix the
            codes, so that ``predicted_class`` indices and true labels agree; with integer ``data`` they name
            the classes. Without them, string labels are coded in sorted order.
        """
        codes, names = coercion.true_label(data, classes=classes)
        if names is None:
            return self._add_predefined("true_label", codes, description)
        return self._add_predefined("true_label", codes, description, col_cls=EnumColumn, enum=names)

    def add_predicted_probability(
        self, data: ArrayLike, *, check_sum: bool = True, description: str | None = None
    ) -> ClassProbability:
        """The probability of each class, shape ``(n_samples, n_classes)``; rows should sum to 1.

        A row that does not sum to 1 gives a :class:`~hdmf_ai.errors.ProbabilityWarning`; pass
        ``check_sum=False`` for scores that are not normalised on purpose (e.g. multi-label outputs).
        """
        probs = coercion.predicted_probability(data, check_sum=check_sum)
        predicted = self._column("predicted_class")
        if predicted is not None:
            checks.check_below("predicted_class", np.asarray(predicted.data), probs.shape[1], "the number of classes")
        for column in self.columns:
            if isinstance(column, FeatureAttribution):  # its class axis, added first, must match the width
                shape = tuple(column.shape)[1:]
                coercion.attribution_attributes(
                    column.name, shape, method=column.method, output=column.output, n_classes=probs.shape[1]
                )
        return self._add_predefined("predicted_probability", probs, description)

    def add_predicted_class(self, data: ArrayLike, *, description: str | None = None) -> ClassLabel:
        """The class index each sample was assigned to (below the number of classes, when known)."""
        labels = coercion.predicted_class(data, n_classes=self._n_classes())
        return self._add_predefined("predicted_class", labels, description)

    def add_topk_probabilities(self, data: ArrayLike, *, description: str | None = None) -> TopKProbabilities:
        """The probabilities of the k most probable classes, shape ``(n_samples, k)``, descending per row."""
        probs = coercion.topk_probabilities(data)
        self._check_k("topk_probabilities", probs, "topk_classes")
        return self._add_predefined("topk_probabilities", probs, description)

    def add_topk_classes(self, data: ArrayLike, *, description: str | None = None) -> TopKClasses:
        """The k most probable classes of each sample, shape ``(n_samples, k)``, most probable first."""
        classes = checks.as_integers("topk_classes", data, (2,))
        self._check_k("topk_classes", classes, "topk_probabilities")
        classes = coercion.topk_classes(classes, n_classes=self._n_classes())
        return self._add_predefined("topk_classes", classes, description)

    def add_predicted_value(self, data: ArrayLike, *, description: str | None = None) -> RegressionOutput:
        """Regression output, shape ``(n_samples,)`` or ``(n_samples, n_outputs)``."""
        return self._add_predefined("predicted_value", coercion.predicted_value(data), description)

    def add_cluster_label(self, data: ArrayLike, *, description: str | None = None) -> ClusterLabel:
        """The cluster of each sample; negative values (e.g. DBSCAN's -1 for noise) are allowed."""
        return self._add_predefined("cluster_label", coercion.cluster_label(data), description)

    def add_embedding(self, data: ArrayLike, *, description: str | None = None) -> EmbeddedValues:
        """An embedding of each sample, shape ``(n_samples,)`` or ``(n_samples, n_dims)``."""
        return self._add_predefined("embedding", coercion.embedding("embedding", data), description)

    def add_viz_embedding(self, data: ArrayLike, *, description: str | None = None) -> EmbeddedValues:
        """A low-dimensional embedding for plots (e.g. UMAP or t-SNE), usually ``(n_samples, 2)``."""
        return self._add_predefined("viz_embedding", coercion.embedding("viz_embedding", data), description)

    def add_feature_attribution(
        self,
        values: ArrayLike,
        *,
        method: str,
        output: str,
        feature_names: Sequence[str] | None = None,
        base_values: ArrayLike | None = None,
        output_space: str | None = None,
        feature_table: DynamicTable | None = None,
        name: str = "feature_attribution",
        description: str | None = None,
    ) -> FeatureAttribution:
        """Per-sample feature attributions (SHAP values, integrated gradients, saliency), one row per sample.

        Parameters
        ----------
        values
            Shape ``(n_samples, n_features)``, or ``(n_samples, height, width[, channels])`` for image-like
            inputs; with a last axis over the outputs when ``output`` is ``'each_class'`` (one per class: the
            width of ``predicted_probability``) or ``'each_output'``. Finite numbers.
        method
            ``'tree_shap'``, ``'kernel_shap'``, ``'linear_shap'``, ``'deep_shap'``, ``'permutation'``,
            ``'integrated_gradients'``, ``'saliency'`` (other spellings of these are stored so), or free text.
        output
            What is explained: ``'predicted_class'``, ``'positive_class'`` (class 1 of a binary classifier),
            ``'each_class'``, ``'predicted_value'`` or ``'each_output'``.
        feature_names
            One unique name per feature (tabular data only).
        base_values
            The expected output per output explained: one value for ``'positive_class'`` and
            ``'predicted_value'``, one per class for ``'predicted_class'``, one per entry of the last axis for
            ``'each_class'`` and ``'each_output'``. For additive methods, a row's attributions summed plus its base
            give the model's output.
        output_space
            ``'raw'`` (margin, log-odds), ``'probability'`` or ``'value'``.
        feature_table
            The table whose columns named in ``feature_names`` hold the feature values (e.g. the source table).
        name, description
            The column's name (several attribution columns need distinct names) and description.

        Examples
        --------
        SHAP values of a binary classifier's log-odds::

            rt.add_feature_attribution(shap_values, method="tree_shap", output="positive_class",
                                       feature_names=list(X.columns), base_values=explainer.expected_value)
        """
        arr = coercion.feature_attribution(name, values, output=output)
        attrs = coercion.attribution_attributes(
            name,
            tuple(arr.shape[1:]),
            method=method,
            output=output,
            feature_names=feature_names,
            base_values=base_values,
            output_space=output_space,
            feature_table=feature_table,
            n_classes=self._n_classes(),
        )
        description = description or FeatureAttribution.default_description
        return self.add_column(name, description, arr, col_cls=FeatureAttribution, **attrs)

    def _n_classes(self) -> int | None:
        # only the probabilities fix the number of classes: labels seen may be fewer than the model knows
        probs = self._column("predicted_probability")
        return None if probs is None else int(probs.shape[1])

    def _check_k(self, name: str, arr: np.ndarray, other: str) -> None:
        column = self._column(other)
        checks.check_same_k(name, arr, other, None if column is None else tuple(column.shape))

    def column(self, name: str) -> Any:
        """Column ``name``, read on demand: ``.read(rows)``, ``.to_dask()`` (:class:`hdmf_ai.io.lazy.LazyColumn`).

        Example: ``with hdmf_ai.open(path) as rt: p = rt.column("predicted_probability").to_dask()``
        """
        from .io.lazy import column

        return column(self, name)
