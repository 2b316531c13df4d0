"""The rows a table function looks at and how it groups them: one split and/or fold (:func:`selection`),
groups by any column of the results or source table (:func:`groups`, :func:`grouped_rows`), and pandas,
imported only when a table function builds its DataFrame (:func:`require_pandas`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._tableview import TableView, require
from ..checks import TVT_ELEMENTS

__all__ = ["Groups", "grouped_rows", "groups", "require_pandas", "selection"]

# an integer column with at most this many values holds codes (sessions, subjects, clusters), not a quantity
MAX_INTEGER_CODES = 20
# columns of a ResultsTable that hold labels: grouped by value, never binned
LABEL_COLUMNS = ("samples", "tvt_split", "cv_split", "true_label", "predicted_class", "cluster_label")


def require_pandas(feature: str) -> Any:
    """pandas, or a MissingDependencyError naming ``feature`` and the ``analysis`` extra."""
    return require("pandas", "analysis", feature)


def selection(view: TableView, split: str | int | None, fold: int | None) -> np.ndarray:
    """A row mask for one train/validate/test split and/or one cross-validation fold."""
    mask = np.ones(len(view), dtype=bool)
    if split is not None:
        code = TVT_ELEMENTS.index(split) if isinstance(split, str) and split in TVT_ELEMENTS else split
        if code not in range(len(TVT_ELEMENTS)):
            raise ValueError(f"split must be one of {list(TVT_ELEMENTS)} or 0/1/2; got {split!r}")
        mask &= view.values("tvt_split") == code
    if fold is not None:
        mask &= view.values("cv_split") == fold
    return mask


@dataclass(frozen=True)
class Groups:
    """Rows partitioned by a column: the label of each group, in order, and each row's group number."""

    labels: list[Any]
    codes: np.ndarray
    edges: tuple[float, ...] | None = None

    def masks(self) -> list[tuple[Any, np.ndarray]]:
        return [(label, self.codes == i) for i, label in enumerate(self.labels)]


def _is_quantity(view: TableView, by: str, values: np.ndarray, bins: int | None) -> bool:
    """Whether to cut a column into quantile bins: floats with more than ``bins`` distinct values, integers
    with more than ``MAX_INTEGER_CODES`` (fewer are codes: sessions, clusters), never label columns."""
    if bins is None or values.dtype.kind not in "iuf" or (by in LABEL_COLUMNS and view.has(by)):
        return False
    distinct = len(np.unique(values[~np.isnan(values)]))
    return distinct > (bins if values.dtype.kind == "f" else max(bins, MAX_INTEGER_CODES))


def groups(view: TableView, by: str, bins: int | None) -> Groups:
    """Group rows by a column of the results or source table; a numeric quantity is cut at its quantiles."""
    values = view.lookup(by)
    if _is_quantity(view, by, values, bins):
        return _quantile_groups(values.astype(np.float64), bins or 1)
    order = view.categories(by)
    present, codes = np.unique(values.astype(str) if values.dtype.kind in "OUS" else values, return_inverse=True)
    labels = present.tolist()
    if order is not None:  # an enum keeps its stored order (train, validate, test)
        rank = {label: i for i, label in enumerate(order)}
        sort = np.argsort([rank[label] for label in labels], kind="stable")
        labels = [labels[i] for i in sort]
        codes = np.argsort(sort)[codes]
    return Groups(labels, codes.reshape(-1))


def _quantile_groups(values: np.ndarray, bins: int) -> Groups:
    missing = np.isnan(values)
    if missing.all():
        return Groups(["missing"], np.zeros(len(values), dtype=np.int64))
    edges = np.unique(np.quantile(values[~missing], np.linspace(0, 1, bins + 1)))
    # bins are [lo, hi) except the last, [lo, hi]
    codes = np.searchsorted(edges[1:-1], values, side="right")
    labels = [f"[{lo:.4g}, {hi:.4g})" for lo, hi in itertools.pairwise(edges)]
    labels[-1] = labels[-1][:-1] + "]"
    if missing.any():
        codes = np.where(missing, len(labels), codes)
        labels.append("missing")
    return Groups(labels, codes, tuple(float(e) for e in edges))


def grouped_rows(
    view: TableView, by: str | None, bins: int | None, total: bool, within: np.ndarray
) -> list[tuple[Any, np.ndarray]]:
    parts = [] if by is None else [(label, mask & within) for label, mask in groups(view, by, bins).masks()]
    parts = [(label, mask) for label, mask in parts if mask.any()]
    if total or by is None:
        parts.append(("all", within))
    return parts
