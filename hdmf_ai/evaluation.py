"""``EvaluationTable``: numbers computed from ResultsTables, stored with their provenance.

One row per number: a metric of one model on one split, fold or slice, or a comparison of models (a difference
with its interval, a test with its p-value). Each row points at the ResultsTable(s) it was computed from
(``results_tables``, object references), so a file carries its evaluations, and a comparison of models is
read, not recomputed. The type is ``EvaluationTable`` of the ``hdmf-ai-extensions`` namespace
(``schema/evaluation.yaml``).

Example
-------
>>> import hdmf_ai
>>> rt = hdmf_ai.ResultsTable(name="logreg")
>>> _ = rt.add_predicted_class([0, 1, 1])
>>> ev = hdmf_ai.EvaluationTable.from_records(
...     [{"metric": "accuracy", "value": 0.9, "split": "test", "ci_low": 0.8, "ci_high": 0.95, "n": 30}],
...     tables=[rt],
... )
>>> ev.to_records()[0]["results_tables"], ev.to_records()[0]["method"]
(('logreg',), '')
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from hdmf.common import DynamicTable, VectorData, VectorIndex

from . import checks
from ._signature import publish_signature
from .errors import ColumnError

__all__ = ["EVALUATION_FIELDS", "EvaluationTable"]

# name -> (kind, the value of "none", description); kind: text | float | int
_OPTIONAL: dict[str, tuple[str, Any, str]] = {
    "split": ("text", "", "The rows the value was computed on: a tvt_split element, a fold, 'pooled' or 'all'."),
    "slice_column": ("text", "", "The source-table column the rows were restricted by; empty for none."),
    "slice_value": ("text", "", "The value of slice_column the rows were restricted to; empty for none."),
    "n": ("int", -1, "How many samples the value was computed from."),
    "ci_low": ("float", math.nan, "Lower bound of the confidence interval; NaN for none."),
    "ci_high": ("float", math.nan, "Upper bound of the confidence interval; NaN for none."),
    "confidence": ("float", math.nan, "Confidence level of the interval; NaN for none."),
    "p_value": ("float", math.nan, "p-value of the test; NaN for a value that is not a test."),
    "method": ("text", "", "How the interval or test was computed; empty for none."),
    "seed": ("int", -1, "Seed of the resampling behind the interval; -1 when nothing was resampled."),
}
#: every field of a row, in the schema's order
EVALUATION_FIELDS: tuple[str, ...] = ("metric", "value", "results_tables", *_OPTIONAL)
_DTYPES = {"float": np.float64, "int": np.int64}


@publish_signature
class EvaluationTable(DynamicTable):
    """Metric values, intervals and model-vs-model tests, one row each (``EvaluationTable``).

    Build one with :meth:`from_records` (or an analysis result's ``to_frame()`` through :meth:`from_frame`),
    write it with the ResultsTables it refers to (``hdmf_ai.write([rt_a, rt_b, evaluations], path)``, or add it
    to their file with ``mode="a"``), and read it back as records or a DataFrame.

    Parameters
    ----------
    name, description
        The table's name (distinct from the other tables of its file) and what it holds.
    id, columns, colnames, target_tables, meanings_tables
        As for :class:`hdmf.common.DynamicTable`; hdmf passes them when it reads a file.
    """

    __columns__ = (
        {"name": "metric", "description": "What the value is (a metric, a difference, a test).", "required": True},
        {"name": "value", "description": "The value.", "required": True},
        {
            "name": "results_tables",
            "description": "The ResultsTable(s) each value was computed from, in order.",
            "required": True,
            "index": True,
        },
        *({"name": k, "description": d, "required": False} for k, (_, _, d) in _OPTIONAL.items()),
    )

    def __init__(
        self,
        *,
        name: str = "evaluations",
        description: str = "Evaluations of the results tables of this file.",
        id: Any = None,  # noqa: A002  (hdmf's name for the row ids)
        columns: Sequence[VectorData] | None = None,
        colnames: Sequence[str] | None = None,
        target_tables: dict[str, DynamicTable] | None = None,
        meanings_tables: Sequence[Any] | None = None,
    ) -> None:
        checks.check_table_name(name)
        super().__init__(
            name=name,
            description=description,
            id=id,
            columns=columns,
            colnames=colnames,
            target_tables=target_tables,
            meanings_tables=meanings_tables,
        )

    # -- building -------------------------------------------------------------------------------------------

    @classmethod
    def from_records(
        cls,
        records: Iterable[Mapping[str, Any]],
        *,
        tables: Sequence[DynamicTable],
        name: str = "evaluations",
        description: str = "Evaluations of the results tables of this file.",
    ) -> EvaluationTable:
        """A table of ``records``: one mapping per row, with at least ``metric`` and ``value``.

        Parameters
        ----------
        records
            Rows with the keys of :data:`EVALUATION_FIELDS` (others are refused). Missing optional fields are
            stored as "none" (empty text, NaN, -1). ``results_tables`` (or ``tables``, as analysis results name
            it): the name of a table of ``tables``, or a sequence of names; missing, a row refers to every table
            of ``tables``.
        tables
            The ResultsTables the rows were computed from; written to the same file as this table.
        """
        by_name = {t.name: t for t in tables}
        if not by_name or len(by_name) != len(tables):
            raise ValueError("tables: one or more tables with distinct names, the ones the rows were computed from")
        rows = [dict(r) for r in records]
        for row in rows:  # analysis results' to_frame() name it "tables" (hdmf_ai.analysis.EVALUATION_COLUMNS)
            if "tables" in row and "results_tables" not in row:
                row["results_tables"] = row.pop("tables")
        columns: dict[str, list[Any]] = {field: [] for field in EVALUATION_FIELDS}
        for i, row in enumerate(rows):
            unknown = sorted(set(row) - set(EVALUATION_FIELDS))
            if unknown:
                raise ColumnError(unknown[0], f"one of {list(EVALUATION_FIELDS)}", f"an unknown field in row {i}")
            for field in ("metric", "value"):
                if field not in row or row[field] is None:
                    raise ColumnError(field, "a value in every row", f"none in row {i}")
            columns["metric"].append(str(row["metric"]))
            columns["value"].append(_number("value", row["value"], i))
            columns["results_tables"].append(_tables(row.get("results_tables"), by_name, i))
            for field, (kind, none, _) in _OPTIONAL.items():
                value = row.get(field)
                columns[field].append(none if _missing(value) else _coerce(field, kind, value, i))
        return _filled(cls, name, description, columns, len(rows))

    @classmethod
    def from_frame(
        cls,
        frame: Any,
        *,
        tables: Sequence[DynamicTable],
        name: str = "evaluations",
        description: str = "Evaluations of the results tables of this file.",
    ) -> EvaluationTable:
        """A table of a pandas DataFrame whose columns are fields of :data:`EVALUATION_FIELDS`."""
        return cls.from_records(frame.to_dict("records"), tables=tables, name=name, description=description)

    # -- reading --------------------------------------------------------------------------------------------

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as dicts; ``results_tables`` as a tuple of the tables' names, absent fields as "none"."""
        n = len(self.id)
        out: list[dict[str, Any]] = [{} for _ in range(n)]
        for field in EVALUATION_FIELDS:
            if field not in self.colnames:
                none = _OPTIONAL[field][1]
                for row in out:
                    row[field] = none
                continue
            values = self[field][:]
            for row, value in zip(out, values, strict=True):
                row[field] = _plain(field, value)
        return out

    def to_frame(self) -> Any:
        """The rows as a pandas DataFrame (one column per field; ``results_tables`` as tuples of names)."""
        import pandas as pd

        return pd.DataFrame.from_records(self.to_records(), columns=list(EVALUATION_FIELDS))


def _filled(
    cls: type[EvaluationTable], name: str, description: str, columns: dict[str, list[Any]], n: int
) -> EvaluationTable:
    """A new table of ``n`` rows from per-field lists of checked values."""
    flat = [t for row in columns["results_tables"] for t in row]
    ends = np.cumsum([len(row) for row in columns["results_tables"]], dtype=np.int64)
    refs = VectorData(name="results_tables", description=_description(cls, "results_tables"), data=flat)
    made: list[VectorData] = [
        VectorData(name="metric", description=_description(cls, "metric"), data=columns["metric"]),
        VectorData(
            name="value", description=_description(cls, "value"), data=np.asarray(columns["value"], dtype=np.float64)
        ),
        refs,
        VectorIndex(name="results_tables_index", data=ends, target=refs),
    ]
    for field, (kind, _, text) in _OPTIONAL.items():
        values = columns[field]
        data: Any = values if kind == "text" else np.asarray(values, dtype=_DTYPES[kind])
        made.append(VectorData(name=field, description=text, data=data))
    return cls(name=name, description=description, id=np.arange(n, dtype=np.int64), columns=made)


def _description(cls: type[EvaluationTable], field: str) -> str:
    return next(str(c["description"]) for c in cls.__columns__ if c["name"] == field)


def _missing(value: Any) -> bool:
    # pandas stores a missing text or integer as NaN
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(field: str, value: Any, row: int) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ColumnError(field, "a number", f"{value!r} in row {row}") from None


def _coerce(field: str, kind: str, value: Any, row: int) -> Any:
    if kind == "text":
        return str(value)
    if kind == "float":
        return _number(field, value, row)
    if isinstance(value, bool) or not float(value).is_integer():
        raise ColumnError(field, "a whole number", f"{value!r} in row {row}")
    return int(value)


def _tables(wanted: Any, by_name: Mapping[str, DynamicTable], row: int) -> list[DynamicTable]:
    if wanted is None:
        return list(by_name.values())
    names = [wanted] if isinstance(wanted, str) else list(wanted)
    out = []
    for item in names:
        key = item.name if isinstance(item, DynamicTable) else str(item)
        if key not in by_name:
            raise ColumnError("results_tables", f"names of the given tables {sorted(by_name)}", f"{key!r} in row {row}")
        out.append(by_name[key])
    if not out:
        raise ColumnError("results_tables", "at least one table per row", f"none in row {row}")
    return out


def _plain(field: str, value: Any) -> Any:
    if field == "results_tables":
        return tuple(t.name for t in value)
    if isinstance(value, bytes):
        return value.decode("utf-8")
    if isinstance(value, np.generic):
        return value.item()
    return value
