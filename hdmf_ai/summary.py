"""What a results file holds: the work behind ``hdmf-ai inspect``.

:func:`inspect_file` describes every table of an HDF5, Zarr or NWB file: columns with their types, on-disk
dtypes, shapes, chunks, codecs and sizes (stored and in memory), the provenance of each ResultsTable, and a
summary of its metrics (:func:`hdmf_ai.analysis.metrics`); an unfinished table says how many rows are complete.
Tables are opened lazily: describing a file reads metadata, not columns; the metrics read the columns they need
(pandas, ``hdmf-ai[analysis]``). :mod:`hdmf_ai.report` builds the HTML report on it.

Example::

    from hdmf_ai.summary import inspect_file
    print("\\n".join(inspect_file("results.h5").lines()))
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, EnumData, VectorIndex

from .errors import ColumnError, HdmfAiError, MissingDependencyError, ResultsFileError
from .evaluation import EvaluationTable
from .io import guarded, list_tables, read_evaluations
from .io import open as open_table
from .io.backend import Backend
from .io.guarded import GuardedArray
from .io.incomplete import incomplete_note, unfinished_tables
from .io.registry import backend_for
from .results_table import ResultsTable

__all__ = [
    "NOT_APPLICABLE",
    "PROVENANCE",
    "SUMMARY_METRICS",
    "ColumnInfo",
    "FileSummary",
    "TableSummary",
    "clip",
    "inspect_file",
    "pretty",
    "reason",
    "shape",
    "size",
    "source_table",
]

PROVENANCE = ("source_code", "parameters", "model_description", "pre_trained_model")
# the columns of analysis.metrics that a one-screen summary keeps (the others are in the report's CSV)
SUMMARY_METRICS = (
    "n",
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "log_loss",
    "ece",
    "mae",
    "rmse",
    "r2",
    "ari",
    "nmi",
)
# what a metric or figure cannot be made from (a missing column, unusable values): noted, not fatal
NOT_APPLICABLE = (KeyError, ValueError, ColumnError)


# -- describing a file ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnInfo:
    """One column (or dataset of a column) as stored."""

    name: str
    type: str
    dtype: str
    shape: tuple[int, ...]
    chunks: tuple[int, ...] | None
    codecs: tuple[str, ...]
    stored_bytes: int | None
    memory_bytes: int | None
    note: str = ""

    def line(self) -> str:
        chunks = "contiguous" if self.chunks is None else "x".join(map(str, self.chunks))
        codecs = "+".join(self.codecs) or "none"
        return (
            f"{self.name:<24} {self.type:<24} {self.dtype:<8} {shape(self.shape):<12} chunks {chunks:<12} "
            f"{codecs:<22} {size(self.stored_bytes)} stored / {size(self.memory_bytes)}"
            + (f"  ({self.note})" if self.note else "")
        )


@dataclass(frozen=True)
class TableSummary:
    """One table of a file: its columns, and for a ResultsTable its provenance and metrics."""

    name: str
    data_type: str
    n_rows: int
    description: str = ""
    columns: tuple[ColumnInfo, ...] = ()
    provenance: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    metrics: Any = None  # a pandas DataFrame, when the table's columns allow metrics
    metrics_note: str = ""
    incomplete: str = ""  # how far an unfinished writer got, when one did not finish
    rows: Any = None  # an EvaluationTable's rows (a pandas DataFrame): they are the point of it

    def lines(self) -> list[str]:
        n_columns = len(self.columns) if self.rows is None else len(self.rows.columns)
        out = [f"{self.data_type} '{self.name}': {self.n_rows} rows, {n_columns} columns"]
        out += [f"  {self.incomplete}"] if self.incomplete else []
        out += [f"  description: {self.description}"] if self.description else []
        for key, values in self.provenance.items():
            if len(values) > 1 and len(set(values)) == 1:  # one value for every pipeline step
                out.append(f"  {key}[0-{len(values) - 1}]: {clip(values[0])}")
                continue
            for step, value in enumerate(values):
                out.append(f"  {key}[{step}]: {clip(value)}")
        out += [f"  {column.line()}" for column in self.columns]
        if self.metrics is not None:
            out.append("  metrics:")
            out += [f"    {line}" for line in self.metrics.round(3).to_string().splitlines()]
        elif self.metrics_note:
            out.append(f"  metrics: {self.metrics_note}")
        if self.rows is not None:
            out += [f"  {line}" for line in self.rows.to_string(index=False).splitlines()]
        return out


@dataclass(frozen=True)
class FileSummary:
    """A file: its format, size, cached schemas and tables."""

    path: str
    backend: str
    size_bytes: int
    namespaces: Mapping[str, str]
    tables: tuple[TableSummary, ...]

    def lines(self) -> list[str]:
        schemas = ", ".join(f"{name} {version}" for name, version in sorted(self.namespaces.items()))
        out = [
            f"{self.path}: {self.backend}, {size(self.size_bytes)} on disk, {len(self.tables)} table(s)",
            f"cached schemas: {schemas or 'none'}",
        ]
        for table in self.tables:
            out += ["", *table.lines()]
        return out


def inspect_file(path: str | os.PathLike[str], *, backend: str | None = None, metrics: bool = True) -> FileSummary:
    """Describe every table of the file at ``path`` (see the module docstring). Columns are not read,
    except by the metrics (``metrics=False`` skips them)."""
    source = Path(path)
    chosen = backend_for(source, backend)
    with unfinished_tables() as unfinished:  # stated in the summary, not as warnings
        infos = list_tables(source, backend=backend)  # raises the clear errors for missing or corrupt files
    try:
        with unfinished_tables():  # the same tables opened again: known already
            tables = _summarize_tables(source, chosen, infos, unfinished, backend=backend, metrics=metrics)
        namespaces = chosen.cached_namespaces(source)
    except (HdmfAiError, FileNotFoundError):
        raise
    except Exception as err:  # a backend's or a decoder's error the read path did not name: name the file
        raise ResultsFileError(source, f"cannot be described: {type(err).__name__}: {err}") from err
    return FileSummary(str(source), chosen.name, _size_on_disk(source), namespaces, tuple(tables))


def _summarize_tables(
    source: Path,
    chosen: Backend,
    infos: Sequence[Any],
    unfinished: Mapping[str, tuple[int, int | None]],
    *,
    backend: str | None,
    metrics: bool,
) -> list[TableSummary]:
    tables: list[TableSummary] = []
    described: set[str] = set()
    for info in infos:
        with _results_table(source, info.name, backend) as table:
            if table is None:
                continue
            summary = _summarize(table, info.data_type, chosen, metrics=metrics)
            if info.name in unfinished:
                summary = dataclasses.replace(summary, incomplete=incomplete_note(*unfinished[info.name]))
            tables.append(summary)
            described.add(info.name)
            target = source_table(table)
            if target is not None and target.name not in described:
                tables.append(_summarize(target, _data_type(target, infos), chosen, metrics=False))
                described.add(target.name)
    for info in infos:  # tables that no ResultsTable links to: what list_tables knows
        if info.name in described:
            continue
        if info.data_type == EvaluationTable.__name__:
            tables.append(_evaluation_summary(source, info, backend))
        else:
            tables.append(TableSummary(info.name, info.data_type, info.n_rows))
    return tables


def _evaluation_summary(source: Path, info: Any, backend: str | None) -> TableSummary:
    """An EvaluationTable with its rows, leaving out the fields no row uses."""
    table = read_evaluations(source, table=info.name, backend=backend)
    frame = table.to_frame()
    frame["results_tables"] = [" vs ".join(names) for names in frame["results_tables"]]
    unused = [name for name in frame.columns if frame[name].isin(["", -1]).all() or frame[name].isna().all()]
    shown = frame.drop(columns=unused).round(4)
    return TableSummary(info.name, info.data_type, info.n_rows, description=table.description, rows=shown)


@contextlib.contextmanager
def _results_table(path: Path, name: str, backend: str | None) -> Iterator[ResultsTable | None]:
    """The ResultsTable ``name`` opened lazily, or None when ``name`` is another kind of table."""
    stack = contextlib.ExitStack()
    try:
        table: ResultsTable | None = stack.enter_context(open_table(path, table=name, backend=backend))
    except KeyError:  # a source table: described through the results that link to it, or listed
        table = None
    except ResultsFileError as err:
        if "holds no ResultsTable" not in str(err):
            raise
        table = None
    with stack:
        yield table


def source_table(table: ResultsTable) -> DynamicTable | None:
    samples = next((c for c in table.columns if c.name == "samples"), None)
    return samples.table if isinstance(samples, DynamicTableRegion) else None


def _data_type(table: DynamicTable, infos: Sequence[Any]) -> str:
    return str(next((i.data_type for i in infos if i.name == table.name), table.data_type))


def _summarize(table: DynamicTable, data_type: str, chosen: Backend, *, metrics: bool) -> TableSummary:
    frame, note = (None, "")
    if metrics and isinstance(table, ResultsTable):
        frame, note = _metrics_summary(table)
    provenance = {
        key: tuple(str(v) for v in value)
        for key in PROVENANCE
        if (value := getattr(table, key, None)) is not None and len(value)
    }
    return TableSummary(
        name=table.name,
        data_type=data_type,
        n_rows=len(table),
        description=str(table.description or ""),
        columns=tuple(_column_info(column, chosen) for column in table.columns),
        provenance=provenance,
        metrics=frame,
        metrics_note=note,
    )


def _metrics_summary(table: ResultsTable) -> tuple[Any, str]:
    from . import analysis

    try:
        frame = analysis.metrics(table)
    except MissingDependencyError as err:
        return None, str(err)
    except NOT_APPLICABLE as err:
        return None, f"none ({reason(err)})"
    if list(frame.columns) == ["n"]:  # rows counted, nothing to score them with
        return None, (
            "none (no outputs to score: a true_label with predicted_class or predicted_probability, "
            "predicted_value or cluster_label)"
        )
    keep = [c for c in frame.columns if c in SUMMARY_METRICS or c.startswith("top_")]
    return frame[keep], ""


def _column_info(column: Any, chosen: Backend) -> ColumnInfo:
    data = column.data
    # chunk shape, codec chain and stored bytes of an on-disk array; nothing for data in memory. An unfinished
    # table's columns are views of their first rows: the storage is the dataset's
    if isinstance(data, GuardedArray) and data.shape and data.shape[0]:
        data[:1]  # its first block read and checked: a datatype or shape changed in the file shows here
    chunks, codecs, stored = chosen.storage_of(guarded.stored(data)) or (None, (), None)
    shape = tuple(int(s) for s in getattr(data, "shape", np.shape(data)))
    dtype = np.dtype(getattr(data, "dtype", None) or np.asarray(data).dtype)
    return ColumnInfo(
        name=column.name,
        type=type(column).__name__,
        dtype="text" if dtype.kind in "OSU" else str(dtype),
        shape=shape,
        chunks=chunks,
        codecs=codecs,
        stored_bytes=stored,
        memory_bytes=int(np.prod(shape)) * dtype.itemsize if dtype.kind not in "OSU" else None,
        note=_note(column),
    )


def _note(column: Any) -> str:
    if isinstance(column, EnumData) and column.elements is not None:
        return f"enum of {len(column.elements.data)} labels in '{column.elements.name}'"
    if isinstance(column, DynamicTableRegion) and column.table is not None:
        return f"rows of '{column.table.name}'"
    if isinstance(column, VectorIndex) and column.target is not None:
        return f"index of ragged '{column.target.name}'"
    return ""


def _size_on_disk(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


# -- small helpers -------------------------------------------------------------------------------------------


def reason(err: BaseException) -> str:
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return " ".join(text.split())


def pretty(value: str) -> str:
    try:
        return json.dumps(json.loads(value), sort_keys=True)
    except ValueError:
        return value


def clip(text: str, limit: int = 100) -> str:
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."


def shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"
