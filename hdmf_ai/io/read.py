"""``read``, ``open``, ``list_tables`` and ``validate``: reading results files, local or remote.

Files with a root ``SimpleMultiContainer`` (as :func:`hdmf_ai.write` makes them), with a ResultsTable (or any
container) at the root, as the reference package writes them, and NWB files read the same way. Reading is
defensive (:mod:`.safety`): a damaged or hostile file is a :class:`~hdmf_ai.errors.ResultsFileError`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from hdmf.backends.io import HDMFIO
from hdmf.build import BuildManager, DatasetBuilder, GroupBuilder, TypeMap
from hdmf.common import DynamicTable, DynamicTableRegion, SimpleMultiContainer
from hdmf.container import AbstractContainer, Container
from hdmf.query import ContainerResolver
from hdmf.spec import NamespaceCatalog
from hdmf.validate import ValidatorMap

from .. import invariants, nwbtypes
from ..errors import IncompleteTableWarning, MissingDependencyError, ResultsFileError
from ..evaluation import EvaluationTable
from ..results_table import ResultsTable
from ..typemap import get_manager
from . import digest, guarded, h5chunks, remote, safety
from .backend import Backend
from .build import ROOT_FLAG
from .incomplete import RowLimited, trim_incomplete
from .registry import backend_for

__all__ = ["TableInfo", "list_tables", "open", "read", "read_evaluations", "validate"]


@dataclass(frozen=True)
class TableInfo:
    """What :func:`list_tables` reports of one table in a file."""

    name: str
    data_type: str
    n_rows: int
    colnames: tuple[str, ...]


# -- reading ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _opened(
    path: str | os.PathLike[str], backend: str | None, storage_options: Mapping[str, Any] | None = None
) -> Iterator[tuple[HDMFIO, GroupBuilder]]:
    if remote.is_url(path):  # s3://, https://: see remote.py
        url = str(path)
        with _open_remote(url, backend=backend, manager=get_manager(), storage_options=storage_options) as opened:
            yield opened[0], _read_builder(opened[0], url, opened[1])
        return
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(f"no results file at {source}")
    chosen = backend_for(source, backend)
    root = _check_hdmf_file(source, chosen)
    manager = _read_manager(root)
    try:
        io = chosen.open_reader(source, manager)  # also an HDF5 file a writer has open (SWMR)
    except (MissingDependencyError, ResultsFileError):
        raise  # the file is fine, and the message names what to install; or it names the file and the object
    except Exception as err:
        raise ResultsFileError(source, f"cannot be opened as {chosen.name}: {err}") from err
    try:
        # a table whose ResultsWriter has not finished shows its complete rows only
        yield io, trim_incomplete(_read_builder(io, source, chosen), source, chosen)
    finally:
        io.close()


@contextlib.contextmanager
def _open_remote(
    url: str, *, backend: str | None, manager: BuildManager, storage_options: Mapping[str, Any] | None = None
) -> Iterator[tuple[HDMFIO, Backend]]:
    """An hdmf IO object reading ``url``, with the file's cached namespaces loaded into ``manager``.

    Raises FileNotFoundError when nothing is at ``url`` and :class:`ResultsFileError` when it cannot be read.
    """
    chosen = backend_for(remote.url_path(url), backend)
    options = remote.resolve_options(url, storage_options)
    with contextlib.ExitStack() as stack:
        try:
            io = chosen.open_remote(url, options, manager, stack)
        except (ResultsFileError, MissingDependencyError, FileNotFoundError):
            raise
        except PermissionError as err:
            raise ResultsFileError(
                url, f"access denied ({err}); give credentials (environment, profile or storage_options)"
            ) from err
        except Exception as err:
            raise ResultsFileError(url, f"cannot be opened as {chosen.name}: {err}") from err
        try:
            yield io, chosen
        finally:
            io.close()


NOT_HDMF = "not an HDMF file (no cached specification / no data_type at its root)"


def _check_hdmf_file(source: Path, chosen: Backend) -> dict[str, Any]:
    """Refuse, in a user's words, what is not a file of ``chosen``'s format, or is one but not of hdmf types.

    Returns the root's ``data_type`` and ``namespace`` attributes (empty when they cannot be read), which tell
    an NWB file too: one small read, and listing the cached specs (which costs more on Zarr) only without them.
    """
    problem = chosen.unreadable(source)
    root: dict[str, Any] = {}
    if problem is None:
        try:
            root = chosen.root_attributes(source, ("data_type", "namespace"))
            typed = root["data_type"] is not None
        except Exception:  # the root cannot be read: the reader says why, naming the object
            typed = True
        problem = None if typed or chosen.cached_namespaces(source) else NOT_HDMF
    if problem is not None:
        raise ResultsFileError(source, problem)
    return root


def _read_manager(root: Mapping[str, Any]) -> BuildManager | None:
    """For an NWB file (its root an NWBFile), our TypeMap merged with pynwb's (imported only then); else None:
    the backend's reader takes ours, made once per cached schema (``typemap.schema_type_map``)."""
    if nwbtypes.is_nwb_root(root.get("namespace")):
        return nwbtypes.get_manager()  # MissingDependencyError without pynwb, naming the extra
    return None


def _source(path: str | os.PathLike[str]) -> Path | str:
    """A local path as a Path; a URL as it is (``Path`` would fold its ``//``)."""
    return str(path) if remote.is_url(path) else Path(path)


def _read_builder(io: HDMFIO, source: Path | str, chosen: Backend) -> GroupBuilder:
    try:
        return io.read_builder()
    except Exception as err:
        raise ResultsFileError(source, f"is not a readable {chosen.name} file of hdmf types: {err}") from err


#: TypeMap -> (namespace, data_type) -> the namespace its class is registered under (see _relabel_namespaces)
_HOMES: weakref.WeakKeyDictionary[TypeMap, dict[tuple[Any, Any], Any]] = weakref.WeakKeyDictionary()


def _relabel_namespaces(
    builder: GroupBuilder | DatasetBuilder, type_map: TypeMap, homes: dict[tuple[Any, Any], Any] | None = None
) -> None:
    """Give every typed builder the namespace its class is registered under, as hdmf 6 writes it.

    hdmf 4 labels the hdmf-common types of a file whose extension includes hdmf-experimental (as the reference
    hdmf-ai 0.2.0 does) with ``namespace="hdmf-experimental"``. hdmf gives each child a parent Proxy from the
    parent builder's label, which then never matches the constructed parent (labelled "hdmf-common"): the
    children stay orphans and ``all_children()`` of the root finds none of the tables. ``homes`` remembers the
    answer for each (namespace, data_type) met, per TypeMap (files of one schema share one).
    """
    homes = _HOMES.setdefault(type_map, {}) if homes is None else homes
    namespace, stored = builder.attributes.get("namespace"), builder.attributes.get("data_type")
    if isinstance(namespace, str) and stored is not None:
        key = (namespace, stored if isinstance(stored, str | bytes) else repr(stored))
        if key not in homes:
            homes[key] = _home(builder, namespace, type_map)
        home = homes[key]
        if home is not None and home != namespace:
            builder.attributes["namespace"] = home
    if isinstance(builder, GroupBuilder):
        for child in (*builder.groups.values(), *builder.datasets.values()):
            _relabel_namespaces(child, type_map, homes)


def _home(builder: GroupBuilder | DatasetBuilder, namespace: str, type_map: TypeMap) -> Any:
    """The namespace ``builder``'s class is registered under; None when unknown (construct reports it)."""
    data_type = type_map.get_builder_dt(builder)
    if not isinstance(data_type, str):
        return None
    try:
        home, _ = type_map.get_container_cls_dt(type_map.get_dt_container_cls(data_type, namespace))
    except Exception:  # an unknown namespace or type: construct reports it
        return None
    return home


def _text_problems(builder: GroupBuilder) -> list[str]:
    """The tables whose text attributes (their description, colnames, metadata; their columns' descriptions;
    which datasets carry a content digest) differ from those written (:data:`.digest.TEXT_ATTRIBUTE`); tables
    without the digest are not checked, unless their datasets record digests (the text digest was removed)."""
    found: list[str] = []
    stack = [builder]
    while stack:
        group = stack.pop()
        stack.extend(group.groups.values())
        datasets = {name: dataset.attributes for name, dataset in group.datasets.items()}
        recorded = digest.recorded_text(group.attributes, digest.TEXT_ATTRIBUTE)
        if recorded is None:
            removed = digest.undigested_table(group.attributes, datasets)
            if removed is not None:
                found.append(f"table '{group.name}': {removed}")
            continue
        rows = {name: digest.row_count(dataset.data) for name, dataset in group.datasets.items()}
        actual = digest.text_digest(group.attributes, datasets, rows)
        if actual != recorded:
            found.append(
                f"table '{group.name}': the text of its attributes (descriptions, column names, metadata; which "
                f"datasets carry a content digest, their row counts) differs from that written (text digest "
                f"{recorded} recorded, {actual} read)"
            )
    return found


def _construct(
    io: HDMFIO, builder: GroupBuilder, source: Path | str, text: list[str] | None = None
) -> AbstractContainer:
    """The containers of ``builder``. Text attributes that differ from their digest are refused, or, with
    ``text`` given, added to it (``read`` and ``validate`` name a broken rule first)."""
    changed = _text_problems(builder)  # first: namespaces are relabelled below
    if changed and text is None:
        raise ResultsFileError(source, changed[0])
    if text is not None:
        text += changed
    _relabel_namespaces(builder, io.manager.type_map)
    safety.check_table_lengths(builder, source)
    try:
        root = io.manager.construct(builder)
    except Exception as err:
        raise ResultsFileError(source, f"holds data that do not fit the hdmf-ai schema: {_without_dump(err)}") from err
    if isinstance(root, SimpleMultiContainer):
        setattr(root, ROOT_FLAG, True)  # only a file's wrapper: its tables may be written elsewhere
    return root


def _without_dump(err: Exception) -> str:
    """hdmf's construct errors carry the whole builder (every attribute and array): name the object instead."""
    if len(err.args) == 2 and isinstance(err.args[0], (GroupBuilder, DatasetBuilder)):
        return f"'{err.args[0].path}': {err.args[1]}"
    return str(err)


def _results_tables(root: AbstractContainer) -> list[ResultsTable]:
    return _tables_of(ResultsTable, root)


def _tables_of[T](kind: type[T], root: AbstractContainer) -> list[T]:
    if isinstance(root, kind):
        return [root]
    if isinstance(root, Container):
        return [c for c in root.all_children() if isinstance(c, kind)]
    return []


def _pick(root: AbstractContainer, table: str | None, source: Path | str) -> ResultsTable:
    return _pick_of(ResultsTable, root, table, source)


def _pick_of[T](kind: type[T], root: AbstractContainer, table: str | None, source: Path | str) -> T:
    found = _tables_of(kind, root)
    names = sorted(str(getattr(t, "name", "")) for t in found)
    what = kind.__name__
    if not found:
        raise ResultsFileError(source, f"holds no {what}")
    if table is not None:
        for candidate in found:
            if getattr(candidate, "name", None) == table:
                return candidate
        raise KeyError(f"{source} has no {what} named {table!r}; it has {names}")
    if len(found) > 1:
        raise ValueError(f"{source} holds {len(found)} {what}s {names}; pass table=<name> to pick one")
    return found[0]


def _load_into_memory(builder: GroupBuilder | DatasetBuilder, budget: safety.ReadBudget) -> None:
    """Replace every on-disk dataset under ``builder`` by a numpy copy, before anything is constructed.

    Each dataset is charged to ``budget`` by its declared shape before it is read, so a file that declares
    more than fits in memory is refused instead of exhausting it; read errors name the dataset.
    """
    if isinstance(builder, DatasetBuilder):
        data = builder.data
        if isinstance(data, (h5py.Dataset, RowLimited)) or _is_zarr_array(data):  # StrDataset: an h5py.Dataset
            name = str(getattr(data, "name", None) or builder.name)
            budget.charge(data, name)
            if isinstance(data, h5py.Dataset):  # a damaged chunk index can make HDF5 allocate gigabytes
                safety.check_chunk_index(data, budget.source)
            try:
                builder["data"] = _to_numpy(data)
            except ResultsFileError:
                raise
            except Exception as err:  # a damaged chunk: h5py's OSError, a codec's error
                raise ResultsFileError(budget.source, f"dataset '{name}' cannot be read: {err}") from err
        return
    for child in (*builder.groups.values(), *builder.datasets.values()):
        _load_into_memory(child, budget)


def _is_zarr_array(data: Any) -> bool:
    """Whether ``data`` is a zarr array; without importing zarr (a process that never imported it holds none)."""
    zarr = sys.modules.get("zarr")
    return zarr is not None and isinstance(data, zarr.Array)


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
    arr = h5chunks.read_rows(data, slice(None))  # compressed HDF5 chunks decoded on every core
    if arr is None:
        if isinstance(data, h5py.Dataset) and data.shape:  # HDF5 decodes: refuse chunks marked unfiltered first
            h5chunks.check_filter_masks(data, 0, int(data.shape[0]))
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
    verify: bool = True,
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
    verify
        Check the values read against the content digests recorded when they were written, and the text of
        the tables' attributes against theirs (default; see ``hdmf_ai.io.digest``): a mismatch is a
        ResultsFileError naming the dataset or the table. Files without digests read as they are.
    """
    source = _source(path)
    with _opened(source, backend, storage_options) as (io, builder):
        text: list[str] = []
        picked = _pick(_constructed_in_memory(io, builder, source, text), table, source)
        _refuse_broken_rules(picked, source)  # first: it names the rule a damaged value breaks
        if verify and text:  # the text digest (io/digest.py): descriptions, colnames, metadata changed
            raise ResultsFileError(source, text[0])
        if verify:  # content digests (io/digest.py): values changed since they were written are an error
            digest.verify_table(picked, source=source, manager=io.manager)
        _resolve_references(picked)
        return picked


def read_evaluations(
    path: str | os.PathLike[str],
    *,
    table: str | None = None,
    backend: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> EvaluationTable:
    """Read an EvaluationTable fully into memory, with the ResultsTables its rows refer to.

    Parameters are those of :func:`read`; ``table`` names the EvaluationTable when the file holds several.
    ``to_records()`` / ``to_frame()`` on the result give the rows, each naming its ResultsTables.
    """
    source = _source(path)
    with _opened(source, backend, storage_options) as (io, builder):
        picked = _pick_of(EvaluationTable, _constructed_in_memory(io, builder, source), table, source)
        _resolve_references(picked)
        return picked


def _refuse_broken_rules(table: ResultsTable, source: Path | str, broken: list[str] | None = None) -> None:
    """The rules the writer enforces, held to on read: damaged values are an error, not other numbers."""
    broken = invariants.problems(table) if broken is None else broken
    if broken:
        more = f" (and {len(broken) - 1} more: hdmf_ai.validate lists them)" if len(broken) > 1 else ""
        raise ResultsFileError(source, f"table '{table.name}' breaks the hdmf-ai rules: {broken[0]}{more}")


def _schema_problems(validator: ValidatorMap, builder: GroupBuilder) -> list[Any]:
    """hdmf's validator on ``builder``; its own failure on a damaged file (a reference to an untyped object
    raises a TypeError inside it) is a problem of the file, named."""
    try:
        return list(validator.validate(builder))
    except Exception as err:
        return [f"{builder.path}: the schema validator cannot check it ({type(err).__name__}: {err})"]


def _rule_problems(source: Path, backend: str | None, notes: list[str] | None = None) -> list[str]:
    """What :mod:`hdmf_ai.invariants` finds in every ResultsTable of a file (read into memory for it), and
    what differs from the content digests (:mod:`.digest`)."""
    found: list[str] = []
    try:
        with warnings.catch_warnings():  # validate's schema pass has said so already, once
            warnings.filterwarnings("ignore", category=IncompleteTableWarning)
            with _opened(source, backend) as (io, builder):
                text: list[str] = []
                tables = _results_tables(_constructed_in_memory(io, builder, source, text))
                for table in tables:
                    found += [f"table '{table.name}': {problem}" for problem in invariants.problems(table)]
                found += text
                changed, checked = digest.problems(tables, io.manager, blocks=True)  # content digests (io/digest.py)
                found += changed
                if not checked and notes is not None:
                    notes.append(f"{source}: no content digests (written by another writer or an older version)")
    except ResultsFileError as err:  # the values cannot even be read into their containers: that is the problem
        found.append(str(err))
    return found


def _constructed_in_memory(
    io: HDMFIO, builder: GroupBuilder, source: Path | str, text: list[str] | None = None
) -> AbstractContainer:
    """What :func:`read` copies into memory (within the read budget), then constructed (``text``: as for
    :func:`_construct`)."""
    budget = safety.ReadBudget(source)
    for part in _parts_to_load(builder, io.manager):
        _load_into_memory(part, budget)
    return _construct(io, builder, source, text)


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

    Every read of a column's data (``rt["loss"].data[:10]``, ``rt["loss"][:10]``, ``rt[:10]``, a ragged
    column, ``rt.column(name).read()``, the source table through ``samples``) returns the values written,
    checked against the content digests block by block, or raises a ResultsFileError naming the file and the
    dataset (``hdmf_ai.io.guarded``).

    Example: ``with hdmf_ai.open("results.zarr") as rt: first = rt["predicted_class"].data[:100]``
    """
    source = _source(path)
    with _opened(source, backend, storage_options) as (io, builder):
        picked = _pick(_construct(io, builder, source), table, source)
        _refuse_broken_rules(picked, source, invariants.metadata_problems(picked))  # attributes and links
        guarded.guard_tables([picked], source)  # every read checked against the digests, every error typed
        yield picked


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


def validate(
    path: str | os.PathLike[str],
    *,
    backend: str | None = None,
    namespace: str = "hdmf-ai",
    notes: list[str] | None = None,
) -> list[str]:
    """Validate a file against the schema cached inside it; returns the problems found (empty when valid).

    Only the cached spec is used, as a reader without hdmf-ai would: a file that validates here is
    self-describing. A file without a cached ``namespace`` is reported as such. Then every ResultsTable is read
    and held to the rules the writer enforces (:mod:`hdmf_ai.invariants`): codes within their classes and
    elements, probabilities in [0, 1], unique ids, folds below ``n_splits``, and so on. Of a table whose
    writer did not finish, the complete rows are checked (with an :class:`~hdmf_ai.errors.IncompleteTableWarning`).
    Values that differ from the content digests recorded at write time are problems naming the dataset; a
    file without digests is not a problem, and is said so in ``notes`` when a list is given.

    A file that cannot be opened as a tree of groups and datasets at all (a damaged superblock, object header
    or chunk index, Zarr metadata that disagree with their consolidated copy, a link out of the file) raises
    :class:`~hdmf_ai.errors.ResultsFileError` naming the file and the object, as ``read`` does: there is
    nothing to list problems of.
    """
    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(f"no results file at {source}")
    chosen = backend_for(source, backend)
    _check_hdmf_file(source, chosen)
    nwb_file = nwbtypes.is_nwb_file(source, backend=chosen.name)
    type_map = TypeMap(nwbtypes.spec_catalog() if nwb_file else NamespaceCatalog())  # NWB specs need pynwb's classes
    try:
        chosen.load_cached_namespaces(source, type_map)
    except Exception as err:
        raise ResultsFileError(source, f"has no readable cached specification: {err}") from err
    if namespace not in type_map.namespace_catalog.namespaces:
        return [f"no cached specification of namespace {namespace!r} in {source}"]
    spec = type_map.namespace_catalog.get_namespace(namespace)
    # in an NWB file, ResultsTables link to NWB types (samples -> Units): check them knowing both namespaces
    validator = ValidatorMap(nwbtypes.join_namespace(type_map) if nwb_file else spec)
    io = chosen.open_reader(source, BuildManager(type_map))  # also a file a writer has open, or had (SWMR)
    try:
        # an unfinished table: its complete rows are checked, with an IncompleteTableWarning saying so
        root = trim_incomplete(_read_builder(io, source, chosen), source, chosen)
        # a namespace without NWB's types (hdmf-ai) checks the ResultsTables of an NWB file, not the NWBFile
        whole = not nwb_file or io.manager.get_builder_dt(root) in spec.catalog.get_registered_types()
        parts = [root] if whole else _results_builders(root, io.manager)
        schema_problems = [str(problem) for part in parts for problem in _schema_problems(validator, part)]
    finally:
        io.close()
    return schema_problems + _rule_problems(source, backend, notes)
