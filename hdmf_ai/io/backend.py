"""What every storage backend provides, and the registry that picks one for a path.

A :class:`Backend` is everything format-specific, in one place: opening a file with hdmf (locally, remotely,
as NWB), the storage policy's DataIO for a column, attributes, growable datasets and the :class:`Sink` that
fills them, appending, and the raw view (h5py or zarr) of a file's groups. Code outside ``hdf5.py`` and
``zarr.py`` asks its backend; it never tests the backend's name. :mod:`.registry` picks one for a path.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from hdmf.backends.io import HDMFIO
from hdmf.build import BuildManager, GroupBuilder, TypeMap
from hdmf.container import Container

from ..typemap import get_manager
from .policy import Setting

__all__ = ["V2_FALLBACK", "Backend", "RawTree", "Sink"]

#: zarr 3 cannot open the vlen-bytes arrays (fill_value 0) that hdmf-zarr <= 0.13 wrote, e.g. an NWBFile's
#: session_start_time; hdmf-zarr's v2 reader decodes them from the raw chunks and warns that it did, for every
#: such array of every store, which is not news here. Entries it cannot read at all still warn ("Skipping").
V2_FALLBACK = "Read .* via zarr v2 store fallback"  # here, not in zarr.py: nwbtypes needs it without zarr


@dataclass(frozen=True)
class RawTree:
    """A file opened with h5py or zarr alone (no hdmf): its top-level groups, any group, and references.

    Groups and datasets of both libraries answer ``attrs``, ``[name]``, ``in``, ``shape`` and ``dtype`` alike.
    """

    groups: Callable[[], Iterable[tuple[str, Any]]]  # (name, group) of the root's child groups
    group: Callable[[str], Any]  # the group at a path
    deref: Callable[[Any], Any]  # the object a stored object reference points at


class Sink(ABC):
    """Row ranges of a table's datasets, written directly (h5py or zarr) into a skeleton hdmf made.

    The table's group carries the progress attributes while the sink is open (see :mod:`.incomplete`).
    """

    datasets: dict[str, Any]

    def capacity(self) -> int:
        """Rows allocated (every dataset has as many)."""
        return int(self.datasets["id"].shape[0])

    def unit(self, name: str) -> int:
        """Rows per stored object of dataset ``name``: the shard on Zarr, else the chunk."""
        dataset = self.datasets[name]
        chunks = getattr(dataset, "shards", None) or dataset.chunks
        return int(chunks[0]) if chunks else 1

    def write(self, name: str, start: int, data: np.ndarray) -> None:
        """Store ``data`` as rows ``start:start+len(data)`` of dataset ``name``."""
        self.datasets[name][start : start + len(data)] = data

    @abstractmethod
    def resize(self, rows: int) -> None:
        """Allocate (or trim to) ``rows`` rows in every dataset."""

    @abstractmethod
    def commit(self, complete: int) -> None:
        """Record that the first ``complete`` rows are on disk in every dataset (after the data)."""

    @abstractmethod
    def close(self) -> None:
        """Release the file, leaving the progress attributes: the table stays resumable."""

    @abstractmethod
    def finish(self, attributes: Mapping[str, Mapping[str, Any]]) -> None:
        """Close, remove the progress attributes and set final ``attributes`` (dataset -> name -> value)."""


class Backend(ABC):
    """One storage format: how hdmf reads and writes it, and which path suffixes name it."""

    name: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]
    #: hdmf's IO mode that changes an existing file
    append_mode: ClassVar[str]
    #: the format's library cannot survive running out of space mid-write (HDF5 crashes the process as the file
    #: closes): the writers check the room for the file's largest possible size first (``files.check_room``)
    room_checked: ClassVar[bool] = False

    # -- hdmf IO ----------------------------------------------------------------------------------------

    @abstractmethod
    def open_io(self, path: Path, mode: str, manager: BuildManager) -> HDMFIO:
        """An hdmf IO object on ``path`` in ``mode`` ('r', 'w' or :attr:`append_mode`)."""

    def open_reader(self, path: Path, manager: BuildManager | None = None) -> HDMFIO:
        """A reader on ``path`` with its cached namespaces loaded into ``manager`` (also a file being written).

        ``manager`` None: one on hdmf-ai's own TypeMap (:func:`~hdmf_ai.typemap.get_manager`); a backend may
        share that map between files of one cached schema (:func:`~hdmf_ai.typemap.schema_type_map`).
        """
        manager = get_manager() if manager is None else manager
        self.load_cached_namespaces(path, manager.type_map)
        return self.open_io(path, "r", manager)

    @abstractmethod
    def open_remote(
        self, url: str, options: Mapping[str, Any], manager: BuildManager, stack: contextlib.ExitStack
    ) -> HDMFIO:
        """A reader on ``url`` (fsspec ``options``) with its cached namespaces loaded; ``stack`` closes handles."""

    def write(self, io: HDMFIO, root: Container) -> None:
        """Write ``root`` with its namespaces cached; data read from other files are copied, not linked."""
        io.write(root, cache_spec=True, link_data=False)

    def write_skeleton(self, path: Path, root: Container, manager: BuildManager) -> None:
        """Write ``root``, whose columns are empty and growable, for a :class:`Sink` to fill."""
        with self.open_io(path, "w", manager) as io:
            self.write(io, root)

    @abstractmethod
    def load_cached_namespaces(self, path: Path, type_map: TypeMap) -> None:
        """Load the namespaces cached in the file that ``type_map`` does not know yet (extensions)."""

    def unreadable(self, path: Path) -> str | None:
        """Why the local ``path`` is not a file of this format at all, in a user's words; None when it may be."""
        return None

    @abstractmethod
    def cached_namespaces(self, path: Path) -> dict[str, str]:
        """The namespaces cached in the file and their (newest) versions; empty when none."""

    def refresh(self, path: Path) -> None:  # noqa: B027  (a no-op where the format needs nothing)
        """Make changes made outside hdmf visible to hdmf's reader (Zarr: consolidated metadata)."""

    # -- storage policy ---------------------------------------------------------------------------------

    @abstractmethod
    def data_io(
        self, data: np.ndarray, setting: Setting, path: str, *, growable: bool = False
    ) -> tuple[type[Any], dict[str, Any]]:
        """The DataIO class and its arguments that store ``data`` as ``setting`` says (``growable``: by rows)."""

    @abstractmethod
    def write_attributes(self, path: Path, attributes: Mapping[str, Mapping[str, Any]]) -> None:
        """Add ``attributes`` (dataset path -> name -> value) to the datasets of a written file."""

    @abstractmethod
    def storage_of(self, dataset: Any) -> tuple[Any, tuple[str, ...], int | None] | None:
        """Chunks, codec names and stored bytes of one of this format's datasets; None for another object."""

    # -- raw access -------------------------------------------------------------------------------------

    @abstractmethod
    def open_sink(self, path: Path, table: str, names: list[str], progress: Mapping[str, int]) -> Sink:
        """A :class:`Sink` on datasets ``names`` of ``table``, with the progress attributes set."""

    @abstractmethod
    def raw_tree(self, path: Path) -> contextlib.AbstractContextManager[RawTree]:
        """The file read-only with h5py or zarr alone: nothing is loaded."""

    @abstractmethod
    def root_attribute(self, path: Path, key: str) -> Any:
        """An attribute of the file's root group, read with h5py or zarr (bytes decoded); None if absent."""

    def root_attributes(self, path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
        """Several attributes of the root, as :meth:`root_attribute` reads each (a backend may open the file once)."""
        return {key: self.root_attribute(path, key) for key in keys}

    def current_attributes(self, source: Path | str, group: GroupBuilder) -> Mapping[str, Any]:
        """A group's attributes as they are on disk now (a reader's view may be older)."""
        attributes: Mapping[str, Any] = group.attributes
        return attributes

    @abstractmethod
    def nwb_io_class(self, path: Path, mode: str) -> type[HDMFIO]:
        """pynwb's (or hdmf-zarr's) NWB IO class for this format."""
