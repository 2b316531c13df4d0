"""Add rows or a column to a table in an existing file.

Rows go through :class:`~hdmf_ai.ResultsWriter` in ``mode="a"``; a column goes through hdmf's own
append mode, so its type, attributes and links (``predicted_class.probabilities``, ``training_labels``) and the
table's ``colnames`` are written exactly as :func:`hdmf_ai.write` writes them. The new column's data are
checked in full before the file is touched. On Zarr the consolidated metadata is refreshed after either change:
a reader that opened the store before keeps seeing the old, consistent table. An HDF5 file that a reader
holds open cannot be opened for writing (HDF5's file lock), so the append fails with that error instead.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from hdmf.common import DynamicTable
from hdmf.container import Container

from ..coercion import ColumnSpec
from ..errors import ColumnError, ResultsFileError
from ..results_table import ResultsTable
from ..typemap import get_manager
from . import policy
from .backend import Backend
from .incomplete import COMPLETE_ROWS
from .plan import add_declared
from .registry import backend_for
from .writer import ResultsWriter

__all__ = ["add_column", "append_rows"]


def append_rows(
    path: str | os.PathLike[str], *, table: str | None = None, progress: bool | None = False, **columns: Any
) -> Path:
    """Add rows to a ResultsTable of an existing file: one array per column, every column of the table.

    Example: ``hdmf_ai.append_rows("results.zarr", predicted_class=more_classes, predicted_probability=more_p)``.
    For many batches use ``ResultsWriter(path, mode="a")`` and call ``append`` per batch.
    """
    with ResultsWriter(path, mode="a", table=table, progress=progress) as writer:
        writer.append(**columns)
    return Path(path)


def add_column(
    path: str | os.PathLike[str],
    *,
    name: str,
    data: Any,
    table: str | None = None,
    description: str | None = None,
    classes: Sequence[str] | None = None,
    n_splits: int | None = None,
    source: str | None = None,
    preset: str | policy.Preset = policy.DEFAULT_PRESET,
    storage: Mapping[str, policy.Setting] | None = None,
    backend: str | None = None,
) -> Path:
    """Add a column to a ResultsTable of an existing file, one value (or array) per row.

    Parameters
    ----------
    path
        The file.
    name, data
        The column's name and values. A predefined name (``predicted_class``, ``true_label``, ``embedding``,
        ...) is checked and typed as the matching ``ResultsTable.add_*`` method does; any other name is a user
        column (numbers or booleans).
    table
        The ResultsTable's name, when the file holds several.
    description
        What the column holds (default: the column type's description).
    classes, n_splits
        As for ``add_true_label`` and ``add_cv_split``.
    source
        For ``samples``: the name of the table in the file that the rows index.
    preset, storage
        Storage of the new column, as for :func:`hdmf_ai.write`.
    backend
        ``"hdf5"`` or ``"zarr"``, when the suffix does not tell.
    """
    target = Path(path)
    chosen = backend_for(target, backend)
    if not target.exists():
        raise FileNotFoundError(f"no results file at {target}")
    manager = get_manager()
    chosen.load_cached_namespaces(target, manager.type_map)
    io = chosen.open_io(target, chosen.append_mode, manager)
    try:
        root = io.read()
        found = _pick(root, table, target, chosen)
        if name in found.colnames:
            raise ColumnError(name, "a column name not yet in the table", f"a second column named '{name}'")
        spec = ColumnSpec(name, classes=None if classes is None else tuple(classes), n_splits=n_splits,
                          description=description)  # fmt: skip
        column = add_declared(found, spec, data, source=_source(root, source) if name == "samples" else None)
        _store(column, found, chosen, preset=preset, storage=storage)
        chosen.write(io, root)
    finally:
        io.close()
    chosen.refresh(target)
    return target


def _pick(root: Any, table: str | None, path: Path, backend: Backend) -> ResultsTable:
    tables = [c for c in root.all_children() if isinstance(c, ResultsTable)] if isinstance(root, Container) else []
    tables = tables or ([root] if isinstance(root, ResultsTable) else [])
    names = sorted(t.name for t in tables)
    chosen = [t for t in tables if table is None or t.name == table]
    if len(chosen) != 1:
        raise ResultsFileError(path, f"pick one table with table=<name>; its ResultsTables are {names}")
    found = chosen[0]
    with backend.raw_tree(path) as tree:  # hdmf does not keep attributes outside the spec: ask the file
        groups = dict(tree.groups())
        unfinished = found.name in groups and COMPLETE_ROWS in groups[found.name].attrs
    if unfinished:
        raise ResultsFileError(path, f"table '{found.name}' is unfinished; finish it with ResultsWriter(resume=True)")
    return found


def _source(root: Any, name: str | None) -> Any:
    tables = {c.name: c for c in root.all_children() if isinstance(c, DynamicTable)}
    if name not in tables:
        raise ColumnError("samples", f"source=<the name of a table in the file>, one of {sorted(tables)}", repr(name))
    return tables[name]


def _store(
    column: Any,
    table: ResultsTable,
    chosen: Backend,
    *,
    preset: str | policy.Preset,
    storage: Mapping[str, policy.Setting] | None,
) -> None:
    """Wrap the new column's data in the backend's DataIO with the policy's chunks and codecs (resizable)."""
    data = np.asarray(column.data)
    if data.dtype.kind not in "biuf" or data.ndim == 0 or data.shape[0] == 0:
        return
    policy.check_storage(storage, {column.name})
    setting = policy.resolve(
        preset, backend=chosen.name, column=column.name, kind=policy.column_kind(column, data), storage=storage
    )
    stored = policy.stored_data(policy.Planned(column, f"{table.name}/{column.name}", data, setting))
    io_class, kwargs = chosen.data_io(stored, setting, f"{table.name}/{column.name}", growable=True)
    column.transform(lambda _: stored)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*compression may not be available", category=UserWarning)
        column.set_data_io(io_class, kwargs)
