"""The rules a stored ResultsTable obeys, checked on what a file holds: the write-side checks, read back.

Every ``add_*`` method refuses values that break its column's rule (``coercion``); a file that holds such values
anyway was damaged, edited, or written by a tool that does not check. :func:`problems` applies the same rules
(the functions of :mod:`hdmf_ai.checks`, called, not repeated) to a table in memory, plus the structure that
ties columns together: unique ids, enum codes within their elements, class indices within the width of the
probabilities, folds below ``n_splits``, source rows within the source table, ragged indices that rise and end
at their values' length, JSON parameters. :func:`hdmf_ai.read` refuses a table with problems
(a :class:`~hdmf_ai.errors.ResultsFileError` naming the column); :func:`hdmf_ai.validate` lists them.

Checks here see numpy arrays; a column still on disk (a lazy open) is not read for them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, EnumData, VectorIndex

from . import checks, coercion
from .columns import FeatureAttribution
from .errors import ColumnError

__all__ = ["problems"]


def problems(table: DynamicTable) -> list[str]:
    """Every rule ``table`` breaks, as ``"column 'x': expected ...; got ..."``; empty when it keeps them all."""
    found: list[str] = []
    for name, check in _rules(table):
        try:
            check()
        except ColumnError as err:
            found.append(str(err))
        except (TypeError, ValueError) as err:  # values of a type no rule expects
            found.append(f"column '{name}': unreadable values ({err})")
    return found


def _in_memory(data: Any) -> np.ndarray | None:
    return data if isinstance(data, np.ndarray) else None


def _rules(table: DynamicTable) -> Iterator[tuple[str, Callable[[], None]]]:
    ids = _in_memory(table.id.data)
    if ids is not None:
        yield "id", lambda: _unique("id", ids)
    columns = {column.name: column for column in table.columns}
    probs = _in_memory(getattr(columns.get("predicted_probability"), "data", None))
    n_classes = int(probs.shape[1]) if probs is not None and probs.ndim == 2 else None
    for name, column in columns.items():
        data = _in_memory(column.data)
        if data is None:
            continue
        if isinstance(column, VectorIndex):
            yield name, partial(_rising_index, column, data)
        elif isinstance(column, EnumData) and column.elements is not None:
            elements = _in_memory(column.elements.data)
            if elements is not None or isinstance(column.elements.data, list):
                n = len(column.elements.data)
                yield name, partial(checks.check_below, name, data, n, f"the {n} enum elements")
        elif isinstance(column, DynamicTableRegion) and column.table is not None:
            n = len(column.table)
            yield name, partial(_region, name, data, n, column.table.name)
        yield from _column_rules(name, column, data, n_classes)
    parameters = getattr(table, "parameters", None)
    if parameters is not None:
        yield "parameters", lambda: _json("parameters", parameters)


def _column_rules(
    name: str, column: Any, data: np.ndarray, n_classes: int | None
) -> Iterator[tuple[str, Callable[[], None]]]:
    if isinstance(column, FeatureAttribution):
        yield name, partial(_attribution, column, data, n_classes)
    elif name == "tvt_split" and not isinstance(column, EnumData):  # an enum is checked against its elements
        yield name, lambda: checks.check_below(name, data, len(checks.TVT_ELEMENTS), "0=train, 1=validate, 2=test")
    elif name == "cv_split":
        n_splits = getattr(column, "n_splits", None)
        yield name, lambda: _folds(data, n_splits)
    elif name in ("predicted_probability", "topk_probabilities"):
        yield name, partial(_probabilities, name, data)
        if name == "topk_probabilities":
            yield name, lambda: checks.check_descending(name, data)
    elif name in ("predicted_class", "topk_classes") and n_classes is not None:
        yield name, lambda: checks.check_below(name, data, n_classes, "the number of classes (probability width)")
    elif name in ("predicted_value", "embedding", "viz_embedding"):
        yield name, lambda: checks.check_finite(name, data)


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


def _folds(folds: np.ndarray, n_splits: Any) -> None:
    if n_splits is None:
        return
    n = int(n_splits)
    if n < 1 and folds.size:
        raise ColumnError("cv_split", "n_splits >= 1", f"n_splits={n}")
    checks.check_below("cv_split", folds, n, f"n_splits={n}")


def _region(name: str, rows: np.ndarray, n_rows: int, table: str) -> None:
    if rows.size and int(rows.min()) < 0:
        raise ColumnError(name, f"rows of table '{table}' (0 or more)", f"the row {int(rows.min())}")
    checks.check_below(name, rows, n_rows, f"the {n_rows} rows of table '{table}'")


def _rising_index(index: VectorIndex, ends: np.ndarray) -> None:
    values = getattr(index.target, "data", None)
    n_values = len(values) if values is not None and hasattr(values, "__len__") else None
    if ends.size and (np.any(np.diff(ends.astype(np.int64)) < 0) or int(ends.min()) < 0):
        raise ColumnError(index.name, "row ends that never decrease", "ends that go back")
    if ends.size and n_values is not None and int(ends[-1]) != n_values:
        raise ColumnError(index.name, f"a last row end at the {n_values} values", f"{int(ends[-1])}")


def _json(name: str, texts: Any) -> None:
    for step, text in enumerate(texts):
        try:
            json.loads(text)
        except (TypeError, ValueError) as err:
            raise ColumnError(name, "a JSON document per workflow step", f"step {step}: {err}") from None
