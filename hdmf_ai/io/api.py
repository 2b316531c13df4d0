"""``write``, ``read``, ``open`` and ``list_tables``: the public file API.

Every file holds a root ``SimpleMultiContainer`` named ``root`` (hdmf-zarr needs that name for object
references) with the results tables and the source tables their ``samples`` point at, so table names
survive the round trip. Files with a ResultsTable (or any container) at the root, as the reference
package writes them, read the same way.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import h5py
import numpy as np
import zarr
from hdmf.backends.io import HDMFIO
from hdmf.build import BuildManager, DatasetBuilder, GroupBuilder, TypeMap
from hdmf.common import DynamicTable, DynamicTableRegion, SimpleMultiContainer
from hdmf.container import AbstractContainer, Container
from hdmf.query import ContainerResolver
from hdmf.spec import NamespaceCatalog
from hdmf.validate import ValidatorMap

from ..errors import MissingDependencyError, ResultsFileError
from ..results_table import ResultsTable
from ..typemap import get_manager, get_type_map
from . import hdf5 as _hdf5  # noqa: F401  (registers the backend)
from . import policy
from . import remote as _remote
from . import safety as _safety
from . import writer as _writer
from . import zarr as _zarr  # noqa: F401  (registers the backend)
from .backend import Backend, backend_for

__all__ = ["TableInfo", "list_tables", "open", "read", "validate", "write"]

ROOT_NAME = "root"
_ROOT_FLAG = "_hdmf_ai_root"  # marks a file's root wrapper (written or read), so its tables can be written again


@dataclass(frozen=True)
class TableInfo:
    """What :func:`list_tables` reports of one table in a file."""

    name: str
    data_type: str
    n_rows: int
    colnames: tuple[str, ...]


# -- writing ---------------------------------------------------------------------------------------------


def write(
    tables: DynamicTable | Sequence[DynamicTable],
    path: str | os.PathLike[str],
    *,
    backend: str | None = None,
    overwrite: bool = False,
    preset: str | policy.Preset = policy.DEFAULT_PRESET,
    storage: Mapping[str, policy.Setting] | None = None,
) -> Path:
    """Write one or more tables to an HDF5 (``.h5``, ``.hdf5``, ``.nwb``) or Zarr (``.zarr``) file.

    The source tables that ``samples`` columns point at are written too, whether listed or not. The file
    is written to a temporary sibling and moved into place only when complete, so a failed write leaves
    any existing file untouched and no partial file behind.

    Parameters
    ----------
    tables
        A ResultsTable, or a list of tables (results and source tables) to store in one file.
    path
        Where to write; the suffix picks the format unless ``backend`` is given.
    backend
        ``"hdf5"`` or ``"zarr"``.
    overwrite
        Replace an existing file at ``path``; without it an existing path is an error.
    preset
        The storage preset (see :mod:`hdmf_ai.io.policy`): ``"portable"`` (default; gzip on HDF5),
        ``"fast"`` (Blosc-LZ4; HDF5 readers need ``hdf5plugin``), ``"compact"``, ``"compact-lossy"``
        or ``"uncompressed"``.
    storage
        Per-column overrides of the preset, by column name, e.g.
        ``{"predicted_probability": policy.lossy(quantize_bits=16)}``.

    Returns
    -------
    Path
        The path written.
    """
    target = Path(path)
    chosen = backend_for(target, backend)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    root = _root_container([tables] if isinstance(tables, DynamicTable) else list(tables))
    storing = cast(policy.StorageBackend, chosen)
    planned = policy.plan(root, backend=chosen.name, preset=preset, storage=storage)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with policy.applied(planned, storing), chosen.open_io(tmp, "w", _ExportingManager(get_type_map())) as io:
            chosen.write(io, root)
        lossy = policy.lossy_attributes(planned)
        storing.write_attributes(tmp, {path: {policy.LOSSY_ATTRIBUTE: text} for path, text in lossy.items()})
        _move_into_place(tmp, target)
    finally:
        _remove(tmp)
    return target


class _ExportingManager(BuildManager):
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


def _root_container(tables: list[DynamicTable]) -> SimpleMultiContainer:
    if not tables or not all(isinstance(t, DynamicTable) for t in tables):
        raise TypeError("write() takes a DynamicTable (e.g. a ResultsTable) or a list of them")
    # the tables that samples point at belong in the same file, and come first: hdmf warns when a
    # region's target is not yet in the file tree as the region joins it
    wanted: list[DynamicTable] = []

    def visit(table: DynamicTable) -> None:
        for col in table.columns:
            if isinstance(col, DynamicTableRegion) and col.table is not None:
                visit(col.table)
        if not any(t is table for t in wanted):
            wanted.append(table)

    for table in tables:
        visit(table)
    names = [t.name for t in wanted]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"tables in one file need distinct names; {duplicates} occur more than once")
    for table in wanted:
        parent = table.parent
        if getattr(parent, _ROOT_FLAG, False):
            table.reset_parent()  # written before: detach from that file's root
        elif parent is not None:
            raise ValueError(
                f"table '{table.name}' belongs to {type(parent).__name__} '{parent.name}'; "
                "write that container with its own IO (e.g. pynwb for an NWBFile)"
            )
    root = SimpleMultiContainer(name=ROOT_NAME, containers=wanted)
    setattr(root, _ROOT_FLAG, True)
    return root


def _move_into_place(tmp: Path, target: Path) -> None:
    if target.is_dir() and not target.is_symlink():  # a Zarr store cannot be replaced by rename alone
        old = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.old")
        os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


# -- reading ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _opened(
    path: str | os.PathLike[str], backend: str | None, storage_options: Mapping[str, Any] | None = None
) -> Iterator[tuple[HDMFIO, GroupBuilder]]:
    if _remote.is_url(path):  # s3://, https://: see remote.py
        url, options = str(path), storage_options
        with _remote.open_remote(url, backend=backend, manager=get_manager(), storage_options=options) as opened:
            yield opened[0], _read_builder(opened[0], url, opened[1])
        return
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(f"no results file at {source}")
    chosen = backend_for(source, backend)
    manager = _read_manager(source, chosen)
    try:
        io = _writer.open_for_reading(source, chosen, manager)  # also an HDF5 file a writer has open (SWMR)
    except (MissingDependencyError, ResultsFileError):
        raise  # the file is fine, and the message names what to install; or it names the file and the object
    except Exception as err:
        raise ResultsFileError(source, f"cannot be opened as {chosen.name}: {err}") from err
    try:
        # a table whose ResultsWriter has not finished shows its complete rows only
        yield io, _writer.trim_incomplete(_read_builder(io, source, chosen), source, chosen)
    finally:
        io.close()


def _read_manager(source: Path, chosen: Backend) -> BuildManager:
    """Our TypeMap; for an NWB file (its root an NWBFile), ours merged with pynwb's (imported only then)."""
    from .. import nwb  # pynwb itself is imported only for NWB files

    if nwb.is_nwb_file(source, backend=chosen.name):
        return nwb.get_manager()  # MissingDependencyError without pynwb, naming the extra
    return get_manager()


def _source(path: str | os.PathLike[str]) -> Path | str:
    """A local path as a Path; a URL as it is (``Path`` would fold its ``//``)."""
    return str(path) if _remote.is_url(path) else Path(path)


def _read_builder(io: HDMFIO, source: Path | str, chosen: Backend) -> GroupBuilder:
    try:
        return io.read_builder()
    except Exception as err:
        raise ResultsFileError(source, f"is not a readable {chosen.name} file of hdmf types: {err}") from err


def _relabel_namespaces(builder: GroupBuilder | DatasetBuilder, type_map: TypeMap) -> None:
    """Give every typed builder the namespace its class is registered under, as hdmf 6 writes it.

    hdmf 4 labels the hdmf-common types of a file whose extension includes hdmf-experimental (as the reference
    hdmf-ai 0.2.0 does) with ``namespace="hdmf-experimental"``. hdmf gives each child a parent Proxy from the
    parent builder's label, which then never matches the constructed parent (labelled "hdmf-common"): the
    children stay orphans and ``all_children()`` of the root finds none of the tables.
    """
    namespace, data_type = builder.attributes.get("namespace"), type_map.get_builder_dt(builder)
    if isinstance(namespace, str) and isinstance(data_type, str):
        try:
            home, _ = type_map.get_container_cls_dt(type_map.get_dt_container_cls(data_type, namespace))
        except Exception:  # an unknown namespace or type: construct reports it
            home = None
        if home is not None and home != namespace:
            builder.attributes["namespace"] = home
    if isinstance(builder, GroupBuilder):
        for child in (*builder.groups.values(), *builder.datasets.values()):
            _relabel_namespaces(child, type_map)


def _construct(io: HDMFIO, builder: GroupBuilder, source: Path | str) -> AbstractContainer:
    _relabel_namespaces(builder, io.manager.type_map)
    _safety.check_table_lengths(builder, source)
    try:
        root = io.manager.construct(builder)
    except Exception as err:
        raise ResultsFileError(source, f"holds data that do not fit the hdmf-ai schema: {err}") from err
    if isinstance(root, SimpleMultiContainer):
        setattr(root, _ROOT_FLAG, True)  # only a file's wrapper: its tables may be written elsewhere
    return root


def _results_tables(root: AbstractContainer) -> list[ResultsTable]:
    if isinstance(root, ResultsTable):
        return [root]
    if isinstance(root, Container):
        return [c for c in root.all_children() if isinstance(c, ResultsTable)]
    return []


def _pick(root: AbstractContainer, table: str | None, source: Path | str) -> ResultsTable:
    found = _results_tables(root)
    names = sorted(t.name for t in found)
    if not found:
        raise ResultsFileError(source, "holds no ResultsTable")
    if table is not None:
        for candidate in found:
            if candidate.name == table:
                return candidate
        raise KeyError(f"{source} has no ResultsTable named {table!r}; it has {names}")
    if len(found) > 1:
        raise ValueError(f"{source} holds {len(found)} ResultsTables {names}; pass table=<name> to pick one")
    return found[0]


def _load_into_memory(builder: GroupBuilder | DatasetBuilder, budget: _safety.ReadBudget) -> None:
    """Replace every on-disk dataset under ``builder`` by a numpy copy, before anything is constructed.

    Each dataset is charged to ``budget`` by its declared shape before it is read, so a file that declares
    more than fits in memory is refused instead of exhausting it; read errors name the dataset.
    """
    if isinstance(builder, DatasetBuilder):
        data = builder.data
        if isinstance(data, (h5py.Dataset, zarr.Array, _writer.RowLimited)):  # StrDataset is an h5py.Dataset
            name = str(getattr(data, "name", None) or builder.name)
            budget.charge(data, name)
            if isinstance(data, h5py.Dataset):  # a damaged chunk index can make HDF5 allocate gigabytes
                _safety.check_chunk_index(data, budget.source)
            try:
                builder["data"] = _to_numpy(data)
            except ResultsFileError:
                raise
            except Exception as err:  # a damaged chunk: h5py's OSError, a codec's error
                raise ResultsFileError(budget.source, f"dataset '{name}' cannot be read: {err}") from err
        return
    for child in (*builder.groups.values(), *builder.datasets.values()):
        _load_into_memory(child, budget)


def _parts_to_load(builder: GroupBuilder, manager: BuildManager) -> list[GroupBuilder]:
    """What :func:`read` copies into memory: the whole file, or, of an NWB file (which may hold hours of
    recordings), only its ResultsTables and the tables their regions point at, transitively."""
    if builder.attributes.get("namespace") != "core":
        return [builder]
    wanted: list[GroupBuilder] = []

    def visit(group: GroupBuilder) -> None:
        if any(group is seen for seen in wanted):
            return
        wanted.append(group)
        for dataset in group.datasets.values():
            target = dataset.attributes.get("table")  # a DynamicTableRegion's table (resolved, or a reference)
            target = getattr(target, "builder", target)
            if isinstance(target, GroupBuilder):
                visit(target)

    for results in _results_builders(builder, manager):
        visit(results)
    return wanted


def _results_builders(builder: GroupBuilder, manager: BuildManager) -> list[GroupBuilder]:
    """The groups under ``builder`` whose type is ResultsTable or a subtype of it."""
    found, stack = [], [builder]
    while stack:
        group = stack.pop()
        if manager.get_builder_dt(group) is not None and manager.is_sub_data_type(group, "ResultsTable"):
            found.append(group)
        else:
            stack.extend(reversed(group.groups.values()))
    return found


def _resolve_references(table: DynamicTable, done: list[DynamicTable] | None = None) -> None:
    """Turn object-reference columns (e.g. the ``group`` of NWB's electrodes) into lists of containers
    while the file is open: their references cannot be followed once it is closed."""
    done = [] if done is None else done
    if any(table is seen for seen in done):
        return
    done.append(table)
    for column in table.columns:
        if isinstance(column.data, ContainerResolver):
            column.transform(lambda data: list(data[:]))
        if isinstance(column, DynamicTableRegion) and column.table is not None:
            _resolve_references(column.table, done)


def _to_numpy(data: Any) -> np.ndarray:
    arr = np.asarray(data[()] if getattr(data, "shape", None) == () else data[:])
    if arr.dtype.kind == "O" and arr.size and isinstance(arr.flat[0], bytes):
        arr = np.array([b.decode("utf-8") for b in arr.ravel()], dtype=object).reshape(arr.shape)
    return arr


def read(
    path: str | os.PathLike[str],
    *,
    table: str | None = None,
    backend: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> ResultsTable:
    """Read a ResultsTable fully into memory (numpy arrays); the file is closed on return.

    Parameters
    ----------
    path
        An HDF5 or Zarr file written by hdmf-ai (any version) or another HDMF writer; or its URL
        (``s3://bucket/key``, ``https://...``; needs the ``remote`` extra).
    table
        The name of the ResultsTable to read, when the file holds several.
    backend
        ``"hdf5"`` or ``"zarr"``, when the suffix does not tell.
    storage_options
        For URLs: fsspec's options, e.g. ``{"endpoint_url": ...}`` for an S3-compatible store,
        ``{"profile": ...}`` or ``{"anon": True}`` (see :mod:`hdmf_ai.io.remote`).
    """
    source = _source(path)
    with _opened(source, backend, storage_options) as (io, builder):
        budget = _safety.ReadBudget(source)
        for part in _parts_to_load(builder, io.manager):
            _load_into_memory(part, budget)
        picked = _pick(_construct(io, builder, source), table, source)
        _resolve_references(picked)
        return picked


@contextlib.contextmanager
def open(  # noqa: A001  (the public name mirrors the builtin on purpose: hdmf_ai.open)
    path: str | os.PathLike[str],
    *,
    table: str | None = None,
    backend: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> Iterator[ResultsTable]:
    """Open a ResultsTable lazily: columns stay on disk (or remote: only the chunks sliced are fetched).

    The file closes with the block. ``path`` may be a URL; ``storage_options`` as for :func:`read`.

    Example: ``with hdmf_ai.open("results.zarr") as rt: first = rt["predicted_class"].data[:100]``
    """
    source = _source(path)
    with _opened(source, backend, storage_options) as (io, builder):
        yield _pick(_construct(io, builder, source), table, source)


def list_tables(
    path: str | os.PathLike[str], *, backend: str | None = None, storage_options: Mapping[str, Any] | None = None
) -> list[TableInfo]:
    """The tables (results and source) a file holds, with their types, row counts and columns.

    ``path`` may be a URL (only metadata is fetched); ``storage_options`` as for :func:`read`.
    """
    source = _source(path)
    with _opened(source, backend, storage_options) as (io, builder):
        root = _construct(io, builder, source)
        found: Iterable[Any] = root.all_children() if isinstance(root, Container) else [root]
        type_map = io.manager.type_map  # pynwb's classes say 'DynamicTable' for Units & co.: ask the map
        return [
            TableInfo(t.name, type_map.get_container_cls_dt(type(t))[1] or t.data_type, len(t), tuple(t.colnames))
            for t in found
            if isinstance(t, DynamicTable)
        ]


def validate(path: str | os.PathLike[str], *, backend: str | None = None, namespace: str = "hdmf-ai") -> list[str]:
    """Validate a file against the schema cached inside it; returns the problems found (empty when valid).

    Only the cached spec is used, as a reader without hdmf-ai would: a file that validates here is
    self-describing. A file without a cached ``namespace`` is reported as such.
    """
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(f"no results file at {source}")
    chosen = backend_for(source, backend)
    from .. import nwb

    nwb_file = nwb.is_nwb_file(source, backend=chosen.name)
    type_map = TypeMap(nwb.spec_catalog() if nwb_file else NamespaceCatalog())  # NWB specs need pynwb's classes
    try:
        chosen.load_cached_namespaces(source, type_map)
    except Exception as err:
        raise ResultsFileError(source, f"has no readable cached specification: {err}") from err
    if namespace not in type_map.namespace_catalog.namespaces:
        return [f"no cached specification of namespace {namespace!r} in {source}"]
    spec = type_map.namespace_catalog.get_namespace(namespace)
    # in an NWB file, ResultsTables link to NWB types (samples -> Units): check them knowing both namespaces
    validator = ValidatorMap(nwb.join_namespace(type_map) if nwb_file else spec)
    io = chosen.open_io(source, "r", BuildManager(type_map))
    try:
        root = _read_builder(io, source, chosen)
        # a namespace without NWB's types (hdmf-ai) checks the ResultsTables of an NWB file, not the NWBFile
        whole = not nwb_file or io.manager.get_builder_dt(root) in spec.catalog.get_registered_types()
        parts = [root] if whole else _results_builders(root, io.manager)
        return [str(problem) for part in parts for problem in validator.validate(part)]
    finally:
        io.close()
