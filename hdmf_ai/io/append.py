"""Add rows or a column to a table in an existing file, or tables to an existing file.

Rows go through :class:`~hdmf_ai.ResultsWriter` in ``mode="a"``; a column goes through hdmf's own
append mode, so its type, attributes and links (``predicted_class.probabilities``, ``training_labels``) and the
table's ``colnames`` are written exactly as :func:`hdmf_ai.write` writes them. The new column's data are
checked in full before the file is touched. Tables (:func:`add_tables`, ``write(..., mode="a")``) are added to a
copy of the file that replaces it only when complete, so the old file stays intact if anything fails. On Zarr
the consolidated metadata is refreshed after each change: a reader that opened the store before keeps seeing
the old, consistent table. An HDF5 file that a reader holds open cannot be opened for writing (HDF5's file
lock), so the append fails with that error instead.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, SimpleMultiContainer
from hdmf.container import Container

from ..coercion import ColumnSpec
from ..errors import ColumnError, ResultsFileError
from ..results_table import ResultsTable
from ..typemap import get_manager
from . import digest, policy
from .backend import Backend
from .build import ROOT_FLAG, check_distinct_names, size_bound, with_referenced
from .files import check_replaceable, check_room, move_into_place, temporary_sibling, unchanged_since
from .incomplete import COMPLETE_ROWS
from .plan import add_declared
from .registry import backend_for
from .writer import ResultsWriter

__all__ = ["add_column", "add_tables", "append_rows"]


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
    digest.record(target, chosen)  # content digests (io/digest.py): the new column's, read back from the file
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


def add_tables(
    tables: DynamicTable | Sequence[DynamicTable],
    path: str | os.PathLike[str],
    *,
    backend: str | None = None,
    preset: str | policy.Preset = policy.DEFAULT_PRESET,
    storage: Mapping[str, policy.Setting] | None = None,
) -> Path:
    """Add tables (results, evaluations, source tables) to an existing file: ``write(..., mode="a")``.

    The tables that the new ones point at (``samples``' source table, an evaluation's ResultsTables) are added
    too, unless the file already holds them: a table of the file read earlier (same object id), or a table equal
    to one of the file under the same name (same columns, same values), is used from the file instead. A table
    whose name the file already uses for different data is refused. The file is copied to a temporary sibling,
    the tables are added to the copy, and the copy replaces the file only when complete: if anything fails, the
    file stays as it was.
    """
    target = Path(path)
    chosen = backend_for(target, backend)
    wanted = [tables] if isinstance(tables, DynamicTable) else list(tables)
    if not wanted or not all(isinstance(t, DynamicTable) for t in wanted):
        raise TypeError("write() takes a DynamicTable (e.g. a ResultsTable) or a list of them")
    check_replaceable(target)
    with temporary_sibling(target) as tmp:
        still_as_copied = unchanged_since(target)
        if target.is_dir():
            shutil.copytree(target, tmp, symlinks=True)
        else:
            shutil.copyfile(target, tmp)
        manager = get_manager()
        chosen.load_cached_namespaces(tmp, manager.type_map)
        io = chosen.open_io(tmp, chosen.append_mode, manager)
        try:
            root = io.read()
            if not isinstance(root, SimpleMultiContainer):
                raise ResultsFileError(
                    target,
                    f"holds one {type(root).__name__} at its root, not a set of tables: write a new file instead",
                )
            setattr(root, ROOT_FLAG, True)  # a file's wrapper: the tables added may be written elsewhere after
            existing = {c.name: c for c in root.containers.values() if isinstance(c, DynamicTable)}
            added, same = _new_tables(wanted, existing, target)
            planned = policy.plan(_Tables(added), backend=chosen.name, preset=preset, storage=storage)
            if chosen.room_checked:  # the copy is there already: what the new tables add must fit beside it
                check_room(target, size_bound(_Tables(added), planned))
            with _pointing_at(added, same), _attached(added, root), policy.applied(planned, chosen):
                chosen.write(io, root)
                values = digest.planned_values(planned)  # content digests (io/digest.py): of the arrays written
        finally:
            io.close()
        lossy = policy.lossy_attributes(planned)
        lossy_attrs = {p: {policy.LOSSY_ATTRIBUTE: text} for p, text in lossy.items()}
        digest.record(tmp, chosen, values, extra=lossy_attrs)  # + the new tables' text, read from the copy
        chosen.refresh(tmp)
        still_as_copied()  # another writer's change meanwhile would be lost by the move: refuse instead
        move_into_place(tmp, target)
    return target


class _Tables:
    """Some tables, as the storage policy walks a file's root (``all_children``)."""

    def __init__(self, tables: list[DynamicTable]) -> None:
        self.tables = tables

    def all_children(self) -> list[Any]:
        return [child for table in self.tables for child in table.all_children()]


def _new_tables(
    wanted: list[DynamicTable], existing: Mapping[str, DynamicTable], target: Path
) -> tuple[list[DynamicTable], dict[int, DynamicTable]]:
    """The tables to add (``wanted`` and what they point at, targets first), and for each table the file
    holds already (by ``id()`` of the given object) the file's own."""
    added: list[DynamicTable] = []
    same: dict[int, DynamicTable] = {}
    for table in with_referenced(wanted):
        found = existing.get(table.name)
        if found is not None and (found.object_id == table.object_id or _equal_tables(found, table)):
            same[id(table)] = found
        elif found is not None:
            raise ValueError(
                f"{target} already holds a table named '{table.name}' with other contents; give the new one "
                "another name"
            )
        elif table.container_source is not None:
            raise ValueError(
                f"table '{table.name}' was read from {table.container_source}; a table can be added to another "
                "file only from memory: write it with the others to a new file (hdmf_ai.write([...], path))"
            )
        elif table.parent is not None:
            raise ValueError(f"table '{table.name}' belongs to {type(table.parent).__name__} '{table.parent.name}'")
        else:
            added.append(table)
    check_distinct_names(added)
    return added, same


def _equal_tables(a: DynamicTable, b: DynamicTable) -> bool:
    """Same column names, the same values in each column and the same ids (the file's table read in full)."""
    if tuple(a.colnames) != tuple(b.colnames) or len(a) != len(b):
        return False
    pairs = [(a.id, b.id)] + [(a[name], b[name]) for name in a.colnames]
    for x, y in pairs:
        if isinstance(x, DynamicTableRegion) != isinstance(y, DynamicTableRegion):
            return False
        try:
            if not np.array_equal(_values(x.data), _values(y.data)):
                return False
        except (TypeError, ValueError):
            return False
    return True


def _values(data: Any) -> np.ndarray:
    arr = np.asarray(data[:] if hasattr(data, "shape") else data)
    if arr.dtype.kind in "OS" and arr.size:
        arr = np.array([v.decode("utf-8") if isinstance(v, bytes) else v for v in arr.ravel()], dtype=object)
    return arr


@contextlib.contextmanager
def _attached(added: list[DynamicTable], root: SimpleMultiContainer) -> Iterator[None]:
    """The new tables in the file's root while it is written; detached again if the write fails, so the
    user's tables can go to a file again."""
    for table in added:
        root.add_container(table)
    try:
        yield
    except BaseException:
        for table in added:
            if table.parent is root:
                table.reset_parent()
        raise
    finally:
        for table in added:
            for child in table.all_children():
                # hdmf ties a container to the first file it is built for, with no public way back; what it
                # recorded here is the temporary copy's path: the user's tables stay free to go to any file
                setattr(child, "_AbstractContainer__container_source", None)  # noqa: B010


@contextlib.contextmanager
def _pointing_at(added: list[DynamicTable], same: Mapping[int, DynamicTable]) -> Iterator[None]:
    """While writing, the new tables point at the file's own copies of the tables it already holds; after, they
    point where the user's objects pointed before."""
    undo: list[Any] = []
    for table in added:
        for col in table.columns:
            if isinstance(col, DynamicTableRegion) and id(col.table) in same:
                before = col.table
                col.fields.pop("table")  # hdmf sets a region's table once; its setter re-checks the indices
                col.table = same[id(before)]
                undo.append((col, before))
            elif isinstance(col.data, list) and any(id(item) in same for item in col.data):
                before_list = list(col.data)
                col.data[:] = [same.get(id(item), item) for item in col.data]
                undo.append((col, before_list))
    try:
        yield
    finally:
        for col, before in reversed(undo):
            if isinstance(col, DynamicTableRegion):
                col.fields.pop("table")
                col.table = before
            else:
                col.data[:] = before
