"""The rules a stored ResultsTable obeys, checked on what a file holds: the write-side checks, read back.

Every ``add_*`` method refuses values that break its column's rule (``coercion``); a file that holds such values
anyway was damaged, edited, or written by a tool that does not check. :func:`problems` applies the same rules
(the functions of :mod:`hdmf_ai.checks`, called, not repeated) to a table in memory, plus the structure that
ties columns together: unique ids and column names, enum codes within their elements, class indices within the
width of the probabilities, folds in ``range(n_splits)``, source rows within the source table, ragged indices
that rise and end at their values' length, JSON parameters, and the links between columns (``probabilities``
and ``training_labels`` point at the columns of the same table the schema names). :func:`hdmf_ai.read` refuses
a table with problems (a :class:`~hdmf_ai.errors.ResultsFileError` naming the column); :func:`hdmf_ai.validate`
lists them.

A table opened lazily holds its attributes and links in memory, not its values: :func:`metadata_problems` checks
what needs no value (``hdmf_ai.open`` refuses a table that breaks one), and :func:`check_slice` checks the rows
of one column as they are read (each rule that a slice alone can break: codes and indices within their bounds,
probabilities finite and in [0, 1], ragged row ends rising, ids unique within the slice).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, ElementIdentifiers, EnumData, VectorIndex

from . import checks, coercion
from .columns import FeatureAttribution
from .errors import ColumnError

__all__ = ["check_slice", "metadata_problems", "problems"]

#: column -> the column of the same table its ``probabilities`` attribute points at (the schema's doc)
PROBABILITIES_OF = {"predicted_class": "predicted_probability", "topk_classes": "topk_probabilities"}

type Rule = tuple[str, Callable[[], None]]


def problems(table: DynamicTable) -> list[str]:
    """Every rule ``table`` breaks, as ``"column 'x': expected ...; got ..."``; empty when it keeps them all.

    The values of columns still on disk (a lazy open) are not read for it: only :func:`metadata_problems` applies.
    """
    return _broken([*_table_rules(table), *_value_rules(table)])


def metadata_problems(table: DynamicTable) -> list[str]:
    """The rules ``table`` breaks that need no column's values: unique column names, JSON parameters, an enum's
    elements, ``n_splits``, and the links between columns. What ``hdmf_ai.open`` checks as it opens a table."""
    return _broken(list(_table_rules(table)))


def check_slice(column: Any, values: Any, *, whole: bool = False) -> None:
    """Check rows of one column read lazily (``values``: whole rows, any slice or selection of them, or one
    value of a 1-D column, as hdmf reads a ragged index: ``index.data[i]``).

    Raises :class:`~hdmf_ai.errors.ColumnError` naming the column at the first rule the rows break: enum codes,
    class indices, splits and source rows within their bounds, probabilities finite and in [0, 1] (top-k ones
    descending), outputs and embeddings finite, row ends of a ragged index that never fall and stay within
    their values, ids unique within the rows. Bounds come from the metadata of the column and its table
    (elements, probability width, ``n_splits``, the source table's length): nothing else is read. With
    ``whole`` (``values`` are the whole column), the last row end of a ragged index must also be the number
    of its values. One end at a time cannot show an index that falls: check a ragged index whole once (one
    integer per row) before its rows are served. Example:
    ``check_slice(table["predicted_class"], table["predicted_class"].data[:100])``.
    """
    table = column.parent if isinstance(column.parent, DynamicTable) else None
    rows = np.atleast_1d(np.asarray(values))
    for name, check in _column_rules(column, rows, _n_classes(table), whole=whole):
        _apply(name, check)


def _broken(rules: list[Rule]) -> list[str]:
    found: list[str] = []
    for name, check in rules:
        try:
            check()
        except ColumnError as err:
            found.append(str(err))
        except (TypeError, ValueError) as err:  # values of a type no rule expects
            found.append(f"column '{name}': unreadable values ({err})")
    return found


def _apply(name: str, check: Callable[[], None]) -> None:
    try:
        check()
    except ColumnError:
        raise
    except (TypeError, ValueError) as err:  # values of a type no rule expects
        raise ColumnError(name, "values of a type its rules check", f"unreadable values ({err})") from None


def _in_memory(data: Any) -> np.ndarray | None:
    return data if isinstance(data, np.ndarray) else None


def _n_classes(table: DynamicTable | None) -> int | None:
    """The width of the table's class probabilities (their shape: nothing is read); None without 2-D ones."""
    probs = None if table is None else next((c for c in table.columns if c.name == "predicted_probability"), None)
    shape = None if probs is None else np.shape(probs.data)
    return int(shape[1]) if shape is not None and len(shape) == 2 else None


def _value_rules(table: DynamicTable) -> Iterator[Rule]:
    ids = _in_memory(table.id.data)
    if ids is not None:
        yield "id", partial(_unique, "id", ids)
    n_classes = _n_classes(table)
    for column in table.columns:
        data = _in_memory(column.data)
        if data is not None:
            yield from _column_rules(column, data, n_classes, whole=True)


def _column_rules(column: Any, data: np.ndarray, n_classes: int | None, *, whole: bool) -> Iterator[Rule]:
    name = column.name
    if isinstance(column, ElementIdentifiers):
        yield name, partial(_unique, name, data)
    elif isinstance(column, VectorIndex):
        yield name, partial(_rising_index, column, data, whole)
    elif isinstance(column, EnumData) and column.elements is not None:
        elements = column.elements.data
        if hasattr(elements, "__len__"):
            n = len(elements)
            yield name, partial(checks.check_below, name, data, n, f"the {n} enum elements")
    elif isinstance(column, DynamicTableRegion) and column.table is not None:
        yield name, partial(_region, name, data, len(column.table), column.table.name)
    if isinstance(column, FeatureAttribution):
        yield name, partial(_attribution, column, data, n_classes)
    elif name == "tvt_split" and not isinstance(column, EnumData):  # an enum is checked against its elements
        yield name, partial(checks.check_below, name, data, len(checks.TVT_ELEMENTS), "0=train, 1=validate, 2=test")
    elif name == "cv_split":
        yield name, partial(_folds, data, getattr(column, "n_splits", None))
    elif name in ("predicted_probability", "topk_probabilities"):
        yield name, partial(_probabilities, name, data)
        if name == "topk_probabilities":
            yield name, partial(checks.check_descending, name, data)
    elif name in PROBABILITIES_OF and n_classes is not None:
        yield name, partial(checks.check_below, name, data, n_classes, "the number of classes (probability width)")
    elif name in ("predicted_value", "embedding", "viz_embedding"):
        yield name, partial(checks.check_finite, name, data)


def _table_rules(table: DynamicTable) -> Iterator[Rule]:
    """The rules on what a table holds in memory even when opened lazily: names, attributes, links."""
    yield "colnames", partial(_unique_names, tuple(table.colnames))
    columns = {column.name: column for column in table.columns}
    for name, column in columns.items():
        if isinstance(column, EnumData) and column.elements is None:
            yield name, partial(_missing, name, "an enum's elements", "no elements")
        if name == "cv_split" and getattr(column, "n_splits", None) is not None:
            yield name, partial(_n_splits, column)
        links = (("probabilities", PROBABILITIES_OF.get(name)), ("training_labels", "true_label"))
        for attribute, expected in links:
            target = getattr(column, attribute, None)
            if target is not None and expected is not None:
                yield name, partial(_link, name, attribute, target, columns.get(expected), expected)
    parameters = getattr(table, "parameters", None)
    if parameters is not None:
        yield "parameters", partial(_json, "parameters", parameters)


def _missing(name: str, expected: str, given: str) -> None:
    raise ColumnError(name, expected, given)


def _unique_names(names: tuple[str, ...]) -> None:
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ColumnError("colnames", "each column named once", f"{repeated} named more than once")


def _link(name: str, attribute: str, target: Any, expected: Any, expected_name: str) -> None:
    """A link between columns points at the column of the same table the schema names for it."""
    if target is not expected:
        where = getattr(getattr(target, "parent", None), "name", None)
        expected_text = f"'{attribute}' pointing at the column '{expected_name}' of the same table"
        raise ColumnError(name, expected_text, f"'{getattr(target, 'name', target)}' of table '{where}'")


def _attribution(column: FeatureAttribution, values: np.ndarray, n_classes: int | None) -> None:
    """The shape, values and attributes ``add_feature_attribution`` accepts: rank for the output, finite values,
    one unique name per feature, base values per output, the class axis as wide as the probabilities."""
    name = column.name
    coercion.feature_attribution(name, values, output=column.output)
    coercion.attribution_attributes(
        name,
        tuple(values.shape[1:]),
        method=column.method,
        output=column.output,
        feature_names=column.feature_names,
        base_values=column.base_values,
        output_space=column.output_space,
        feature_table=column.feature_table,
        n_classes=n_classes,
    )


def _unique(name: str, values: np.ndarray) -> None:
    if values.size < 2 or bool(np.all(values[1:] > values[:-1])):  # ids as written: rising, so no sort needed
        return
    if np.unique(values).size != values.size:
        uniques, counts = np.unique(values, return_counts=True)
        raise ColumnError(name, "unique row ids", f"{int((counts > 1).sum())} repeated, e.g. {uniques[counts > 1][0]}")


def _probabilities(name: str, values: np.ndarray) -> None:
    """Finite and in [0, 1], from one min and one max (the checks that name the bad value run only on failure)."""
    if not values.size:
        return
    lo, hi = values.min(), values.max()  # NaN propagates into both
    if not (np.isfinite(lo) and np.isfinite(hi)):
        checks.check_finite(name, values)
    if lo < 0 or hi > 1:
        checks.check_probabilities(name, values, check_sum=False)


def _n_splits(column: Any) -> None:
    n = int(column.n_splits)
    if n < 1 and len(column):
        raise ColumnError("cv_split", "n_splits >= 1", f"n_splits={n}")


def _folds(folds: np.ndarray, n_splits: Any) -> None:
    if folds.size and int(folds.min()) < 0:
        raise ColumnError("cv_split", "folds counted from 0", f"the fold {int(folds.min())}")
    if n_splits is not None:
        checks.check_below("cv_split", folds, max(int(n_splits), 1), f"n_splits={int(n_splits)}")


def _region(name: str, rows: np.ndarray, n_rows: int, table: str) -> None:
    if rows.size and int(rows.min()) < 0:
        raise ColumnError(name, f"rows of table '{table}' (0 or more)", f"the row {int(rows.min())}")
    checks.check_below(name, rows, n_rows, f"the {n_rows} rows of table '{table}'")


def _rising_index(index: VectorIndex, ends: np.ndarray, whole: bool) -> None:
    values = getattr(index.target, "data", None)
    n_values = len(values) if values is not None and hasattr(values, "__len__") else None
    if ends.size and (np.any(np.diff(ends.astype(np.int64)) < 0) or int(ends.min()) < 0):
        raise ColumnError(index.name, "row ends that never decrease", "ends that go back")
    if not ends.size or n_values is None:
        return
    if whole and int(ends[-1]) != n_values:
        raise ColumnError(index.name, f"a last row end at the {n_values} values", f"{int(ends[-1])}")
    if int(ends.max()) > n_values:
        raise ColumnError(index.name, f"row ends within the {n_values} values", f"{int(ends.max())}")


def _json(name: str, texts: Any) -> None:
    for step, text in enumerate(texts):
        try:
            json.loads(text)
        except (TypeError, ValueError) as err:
            raise ColumnError(name, "a JSON document per workflow step", f"step {step}: {err}") from None
