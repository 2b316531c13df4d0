"""What a results file holds and how well its models did: the work behind ``hdmf-ai inspect`` and ``report``.

:func:`inspect_file` describes every table of an HDF5, Zarr or NWB file: columns with their types, on-disk
dtypes, shapes, chunks, codecs and sizes (stored and in memory), the provenance of each ResultsTable, and a
summary of its metrics (:func:`hdmf_ai.analysis.metrics`). :func:`write_report` writes, per ResultsTable, the
metrics tables as CSV, the figures of :mod:`hdmf_ai.plot` as PNG and an ``index.html`` that shows them all.

Tables are opened lazily: describing a file reads metadata, not columns. The metrics read the columns they
need. pandas (``hdmf-ai[analysis]``) is needed for metrics, matplotlib (``hdmf-ai[plot]``) for figures.

Example::

    from hdmf_ai.report import inspect_file, write_report
    print("\\n".join(inspect_file("results.h5").lines()))
    write_report("results.h5", "report/")   # report/index.html
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import html
import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, EnumData, VectorIndex

from .checks import TVT_ELEMENTS
from .errors import ColumnError, MissingDependencyError, ResultsFileError
from .io import list_tables
from .io import open as open_table
from .io.backend import Backend
from .io.incomplete import RowLimited, incomplete_note, unfinished_tables
from .io.registry import backend_for
from .results_table import ResultsTable

__all__ = ["ColumnInfo", "FileSummary", "TableSummary", "inspect_file", "write_report"]

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
# a source-table column becomes an error breakdown of the report when it has this many groups at most
MAX_GROUPS = 20
MAX_BREAKDOWNS = 6
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
            f"{self.name:<24} {self.type:<24} {self.dtype:<8} {_shape(self.shape):<12} chunks {chunks:<12} "
            f"{codecs:<22} {_size(self.stored_bytes)} stored / {_size(self.memory_bytes)}"
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

    def lines(self) -> list[str]:
        out = [f"{self.data_type} '{self.name}': {self.n_rows} rows, {len(self.columns)} columns"]
        out += [f"  {self.incomplete}"] if self.incomplete else []
        out += [f"  description: {self.description}"] if self.description else []
        for key, values in self.provenance.items():
            if len(values) > 1 and len(set(values)) == 1:  # one value for every pipeline step
                out.append(f"  {key}[0-{len(values) - 1}]: {_clip(values[0])}")
                continue
            for step, value in enumerate(values):
                out.append(f"  {key}[{step}]: {_clip(value)}")
        out += [f"  {column.line()}" for column in self.columns]
        if self.metrics is not None:
            out.append("  metrics:")
            out += [f"    {line}" for line in self.metrics.round(3).to_string().splitlines()]
        elif self.metrics_note:
            out.append(f"  metrics: {self.metrics_note}")
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
            f"{self.path}: {self.backend}, {_size(self.size_bytes)} on disk, {len(self.tables)} table(s)",
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
    with unfinished_tables():  # the same tables opened again: known already
        tables = _summarize_tables(source, chosen, infos, unfinished, backend=backend, metrics=metrics)
    namespaces = chosen.cached_namespaces(source)
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
            target = _source_table(table)
            if target is not None and target.name not in described:
                tables.append(_summarize(target, _data_type(target, infos), chosen, metrics=False))
                described.add(target.name)
    for info in infos:  # tables that no ResultsTable links to: what list_tables knows
        if info.name not in described:
            tables.append(TableSummary(info.name, info.data_type, info.n_rows))
    return tables


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


def _source_table(table: ResultsTable) -> DynamicTable | None:
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
        return None, f"none ({_reason(err)})"
    keep = [c for c in frame.columns if c in SUMMARY_METRICS or c.startswith("top_")]
    return frame[keep], ""


def _column_info(column: Any, chosen: Backend) -> ColumnInfo:
    data = column.data
    # chunk shape, codec chain and stored bytes of an on-disk array; nothing for data in memory. An unfinished
    # table's columns are views of their first rows: the storage is the dataset's
    stored_as = data.dataset if isinstance(data, RowLimited) else data
    chunks, codecs, stored = chosen.storage_of(stored_as) or (None, (), None)
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


# -- the report ----------------------------------------------------------------------------------------------


@dataclass
class _Section:
    """What the report shows of one ResultsTable, in order: (title, kind, payload)."""

    table: TableSummary
    items: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, title: str, kind: str, payload: str) -> None:
        self.items.append((title, kind, payload))


def write_report(
    path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    table: str | None = None,
    split: str | None = None,
    by: Sequence[str] | None = None,
    backend: str | None = None,
) -> Path:
    """Write metrics (CSV), figures (PNG) and an ``index.html`` showing them, for the ResultsTables of a file.

    Parameters
    ----------
    path
        The results file (HDF5, Zarr or NWB).
    out_dir
        Directory for the report, created if missing; report files of the same names are replaced.
    table
        Only this ResultsTable (default: every one).
    split
        The split the confusion matrix, calibration and error breakdowns look at; default ``"test"`` when the
        table has test rows, else every row. Metrics are always given per split.
    by
        Columns (of the results or the source table) to break the error rate down by; default every 1-D
        column of the source table with 2 to 20 distinct values (up to 6), e.g. site, session, scanner.
    backend
        ``"hdf5"`` or ``"zarr"``, when the suffix does not tell.

    Returns
    -------
    Path
        The ``index.html`` written (last, so a report that has one is complete).
    """
    from ._tableview import require

    require("pandas", "analysis", "hdmf-ai report")
    require("matplotlib", "plot", "hdmf-ai report")
    if split is not None and split not in TVT_ELEMENTS:
        raise ColumnError("tvt_split", f"a split to report on, one of {list(TVT_ELEMENTS)}", repr(split))
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} is a file, not a directory for the report")
    summary = inspect_file(path, backend=backend)
    names = [t.name for t in summary.tables if t.metrics is not None or t.metrics_note]
    if not names or (table is not None and table not in names):
        wanted = "no ResultsTable" if table is None else f"no ResultsTable named {table!r}"
        raise ResultsFileError(path, f"holds {wanted}; its ResultsTables: {names}")
    for name in [table] if table is not None else names:  # a mistyped --by fails before anything is written
        with open_table(path, table=name, backend=backend) as results:
            _check_columns(results, by or ())
    out.mkdir(parents=True, exist_ok=True)
    sections = []
    for name in [table] if table is not None else names:
        with open_table(path, table=name, backend=backend) as results:
            described = next(t for t in summary.tables if t.name == name)
            sections.append(_report_table(results, described, out, split=split, by=by))
    index = out / "index.html"
    _write_atomically(index, _html(summary, sections))
    return index


def _check_columns(rt: ResultsTable, by: Sequence[str]) -> None:
    """Refuse a ``by`` that is a column neither of ``rt`` nor of the source table its ``samples`` point at."""
    known = {c.name for c in rt.columns}
    source = _source_table(rt)
    known |= set(source.colnames) if source is not None else set()
    for column in by:
        if column not in known:
            where = f"'{rt.name}'" + (f" or of its source table '{source.name}'" if source is not None else "")
            raise ColumnError(column, f"a column of {where}, one of {sorted(known)}", "no such column")


def _report_table(
    rt: ResultsTable, described: TableSummary, out: Path, *, split: str | None, by: Sequence[str] | None
) -> _Section:
    from . import analysis, plot

    section = _Section(described)
    prefix = _slug(rt.name)
    where = split if split is not None else _default_split(rt)
    label = where or "all rows"

    def table_item(title: str, stem: str, make: Callable[[], Any], *, index: bool = True) -> None:
        try:
            frame = make()
        except NOT_APPLICABLE as err:
            section.add(title, "note", f"not available: {_reason(err)}")
            return
        frame.to_csv(out / f"{prefix}_{stem}.csv", index=index)
        section.add(title, "table", f"{prefix}_{stem}.csv")
        section.add(title, "html", frame.round(4).to_html(index=index, border=0, classes="metrics", na_rep=""))

    def figure_item(title: str, stem: str, make: Callable[[], Any]) -> None:
        try:
            figure = make()
        except NOT_APPLICABLE as err:
            section.add(title, "note", f"not available: {_reason(err)}")
            return
        figure.savefig(out / f"{prefix}_{stem}.png", dpi=100)
        section.add(title, "image", f"{prefix}_{stem}.png")

    columns = {c.name for c in rt.columns}
    table_item("Metrics per split", "metrics", lambda: analysis.metrics(rt))
    if "cv_split" in columns:
        table_item("Metrics per cross-validation fold", "metrics_cv", lambda: analysis.metrics(rt, by="cv_split"))
    if {"true_label"} <= columns and columns & {"predicted_class", "predicted_probability"}:
        table_item("Per-class metrics", "class_metrics", lambda: analysis.class_metrics(rt), index=False)
        table_item(
            f"Confusion matrix ({label})", "confusion_matrix", lambda: analysis.confusion_matrix(rt, split=where)
        )
        figure_item(f"Confusion matrix ({label})", "confusion_matrix", lambda: plot.confusion_matrix(rt, split=where))
    if {"true_label", "predicted_probability"} <= columns:
        table_item(f"Calibration ({label})", "reliability", lambda: analysis.reliability_curve(rt, split=where))
        figure_item(f"Reliability diagram ({label})", "reliability", lambda: plot.reliability_diagram(rt, split=where))
    if columns & {"viz_embedding", "embedding"}:
        for color_by in [c for c in ("true_label", "correct", "tvt_split", "cluster_label") if _colourable(c, columns)]:
            figure_item(
                f"Embedding coloured by {color_by}",
                f"embedding_{color_by}",
                functools.partial(plot.embedding, rt, color_by=color_by),
            )
    if {"true_label"} <= columns and columns & {"predicted_class", "predicted_probability"}:
        for column in by if by is not None else _breakdown_columns(rt):
            _breakdown(section, rt, column, where, table_item, figure_item)
    _audit_items(section, rt, where, table_item, figure_item)
    return section


def _breakdown(
    section: _Section, rt: ResultsTable, column: str, where: str | None, table_item: Any, figure_item: Any
) -> None:
    from . import analysis, plot

    try:
        result = analysis.error_breakdown(rt, column, split=where)
    except NOT_APPLICABLE as err:
        section.add(f"Error rate by {column}", "note", f"not available: {_reason(err)}")
        return
    section.add(f"Error rate by {column}", "note", result.summary())
    table_item(f"Error rate by {column}", f"errors_by_{_slug(column)}", lambda: result.groups)
    figure_item(f"Error rate by {column}", f"errors_by_{_slug(column)}", lambda: plot.error_rate(result))


def _audit_items(section: _Section, rt: ResultsTable, where: str | None, table_item: Any, figure_item: Any) -> None:
    """Suspicious slices, possible label errors (joined to the source table) and leakage of a subject or
    session column (:mod:`hdmf_ai.audit`), where the table has what they need."""
    from . import analysis, plot
    from ._tableview import TableView
    from .audit import GROUP_COLUMNS, default_group, possible_label_errors, suspicious_slices

    columns = {c.name for c in rt.columns}
    label = where or "all rows"
    group = default_group(rt)
    exclude = (group,) if group is not None else ()
    if "true_label" in columns and columns & {"predicted_class", "predicted_probability", "predicted_value"}:
        slices = functools.partial(suspicious_slices, rt, split=where, exclude=exclude)
        table_item(f"Suspicious slices, q <= 0.05 ({label})", "slices", slices, index=False)
        by = [c for c in analysis.slice_columns(TableView(rt)) if c not in exclude]
        figure_item(f"Slices ({label})", "slices", functools.partial(plot.slices, rt, by=by, split=where))
    if {"true_label", "predicted_probability"} <= columns:
        errors = functools.partial(possible_label_errors, rt, split=where)
        table_item(f"Possible label errors ({label})", "label_errors", errors, index=False)
    if group is None:
        section.add("Leakage", "note", f"not checked: the source table has none of {', '.join(GROUP_COLUMNS)}")
        return
    found = analysis.leakage(rt, group)
    section.add("Leakage", "note", found.summary())
    for name, frame in found.overlaps.items():
        if len(frame):
            table_item(f"Leakage of {group} across {name}", f"leakage_{name}", lambda frame=frame: frame)


def _colourable(color_by: str, columns: set[str]) -> bool:
    if color_by == "correct":
        return "true_label" in columns and bool(columns & {"predicted_class", "predicted_probability"})
    return color_by in columns


def _default_split(rt: ResultsTable) -> str | None:
    column = next((c for c in rt.columns if c.name == "tvt_split"), None)
    if column is None:
        return None
    return "test" if (np.asarray(column.data[:]) == 2).any() else None


def _breakdown_columns(rt: ResultsTable) -> list[str]:
    """1-D columns of the source table with 2..MAX_GROUPS distinct values: the candidate nuisance variables."""
    source = _source_table(rt)
    if source is None:
        return []
    chosen = []
    for column in source.columns:
        if isinstance(column, (VectorIndex, DynamicTableRegion)) or column.name not in source.colnames:
            continue
        if isinstance(source[column.name], VectorIndex):  # the data of a ragged column
            continue
        data = column.data
        if len(getattr(data, "shape", np.shape(data))) != 1:
            continue
        values = np.asarray(data[:])
        if values.dtype.kind == "O" and values.size and not isinstance(values.flat[0], (str, bytes)):
            continue  # references to other objects
        if 2 <= len(np.unique(values.astype(str))) <= MAX_GROUPS:
            chosen.append(column.name)
    return chosen[:MAX_BREAKDOWNS]


# -- HTML ----------------------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ccc; } h3 { margin-top: 1.5em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
td, th { border: 1px solid #ddd; padding: 2px 8px; text-align: right; }
th { background: #f3f3f3; } td.text, th.text { text-align: left; }
img { max-width: 100%; height: auto; border: 1px solid #eee; } .note { color: #555; } code { font-size: 0.9em; }
.scroll { overflow-x: auto; max-width: 100%; } .incomplete { color: #a40; font-weight: bold; }
details > summary { cursor: pointer; color: #555; margin: 0.3em 0; } .figure h4 { margin: 1em 0 0.2em; }
"""
#: tables longer than this are collapsed under a "show N rows" line
LONG_TABLE_ROWS = 15


def _html(summary: FileSummary, sections: list[_Section]) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>hdmf-ai report: {e(Path(summary.path).name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>hdmf-ai report: <code>{e(summary.path)}</code></h1>",
        f"<p>{e(summary.backend)}, {e(_size(summary.size_bytes))} on disk; cached schemas: "
        f"{e(', '.join(f'{n} {v}' for n, v in sorted(summary.namespaces.items())) or 'none')}</p>",
        "<ul>",
        *(f'<li><a href="#{_slug(s.table.name)}">{e(s.table.name)}</a> ({s.table.n_rows} rows)</li>' for s in sections),
        "</ul>",
    ]
    for section in sections:
        parts += _html_section(section)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_section(section: _Section) -> list[str]:
    """One table's section, as a person reads it: the summary, then the figures, then the tables and notes,
    and last what the file stores (provenance, storage); wide tables scroll in their box, long ones collapse."""
    e = html.escape
    table = section.table
    parts = [f'<h2 id="{_slug(table.name)}">{e(table.data_type)} <code>{e(table.name)}</code></h2>']
    parts += [f'<p class="incomplete">{e(table.incomplete)}</p>'] if table.incomplete else []
    parts += [f"<p>{e(table.description)}</p>"] if table.description else []
    if table.metrics is not None:
        parts += ["<h3>Summary</h3>", _scroll(table.metrics.round(3).to_html(border=0, classes="metrics", na_rep=""))]
    elif table.metrics_note:
        parts += ["<h3>Summary</h3>", f'<p class="note">metrics: {e(table.metrics_note)}</p>']
    figures = [(title, payload) for title, kind, payload in section.items if kind == "image"]
    if figures:
        parts.append("<h3>Figures</h3>")
        for title, payload in figures:
            parts.append(f'<div class="figure"><h4>{e(title)}</h4><img src="{e(payload)}" alt="{e(title)}"></div>')
    last_title = None
    for title, kind, payload in section.items:
        if kind == "image":
            continue
        if title != last_title:
            parts.append(f"<h3>{e(title)}</h3>")
            last_title = title
        if kind == "note":
            parts.append(f'<p class="note">{e(payload)}</p>')
        elif kind == "table":
            parts.append(f'<p class="note">CSV: <a href="{e(payload)}">{e(payload)}</a></p>')
        else:  # "html": pandas escapes the cells of to_html
            parts.append(_collapsed(payload))
    parts += ["<h3>Provenance and storage</h3>", *_html_storage(table)]
    return parts


def _html_storage(table: TableSummary) -> list[str]:
    e = html.escape
    parts = []
    if table.provenance:
        rows = [
            f'<tr><td class="text">{e(key)}</td><td>{step}</td><td class="text">{e(_pretty(value))}</td></tr>'
            for key, values in table.provenance.items()
            for step, value in enumerate(values)
        ]
        head = '<tr><th class="text">provenance</th><th class="text">step</th><th class="text">value</th></tr>'
        parts.append(_collapsed(f"<table>{head}{''.join(rows)}</table>"))
    rows = []
    for c in table.columns:
        chunks = "contiguous" if c.chunks is None else "x".join(map(str, c.chunks))
        rows.append(
            f'<tr><td class="text">{e(c.name)}</td><td class="text">{e(c.type)}</td><td>{e(c.dtype)}</td>'
            f"<td>{e(_shape(c.shape))}</td><td>{e(chunks)}</td><td>{e('+'.join(c.codecs) or 'none')}</td>"
            f"<td>{e(_size(c.stored_bytes))}</td></tr>"
        )
    head = (
        '<tr><th class="text">column</th><th class="text">type</th><th>dtype</th><th>shape</th>'
        "<th>chunks</th><th>codecs</th><th>stored</th></tr>"
    )
    parts.append(_collapsed(f"<table>{head}{''.join(rows)}</table>"))
    return parts


def _scroll(table_html: str) -> str:
    return f'<div class="scroll">{table_html}</div>'


def _collapsed(table_html: str) -> str:
    """A table in a box that scrolls sideways; folded under a "show N rows" line when it is long."""
    n_rows = max(table_html.count("<tr") - 1, 0)
    if n_rows <= LONG_TABLE_ROWS:
        return _scroll(table_html)
    return f"<details><summary>show {n_rows} rows</summary>{_scroll(table_html)}</details>"


# -- small helpers -------------------------------------------------------------------------------------------


def _write_atomically(target: Path, text: str) -> None:
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in name)


def _reason(err: BaseException) -> str:
    text = str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
    return " ".join(text.split())


def _pretty(value: str) -> str:
    try:
        return json.dumps(json.loads(value), sort_keys=True)
    except ValueError:
        return value


def _clip(text: str, limit: int = 100) -> str:
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 3] + "..."


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"
