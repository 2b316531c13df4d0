"""What every write builds on: a root container holding the tables, and a manager that builds anew.

Every file holds a root ``SimpleMultiContainer`` named ``root`` (hdmf-zarr needs that name for object
references) with the results tables and the source tables their ``samples`` point at, so table names
survive the round trip.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hdmf.build import BuildManager
from hdmf.common import DynamicTable, DynamicTableRegion, SimpleMultiContainer
from hdmf.query import ContainerResolver

from . import guarded
from .policy import Planned

__all__ = [
    "ROOT_FLAG",
    "ROOT_NAME",
    "ExportingManager",
    "check_distinct_names",
    "other_data_bound",
    "referenced_tables",
    "root_container",
    "size_bound",
    "with_referenced",
]

ROOT_NAME = "root"
ROOT_FLAG = "_hdmf_ai_root"  # marks a file's root wrapper (written or read), so its tables can be written again
#: room for what is not the tables' data (cached specifications, object headers): a file of one tiny table
#: takes ~41 KB, most of it the specifications
_FIXED_BYTES = 2**20
_CONTAINER_BYTES = 8 * 2**10  # an object header, its attributes and links, for every container of an NWB file


class ExportingManager(BuildManager):
    """Builds every container anew, as hdmf's export does.

    hdmf ties an in-memory container to the first file it is written to and refuses to write it to a
    second; writing results to ``.h5`` and then to ``.zarr`` is ordinary use here, so every write builds
    the whole tree afresh for the file at hand.
    """

    def build(
        self,
        container: Any,
        source: str | None = None,
        matched_spec: Any = None,
        export: bool = False,
        root: bool = False,
    ) -> Any:
        # only the root build enters export mode: each build called with export=True leaves it on return
        return super().build(container, source=source, matched_spec=matched_spec, export=export or root, root=root)


def root_container(tables: list[DynamicTable]) -> SimpleMultiContainer:
    """The root of a new file: ``tables`` and, before them, every table their regions point at."""
    if not tables or not all(isinstance(t, DynamicTable) for t in tables):
        raise TypeError("write() takes a DynamicTable (e.g. a ResultsTable) or a list of them")
    wanted = with_referenced(tables)
    check_distinct_names(wanted)
    guarded.load_tables(wanted)  # a table opened lazily: its values read, and checked, before they are written
    for table in wanted:
        parent = table.parent
        if getattr(parent, ROOT_FLAG, False):
            table.reset_parent()  # written before: detach from that file's root
        elif parent is not None:
            raise ValueError(
                f"table '{table.name}' belongs to {type(parent).__name__} '{parent.name}'; "
                "write that container with its own IO (e.g. pynwb for an NWBFile)"
            )
    root = SimpleMultiContainer(name=ROOT_NAME, containers=wanted)
    setattr(root, ROOT_FLAG, True)
    return root


def with_referenced(tables: list[DynamicTable]) -> list[DynamicTable]:
    """``tables`` and every table they point at (:func:`referenced_tables`, transitively), each once, targets
    first: hdmf warns when a region's target is not yet in the file tree as the region joins it."""
    ordered: list[DynamicTable] = []

    def visit(table: DynamicTable) -> None:
        for other in referenced_tables(table):
            visit(other)
        if not any(t is table for t in ordered):
            ordered.append(table)

    for table in tables:
        visit(table)
    return ordered


def check_distinct_names(tables: list[DynamicTable]) -> None:
    """Refuse tables that would share a name in one file."""
    names = [t.name for t in tables]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"tables in one file need distinct names; {duplicates} occur more than once")


def referenced_tables(table: DynamicTable) -> list[DynamicTable]:
    """The tables ``table`` points at: the targets of its regions (``samples``) and the tables held by its
    columns of object references (``EvaluationTable.results_tables``), each once, in order."""
    found: list[DynamicTable] = []
    for col in table.columns:
        if isinstance(col, DynamicTableRegion):
            items: list[object] = [] if col.table is None else [col.table]
        elif isinstance(col.data, ContainerResolver):  # read from a file: the references resolve to containers
            items = list(col.data[:])
        elif isinstance(col.data, list | tuple):
            items = list(col.data)
        else:
            continue
        for item in items:
            if isinstance(item, DynamicTable) and not any(item is t for t in found):
                found.append(item)
    return found


def size_bound(root: Any, planned: list[Planned]) -> int:
    """The most bytes a file of ``root``'s tables can take: every numeric column uncompressed plus one chunk of
    padding, every other column's items as text with their heap overhead, and the fixed part of a file."""
    total = _FIXED_BYTES
    numeric = {id(item.column) for item in planned}
    for item in planned:
        chunk = item.setting.chunk_shape(item.data.shape, item.data.dtype.itemsize)
        total += item.data.nbytes + int(np.prod(chunk)) * item.data.dtype.itemsize
    for table in (c for c in root.all_children() if isinstance(c, DynamicTable)):
        for col in (*table.columns, table.id):
            if id(col) in numeric:
                continue
            data = col.data
            if isinstance(data, np.ndarray) and data.dtype.kind not in "OUS":
                total += data.nbytes
            elif isinstance(data, list | tuple | np.ndarray):
                total += sum(64 + _text_bytes(v) for v in data)
            else:  # on disk (a table read from another file): its stored size
                total += int(getattr(data, "nbytes", 0) or 0)
    return total


def other_data_bound(root: Any) -> int:
    """The most bytes the datasets of ``root``'s containers other than table columns can take (an NWB file's
    TimeSeries, electrodes' groups...), uncompressed, plus a few KiB of metadata per container: what
    :func:`size_bound` adds up for a whole NWB file."""
    from hdmf.container import Data
    from hdmf.data_utils import DataIO

    total = 0
    for obj in root.all_children():
        if isinstance(obj, Data) and isinstance(obj.parent, DynamicTable):
            continue  # a table's column: counted by size_bound
        total += _CONTAINER_BYTES
        for value in getattr(obj, "fields", {}).values():
            value = value.data if isinstance(value, DataIO) else value
            if isinstance(value, np.ndarray):
                total += value.nbytes if value.dtype.kind not in "OUS" else sum(64 + _text_bytes(v) for v in value.flat)
            elif isinstance(value, list | tuple) and value and not hasattr(value[0], "fields"):
                total += sum(64 + _text_bytes(v) for v in value)
            elif hasattr(value, "nbytes") and hasattr(value, "shape"):  # on disk (h5py, zarr): its stored size
                total += int(value.nbytes)
    return total


def _text_bytes(value: Any) -> int:
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    return len(value) if isinstance(value, bytes) else 16  # a number or an object reference
