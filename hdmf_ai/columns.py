"""The column types of the ``hdmf-ai`` namespace, as hand-written containers.

Each class mirrors one ``data_type_def`` of ``schema/results_table.yaml``; its mapper of the same name
lives in :mod:`hdmf_ai.io.mappers`. The constructors are keyword-only and accept exactly the keywords hdmf
passes when it reads a file (``name``, ``description``, ``data`` and the type's attributes), so the same
signature serves users and the reader. Value checks live in :mod:`hdmf_ai.checks` and run in
:class:`~hdmf_ai.ResultsTable`'s ``add_*`` methods, not here: reading a file must never refuse data that
an older writer stored.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from hdmf.common import DynamicTable, VectorData
from hdmf.common import EnumData as _HdmfEnumData

from ._signature import publish_signature
from .checks import TVT_ELEMENTS

__all__ = [
    "ClassLabel",
    "ClassProbability",
    "ClusterLabel",
    "CrossValidationSplit",
    "EmbeddedValues",
    "EnumColumn",
    "FeatureAttribution",
    "RegressionOutput",
    "SupervisedOutput",
    "TopKClasses",
    "TopKProbabilities",
    "TrainValidateTestSplit",
]


def _data(data: Any) -> Any:
    # hdmf appends to list data in place, so each column needs its own empty list
    return [] if data is None else data


@publish_signature
class _Column(VectorData):
    """A VectorData whose name and description default to its slot in a ResultsTable."""

    default_name: ClassVar[str]
    default_description: ClassVar[str]

    def __init__(self, *, name: str | None = None, description: str | None = None, data: Any = None) -> None:
        super().__init__(
            name=name or self.default_name,
            description=description or self.default_description,
            data=_data(data),
        )


@publish_signature
class _TrainedColumn(_Column):
    """A column whose ``training_labels`` attribute may point at the labels the model learned from."""

    __fields__ = ("training_labels",)

    def __init__(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        data: Any = None,
        training_labels: VectorData | None = None,
    ) -> None:
        super().__init__(name=name, description=description, data=data)
        self.training_labels = training_labels


class SupervisedOutput(_TrainedColumn):
    """Output of a supervised model; ``training_labels`` points at the labels it learned from."""

    default_name = "supervised_output"
    default_description = "Output of a supervised model for each sample."


class ClassProbability(SupervisedOutput):
    """Probability of every class for each sample, shape ``(n_samples, n_classes)``."""

    default_name = "predicted_probability"
    default_description = "The probability of each class for each sample."


class TopKProbabilities(SupervisedOutput):
    """Probabilities of the k most probable classes, shape ``(n_samples, k)``, descending."""

    default_name = "topk_probabilities"
    default_description = "The probabilities of the k most probable classes of each sample."


class RegressionOutput(SupervisedOutput):
    """Predicted value(s) of a regression model, shape ``(n_samples,)`` or ``(n_samples, n_outputs)``."""

    default_name = "predicted_value"
    default_description = "The regression output for each sample."


@publish_signature
class _LabelsFromProbabilities(SupervisedOutput):
    """Class indices that may point at the probabilities they were taken from."""

    __fields__ = ("probabilities",)

    def __init__(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        data: Any = None,
        training_labels: VectorData | None = None,
        probabilities: VectorData | None = None,
    ) -> None:
        super().__init__(name=name, description=description, data=data, training_labels=training_labels)
        self.probabilities = probabilities


class ClassLabel(_LabelsFromProbabilities):
    """The class each sample was assigned to; ``probabilities`` points at a ClassProbability column."""

    default_name = "predicted_class"
    default_description = "The class each sample was assigned to."


class TopKClasses(_LabelsFromProbabilities):
    """The k most probable classes of each sample; ``probabilities`` points at a TopKProbabilities column."""

    default_name = "topk_classes"
    default_description = "The k most probable classes of each sample, most probable first."


class ClusterLabel(_TrainedColumn):
    """The cluster each sample was put in; negative values may mark noise."""

    default_name = "cluster_label"
    default_description = "The cluster each sample was put in."


class EmbeddedValues(_Column):
    """An embedding of each sample, shape ``(n_samples,)`` or ``(n_samples, n_dims)``."""

    default_name = "embedding"
    default_description = "An embedding of each sample."


@publish_signature
class CrossValidationSplit(_Column):
    """The cross-validation fold of each sample, in ``range(n_splits)``."""

    __fields__ = ("n_splits",)
    default_name = "cv_split"
    default_description = "The cross-validation fold of each sample, counted from 0."

    def __init__(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        data: Any = None,
        n_splits: int,
    ) -> None:
        super().__init__(name=name, description=description, data=data)
        self.n_splits = int(n_splits)


@publish_signature
class EnumColumn(_HdmfEnumData):
    """hdmf's ``EnumData`` without the "experimental" warning on every instance.

    The type has been stable since hdmf 2; hdmf-ai registers this class for it in its own TypeMap, so
    string labels read back without noise. ``data`` are codes into ``elements``.
    """

    _experimental = False

    def __init__(
        self,
        *,
        name: str,
        description: str,
        data: Any = None,
        elements: Any = None,
    ) -> None:
        super().__init__(name=name, description=description, data=_data(data), elements=_data(elements))


@publish_signature
class TrainValidateTestSplit(EnumColumn):
    """Codes 0/1/2 into the elements ``('train', 'validate', 'test')``."""

    def __init__(
        self,
        *,
        name: str = "tvt_split",
        description: str = "Whether each sample was used for training, validation or testing.",
        data: Any = None,
        elements: Any = None,
    ) -> None:
        super().__init__(
            name=name,
            description=description,
            data=data,
            elements=list(TVT_ELEMENTS) if elements is None else elements,
        )


@publish_signature
class FeatureAttribution(_Column):
    """How much each input feature contributed to each sample's output (``hdmf-ai-extensions``).

    Shape ``(n_samples, n_features)``, image-like ``(n_samples, height, width[, channels])``, plus a last axis
    over the outputs when ``output`` is ``'each_class'`` or ``'each_output'``. Add one with
    :meth:`~hdmf_ai.ResultsTable.add_feature_attribution`, which checks the values and attributes.

    Parameters
    ----------
    method
        How the attributions were computed: ``'tree_shap'``, ``'kernel_shap'``, ``'linear_shap'``,
        ``'deep_shap'``, ``'permutation'``, ``'integrated_gradients'``, ``'saliency'`` or free text.
    output
        What is explained: ``'predicted_class'``, ``'positive_class'``, ``'each_class'``, ``'predicted_value'``
        or ``'each_output'``.
    feature_names
        The name of each feature (tabular data), in the order of the feature axis.
    feature_table
        The table whose columns named in ``feature_names`` hold the feature values.
    base_values
        The expected model output per output explained (additive methods: attributions + base = output).
    output_space
        The scale of the explained output: ``'raw'``, ``'probability'`` or ``'value'``.
    """

    __fields__ = ("method", "output", "feature_names", "feature_table", "base_values", "output_space")
    default_name = "feature_attribution"
    default_description = "How much each input feature contributed to the model's output for each sample."

    def __init__(
        self,
        *,
        name: str | None = None,
        description: str | None = None,
        data: Any = None,
        method: str,
        output: str,
        feature_names: Any = None,
        feature_table: DynamicTable | None = None,
        base_values: Any = None,
        output_space: str | None = None,
    ) -> None:
        super().__init__(name=name, description=description, data=data)
        self.method = method
        self.output = output
        self.feature_names = feature_names
        self.feature_table = feature_table
        self.base_values = base_values
        self.output_space = output_space

    @property
    def n_features(self) -> int:
        """The number of features (the product of the feature axes)."""
        shape = tuple(self.shape)
        axes = shape[1:-1] if self.output in ("each_class", "each_output") else shape[1:]
        return int(np.prod(axes, dtype=np.int64))
