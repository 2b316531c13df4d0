"""ResultsTables inside NWB files: next to the units, trials or electrodes their ``samples`` point at.

A ResultsTable is an ordinary ``DynamicTable`` to NWB, so it fits in ``nwbfile.analysis`` or in a
processing module. What NWB tools need besides is a TypeMap that knows both NWB ``core`` and ``hdmf-ai``
(:func:`get_type_map`, from :mod:`hdmf_ai.nwbtypes`, which also explains the ``hdmf-ai-nwb`` namespace).

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
import os
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hdmf.backends.io import HDMFIO
from hdmf.common import DynamicTable, DynamicTableRegion

from .errors import StorageError
from .io import digest, policy
from .io.build import other_data_bound, size_bound
from .io.files import check_replaceable, check_room, move_into_place, temporary_sibling
from .io.registry import backend_for
from .nwbtypes import (
    NWB_NAMESPACE,
    QUIET,
    get_manager,
    get_type_map,
    is_nwb_file,
    join_namespace,
    pynwb_module,
    spec_catalog,
)
from .results_table import ResultsTable

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
        for message in QUIET:
            warnings.filterwarnings("ignore", message=message)
        if mode in ("r", "r+", "a") and target.exists():
            chosen.load_cached_namespaces(target, manager.type_map)
        pynwb_module()  # says which extra to install
        io_cls = chosen.nwb_io_class(target, mode)
        return io_cls(path=str(target), mode=mode, manager=manager)


def read_nwb(path: str | os.PathLike[str], *, backend: str | None = None) -> NWBFile:
    """Read an NWB file lazily, with its ResultsTables as :class:`~hdmf_ai.ResultsTable`.

    As ``pynwb.read_nwb``, the file stays open for the data still on disk; close it with
    ``nwbfile.get_read_io().close()``, or use :func:`open_nwb`, which closes it at the end of a block.
    """
    io = nwb_io(path, "r", backend=backend)
    try:
        with warnings.catch_warnings():
            for message in QUIET:
                warnings.filterwarnings("ignore", message=message)
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
    nwbfile: NWBFile,
    path: str | os.PathLike[str],
    *,
    backend: str | None = None,
    overwrite: bool = False,
    preset: str | policy.Preset = policy.DEFAULT_PRESET,
    storage: Mapping[str, policy.Setting] | None = None,
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
    preset, storage
        The storage policy of the tables' numeric columns held in memory, as for :func:`hdmf_ai.write`
        (default ``"portable"``: chunked, gzip + shuffle on HDF5). Columns of a file the NWBFile was read from
        are copied as they are stored. Lossy settings are refused: an NWB file keeps the values as given.
    """
    target = Path(path)
    chosen = backend_for(target, backend)
    planned = policy.plan(nwbfile, backend=chosen.name, preset=preset, storage=storage)
    if lossy := policy.lossy_attributes(planned):
        raise StorageError(f"lossy storage is not written to NWB files; asked for {sorted(lossy)}")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    check_replaceable(target)
    source_io = nwbfile.get_read_io()
    if source_io is not None and Path(str(source_io.source)).resolve() == target.resolve():
        raise ValueError(f"{target} is the file this NWBFile was read from; write the copy to another path")
    # the temporary name keeps the suffix: pynwb warns about HDF5 files whose names do not end in .nwb
    with temporary_sibling(target, keep_suffix=True) as tmp:
        if chosen.room_checked:  # HDF5 crashes the process after a write that ran out of space (io/files.py)
            check_room(target, size_bound(nwbfile, planned) + other_data_bound(nwbfile))
        with warnings.catch_warnings():
            for message in QUIET:
                warnings.filterwarnings("ignore", message=message)
            with policy.applied(planned, chosen), nwb_io(tmp, "w", backend=chosen.name) as io:
                if source_io is None:
                    io.write(nwbfile)
                else:  # datasets of the source file are copied, not linked: the copy stands alone
                    io.export(src_io=source_io, nwbfile=nwbfile, write_args={"link_data": False})
        digest.record(tmp, chosen)  # content digests (io/digest.py) of every table's datasets, read from tmp
        move_into_place(tmp, target, replace=overwrite)
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
    pynwb = pynwb_module()
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
