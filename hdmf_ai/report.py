"""How well the models of a results file did: the work behind ``hdmf-ai report`` (``inspect``: :mod:`.summary`).

:func:`write_report` writes, per ResultsTable, the metrics tables as CSV, the figures of :mod:`hdmf_ai.plot` as
PNG and an ``index.html`` that shows them all: summary first, figures before long tables, the rows the model
got wrong joined to the source table, provenance and storage last. It builds on :func:`inspect_file`
(:mod:`hdmf_ai.summary`, re-exported here). pandas (``hdmf-ai[analysis]``) is needed for metrics, matplotlib
(``hdmf-ai[plot]``) for figures.

Example::

    from hdmf_ai.report import inspect_file, write_report
    print("\\n".join(inspect_file("results.h5").lines()))
    write_report("results.h5", "report/")   # report/index.html
"""

from __future__ import annotations

import functools
import html
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hdmf.common import DynamicTableRegion, VectorIndex

from .checks import TVT_ELEMENTS
from .errors import ColumnError, ComparisonError, ResultsFileError
from .io import open as open_table
from .results_table import ResultsTable
from .summary import (
    NOT_APPLICABLE,
    ColumnInfo,
    FileSummary,
    TableSummary,
    inspect_file,
    pretty,
    reason,
    shape,
    size,
    source_table,
)

__all__ = ["ColumnInfo", "FileSummary", "TableSummary", "inspect_file", "misclassified", "write_report"]

# a source-table column becomes an error breakdown of the report when it has this many groups at most
MAX_GROUPS = 20
MAX_BREAKDOWNS = 6
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
    comparison = _comparison(path, names, out, split=split, backend=backend) if table is None else []
    index = out / "index.html"
    _write_atomically(index, _html(summary, sections, comparison))
    return index


def _comparison(
    path: str | os.PathLike[str], names: Sequence[str], out: Path, *, split: str | None, backend: str | None
) -> list[str]:
    """The report's comparison of the file's models, when it holds two or more over the same samples: the
    differences with intervals and tests (and as CSV), and the rows where the models disagree."""
    from .analysis.compare import compare_files

    if len(names) < 2:
        return []
    e = html.escape
    parts = ['<h2 id="comparison">Model comparison</h2>']
    try:
        comparison = compare_files([path], split=split, backend=backend)
    except ComparisonError as err:
        return [*parts, f'<p class="note">not compared: {e(str(err))}</p>']
    comparison.to_frame().to_csv(out / "comparison.csv", index=False)
    disagreements = comparison.disagreements
    disagreements.to_csv(out / "comparison_disagreements.csv")
    parts += [
        f"<pre>{e(chr(10).join(comparison.lines()))}</pre>",
        '<p class="note">CSV: <a href="comparison.csv">comparison.csv</a>, '
        '<a href="comparison_disagreements.csv">comparison_disagreements.csv</a></p>',
        f"<h3>Rows where the models disagree ({len(disagreements)})</h3>",
        _collapsed(disagreements.to_html(border=0, classes="metrics", na_rep="")),
    ]
    return parts


def _check_columns(rt: ResultsTable, by: Sequence[str]) -> None:
    """Refuse a ``by`` that is a column neither of ``rt`` nor of the source table its ``samples`` point at."""
    known = {c.name for c in rt.columns}
    source = source_table(rt)
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
            section.add(title, "note", f"not available: {reason(err)}")
            return
        frame.to_csv(out / f"{prefix}_{stem}.csv", index=index)
        section.add(title, "table", f"{prefix}_{stem}.csv")
        section.add(title, "html", frame.round(4).to_html(index=index, border=0, classes="metrics", na_rep=""))

    def figure_item(title: str, stem: str, make: Callable[[], Any]) -> None:
        try:
            figure = make()
        except NOT_APPLICABLE as err:
            section.add(title, "note", f"not available: {reason(err)}")
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
    if {"true_label", "predicted_class"} <= columns:
        table_item(f"Misclassified rows ({label})", "misclassified", lambda: misclassified(rt, where), index=True)
    _audit_items(section, rt, where, table_item, figure_item)
    _attribution_items(rt, by if by is not None else _breakdown_columns(rt), table_item, figure_item)
    return section


def _attribution_items(rt: ResultsTable, by: Sequence[str], table_item: Any, figure_item: Any) -> None:
    """What the model relies on (each FeatureAttribution column), and whether those features encode a
    nuisance column: reliance by group and :func:`~hdmf_ai.analysis.nuisance_features` for each of ``by``."""
    from . import analysis, plot
    from .columns import FeatureAttribution

    for column in [c.name for c in rt.columns if isinstance(c, FeatureAttribution)]:
        stem = _slug(column)
        summary = functools.partial(analysis.attribution_summary, rt, column=column)
        title = f"Feature reliance: mean |{column}|"
        table_item(title, f"{stem}_summary", summary, index=False)
        figure_item(title, f"{stem}_summary", functools.partial(plot.attribution_summary, rt, column=column))
        for nuisance in by:
            found = functools.partial(analysis.nuisance_features, rt, nuisance, column=column)
            title = f"Features relied on that encode {nuisance} ({column})"
            table_item(title, f"{stem}_nuisance_{_slug(nuisance)}", found, index=False)
            grouped = functools.partial(plot.attribution_by_group, rt, nuisance, column=column)
            figure_item(f"Feature reliance by {nuisance} ({column})", f"{stem}_by_{_slug(nuisance)}", grouped)


def _breakdown(
    section: _Section, rt: ResultsTable, column: str, where: str | None, table_item: Any, figure_item: Any
) -> None:
    from . import analysis, plot

    title = f"Error rate by {column} ({where or 'all rows'})"
    try:
        result = analysis.error_breakdown(rt, column, split=where)
    except NOT_APPLICABLE as err:
        section.add(title, "note", f"not available: {reason(err)}")
        return
    section.add(title, "note", result.summary())
    table_item(title, f"errors_by_{_slug(column)}", lambda: result.groups)
    figure_item(title, f"errors_by_{_slug(column)}", lambda: plot.error_rate(result))


def misclassified(rt: ResultsTable, split: str | None) -> Any:
    """The rows whose predicted class is not the true one (of ``split``), with the source table's columns."""
    wanted = [c for c in ("tvt_split", "cv_split", "true_label", "predicted_class") if c in rt.colnames]
    frame = rt.to_dataframe(columns=wanted, join_source=source_table(rt) is not None)
    wrong = frame["true_label"].astype(str) != frame["predicted_class"].astype(str)
    if split is not None and "tvt_split" in frame:
        wrong &= frame["tvt_split"].astype(str) == split
    return frame[wrong.to_numpy()]


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
    source = source_table(rt)
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


def _html(summary: FileSummary, sections: list[_Section], comparison: Sequence[str] = ()) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>hdmf-ai report: {e(Path(summary.path).name)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>hdmf-ai report: <code>{e(summary.path)}</code></h1>",
        f"<p>{e(summary.backend)}, {e(size(summary.size_bytes))} on disk; cached schemas: "
        f"{e(', '.join(f'{n} {v}' for n, v in sorted(summary.namespaces.items())) or 'none')}</p>",
        "<ul>",
        *(f'<li><a href="#{_slug(s.table.name)}">{e(s.table.name)}</a> ({s.table.n_rows} rows)</li>' for s in sections),
        *(['<li><a href="#comparison">Model comparison</a></li>'] if comparison else []),
        "</ul>",
    ]
    for section in sections:
        parts += _html_section(section)
    parts += comparison
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
            f'<tr><td class="text">{e(key)}</td><td>{step}</td><td class="text">{e(pretty(value))}</td></tr>'
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
            f"<td>{e(shape(c.shape))}</td><td>{e(chunks)}</td><td>{e('+'.join(c.codecs) or 'none')}</td>"
            f"<td>{e(size(c.stored_bytes))}</td></tr>"
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
