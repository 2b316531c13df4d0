"""Feature attributions from the ``shap`` package into a ResultsTable (``pip install 'hdmf-ai[shap]'``).

:func:`from_explanation` stores a ``shap.Explanation`` (what ``explainer(X)`` returns) as a
:class:`~hdmf_ai.FeatureAttribution` column: its values, feature names and base value, with the method
and the output explained. shap repeats the base value on every row; the column stores it once per output, and
refuses an explanation whose base value varies by row (the column has one per output).

Attributions from other libraries (captum, a PyTorch saliency map) need no adapter: pass their arrays to
:meth:`~hdmf_ai.ResultsTable.add_feature_attribution`.

Example
-------
>>> import numpy as np, shap
>>> from sklearn.ensemble import GradientBoostingRegressor
>>> from hdmf_ai.shap import from_explanation
>>> X = np.random.default_rng(0).normal(size=(50, 3)); y = X[:, 0] + 0.1 * X[:, 1]
>>> model = GradientBoostingRegressor(n_estimators=20, random_state=0).fit(X, y)
>>> rt = from_explanation(shap.TreeExplainer(model)(X), method="tree_shap", output="predicted_value")
>>> column = rt["feature_attribution"]
>>> column.shape, column.feature_names, column.base_values.shape
((50, 3), None, (1,))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from hdmf.common import DynamicTable

from ._tableview import require
from .errors import ColumnError
from .results_table import ResultsTable

__all__ = ["from_explanation", "infer_output"]


def _shap() -> Any:
    return require("shap", "shap", "hdmf_ai.shap")


def infer_output(table: ResultsTable, values_shape: tuple[int, ...]) -> str:
    """What an attribution of ``values_shape`` explains, from the table's outputs; ValueError when unclear.

    A binary classifier's 2-D attributions explain class 1 (``'positive_class'``), a last axis as wide as the
    probabilities ``'each_class'``, and a regression table's ``'predicted_value'`` / ``'each_output'``.
    """
    columns = set(table.colnames)
    if "predicted_probability" in columns:
        width = int(table["predicted_probability"].shape[1])
        if len(values_shape) == 2 and width == 2:
            return "positive_class"
        if len(values_shape) == 3 and values_shape[-1] == width:
            return "each_class"
    if "predicted_value" in columns:
        return "predicted_value" if len(values_shape) == 2 else "each_output"
    raise ValueError(
        f"cannot tell what attributions of shape {values_shape} explain from the table's columns "
        f"{sorted(columns)}: pass output= ('predicted_class', 'positive_class', 'each_class', 'predicted_value' "
        "or 'each_output')"
    )


def _base_per_output(name: str, base: Any, n_rows: int, per_output: bool) -> np.ndarray | None:
    """shap's base values (one, one per row, or one per row and output) as one per output."""
    if base is None:
        return None
    arr = np.asarray(base, dtype=np.float64)
    if n_rows > 0 and arr.ndim == 1 + per_output and arr.shape[0] == n_rows and (per_output or n_rows > 1):
        varying = np.flatnonzero(np.any((arr != arr[:1]).reshape(n_rows, -1), axis=1))
        if varying.size:
            raise ColumnError(
                name,
                "one base value per output, the same on every row (the column stores it once)",
                f"base values that vary by row, e.g. row 0: {arr[0]} and row {int(varying[0])}: {arr[varying[0]]}",
            )
        arr = arr[0]
    return np.atleast_1d(arr)


def from_explanation(
    explanation: Any,
    *,
    method: str,
    table: ResultsTable | None = None,
    output: str | None = None,
    output_space: str | None = None,
    feature_names: Sequence[str] | None = None,
    feature_table: DynamicTable | None = None,
    name: str = "feature_attribution",
    description: str | None = None,
) -> ResultsTable:
    """Add a ``shap.Explanation`` to ``table`` (a new ResultsTable when None) as a FeatureAttribution column.

    Parameters
    ----------
    explanation
        What a shap explainer returns for the table's samples, in its row order.
    method
        How shap computed it, e.g. ``'tree_shap'``, ``'kernel_shap'``, ``'linear_shap'``, ``'deep_shap'``
        (an Explanation does not record its algorithm).
    table
        The ResultsTable to add the column to; a new one named ``'shap'`` when None.
    output
        What is explained; default: inferred from the table's outputs (:func:`infer_output`).
    output_space
        ``'raw'``, ``'probability'`` or ``'value'``, when known.
    feature_names
        Default: the explanation's own (taken from a DataFrame's columns).
    feature_table, name, description
        As for :meth:`~hdmf_ai.ResultsTable.add_feature_attribution`.
    """
    _shap()
    values = np.asarray(explanation.values)
    if table is None:
        table = ResultsTable(name="shap", description="Feature attributions computed with shap.")
    if output is None:
        try:
            output = infer_output(table, values.shape)
        except ValueError as err:
            raise ColumnError(name, "output=, or a table whose outputs say what is explained", str(err)) from None
    base = getattr(explanation, "base_values", None)
    names = feature_names if feature_names is not None else getattr(explanation, "feature_names", None)
    table.add_feature_attribution(
        values,
        method=method,
        output=output,
        feature_names=None if names is None else list(names),
        base_values=_base_per_output(name, base, len(values), output in ("each_class", "each_output")),
        output_space=output_space,
        feature_table=feature_table,
        name=name,
        description=description,
    )
    return table
