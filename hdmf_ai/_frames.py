"""pandas DataFrames from ResultsTables and back: :meth:`ResultsTable.to_dataframe` and
:meth:`ResultsTable.from_dataframe` call these.

A frame has one row per sample, indexed by the table's ids (``id``). Enum columns become pandas
``Categorical`` columns of their labels; so do ``predicted_class`` and ``topk_classes`` when ``true_label``
names the classes. 2-D columns become one column per class (``predicted_probability[cat]``), per rank
(``topk_classes[0]``) or per dimension (``embedding[3]``), or stay one column of arrays. The reverse,
:func:`from_dataframe`, reads those names back, so ``from_dataframe(to_dataframe(rt))`` rebuilds ``rt``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion
from numpy.typing import ArrayLike

from . import checks
from ._tableview import TableView, read_data, require
from .errors import ColumnError

if TYPE_CHECKING:
    import pandas as pd

    from .results_table import ResultsTable

__all__ = ["DataFrameMethods", "from_dataframe", "to_dataframe"]

# columns that hold class indices, which the true_label enum names
CLASS_COLUMNS = ("predicted_class", "topk_classes")
# 2-D columns whose second axis runs over the classes
PER_CLASS = ("predicted_probability",)
_EXPANDED = re.compile(r"^(?P<base>.+)\[(?P<key>[^\[\]]*)\]$")


def _pandas() -> Any:
    return require("pandas", "analysis", "ResultsTable.to_dataframe / from_dataframe")


# -- to a frame --------------------------------------------------------------------------------------------


def to_dataframe(
    table: DynamicTable,
    *,
    columns: Sequence[str] | None = None,
    rows: Any = None,
    decode: bool = True,
    expand: bool = True,
    join_source: bool | Sequence[str] = False,
) -> pd.DataFrame:
    """The selected ``columns`` and ``rows`` of ``table`` as a DataFrame; see :meth:`ResultsTable.to_dataframe`."""
    pd = _pandas()
    view = TableView(table, rows=rows)
    names = list(table.colnames) if columns is None else list(columns)
    for name in names:
        view.column(name)  # an unknown name fails here, before anything is read
    class_names = view.class_names() if decode and _names_classes(view) else None
    data: dict[str, Any] = {}
    for name in names:
        data.update(_columns_of(view, name, decode=decode, expand=expand, class_names=class_names))
    if join_source:
        wanted = None if join_source is True else list(join_source)
        data.update(_source_columns(view, wanted, taken=set(data)))
    ids = read_data(table.id.data, view.selection())
    return pd.DataFrame(data, index=pd.Index(ids, name="id"))


def _names_classes(view: TableView) -> bool:
    """Whether class indices have names: ``true_label`` is an enum (or text)."""
    if not view.has("true_label"):
        return False
    return view.elements("true_label") is not None or view.values("true_label").dtype.kind in "OUS"


def _categorical(codes: np.ndarray, names: Sequence[str]) -> Any:
    pd = _pandas()
    return pd.Categorical.from_codes(codes.astype(np.int64), categories=list(names))


def _columns_of(
    view: TableView, name: str, *, decode: bool, expand: bool, class_names: list[str] | None
) -> dict[str, Any]:
    if view.is_ragged(name):
        return {name: view.ragged(name)}
    values = view.values(name)
    elements = view.elements(name)
    if decode and elements is not None:
        return {name: _categorical(values, elements)}
    named = decode and class_names is not None and name in CLASS_COLUMNS
    if values.ndim == 1:
        return {name: _categorical(values, class_names) if named and class_names else values}
    if not expand or values.ndim > 2:
        return {name: list(values)}
    # probabilities are named by class whether or not their values are decoded
    keys = view.class_names() if name in PER_CLASS else range(values.shape[1])
    out: dict[str, Any] = {}
    for i, key in enumerate(keys):
        column = values[:, i]
        out[f"{name}[{key}]"] = _categorical(column, class_names) if named and class_names else column
    return out


def _source_columns(view: TableView, wanted: list[str] | None, taken: set[str]) -> dict[str, Any]:
    source = view.source()
    # all columns: those holding values (a region's row numbers into yet another table mean little here)
    names = [n for n in source.colnames if not isinstance(source[n], DynamicTableRegion)] if wanted is None else wanted
    out: dict[str, Any] = {}
    for name in names:
        values = view.source_values(name)
        # a source column named like a results column is prefixed with its table's name
        key = f"{source.name}.{name}" if name in taken else name
        out[key] = values if isinstance(values, np.ndarray) and values.ndim == 1 else list(values)
    return out


# -- from a frame --------------------------------------------------------------------------------------------


def _grouped(df: pd.DataFrame) -> dict[str, tuple[list[str], list[Any]]]:
    """Frame columns by the table column they belong to: ``x[a]``, ``x[b]`` -> ``x`` with keys [a, b]."""
    plain = {str(c) for c in df.columns}
    groups: dict[str, tuple[list[str], list[Any]]] = {}
    for label in df.columns:
        match = _EXPANDED.match(str(label))
        base = match["base"] if match and match["base"] not in plain else str(label)
        keys, series = groups.setdefault(base, ([], []))
        keys.append(match["key"] if match and base != str(label) else "")
        series.append(df[label])
    return groups


def _is_categorical(series: Any) -> bool:
    return getattr(series, "dtype", None) is not None and str(series.dtype) == "category"


def _values(series: Any) -> np.ndarray:
    if _is_categorical(series):
        return np.asarray(series.astype(object))
    values = series.to_numpy()
    if values.dtype == object and len(values) and isinstance(values[0], np.ndarray):
        shapes = {np.shape(v) for v in values}
        if len(shapes) > 1:
            raise ColumnError(str(series.name), "arrays of one shape in every row", f"shapes {sorted(shapes)[:3]}")
        return np.stack(values)
    return values


def _stack(parts: list[Any]) -> np.ndarray:
    return _values(parts[0]) if len(parts) == 1 else np.stack([_values(p) for p in parts], axis=1)


def _in_order(column: str, keys: list[str], parts: list[Any], names: list[str] | None) -> list[Any]:
    """The parts of an expanded column in the table's order: by class for probabilities, else by position."""
    if len(parts) == 1 and keys == [""]:
        return parts
    if column in PER_CLASS and names is not None and sorted(keys) == sorted(names):
        order = [keys.index(n) for n in names]
    elif all(k.isdigit() for k in keys) and sorted(int(k) for k in keys) == list(range(len(keys))):
        order = [keys.index(str(i)) for i in range(len(keys))]
    else:  # keys the table cannot interpret are kept in the frame's order
        order = list(range(len(keys)))
    return [parts[i] for i in order]


def _class_codes(column: str, values: np.ndarray, names: list[str] | None) -> np.ndarray:
    """Class indices from names (decoded frames) or from numbers."""
    if values.dtype.kind not in "OUS":
        return values
    if names is None:
        raise ColumnError(column, "class indices, or class names with a true_label that names them", "class names")
    position = {n: i for i, n in enumerate(names)}
    unknown = sorted({str(v) for v in values.ravel().tolist()} - set(position))
    if unknown:
        raise ColumnError(column, f"class names among {names[:10]}", f"{unknown[:5]}")
    return np.vectorize(position.__getitem__, otypes=[np.int64])(values)


def _class_names(parts: list[Any] | None, classes: Sequence[str] | None) -> list[str] | None:
    """The class names a frame's ``true_label`` implies: a Categorical's categories, ``classes``, or the sorted
    text labels (as :meth:`ResultsTable.add_true_label` codes them)."""
    if parts is None:
        return None if classes is None else [str(c) for c in classes]
    if _is_categorical(parts[0]):
        return [str(c) for c in parts[0].cat.categories]
    if classes is not None:
        return [str(c) for c in classes]
    values = _values(parts[0])
    return sorted({str(v) for v in values.tolist()}) if values.dtype.kind in "OUS" else None


def _add_true_label(rt: ResultsTable, parts: list[Any], names: list[str] | None) -> None:
    series = parts[0]
    checks.check_no_missing("true_label", series)  # a missing truth is neither a class nor a value
    if _is_categorical(series):
        rt.add_true_label(series.cat.codes.to_numpy(), classes=names)
        return
    values = _values(series)
    if values.dtype.kind == "f" and not np.array_equal(values, np.round(values)):
        rt.add_column("true_label", "The true value of each sample.", data=values)  # a regression target
        return
    rt.add_true_label(values, classes=names)


def _adders(rt: ResultsTable) -> dict[str, Callable[[np.ndarray], Any]]:
    return {
        "tvt_split": rt.add_tvt_split,
        "cv_split": rt.add_cv_split,
        "predicted_probability": rt.add_predicted_probability,
        "predicted_class": rt.add_predicted_class,
        "topk_probabilities": rt.add_topk_probabilities,
        "topk_classes": rt.add_topk_classes,
        "predicted_value": rt.add_predicted_value,
        "cluster_label": rt.add_cluster_label,
        "embedding": rt.add_embedding,
        "viz_embedding": rt.add_viz_embedding,
    }


def from_dataframe(
    cls: type[ResultsTable],
    df: pd.DataFrame,
    *,
    source: DynamicTable | None,
    classes: Sequence[str] | None,
    descriptions: Mapping[str, str] | None,
    **options: Any,
) -> ResultsTable:
    """Build a ResultsTable from a frame; see :meth:`ResultsTable.from_dataframe`."""
    pd = _pandas()
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"from_dataframe takes a pandas DataFrame; got {type(df).__name__}")
    index = df.index.to_numpy()
    ids = index.astype(np.int64) if index.dtype.kind in "iu" else np.arange(len(df), dtype=np.int64)
    rt = cls(id=ids, **options)
    groups = _grouped(df)
    descriptions = dict(descriptions or {})
    if "samples" not in groups and source is not None:  # no samples column: row i is source row i
        rt.add_samples(np.arange(len(df)), table=source)
    names = _class_names(groups["true_label"][1] if "true_label" in groups else None, classes)
    adders = _adders(rt)
    for column, (keys, parts) in groups.items():  # in the frame's order
        if column == "true_label":
            _add_true_label(rt, parts, names)
            continue
        values = _stack(_in_order(column, keys, parts, names))
        if column == "samples":
            if source is None:
                raise ColumnError("samples", "the source table they index (source=<table>)", "no source")
            rt.add_samples(values, table=source)
        elif column in adders:
            adders[column](_class_codes(column, values, names) if column in CLASS_COLUMNS else values)
        else:
            rt.add_column(column, descriptions.get(column, "no description"), data=values)
    return rt


class DataFrameMethods:
    """The pandas face of :class:`~hdmf_ai.ResultsTable` (a base of it, before ``DynamicTable``).

    pandas is imported on call: ``pip install 'hdmf-ai[analysis]'``.
    """

    def to_dataframe(
        self,
        *,
        columns: Sequence[str] | None = None,
        rows: slice | ArrayLike | None = None,
        decode: bool = True,
        expand: bool = True,
        join_source: bool | Sequence[str] = False,
        **hdmf_kwargs: Any,
    ) -> Any:
        """The table as a pandas DataFrame, one row per sample, indexed by ``id``; reads only what is asked.

        Parameters
        ----------
        columns
            The columns to read (default all), in this order.
        rows
            A slice, integer positions or a boolean mask; on disk, only the rows' range is read.
        decode
            Enum columns (``true_label``, ``tvt_split``) become Categorical columns of their labels, and so
            do ``predicted_class`` and ``topk_classes`` when ``true_label`` names the classes.
        expand
            2-D columns become one column each per class (``predicted_probability[cat]``), rank
            (``topk_classes[0]``) or dimension (``embedding[0]``); ``False`` keeps one column of arrays.
        join_source
            Append columns of the source table that ``samples`` points at: True for all, or a list of
            names. A name the results table also has is prefixed: ``<source>.<name>``.
        **hdmf_kwargs
            ``exclude=`` or ``index=`` give hdmf's own ``DynamicTable.to_dataframe``, for code written for it.

        Example: ``rt.to_dataframe(columns=["true_label", "predicted_class"], rows=slice(0, 100))``
        """
        if hdmf_kwargs:
            ours = (columns, rows, decode, expand, join_source) != (None, None, True, True, False)
            if ours or set(hdmf_kwargs) - {"exclude", "index"}:
                raise TypeError(
                    f"to_dataframe(): hdmf's keywords (exclude, index) do not combine with others; got "
                    f"{sorted(hdmf_kwargs)}"
                )
            return DynamicTable.to_dataframe(self, **hdmf_kwargs)
        return to_dataframe(self, columns=columns, rows=rows, decode=decode, expand=expand, join_source=join_source)

    @classmethod
    def from_dataframe(
        cls,
        df: Any,
        *,
        name: str = "results",
        description: str = "Results of an AI/ML workflow, one row per data sample.",
        source: DynamicTable | None = None,
        classes: Sequence[str] | None = None,
        descriptions: dict[str, str] | None = None,
        source_code: str | Sequence[str] | None = None,
        parameters: Any = None,
        model_description: str | Sequence[str] | None = None,
        pre_trained_model: str | Sequence[str] | None = None,
        **hdmf_kwargs: Any,
    ) -> ResultsTable:
        """A ResultsTable from a DataFrame: predefined columns by name, every other column a user column.

        Reads what :meth:`to_dataframe` writes (labels or codes, expanded or array columns), so
        ``ResultsTable.from_dataframe(rt.to_dataframe(), source=...)`` rebuilds ``rt``. An integer index
        becomes the row ids.

        Parameters
        ----------
        df
            One row per sample.
        name, description, source_code, parameters, model_description, pre_trained_model
            As for the constructor.
        source
            The source table that a ``samples`` column indexes (without one, row i is source row i).
        classes
            The class names, when ``true_label`` holds text or integers (see :meth:`add_true_label`).
        descriptions
            A description per user column.
        **hdmf_kwargs
            ``index_column``, ``table_description``, ``columns`` or ``column_descriptions`` give hdmf's own
            ``DynamicTable.from_dataframe``.
        """
        if hdmf_kwargs:  # hdmf's own, for this class
            return super().from_dataframe(df=df, name=name, **hdmf_kwargs)  # type: ignore[misc]
        return from_dataframe(
            cast("type[ResultsTable]", cls),  # this class is a base of ResultsTable only
            df,
            source=source,
            classes=classes,
            descriptions=descriptions,
            name=name,
            description=description,
            source_code=source_code,
            parameters=parameters,
            model_description=model_description,
            pre_trained_model=pre_trained_model,
        )
