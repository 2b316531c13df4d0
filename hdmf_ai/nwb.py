"""ResultsTables inside NWB files: next to the units, trials or electrodes their ``samples`` point at.

A ResultsTable is an ordinary ``DynamicTable`` to NWB, so it fits in ``nwbfile.analysis`` or in a
processing module. What NWB tools need besides is a TypeMap that knows both NWB ``core`` and ``hdmf-ai``:
:func:`get_type_map` builds one from pynwb's map and ours, fresh on every call, so neither the import
order of pynwb and hdmf_ai nor pynwb's pickled type-map cache (which holds whatever hdmf's global map had
when it was written, e.g. another ``hdmf-ai`` version) changes what is read or written.

The map also holds a namespace ``hdmf-ai-nwb`` that includes ``core`` and ``hdmf-ai`` and defines no
type. pynwb's validator (which nwbinspector runs) checks a file against each cached namespace that no
other includes; without it, it would check the NWBFile against ``hdmf-ai`` alone and fail.

pynwb is an optional extra (``pip install 'hdmf-ai[nwb]'``), imported when first needed.

Example::

    import hdmf_ai, hdmf_ai.nwb
    with hdmf_ai.nwb.open_nwb("session.nwb") as nwbfile:        # a file from elsewhere, read only
        rt = hdmf_ai.ResultsTable(name="unit_types", description="putative cell types")
        rt.add_samples(np.arange(len(nwbfile.units)), table=nwbfile.units)
        rt.add_predicted_class(...)
        hdmf_ai.nwb.add_to_nwbfile(nwbfile, rt)
        hdmf_ai.nwb.write_nwb(nwbfile, "session-with-results.nwb")  # a copy; the original is untouched
    hdmf_ai.read("session-with-results.nwb")                      # the ResultsTable, units joined
"""

from __future__ import annotations

import contextlib
import copy
import os
import uuid
import warnings
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import h5py
import zarr
from hdmf.backends.io import HDMFIO
from hdmf.build import BuildManager, TypeMap
from hdmf.common import DynamicTable, DynamicTableRegion
from hdmf.spec import NamespaceCatalog, SpecNamespace
from hdmf.spec.namespace import SpecReader

from .errors import MissingDependencyError
from .io.api import _move_into_place, _remove
from .io.backend import Backend, backend_for
from .results_table import ResultsTable
from .typemap import NAMESPACE, adopt
from .typemap import get_type_map as _hdmf_ai_type_map

if TYPE_CHECKING:
    from pynwb import NWBFile, ProcessingModule

__all__ = [
    "NWB_NAMESPACE",
    "add_to_nwbfile",
    "get_manager",
    "get_type_map",
    "is_nwb_file",
    "join_namespace",
    "nwb_io",
    "open_nwb",
    "read_nwb",
    "spec_catalog",
    "write_nwb",
]

CORE = "core"  # the NWB core namespace
NWB_NAMESPACE = "hdmf-ai-nwb"
_NWB_NAMESPACE_SPEC = {
    "name": NWB_NAMESPACE,
    "version": "0.3.0",  # moves with the hdmf-ai schema it includes
    "full_name": "hdmf-ai in NWB",
    "doc": "NWB core and hdmf-ai together: results tables of AI/ML models inside NWB files. Defines no types.",
    "author": ["hdmf-ai developers"],
    "contact": ["https://pypi.org/project/hdmf-ai/"],
    "schema": [{"namespace": CORE}, {"namespace": NAMESPACE}],
}
_QUIET = (
    # the versions of core, hdmf-common and hdmf-ai we load win over the ones a file caches, by design
    "Ignoring (the following )?cached namespace",
    # zarr 3 flags consolidated metadata as outside the v3 spec; hdmf-zarr relies on it by design
    "Consolidated metadata",
)


# -- the type map ----------------------------------------------------------------------------------------


def _pynwb() -> Any:
    try:
        import pynwb
    except ImportError as err:
        raise MissingDependencyError(
            "NWB files need pynwb, which is not installed: pip install 'hdmf-ai[nwb]'", name="pynwb"
        ) from err
    return pynwb


class _InMemoryNamespace(SpecReader):
    """Hands hdmf's catalog a namespace held in a dict: ``hdmf-ai-nwb`` has no files of its own."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        super().__init__(source="hdmf_ai.nwb")
        self._namespace = namespace

    def read_namespace(self, namespace_path: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(self._namespace)]

    def read_spec(self, spec_path: str) -> dict[str, Any]:
        raise FileNotFoundError(f"{NWB_NAMESPACE} has no schema files; asked for {spec_path}")


@cache
def _template() -> TypeMap:
    nwb_map = _pynwb().get_type_map()  # a copy of pynwb's: core, and whatever extensions the user loaded
    type_map = TypeMap(spec_catalog())
    # our namespaces first, so that a foreign 'hdmf-ai' in pynwb's map (e.g. from a type-map cache written
    # after another package loaded its version into hdmf's global map) is skipped, not merged over ours
    type_map.merge(_hdmf_ai_type_map(), ns_catalog=True)
    adopt(type_map, nwb_map)  # pynwb's namespaces, classes and mappers; ours win
    join_namespace(type_map)
    return type_map


def join_namespace(type_map: TypeMap) -> SpecNamespace:
    """The ``hdmf-ai-nwb`` namespace of ``type_map``, loaded first if missing (``core`` and ``hdmf-ai`` must
    be there): validators built on it know both NWB's types and ours, e.g. that Units is a DynamicTable."""
    if NWB_NAMESPACE not in type_map.namespace_catalog.namespaces:
        type_map.load_namespaces(f"{NWB_NAMESPACE}.namespace.yaml", reader=_InMemoryNamespace(_NWB_NAMESPACE_SPEC))
    return type_map.namespace_catalog.get_namespace(NWB_NAMESPACE)


def get_type_map() -> TypeMap:
    """A new TypeMap with NWB core (and the extensions pynwb has loaded), hdmf-common and hdmf-ai.

    Built from pynwb's map and hdmf-ai's when first needed, then copied: each call returns a map of
    its own, which reading a file may extend with the extensions cached in it.

    Raises
    ------
    MissingDependencyError
        pynwb is not installed.
    """
    _pynwb()  # cheap once imported; says which extra to install even when the template is cached
    return copy.deepcopy(_template())


def spec_catalog() -> NamespaceCatalog:
    """An empty NamespaceCatalog with pynwb's spec classes, which NWB's cached specs need to load."""
    _pynwb()
    from pynwb.spec import NWBDatasetSpec, NWBGroupSpec, NWBNamespace

    return NamespaceCatalog(NWBGroupSpec, NWBDatasetSpec, NWBNamespace, core_namespaces=[CORE])


def get_manager() -> BuildManager:
    """A BuildManager on a fresh :func:`get_type_map`, for ``NWBHDF5IO`` / ``NWBZarrIO`` (one per file)."""
    return BuildManager(get_type_map())


# -- files -----------------------------------------------------------------------------------------------


def is_nwb_file(path: str | os.PathLike[str], *, backend: str | None = None) -> bool:
    """Whether the root of the HDF5 file or Zarr store at ``path`` is an NWB ``core`` type (an NWBFile).

    Opens the file with h5py or zarr only (no pynwb); a file that cannot be opened is not NWB here,
    and the reader that tries next says why it cannot be opened.
    """
    source = Path(path)
    try:
        if backend_for(source, backend).name == "hdf5":
            with h5py.File(source, "r") as file:
                namespace = file.attrs.get("namespace")
        else:
            namespace = zarr.open_group(str(source), mode="r").attrs.get("namespace")
    except Exception:  # unreadable: not ours to diagnose here
        return False
    if isinstance(namespace, bytes):
        namespace = namespace.decode()
    return namespace == CORE


def _io_class(chosen: Backend, path: Path, mode: str) -> type[HDMFIO]:
    pynwb = _pynwb()
    if chosen.name == "hdf5":
        return pynwb.NWBHDF5IO
    from hdmf_zarr import is_zarr_v2_file
    from hdmf_zarr.nwb import NWBZarrIO

    if mode == "r" and is_zarr_v2_file(str(path)):  # written by hdmf-zarr < 0.14
        from hdmf_zarr.nwb_zarrv2 import NWBZarrV2IO

        return NWBZarrV2IO
    return NWBZarrIO


def nwb_io(path: str | os.PathLike[str], mode: str = "r", *, backend: str | None = None) -> HDMFIO:
    """An ``NWBHDF5IO`` (``.nwb``, ``.h5``) or ``NWBZarrIO`` (``.zarr``) on our type map.

    In read modes the extensions cached in the file are loaded first. Use it as pynwb's own IO classes:
    ``with nwb_io("session.nwb") as io: nwbfile = io.read()``.
    """
    target = Path(path)
    chosen = backend_for(target, backend)
    if mode == "r" and not target.exists():
        raise FileNotFoundError(f"no NWB file at {target}")
    manager = get_manager()
    with warnings.catch_warnings():
        for message in _QUIET:
            warnings.filterwarnings("ignore", message=message)
        if mode in ("r", "r+", "a") and target.exists():
            chosen.load_cached_namespaces(target, manager.type_map)
        io_cls = _io_class(chosen, target, mode)
        return io_cls(path=str(target), mode=mode, manager=manager)


def read_nwb(path: str | os.PathLike[str], *, backend: str | None = None) -> NWBFile:
    """Read an NWB file lazily, with its ResultsTables as :class:`~hdmf_ai.ResultsTable`.

    As ``pynwb.read_nwb``, the file stays open for the data still on disk; close it with
    ``nwbfile.get_read_io().close()``, or use :func:`open_nwb`, which closes it at the end of a block.
    """
    io = nwb_io(path, "r", backend=backend)
    try:
        return io.read()
    except BaseException:
        io.close()
        raise


@contextlib.contextmanager
def open_nwb(path: str | os.PathLike[str], *, backend: str | None = None) -> Iterator[NWBFile]:
    """Read an NWB file lazily (as :func:`read_nwb`); the file closes when the block ends."""
    nwbfile = read_nwb(path, backend=backend)
    try:
        yield nwbfile
    finally:
        nwbfile.get_read_io().close()


def write_nwb(
    nwbfile: NWBFile, path: str | os.PathLike[str], *, backend: str | None = None, overwrite: bool = False
) -> Path:
    """Write ``nwbfile`` to a new HDF5 (``.nwb``) or Zarr (``.zarr``) file, its namespaces cached.

    An NWBFile read from a file is exported (``NWBHDF5IO.export``): every object, the new ResultsTables
    among them, is copied into the new file and the file it came from is not changed. The file is
    written to a temporary sibling first and moved into place when complete, so a failed write leaves
    no partial file at ``path``.

    Parameters
    ----------
    nwbfile
        A new NWBFile, or one read with :func:`read_nwb` / :func:`open_nwb` (still open).
    path
        The file to write; the suffix picks the format unless ``backend`` is given.
    backend
        ``"hdf5"`` or ``"zarr"``.
    overwrite
        Replace an existing file at ``path``.
    """
    target = Path(path)
    chosen = backend_for(target, backend)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    source_io = nwbfile.get_read_io()
    if source_io is not None and Path(str(source_io.source)).resolve() == target.resolve():
        raise ValueError(f"{target} is the file this NWBFile was read from; write the copy to another path")
    # the temporary name keeps the suffix: pynwb warns about HDF5 files whose names do not end in .nwb
    tmp = target.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{target.name}")
    try:
        with warnings.catch_warnings():
            for message in _QUIET:
                warnings.filterwarnings("ignore", message=message)
            with nwb_io(tmp, "w", backend=chosen.name) as io:
                if source_io is None:
                    io.write(nwbfile)
                else:  # datasets of the source file are copied, not linked: the copy stands alone
                    io.export(src_io=source_io, nwbfile=nwbfile, write_args={"link_data": False})
        _move_into_place(tmp, target)
    finally:
        _remove(tmp)
    return target


# -- tables ----------------------------------------------------------------------------------------------


def add_to_nwbfile(
    nwbfile: NWBFile,
    table: ResultsTable,
    *,
    location: Literal["analysis"] | ProcessingModule = "analysis",
) -> ResultsTable:
    """Put ``table`` into ``nwbfile.analysis`` or a processing module of ``nwbfile``.

    The tables that ``table``'s regions (``samples``) point at must be in ``nwbfile`` (``nwbfile.units``,
    ``nwbfile.trials``, ``nwbfile.electrodes`` or any DynamicTable of the file); a source table in no
    file yet is added at the same location first.

    Parameters
    ----------
    nwbfile
        The NWB file, new or read with :func:`read_nwb`.
    table
        The results; its name must be free at ``location``.
    location
        ``"analysis"``, or a ``ProcessingModule`` of ``nwbfile``
        (``nwbfile.create_processing_module(name="ml", description="...")``).

    Returns
    -------
    ResultsTable
        ``table``, now a child of ``nwbfile``.
    """
    if not isinstance(table, ResultsTable):
        raise TypeError(f"add_to_nwbfile() takes a ResultsTable; got {type(table).__name__}")
    add = _adder(nwbfile, location)
    for column in table.columns:
        if isinstance(column, DynamicTableRegion) and column.table is not None:
            _place_source(nwbfile, table, column, add)
    add(table)
    return table


def _adder(nwbfile: NWBFile, location: Any) -> Any:
    pynwb = _pynwb()
    if isinstance(location, str) and location == "analysis":
        return nwbfile.add_analysis
    if isinstance(location, pynwb.ProcessingModule):
        if _root(location) is not nwbfile:
            raise ValueError(
                f"processing module '{location.name}' is not in this NWBFile; "
                "create it with nwbfile.create_processing_module(name=..., description=...)"
            )
        return location.add
    raise ValueError(
        f"location: expected 'analysis' or a ProcessingModule of the NWBFile; got {location!r} "
        f"({type(location).__name__})"
    )


def _place_source(nwbfile: NWBFile, table: ResultsTable, column: DynamicTableRegion, add: Any) -> None:
    source: DynamicTable = column.table
    home = _root(source)
    if home is nwbfile:
        return
    if source.parent is None:  # a source table of its own: it travels with the results
        add(source)
        return
    raise ValueError(
        f"column '{column.name}' of '{table.name}' points at table '{source.name}', which belongs to "
        f"{type(home).__name__} '{home.name}', not to this NWBFile; link to a table of this file "
        "(e.g. nwbfile.units, nwbfile.trials, nwbfile.electrodes)"
    )


def _root(container: Any) -> Any:
    while container.parent is not None:
        container = container.parent
    return container
