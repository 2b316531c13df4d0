"""Tables a batched writer has not finished: how their progress is recorded, read, and resumed.

Two attributes on the table's group record the progress while a writer has the table open:

``hdmf_ai_complete_rows``
    How many rows (from row 0) are on disk in every column. Updated after each flush, after the data.
``hdmf_ai_n_samples``
    The number of rows declared with ``n_samples``, or -1 when the table grows.

Both are removed when the writer closes normally. A file that still has them was interrupted (or is being
written): readers show its complete rows (:func:`trim_incomplete`, through :class:`RowLimited` views) with an
:class:`~hdmf_ai.errors.IncompleteTableWarning`, and the writer continues it from :func:`describe_table`.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hdmf.build import DatasetBuilder, GroupBuilder
from hdmf.query import HDMFDataset

from ..coercion import ColumnSpec
from ..errors import ColumnError, IncompleteTableWarning, ResultsFileError
from .backend import Backend, RawTree

__all__ = [
    "COMPLETE_ROWS",
    "TARGET_ROWS",
    "FoundTable",
    "RowLimited",
    "describe_table",
    "incomplete_note",
    "trim_incomplete",
    "unfinished_tables",
]

COMPLETE_ROWS = "hdmf_ai_complete_rows"
TARGET_ROWS = "hdmf_ai_n_samples"


# -- reading tables that are being written, or were interrupted --------------------------------------------------


class RowLimited(HDMFDataset):
    """The first ``rows`` rows of an on-disk array (h5py or zarr), read lazily; what an incomplete table shows."""

    def __init__(self, dataset: Any, rows: int) -> None:
        super().__init__(dataset=dataset)
        self.rows = min(int(rows), int(dataset.shape[0]))

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.rows, *tuple(self.dataset.shape[1:]))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def chunks(self) -> Any:
        return getattr(self.dataset, "chunks", None)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self[:])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.asarray(self[:])
        return arr if dtype is None else arr.astype(dtype)

    def __getitem__(self, key: Any) -> Any:
        first, rest = (key[0], key[1:]) if isinstance(key, tuple) and key else (key, ())
        if (isinstance(key, tuple) and not key) or first is Ellipsis:
            return self.dataset[(slice(0, self.rows), *rest)] if first is Ellipsis else self.dataset[: self.rows]
        if isinstance(first, slice):
            start, stop, step = first.indices(self.rows)
            if step < 0:
                return self[(np.arange(start, stop, step), *rest)]
            return self.dataset[(slice(start, max(start, stop), step), *rest)]
        if isinstance(first, (int, np.integer)):
            index = int(first) + self.rows if first < 0 else int(first)
            if not 0 <= index < self.rows:
                raise IndexError(f"row {first} is out of range for {self.rows} rows")
            return self.dataset[(index, *rest)]
        positions = np.asarray(first)
        if positions.dtype == np.bool_:
            positions = np.flatnonzero(positions)
        positions = np.where(positions < 0, positions + self.rows, positions)
        if positions.size and (positions.min() < 0 or positions.max() >= self.rows):
            raise IndexError(f"rows out of range for {self.rows} rows")
        if positions.size == 0:
            return self.dataset[(slice(0, 0), *rest)]
        lo, hi = int(positions.min()), int(positions.max()) + 1
        return np.asarray(self.dataset[(slice(lo, hi), *rest)])[positions - lo]


def trim_incomplete(builder: GroupBuilder, source: Path | str, chosen: Backend) -> GroupBuilder:
    """Show only the complete rows of every table a writer has not finished, with an IncompleteTableWarning."""
    for group in _groups(builder):
        if COMPLETE_ROWS not in group.attributes:
            continue
        attrs = chosen.current_attributes(source, group)
        complete, target = int(attrs.get(COMPLETE_ROWS, 0)), attrs.get(TARGET_ROWS)
        names = [str(n) for n in np.asarray(group.attributes.get("colnames", [])).ravel()] + ["id"]
        for name in names:
            dataset = group.datasets.get(name)
            if isinstance(dataset, DatasetBuilder) and hasattr(dataset.data, "shape"):
                dataset["data"] = RowLimited(dataset.data, complete)
        declared = None if target is None or int(target) < 0 else int(target)
        of = "of an unknown number" if declared is None else f"of {declared}"
        message = (
            f"{source}: table '{group.name}' holds {complete} complete rows ({of}): its writer has not finished "
            "(still running, or interrupted); ResultsWriter(path, resume=True) continues it"
        )
        warnings.warn(
            IncompleteTableWarning(message, table=group.name, complete=complete, target=declared), stacklevel=4
        )
    return builder


@contextlib.contextmanager
def unfinished_tables() -> Iterator[dict[str, tuple[int, int | None]]]:
    """Collect, instead of showing, the IncompleteTableWarnings of reads in the block: table -> (complete rows,
    declared rows or None). For callers that state the progress themselves; other warnings pass as before."""
    found: dict[str, tuple[int, int | None]] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", IncompleteTableWarning)
        yield found
    for item in caught:
        message = item.message
        if isinstance(message, IncompleteTableWarning):
            found[message.table] = (message.complete, message.target)
        else:  # shown (or raised, or dropped) as the caller's filters say
            warnings.warn_explicit(message, item.category, item.filename, item.lineno, source=item.source)


def incomplete_note(complete: int, target: int | None) -> str:
    """How ``inspect`` and ``validate`` state that a table is unfinished."""
    of = f"{complete} of {target}" if target is not None else f"{complete} of an unknown number of"
    return f"incomplete: {of} rows (interrupted writer; resume with ResultsWriter(path, resume=True))"


def _groups(builder: GroupBuilder) -> Iterator[GroupBuilder]:
    yield builder
    for child in builder.groups.values():
        yield from _groups(child)


# -- resuming -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FoundTable:
    """A table's columns and progress, as :func:`describe_table` finds them on disk."""

    name: str
    specs: dict[str, ColumnSpec]
    rows: int
    complete: int | None
    target: int | None
    n_source: int | None


def describe_table(chosen: Backend, path: Path, table: str | None) -> FoundTable:
    """A table's columns and progress, read from the file with h5py/zarr (nothing is loaded)."""
    with chosen.raw_tree(path) as tree:
        return _describe_group(path, tree, table)


def _describe_group(path: Path, tree: RawTree, table: str | None) -> FoundTable:
    tables = [name for name, node in tree.groups() if _attr(node, "data_type") == "ResultsTable"]
    if table is None and len(tables) == 1:
        table = tables[0]
    if table is None or table not in tables:
        raise ResultsFileError(path, f"pick a table with table=<name>: its ResultsTables are {sorted(tables)}")
    group = tree.group(table)
    specs: dict[str, ColumnSpec] = {}
    n_source = None
    for name in [str(n) for n in np.asarray(_attr(group, "colnames")).ravel()]:
        data = group[name]
        if not hasattr(data, "dtype") or f"{name}_index" in group:  # a group, or a ragged column
            raise ColumnError(name, "a column of one value (or array) per row", "a ragged column")
        classes = None
        if name == "true_label" and "elements" in data.attrs:
            classes = tuple(str(e.decode() if isinstance(e, bytes) else e) for e in group["true_label_elements"][:])
        if name == "samples":
            n_source = int(tree.deref(data.attrs["table"])["id"].shape[0])
        n_splits = int(data.attrs["n_splits"]) if name == "cv_split" else None
        row_shape = tuple(int(n) for n in data.shape[1:])
        # more rows of an attribution column pass its checks (the attributes are already in the file)
        attribution = None
        if _attr(data, "data_type") == "FeatureAttribution":
            attribution = {"method": _attr(data, "method"), "output": _attr(data, "output")}
        specs[name] = ColumnSpec(
            name,
            row_shape=row_shape,
            dtype=np.dtype(data.dtype),
            classes=classes,
            n_splits=n_splits,
            attribution=attribution,
        )
    complete = _attr(group, COMPLETE_ROWS)
    target = _attr(group, TARGET_ROWS)
    return FoundTable(
        name=table,
        specs=specs,
        rows=int(group["id"].shape[0]),
        complete=None if complete is None else int(complete),
        target=None if target is None or int(target) < 0 else int(target),
        n_source=n_source,
    )


def _attr(node: Any, key: str) -> Any:
    value = node.attrs.get(key)
    return value.decode() if isinstance(value, bytes) else value
