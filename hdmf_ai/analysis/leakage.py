"""Leakage across splits: :func:`leakage` finds every group (subject, session, patient: a column of the source
table) whose rows fall in more than one train/validate/test split or cross-validation fold, with row counts.
A model scored on a subject it was trained on looks better than it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from hdmf.common import DynamicTable

from .._tableview import TableView
from ..checks import TVT_ELEMENTS
from .grouping import require_pandas

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PARTITIONS", "Leakage", "leakage"]

PARTITIONS = ("tvt_split", "cv_split")


@dataclass(frozen=True)
class Leakage:
    """Groups found on more than one side of a split.

    Attributes
    ----------
    group
        The grouping column.
    overlaps
        Per partition column (``"tvt_split"``, ``"cv_split"``) checked: one row per leaking group (indexed by
        its value), one column of row counts per split (``train``, ``validate``, ``test``) or fold
        (``fold 0``, ...), and ``sides``, the number of splits or folds the group is in. Empty: no leak.
    """

    group: str
    overlaps: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return any(len(frame) for frame in self.overlaps.values())

    def summary(self) -> str:
        checked = ", ".join(self.overlaps) or "nothing (no tvt_split or cv_split)"
        if not self.found:
            return f"no '{self.group}' in more than one split or fold (checked {checked})"
        parts = [f"{len(frame)} in several of {name}" for name, frame in self.overlaps.items() if len(frame)]
        return f"leakage: '{self.group}' values found on both sides of a split: {'; '.join(parts)}"

    def __str__(self) -> str:
        lines = [self.summary()]
        lines += [f"{name}:\n{frame.to_string()}" for name, frame in self.overlaps.items() if len(frame)]
        return "\n".join(lines)


def _overlaps(group: np.ndarray, side: np.ndarray, names: list[str], by: str) -> pd.DataFrame:
    pd = require_pandas("hdmf_ai.analysis.leakage")
    values, codes = np.unique(group, return_inverse=True)
    sides = len(names)
    counts = np.bincount(codes * sides + side, minlength=len(values) * sides).reshape(len(values), sides)
    present = (counts > 0).sum(axis=1)
    leaking = np.flatnonzero(present > 1)
    frame = pd.DataFrame(counts[leaking], columns=names, index=pd.Index(values[leaking], name=by))
    frame["sides"] = present[leaking]
    return frame


def leakage(
    table: DynamicTable,
    group: str = "subject",
    *,
    partitions: tuple[str, ...] = PARTITIONS,
    source: DynamicTable | None = None,
) -> Leakage:
    """Every value of ``group`` found in more than one split (``tvt_split``) or fold (``cv_split``).

    Parameters
    ----------
    table
        A ResultsTable, in memory or open.
    group
        A column of the source table (reached through ``samples``) or of the results table: subject,
        session, patient...
    partitions
        The split columns to check, those the table has: default both ``tvt_split`` and ``cv_split``.
    source
        The source table, when ``samples`` does not lead to it.

    Example: ``leakage(rt, "subject").found`` is False for splits made with scikit-learn's ``GroupKFold``.
    """
    require_pandas("hdmf_ai.analysis.leakage")
    view = TableView(table, source=source)
    values = view.lookup(group)
    values = values.astype(str) if values.dtype.kind in "OUS" else values
    result = Leakage(group)
    for name in partitions:
        if not view.has(name):
            continue
        side = view.values(name).astype(np.int64)
        n_sides = len(TVT_ELEMENTS) if name == "tvt_split" else int(side.max(initial=-1)) + 1
        names = list(TVT_ELEMENTS) if name == "tvt_split" else [f"fold {i}" for i in range(n_sides)]
        result.overlaps[name] = _overlaps(values, side, names, group)
    return result
