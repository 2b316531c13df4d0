"""``hdmf-ai audit``: where a model fails and whether its results mislead, for every ResultsTable of a file:
suspicious slices (:func:`hdmf_ai.analysis.find_slices`), possible label errors
(:func:`hdmf_ai.analysis.label_issues`) and groups leaking across splits (:func:`hdmf_ai.analysis.leakage`).

:func:`audit_file` returns an :class:`Audit`, whose ``lines()`` the command prints and whose ``leaks`` decides
the exit code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import analysis
from ._tableview import TableView
from .errors import ColumnError, InSampleError
from .io import list_tables
from .io import open as open_table
from .results_table import ResultsTable

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "GROUP_COLUMNS",
    "Audit",
    "audit_file",
    "audit_table",
    "default_group",
    "possible_label_errors",
    "suspicious_slices",
]

# rows of each section printed
SHOWN = 10
# source columns that name who or what a sample came from: checked for leakage when no group is given (report)
GROUP_COLUMNS = ("subject", "subject_id", "patient", "patient_id", "session", "session_id")


@dataclass
class Audit:
    """What the audit of one file found: printable lines, and whether any group leaks across splits."""

    path: str
    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    leaks: bool = False

    def lines(self) -> list[str]:
        out = [f"audit of {self.path}"]
        for title, lines in self.sections:
            out += ["", title, *(f"  {line}" for line in lines)]
        return out


def _can_score(rt: ResultsTable) -> bool:
    names = set(rt.colnames)
    return "true_label" in names and bool(names & {"predicted_class", "predicted_probability", "predicted_value"})


def _source_columns(rt: ResultsTable) -> list[str]:
    try:
        return list(TableView(rt).source().colnames)
    except KeyError:
        return []


def default_group(rt: ResultsTable) -> str | None:
    """The first of :data:`GROUP_COLUMNS` the source table has, or None."""
    return next((c for c in GROUP_COLUMNS if c in _source_columns(rt)), None)


def suspicious_slices(
    rt: ResultsTable, *, max_order: int = 2, split: str | None = None, exclude: tuple[str, ...] = ()
) -> pd.DataFrame:
    """The slices :func:`~hdmf_ai.analysis.find_slices` finds at q <= 0.05, without its ``conditions``
    column; columns in ``exclude`` (an identifier such as the subject) are not searched."""
    by = [c for c in analysis.slice_columns(TableView(rt)) if c not in exclude]
    slices = analysis.find_slices(rt, by, max_order=max_order, split=split)
    return slices[slices["significant"]].drop(columns="conditions").reset_index(drop=True)


def possible_label_errors(rt: ResultsTable, *, split: str | None = None, top: int = 50) -> pd.DataFrame:
    """The ``top`` rows :func:`~hdmf_ai.analysis.label_issues` ranks first, joined to the 1-D columns of the
    source table (the sample each row describes)."""
    issues = analysis.label_issues(rt, split=split).issues.head(top).reset_index(drop=True)
    view = TableView(rt)
    for name in _source_columns(rt):
        try:
            values = view.source_values(name)
        except ColumnError:
            continue
        if isinstance(values, np.ndarray) and values.ndim == 1 and name not in issues:
            issues[name] = values[issues["row"].to_numpy()]
    return issues


def _slices(rt: ResultsTable, max_order: int, split: str | None, group: str | None) -> list[str]:
    if not _can_score(rt):
        return ["not searched: the table has no true_label with predictions"]
    exclude = (group,) if group is not None else ()
    by = [c for c in analysis.slice_columns(TableView(rt)) if c not in exclude]
    slices = analysis.find_slices(rt, by, max_order=max_order, split=split)
    found = slices[slices["significant"]]
    lines = [f"{len(found)} of {len(slices)} slices tested differ from the rest at q <= 0.05"]
    rate = "mean abs error" if "errors" not in slices else "error rate"
    for _, row in found.head(SHOWN).iterrows():
        lines.append(
            f"{row['slice']}: n {row['size']}, {rate} {row['error_rate']:.3g} "
            f"[{row['ci_low']:.3g}, {row['ci_high']:.3g}] vs {row['rest_rate']:.3g}, q {row['q_value']:.2g}"
        )
    return lines


def _label_issues(rt: ResultsTable, split: str | None) -> list[str]:
    if not {"true_label", "predicted_probability"} <= set(rt.colnames):
        return ["not examined: the table has no true_label and predicted_probability"]
    try:
        found = analysis.label_issues(rt, split=split)
    except InSampleError as err:
        return [f"not examined: {err}"]
    lines = [f"{len(found)} rows whose label is probably wrong (confident learning)"]
    for _, row in found.issues.head(SHOWN).iterrows():
        where = f"source row {row['source_row']}" if "source_row" in row else f"row {row['row']}"
        lines.append(f"{where}: labelled {row['label']}, probably {row['suggested']} (p(label) {row['score']:.3g})")
    return lines


def _leakage(rt: ResultsTable, group: str | None) -> tuple[list[str], bool]:
    if group is None:
        return ["not checked: pass --group COLUMN (e.g. subject, session)"], False
    try:
        found = analysis.leakage(rt, group)
    except KeyError as err:  # a user's typo: one line from the command, not a traceback
        raise ColumnError(group, "a column of the results table or of its source table", str(err)) from err
    lines = [found.summary()]
    for name, frame in found.overlaps.items():
        for value, row in frame.head(SHOWN).iterrows():
            counts = ", ".join(f"{side} {int(n)}" for side, n in row.drop("sides").items() if n)
            lines.append(f"{name}: {group} {value}: {counts}")
    return lines, found.found


def audit_table(
    rt: ResultsTable, audit: Audit, *, group: str | None = None, max_order: int = 2, split: str | None = None
) -> None:
    """Add the three sections of one table to ``audit``."""
    leak_lines, leaks = _leakage(rt, group)
    audit.sections += [
        (f"[{rt.name}] suspicious slices", _slices(rt, max_order, split, group)),
        (f"[{rt.name}] possible label errors", _label_issues(rt, split)),
        (f"[{rt.name}] leakage", leak_lines),
    ]
    audit.leaks |= leaks


def audit_file(
    path: str | os.PathLike[str],
    *,
    table: str | None = None,
    group: str | None = None,
    max_order: int = 2,
    split: str | None = None,
    backend: str | None = None,
) -> Audit:
    """Audit the ResultsTable ``table`` of the file at ``path`` (default: every one)."""
    source = Path(path)
    infos = list_tables(source, backend=backend)
    names = [i.name for i in infos if i.data_type == "ResultsTable"] if table is None else [table]
    audit = Audit(str(source))
    for name in names:
        with open_table(source, table=name, backend=backend) as rt:
            audit_table(rt, audit, group=group, max_order=max_order, split=split)
    return audit
