"""The rules of each predefined column: what values it takes, how they are coerced, and how they are stored.

Pure functions over numpy arrays, shared by :class:`~hdmf_ai.ResultsTable`'s ``add_*`` methods (a whole
column) and the batched writers (one batch at a time): a batch passes exactly the checks a whole column
does. Rules that need a sibling column (the number of classes of ``predicted_class``) take it as an argument.

:class:`ColumnSpec` is what the batched writers know of a column before or after its first batch; the
functions at the end decide its bound, its stored dtype, and whether a later batch fits it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from . import checks
from .errors import ColumnError

__all__ = [
    "ATTRIBUTION_METHODS",
    "ATTRIBUTION_OUTPUTS",
    "CLASS_COLUMNS",
    "OUTPUT_SPACES",
    "PREDEFINED",
    "SCHEMA_MINIMUM",
    "ColumnSpec",
    "attribution_attributes",
    "attribution_method",
    "attribution_output",
    "bound",
    "cluster_label",
    "coerce",
    "cv_split",
    "embedding",
    "feature_attribution",
    "fit",
    "predicted_class",
    "predicted_probability",
    "predicted_value",
    "samples",
    "schema_width",
    "stored_dtype",
    "topk_classes",
    "topk_probabilities",
    "true_label",
    "tvt_split",
    "user_numbers",
]

#: The predefined columns of a ResultsTable, in the order of ``ResultsTable.__columns__``.
PREDEFINED = (
    "samples",
    "tvt_split",
    "cv_split",
    "true_label",
    "predicted_probability",
    "predicted_class",
    "topk_probabilities",
    "topk_classes",
    "predicted_value",
    "cluster_label",
    "embedding",
    "viz_embedding",
)
#: Columns of class indices, bounded by the number of classes (the width of ``predicted_probability``).
CLASS_COLUMNS = ("predicted_class", "topk_classes")
#: The narrowest integer type each column's schema type allows. In HDMF's spec language ``int`` and ``uint``
#: mean at least 32 bits: a narrower dataset fails every validator that uses the published 0.2.0 schema.
#: Columns not listed (enum codes, ``true_label``, ``samples``) have their own rules.
SCHEMA_MINIMUM: dict[str, np.dtype] = {
    "cv_split": np.dtype(np.int32),
    "cluster_label": np.dtype(np.int32),
    "predicted_class": np.dtype(np.uint32),
    "topk_classes": np.dtype(np.uint32),
}


def schema_width(name: str, dtype: np.dtype) -> np.dtype:
    """``dtype``, widened to what the schema declares for column ``name`` (no change for other columns)."""
    minimum = SCHEMA_MINIMUM.get(name)
    if minimum is None or dtype.kind not in "iu":
        return dtype
    if minimum.kind == "u" and dtype.kind == "i":  # class indices are never negative: the unsigned twin
        dtype = np.dtype(f"u{dtype.itemsize}")
    return np.promote_types(dtype, minimum)


def _widened(name: str, arr: np.ndarray) -> np.ndarray:
    return arr.astype(schema_width(name, arr.dtype), copy=False)


# -- one rule per column ------------------------------------------------------------------------------------


def samples(values: ArrayLike, *, n_source: int | None, what: str = "") -> np.ndarray:
    """Row indices into the source table, each below its length ``n_source`` (when known)."""
    arr = checks.as_integers("samples", values)
    if n_source is not None:
        checks.check_below("samples", arr, n_source, what or f"the {n_source} rows of the source table")
    return arr


def tvt_split(values: ArrayLike) -> np.ndarray:
    """Codes 0/1/2 of 'train'/'validate'/'test'; a missing entry is refused, naming its index."""
    checks.check_no_missing("tvt_split", values)
    return checks.as_tvt_codes("tvt_split", values)


def cv_split(values: ArrayLike, *, n_splits: int | None) -> tuple[np.ndarray, int]:
    """The folds (smallest signed type) and the number of folds (default: the largest fold + 1)."""
    folds = checks.as_integers("cv_split", values)
    top = np.iinfo(np.int64).max  # the schema's int: a fold must fit a signed 64-bit integer
    if folds.size and int(folds.max()) > top:
        raise ColumnError("cv_split", "folds within the int64 range", f"the value {folds.max()}")
    if n_splits is None:
        n_splits = int(folds.max()) + 1 if folds.size else 0
    elif n_splits < 1:
        raise ColumnError("cv_split", "n_splits >= 1", f"n_splits={n_splits}")
    elif n_splits > top + 1:
        raise ColumnError("cv_split", "n_splits <= 2**63 (folds are int64)", f"n_splits={n_splits}")
    checks.check_below("cv_split", folds, n_splits, f"n_splits={n_splits}")
    return _widened("cv_split", checks.smallest_int(folds)), n_splits


def true_label(values: ArrayLike, *, classes: Sequence[str] | None) -> tuple[np.ndarray, list[str] | None]:
    """The codes of the true labels and the class names (None for integer labels without ``classes``).

    Strings are coded in the order of ``classes`` (default: sorted); integers are checked against ``classes``.
    A missing entry (None, NaN, ``pd.NA``, a masked or blank one) is refused, naming its index: it must not
    become a class of its own.
    """
    checks.check_no_missing("true_label", values)
    arr = checks.as_array("true_label", values)
    if arr.dtype.kind in "USO":
        checks.check_ndim("true_label", arr, (1,))
        codes, found = checks.encode_labels("true_label", arr)
        if classes is None:
            return codes, found
        names = checks.text_list("true_label", classes) or []
        position = {c: i for i, c in enumerate(names)}
        unknown = [f for f in found if f not in position]
        if unknown:
            raise ColumnError("true_label", f"labels among classes {names[:10]}", f"unknown labels {unknown[:5]}")
        remap = np.array([position[f] for f in found], dtype=np.int64)
        return checks.smallest_uint(remap[codes]), names
    codes = checks.as_integers("true_label", arr)
    if classes is None:
        return codes, None
    names = checks.text_list("true_label", classes) or []
    checks.check_below("true_label", codes, len(names), f"the {len(names)} classes given")
    return codes, names


def predicted_probability(values: ArrayLike, *, check_sum: bool) -> np.ndarray:
    """Probabilities of shape (rows, classes), in [0, 1]; rows summing to 1 unless ``check_sum`` is False."""
    probs = checks.as_float("predicted_probability", values, (2,))
    checks.check_probabilities("predicted_probability", probs, check_sum=check_sum)
    return probs


def predicted_class(values: ArrayLike, *, n_classes: int | None) -> np.ndarray:
    """Class indices, below ``n_classes`` when known."""
    labels = checks.as_integers("predicted_class", values)
    if n_classes is not None:
        checks.check_below("predicted_class", labels, n_classes, "the number of classes")
    return _widened("predicted_class", labels)


def topk_probabilities(values: ArrayLike) -> np.ndarray:
    """The k largest probabilities of each row, shape (rows, k), descending."""
    probs = checks.as_float("topk_probabilities", values, (2,))
    checks.check_probabilities("topk_probabilities", probs, check_sum=False)
    checks.check_descending("topk_probabilities", probs)
    return probs


def topk_classes(values: ArrayLike, *, n_classes: int | None) -> np.ndarray:
    """The k most probable classes of each row, shape (rows, k), below ``n_classes`` when known."""
    classes = checks.as_integers("topk_classes", values, (2,))
    if n_classes is not None:
        checks.check_below("topk_classes", classes, n_classes, "the number of classes")
    return _widened("topk_classes", classes)


def predicted_value(values: ArrayLike) -> np.ndarray:
    """Regression outputs, shape (rows,) or (rows, outputs)."""
    return checks.as_float("predicted_value", values, (1, 2))


def cluster_label(values: ArrayLike) -> np.ndarray:
    """Cluster indices; negative values (noise) allowed."""
    return _widened("cluster_label", checks.as_integers("cluster_label", values, signed=True))


def embedding(name: str, values: ArrayLike) -> np.ndarray:
    """An embedding (``embedding`` or ``viz_embedding``), shape (rows,) or (rows, dims)."""
    return checks.as_float(name, values, (1, 2))


#: How attributions were computed: the controlled vocabulary. Other methods are stored as the free text given;
#: a spelling of one of these (``'TreeSHAP'``, ``'tree shap'``, ``'Integrated-Gradients'``) is stored as it.
ATTRIBUTION_METHODS = (
    "tree_shap",
    "kernel_shap",
    "linear_shap",
    "deep_shap",
    "permutation",
    "integrated_gradients",
    "saliency",
)
#: What an attribution explains. The two ``each_*`` outputs have a last axis over the outputs.
ATTRIBUTION_OUTPUTS = ("predicted_class", "positive_class", "each_class", "predicted_value", "each_output")
#: The scale of the explained output.
OUTPUT_SPACES = ("raw", "probability", "value")
_PER_OUTPUT = ("each_class", "each_output")


def feature_attribution(name: str, values: ArrayLike, *, output: str) -> np.ndarray:
    """Attributions of shape (rows, features), (rows, height, width[, channels]), plus a last axis over the
    outputs for ``output`` 'each_class' / 'each_output'; finite real numbers (float32 kept, else float64)."""
    output = attribution_output(name, output)
    per_output = output in _PER_OUTPUT
    ndims = (3, 4, 5) if per_output else (2, 3, 4)
    arr = checks.as_array(name, values)
    if arr.ndim not in ndims:
        axes = (
            "(rows, features[, ...], outputs)"
            if per_output
            else "(rows, features) or (rows, height, width[, channels])"
        )
        raise ColumnError(name, f"a {'/'.join(f'{n}-D' for n in ndims)} array {axes} for output '{output}'",
                          f"an array of shape {arr.shape}")  # fmt: skip
    return checks.as_float(name, arr, ndims)


def attribution_output(name: str, output: Any) -> str:
    """``output`` must be one of :data:`ATTRIBUTION_OUTPUTS` (the shape of the column depends on it)."""
    if output not in ATTRIBUTION_OUTPUTS:
        raise ColumnError(name, f"output one of {list(ATTRIBUTION_OUTPUTS)}", repr(output))
    return str(output)


def attribution_method(name: str, method: Any) -> str:
    """The method's text; spellings of a vocabulary entry become that entry."""
    if not isinstance(method, str) or not method.strip():
        expected = f"a method: one of {list(ATTRIBUTION_METHODS)} or a description of another"
        raise ColumnError(name, expected, repr(method))
    key = "".join(ch for ch in method.lower() if ch.isalnum())
    return next((m for m in ATTRIBUTION_METHODS if m.replace("_", "") == key), method.strip())


def attribution_attributes(
    name: str,
    row_shape: tuple[int, ...],
    *,
    method: Any,
    output: Any,
    feature_names: Any = None,
    base_values: Any = None,
    output_space: Any = None,
    feature_table: Any = None,
    n_classes: int | None = None,
) -> dict[str, Any]:
    """The attributes of an attribution column of rows shaped ``row_shape``, checked against that shape and
    the number of classes (the width of ``predicted_probability``, when known); keyword -> value."""
    output = attribution_output(name, output)
    per_output = output in _PER_OUTPUT
    n_outputs = row_shape[-1] if per_output else 1
    if n_classes is not None and output == "each_class" and n_outputs != n_classes:
        raise ColumnError(name, f"a last axis of {n_classes} classes (the width of predicted_probability)",
                          f"{n_outputs} outputs in rows of shape {row_shape}")  # fmt: skip
    if n_classes is not None and output == "positive_class" and n_classes != 2:
        expected = "output 'positive_class' for a binary classifier (2 classes)"
        given = f"{n_classes} classes in predicted_probability; use 'each_class' or 'predicted_class'"
        raise ColumnError(name, expected, given)
    if output_space is not None and output_space not in OUTPUT_SPACES:
        raise ColumnError(name, f"output_space one of {list(OUTPUT_SPACES)} or None", repr(output_space))
    attrs: dict[str, Any] = {"method": attribution_method(name, method), "output": output}
    feature_axes = row_shape[:-1] if per_output else row_shape
    names = _feature_names(name, feature_names, feature_axes)
    if feature_table is not None:
        _feature_table(name, feature_table, names)
        attrs["feature_table"] = feature_table
    if names is not None:
        attrs["feature_names"] = names
    if base_values is not None:
        n_base = n_outputs if per_output else n_classes if output == "predicted_class" else 1
        attrs["base_values"] = _base_values(name, base_values, n_base, output)
    if output_space is not None:
        attrs["output_space"] = str(output_space)
    return attrs


def _feature_names(name: str, feature_names: Any, feature_axes: tuple[int, ...]) -> list[str] | None:
    if feature_names is None:
        return None
    items = [feature_names] if isinstance(feature_names, str) else np.asarray(feature_names, dtype=object).ravel()
    bad = next((v for v in items if not isinstance(v, (str, bytes))), None)
    if bad is not None:
        raise ColumnError(name, "feature_names: one text name per feature", f"{type(bad).__name__} {bad!r}")
    names = checks.text_list(name, feature_names) or []
    if len(feature_axes) != 1:
        raise ColumnError(name, "feature_names only with one feature axis (tabular data)",
                          f"feature names for features of shape {feature_axes}")  # fmt: skip
    if len(names) != feature_axes[0]:
        raise ColumnError(name, f"{feature_axes[0]} feature_names, one per feature (the feature axis)",
                          f"{len(names)} names")  # fmt: skip
    blank = [i for i, n in enumerate(names) if not n.strip()]
    if blank:
        raise ColumnError(name, "a non-empty name for every feature", f"an empty name at feature {blank[0]}")
    first = {n: i for i, n in reversed(list(enumerate(names)))}
    repeated = next((n for i, n in enumerate(names) if first[n] != i), None)
    if repeated is not None:
        raise ColumnError(name, "unique feature_names", f"'{repeated}' more than once")
    return names


def _feature_table(name: str, table: Any, names: list[str] | None) -> None:
    colnames = getattr(table, "colnames", None)
    if colnames is None:
        raise ColumnError(name, "feature_table: a DynamicTable", type(table).__name__)
    if names is None:
        raise ColumnError(name, "feature_names naming the columns of feature_table", "feature_table without them")
    missing = [n for n in names if n not in colnames]
    if missing:
        raise ColumnError(name, f"feature_names among the columns of table '{table.name}' ({list(colnames)[:10]})",
                          f"{missing[:5]}")  # fmt: skip


def _base_values(name: str, base_values: Any, n_base: int | None, output: str) -> np.ndarray:
    arr = checks.as_array(name, base_values)
    checks.check_numeric(name, arr)
    arr = np.asarray(arr, dtype=np.float64).reshape(-1) if arr.ndim <= 1 else arr
    if arr.ndim != 1 or arr.size == 0:
        raise ColumnError(
            name, "base_values: a number or a 1-D array, one per output", f"shape {np.shape(base_values)}"
        )
    if n_base is not None and arr.size != n_base:
        per = "per class" if output == "predicted_class" else "per output"
        raise ColumnError(name, f"{n_base} base_values ({per}, for output '{output}')", f"{arr.size} values")
    if not np.all(np.isfinite(arr)):
        raise ColumnError(name, "finite base_values", f"{arr.tolist()[:5]}")
    return arr


def user_numbers(name: str, values: ArrayLike) -> np.ndarray:
    """A user column of the batched writers: numbers or booleans (they store no text)."""
    arr = checks.as_array(name, values)
    if arr.dtype.kind not in "biuf":
        raise ColumnError(name, "numbers or booleans (the writer stores no text columns)", f"dtype {arr.dtype}")
    return arr


# -- what the batched writers know of a column ------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    """What the writer knows of one column: its per-row shape, its stored dtype and its type's options.

    Declared as ``columns={"predicted_probability": (1000,)}`` (a row shape), ``{"loss": "float32"}`` (a
    dtype), or a mapping with any of ``shape``, ``dtype``, ``classes`` (``true_label``), ``n_splits``
    (``cv_split``), ``check_sum`` (``predicted_probability``), ``description`` and ``attribution`` (a
    FeatureAttribution column: the keywords of ``ResultsTable.add_feature_attribution``, at least ``method``
    and ``output``; a column without it is a plain user column, whatever its name). What is not declared is
    taken from the first batch.
    """

    name: str
    row_shape: tuple[int, ...] | None = None
    dtype: np.dtype | None = None
    classes: tuple[str, ...] | None = None
    n_splits: int | None = None
    check_sum: bool = True
    description: str | None = None
    #: a FeatureAttribution column: the keywords of ``ResultsTable.add_feature_attribution`` (method, output, ...)
    attribution: Mapping[str, Any] | None = None

    @classmethod
    def parse(cls, name: str, declared: Any) -> ColumnSpec:
        if isinstance(declared, ColumnSpec):
            return replace(declared, name=name)
        if declared is None:
            return cls(name)
        if isinstance(declared, tuple) and all(isinstance(n, (int, np.integer)) for n in declared):
            return cls(name, row_shape=tuple(int(n) for n in declared))
        if isinstance(declared, Mapping):
            keys = {"shape", "dtype", "classes", "n_splits", "check_sum", "description", "attribution"}
            unknown = sorted(set(declared) - keys)
            if unknown:
                raise ColumnError(name, f"a declaration with {', '.join(sorted(keys))}",
                                  f"unknown keys {unknown}")  # fmt: skip
            shape = declared.get("shape")
            classes = declared.get("classes")
            return cls(
                name,
                row_shape=None if shape is None else tuple(int(n) for n in shape),
                dtype=None if declared.get("dtype") is None else schema_width(name, np.dtype(declared["dtype"])),
                classes=None if classes is None else tuple(checks.text_list(name, classes) or ()),
                n_splits=declared.get("n_splits"),
                check_sum=bool(declared.get("check_sum", True)),
                description=declared.get("description"),
                attribution=_attribution_declared(name, declared.get("attribution")),
            )
        try:
            return cls(name, dtype=schema_width(name, np.dtype(declared)))
        except TypeError:
            raise ColumnError(name, "a row shape such as (1000,), a dtype, or a mapping", repr(declared)) from None


def _attribution_declared(name: str, declared: Any) -> Mapping[str, Any] | None:
    if declared is None:
        return None
    keys = {"method", "output", "feature_names", "base_values", "output_space", "feature_table"}
    if not isinstance(declared, Mapping) or not {"method", "output"} <= set(declared) or set(declared) - keys:
        expected = f"attribution: a mapping with method, output and any of {sorted(keys - {'method', 'output'})}"
        raise ColumnError(name, expected, repr(declared))
    attribution_output(name, declared["output"])
    return dict(declared)


def coerce(spec: ColumnSpec, values: Any, *, n_source: int | None, n_classes: int | None = None) -> np.ndarray:
    """One batch of one column, checked and coerced by the same rule a whole column goes through."""
    name = spec.name
    if spec.attribution is not None:
        return feature_attribution(name, values, output=spec.attribution["output"])
    if name == "samples":  # the source table's length is all the check needs
        return samples(values, n_source=n_source)
    if name == "tvt_split":
        return tvt_split(values)
    if name == "cv_split":
        return cv_split(values, n_splits=spec.n_splits)[0]
    if name == "true_label":
        return true_label(values, classes=spec.classes)[0]
    if name == "predicted_probability":
        return predicted_probability(values, check_sum=spec.check_sum)
    if name == "predicted_class":
        return predicted_class(values, n_classes=n_classes)
    if name == "topk_probabilities":
        return topk_probabilities(values)
    if name == "topk_classes":
        return topk_classes(values, n_classes=n_classes)
    if name == "predicted_value":
        return predicted_value(values)
    if name == "cluster_label":
        return cluster_label(values)
    if name in ("embedding", "viz_embedding"):
        return embedding(name, values)
    return user_numbers(name, values)


def bound(spec: ColumnSpec, specs: Mapping[str, ColumnSpec], n_source: int | None) -> int | None:
    """The exclusive upper bound of an integer column's values, when its declaration fixes one."""
    probs = specs.get("predicted_probability")
    n_classes = probs.row_shape[0] if probs is not None and probs.row_shape else None
    if spec.name in CLASS_COLUMNS:
        return n_classes
    if spec.name == "true_label":
        return len(spec.classes) if spec.classes else n_classes
    if spec.name == "cv_split":
        return spec.n_splits
    if spec.name == "tvt_split":
        return 3
    if spec.name == "samples":
        return n_source
    return None


def stored_dtype(spec: ColumnSpec, coerced: np.ndarray, given: np.dtype, limit: int | None) -> np.dtype:
    """The dtype a column is stored in, decided once from its declaration, its bound or the first batch.

    A bounded integer column (classes, folds, splits, source rows) gets the smallest type that holds its bound
    ``limit`` and that its schema type allows (:data:`SCHEMA_MINIMUM`), which is the type :func:`hdmf_ai.write`
    picks for a column that uses its whole range. Other integers keep the type they arrive in (widened to the
    schema's minimum): narrowing them to the first batch's values could refuse a later batch.
    """
    if spec.dtype is not None:
        return schema_width(spec.name, spec.dtype)
    if coerced.dtype.kind not in "iu":
        return coerced.dtype
    if spec.name == "samples":
        return np.dtype(np.int32 if (limit or 0) <= 2**31 else np.int64)
    if limit is not None:
        top = np.array([max(limit - 1, 0)])
        smallest = checks.smallest_int(top) if spec.name == "cv_split" else checks.smallest_uint(top)
        return schema_width(spec.name, smallest.dtype)
    return schema_width(spec.name, given if given.kind in "iu" else coerced.dtype)


def fit(spec: ColumnSpec, arr: np.ndarray) -> np.ndarray:
    """Cast a coerced batch to the column's stored dtype, refusing a wrong row shape or a lossy cast."""
    assert spec.dtype is not None and spec.row_shape is not None
    name, dtype = spec.name, spec.dtype
    if arr.shape[1:] != spec.row_shape:
        raise ColumnError(
            name, f"rows of shape {spec.row_shape} (declared or from the first batch)", f"an array of shape {arr.shape}"
        )
    if arr.dtype == dtype:
        return arr
    if dtype.kind in "iu" and arr.dtype.kind in "biu":
        info = np.iinfo(dtype)
        if arr.size and (int(arr.min()) < info.min or int(arr.max()) > info.max):
            raise ColumnError(
                name,
                f"values that fit the column's dtype {dtype} ({info.min} to {info.max}); declare a wider dtype",
                f"values from {arr.min()} to {arr.max()}",
            )
        return arr.astype(dtype)
    if dtype.kind == "f" and (
        arr.dtype.kind in "biu" or (arr.dtype.kind == "f" and arr.dtype.itemsize <= dtype.itemsize)
    ):
        return arr.astype(dtype)
    if dtype.kind == "b" and arr.dtype.kind == "b":
        return arr
    raise ColumnError(name, f"values of dtype {dtype} (declared or from the first batch)", f"dtype {arr.dtype}")
