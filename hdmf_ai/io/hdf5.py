"""The HDF5 backend, through hdmf's ``HDF5IO`` (h5py); the batched writer's rows through h5py in SWMR mode.

Crash safety of the batched writer: its HDF5 files are written in SWMR mode (single writer, multiple readers),
in which HDF5 orders its metadata writes so that the file is consistent at every moment; readers may open it
while it is written. A writer that was killed leaves the superblock's "open for writing" flags set, which
:func:`clear_swmr_flags` clears (as ``h5clear -s``) before the file is written again.
"""

from __future__ import annotations

import contextlib
import hashlib
import struct
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import h5py
import numpy as np
from hdmf.backends.hdf5 import HDF5IO, H5DataIO
from hdmf.backends.io import HDMFIO
from hdmf.build import BuildManager, TypeMap
from hdmf.container import Container

from ..errors import MissingDependencyError, ResultsFileError, StorageError
from ..typemap import load_cached, schema_type_map
from . import h5chunks
from .backend import Backend, RawTree, Sink
from .incomplete import COMPLETE_ROWS, TARGET_ROWS
from .policy import LZ4, Blosc, Delta, Gzip, Setting, Shuffle, Zstd
from .safety import check_hdf5, not_a_regular_file

__all__ = ["FilledH5DataIO", "HDF5Backend", "HDF5Sink", "clear_swmr_flags", "spec_digest", "swmr_flags_set"]

# HDF5 filters outside the library that hdf5plugin registers: id -> name (from the HDF5 filter registry)
PLUGIN_FILTERS = {32001: "blosc", 32004: "lz4", 32008: "bitshuffle", 32015: "zstd", 32026: "blosc2"}
PLUGIN_HINT = "pip install hdf5plugin (or the hdmf-ai[fast] extra)"


class HDF5Backend(Backend):
    name = "hdf5"
    suffixes = (".h5", ".hdf5", ".nwb")
    append_mode = "a"
    room_checked = True

    def open_io(self, path: Path, mode: str, manager: BuildManager) -> HDF5IO:
        if mode == "r":
            file, filters = _checked_file(path, source=path)
            return _reader(path, file, filters, manager)
        if mode == "w":
            # the HDF5 1.8 format: its object headers carry checksums, so a damaged header is an error on read,
            # not a crash (HDF5 2.0 segfaults on an attribute name whose NUL was flipped in the older, unchecked
            # format; found by tests/fuzz). Not 1.10: its v2 B-trees, when damaged, crashed or hung HDF5 2.0 in
            # 4 of 100 random flips, against none for 1.8 (tests/test_reliability.py's corpus).
            # metadata gathered in 64 KiB blocks, apart from the chunks that io/h5chunks.py allocates at once
            # in write order: a lazy remote reader's slice then does not continue the reads of opening
            # (remfile grows its fetches on sequential reads; tests/test_remote.py)
            file = h5py.File(path, "w", libver=("v108", "v108"), meta_block_size=64 * 1024)
            return HDF5IO(path=str(path), file=file, mode=mode, manager=manager)
        return HDF5IO(path=str(path), mode=mode, manager=manager)

    def open_reader(self, path: Path, manager: BuildManager | None = None) -> HDMFIO:
        """Opened once: checked (:func:`~.safety.check_hdf5`, whose walk also finds the plugin filters used),
        its cached namespaces loaded (``manager`` None: our map for its cached schema, made once per process),
        then read by hdmf. Also a file a batched writer has open, or had when it was killed: read as a SWMR
        reader, which sees its last flushed state (an ordinary reader is refused with "file is already open")."""
        file, filters = _checked_file(path, source=path)
        try:
            if manager is None:
                type_map = schema_type_map(
                    spec_digest(file), lambda tm: HDF5IO.load_namespaces(tm, file=file), source=file.filename
                )
                manager = BuildManager(type_map)
            else:
                load_namespaces(file, manager.type_map)
        except BaseException:
            file.close()
            raise
        return _reader(path, file, filters, manager)

    def open_remote(
        self, url: str, options: Mapping[str, Any], manager: BuildManager, stack: contextlib.ExitStack
    ) -> HDMFIO:
        from .remote import hdf5_handle

        handle = hdf5_handle(url, options)
        stack.callback(handle.close)
        try:
            file = checked_file(handle, source=url)
        except (ResultsFileError, PermissionError):
            raise
        except Exception as err:
            raise ResultsFileError(url, f"is not a readable HDF5 file: {err}") from err
        stack.callback(file.close)
        load_namespaces(file, manager.type_map)
        return HDF5IO(file=file, mode="r", manager=manager)

    def write_skeleton(self, path: Path, root: Container, manager: BuildManager) -> None:
        # the newest file format: SWMR mode (crash-consistent writes) needs it
        file = h5py.File(path, "w", libver="latest")
        with HDF5IO(path=str(path), file=file, mode="w", manager=manager) as io:
            self.write(io, root)
        file.close()

    def load_cached_namespaces(self, path: Path, type_map: TypeMap) -> None:
        with checked_file(path, source=path) as file:
            load_namespaces(file, type_map)

    def unreadable(self, path: Path) -> str | None:
        if (problem := not_a_regular_file(path)) is not None:  # a FIFO would block, a device never end
            return problem.replace("a file", "an HDF5 file")
        return None if h5py.is_hdf5(str(path)) else "not an HDF5 file (no HDF5 signature)"

    def cached_namespaces(self, path: Path) -> dict[str, str]:
        try:
            with h5py.File(path, "r", swmr=swmr_flags_set(path)) as file:
                return dict(HDF5IO.get_namespaces(file=file))
        except (OSError, KeyError, ValueError):  # nothing cached, or not where hdmf keeps it
            return {}

    # -- storage policy --------------------------------------------------------------------------------

    def data_io(
        self, data: np.ndarray, setting: Setting, path: str, *, growable: bool = False
    ) -> tuple[type[H5DataIO], dict[str, Any]]:
        kwargs: dict[str, Any] = {"chunks": setting.chunk_shape(data.shape, data.dtype.itemsize)}
        kwargs.update(_filters(setting, path))
        kwargs["fletcher32"] = True  # a checksum of every chunk: a flipped byte is an error, not another number
        if growable:
            kwargs["maxshape"] = (None, *data.shape[1:])
            return H5DataIO, kwargs
        # shuffle and deflate are encoded on every core (h5chunks); plugin filters stay with HDF5
        by_hand = all(isinstance(c, (Shuffle, Gzip)) for c in setting.codecs) and data.size > 0
        return (FilledH5DataIO if by_hand else H5DataIO), kwargs

    def write_attributes(self, path: Path, attributes: Mapping[str, Mapping[str, Any]]) -> None:
        if not attributes:
            return
        with h5py.File(path, "r+") as f:
            for dataset, attrs in attributes.items():
                f[dataset].attrs.update(attrs)

    def storage_of(self, dataset: Any) -> tuple[Any, tuple[str, ...], int | None] | None:
        if not isinstance(dataset, h5py.Dataset):
            return None
        plist = dataset.id.get_create_plist()
        codecs = tuple(plist.get_filter(i)[3].decode() for i in range(plist.get_nfilters()))
        return dataset.chunks, codecs, int(dataset.id.get_storage_size())

    # -- raw access ------------------------------------------------------------------------------------

    def open_sink(self, path: Path, table: str, names: list[str], progress: Mapping[str, int]) -> Sink:
        return HDF5Sink(path, table, names, progress)

    @contextlib.contextmanager
    def raw_tree(self, path: Path) -> Iterator[RawTree]:
        with h5py.File(path, "r", swmr=swmr_flags_set(path)) as f:
            yield RawTree(groups=f.items, group=lambda name: f[name], deref=lambda ref: f[ref])

    def root_attribute(self, path: Path, key: str) -> Any:
        return self.root_attributes(path, (key,))[key]

    def root_attributes(self, path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
        with h5py.File(path, "r", swmr=swmr_flags_set(path)) as file:
            values = {key: file.attrs.get(key) for key in keys}
        return {key: value.decode() if isinstance(value, bytes) else value for key, value in values.items()}

    def nwb_io_class(self, path: Path, mode: str) -> type[HDMFIO]:
        from pynwb import NWBHDF5IO

        io_class: type[HDMFIO] = NWBHDF5IO
        return io_class


class FilledH5DataIO(H5DataIO):  # type: ignore[misc]  # hdmf is untyped
    """An ``H5DataIO`` whose dataset hdmf creates empty and that then fills it, chunks encoded on every core.

    hdmf hands the dataset it created for a DataIO without data back to it (``dataset``); this class writes its
    values there at once with :func:`.h5chunks.write_rows`, while the file is open and before hdmf writes the
    dataset's attributes, so ``write`` and ``write_nwb`` store the same bytes HDF5's own filters would.
    """

    def __init__(self, data: np.ndarray, **kwargs: Any) -> None:
        # resizable by rows, as hdmf makes every column and id it writes from data (its ``expandable``)
        kwargs.setdefault("maxshape", (None,) * data.ndim)
        super().__init__(shape=data.shape, dtype=data.dtype, **kwargs)
        self.values = data

    def __bool__(self) -> bool:
        # hdmf asks whether a column holds anything (a table of only empty columns stores no colnames)
        return len(self.values) > 0

    @property
    def dataset(self) -> h5py.Dataset | None:
        found: h5py.Dataset | None = H5DataIO.dataset.fget(self)
        return found

    @dataset.setter
    def dataset(self, dataset: h5py.Dataset) -> None:
        H5DataIO.dataset.fset(self, dataset)
        if not h5chunks.write_rows(dataset, 0, self.values):
            dataset[...] = self.values


def checked_file(target: str | Path | IO[bytes], *, source: object) -> h5py.File:
    """``target`` (a path or a file object) opened read-only, refused when it points outside itself."""
    return _checked_file(target, source=source)[0]


def _checked_file(target: str | Path | IO[bytes], *, source: object) -> tuple[h5py.File, set[int]]:
    """:func:`checked_file`, and the plugin filters its datasets use."""
    # a file a writer has open, or had when it was killed, opens only as a SWMR reader (its last flushed state)
    swmr = not hasattr(target, "read") and swmr_flags_set(Path(str(target)))
    file = h5py.File(target, "r", swmr=swmr)
    try:
        filters = check_hdf5(file, source)  # before hdmf follows any link
    except BaseException:
        file.close()
        raise
    return file, filters


def _reader(path: Path, file: h5py.File, filters: set[int], manager: BuildManager) -> HDF5IO:
    """hdmf's reader on a checked ``file``, once every filter it uses can be decoded here."""
    try:
        require_filters(path, filters)
    except BaseException:
        file.close()
        raise
    return HDF5IO(path=str(path), file=file, mode="r", manager=manager)


def spec_digest(file: h5py.File) -> str:
    """A hash of the schema cached in ``file``: every namespace, version and spec document under the group its
    ``.specloc`` names (where hdmf loads them from), by name and text; ``"none"`` when nothing is cached.

    Two files share a digest only if hdmf would load the same specs from both (see ``typemap.schema_type_map``).
    """
    location = file.attrs.get(".specloc")
    if location is None:
        return "none"
    digest = hashlib.sha256()

    def add(*parts: bytes) -> None:
        for part in parts:
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)

    specs = file[location]
    if not isinstance(specs, h5py.Group):
        return "?"
    documents = _spec_documents(specs)
    if documents is not None:  # the usual layout, read with low-level calls (this runs on every open)
        for name, text in documents:
            add(*name.split(b"/"), text)
        return digest.hexdigest()
    for namespace, versions in specs.items():
        if not isinstance(versions, h5py.Group):
            add(b"?", namespace.encode())
            continue
        for version, group in versions.items():
            if not isinstance(group, h5py.Group):
                add(b"?", namespace.encode(), version.encode())
                continue
            for name, document in group.items():
                value = document[()] if isinstance(document, h5py.Dataset) else b"?"
                text = value if isinstance(value, bytes) else str(value).encode()
                add(namespace.encode(), version.encode(), name.encode(), text)
    return digest.hexdigest()


def load_namespaces(file: h5py.File, type_map: TypeMap) -> None:
    """Load the namespaces cached in an open file that ``type_map`` does not know yet (see ``load_cached``)."""
    load_cached(lambda: HDF5IO.load_namespaces(type_map, file=file), source=file.filename)


def _filters(setting: Setting, path: str) -> dict[str, Any]:
    """h5py's filter arguments for a codec chain: an optional byte shuffle, then at most one compressor."""
    codecs = list(setting.codecs)
    shuffle = bool(codecs) and isinstance(codecs[0], Shuffle)
    rest = codecs[1:] if shuffle else codecs
    if any(isinstance(c, Delta) for c in codecs):
        raise StorageError(
            f"column '{path}': HDF5 has no delta filter; expected a chain without Delta for HDF5 "
            f"(e.g. Blosc('zstd', 5, 'bit')); got {setting.codecs}"
        )
    if len(rest) > 1 or any(isinstance(c, Shuffle) for c in rest):
        raise StorageError(
            f"column '{path}': HDF5 takes an optional Shuffle() then one compressor; got {setting.codecs}"
        )
    kwargs: dict[str, Any] = {"shuffle": True} if shuffle else {}
    if not rest:
        return kwargs
    codec = rest[0]
    if isinstance(codec, Gzip):
        return {**kwargs, "compression": "gzip", "compression_opts": codec.level}
    plugin = _plugin(path)
    if isinstance(codec, Zstd):
        spec = plugin.Zstd(clevel=codec.level)
    elif isinstance(codec, LZ4):
        spec = plugin.LZ4()
    elif isinstance(codec, Blosc):
        mode = {"none": plugin.Blosc.NOSHUFFLE, "byte": plugin.Blosc.SHUFFLE, "bit": plugin.Blosc.BITSHUFFLE}
        spec = plugin.Blosc(cname=codec.cname, clevel=codec.level, shuffle=mode[codec.shuffle])
    else:  # pragma: no cover - Setting admits no other codec
        raise StorageError(f"column '{path}': no HDF5 filter for {codec}")
    return {**kwargs, **dict(spec), "allow_plugin_filters": True}


def _plugin(path: str) -> Any:
    try:
        import hdf5plugin
    except ImportError:
        raise MissingDependencyError(
            f"column '{path}': this storage setting uses an HDF5 filter plugin; {PLUGIN_HINT}"
        ) from None
    return hdf5plugin


def _spec_documents(specs: h5py.Group) -> list[tuple[bytes, bytes]] | None:
    """(``namespace/version/name``, text) of every spec document under ``specs``, in name order; None unless
    the layout is plain: hard links only, groups two deep, scalar string datasets at the third level."""
    names: list[bytes] = []
    plain = True

    def visit(name: bytes, info: Any) -> bool | None:
        nonlocal plain
        if info.type != h5py.h5l.TYPE_HARD:
            plain = False
            return True  # stops the walk
        names.append(name)
        return None

    specs.id.links.visit(visit, info=True)
    if not plain:
        return None
    found = []
    for name in names:
        obj = h5py.h5o.open(specs.id, name)
        depth = name.count(b"/")
        if depth < 2:
            if not isinstance(obj, h5py.h5g.GroupID):
                return None
            continue
        if depth > 2 or not isinstance(obj, h5py.h5d.DatasetID) or obj.shape != ():
            return None
        value = np.empty((), dtype=obj.dtype)
        obj.read(h5py.h5s.ALL, h5py.h5s.ALL, value)
        text = value[()]
        found.append((name, text if isinstance(text, bytes) else str(text).encode()))
    return found


def require_filters(path: Path, needed: set[int] | None = None) -> None:
    """Make sure every filter the file's datasets use (``needed``: found by ``check_hdf5``'s walk, or looked for
    here) can be decoded here, loading hdf5plugin if needed.

    Without this a missing plugin shows up only when a column is sliced, as HDF5's "can't open directory"
    or "required filter is not registered", which names neither the filter nor what to install.
    """
    if needed is None:
        try:
            needed = _plugin_filters_used(path)
        except OSError:
            return  # not an HDF5 file: opening it reports that
    missing = {fid for fid in needed if not h5py.h5z.filter_avail(fid)}
    if missing:
        try:
            import hdf5plugin  # noqa: F401  (importing registers its filters with HDF5)
        except ImportError:
            names = ", ".join(f"{PLUGIN_FILTERS.get(f, 'filter')} ({f})" for f in sorted(missing))
            raise MissingDependencyError(
                f"{path}: its datasets are compressed with HDF5 plugin filters {names}; to read it, {PLUGIN_HINT}"
            ) from None


def _plugin_filters_used(path: Path) -> set[int]:
    found: set[int] = set()

    def visit(_: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            plist = obj.id.get_create_plist()
            for i in range(plist.get_nfilters()):
                fid = plist.get_filter(i)[0]
                if fid >= 256:  # ids below 256 are HDF5's own filters
                    found.add(fid)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


# -- the batched writer's sink -----------------------------------------------------------------------------


class HDF5Sink(Sink):
    """Rows written with h5py into the skeleton's resizable datasets, in SWMR mode where the format allows."""

    def __init__(self, path: Path, table: str, names: list[str], progress: Mapping[str, int]) -> None:
        self.path, self.table = path, table
        clear_swmr_flags(path)  # left set by a writer that was killed
        self.file = h5py.File(path, "r+", libver="latest")
        group = self.file[table]
        for key, value in progress.items():  # attributes can be changed, not added, in SWMR mode
            group.attrs[key] = value
        self.attrs = group.attrs
        self.datasets = {name: group[name] for name in names}
        try:
            self.file.swmr_mode = True
        except (ValueError, RuntimeError, OSError):
            # a file written by hdmf_ai.write has the default (oldest) file format, which SWMR needs newer
            self.file.flush()

    def write(self, name: str, start: int, data: np.ndarray) -> None:
        dataset = self.datasets[name]
        if not h5chunks.write_rows(dataset, start, data):
            dataset[start : start + len(data)] = data

    def resize(self, rows: int) -> None:
        for dataset in self.datasets.values():
            dataset.resize(rows, axis=0)

    def commit(self, complete: int) -> None:
        self.file.flush()  # the data first: the count never runs ahead of what is on disk
        self.attrs[COMPLETE_ROWS] = complete
        self.file.flush()

    def close(self) -> None:
        if self.file.id.valid:
            self.file.close()

    def finish(self, attributes: Mapping[str, Mapping[str, Any]]) -> None:
        self.close()
        with h5py.File(self.path, "r+") as f:
            group = f[self.table]
            for key in (COMPLETE_ROWS, TARGET_ROWS):
                if key in group.attrs:
                    del group.attrs[key]
            for name, attrs in attributes.items():
                group[name].attrs.update(attrs)


# -- HDF5 file consistency flags -------------------------------------------------------------------------------


def _superblock(path: Path) -> tuple[bytearray, int] | None:
    """The start of a version 2 or 3 superblock and the length its checksum covers, if its checksum holds.

    Only those versions carry the "open for writing" flags (byte 11); a damaged superblock is None, so that
    no flag is trusted before the checksum (a flipped flag bit alone once made the file open as a SWMR reader
    that waited for minutes), and HDF5 itself then reports the damage.
    """
    try:
        with open(path, "rb") as f:
            head = bytearray(f.read(12 + 4 * 8 + 4))
    except OSError:
        return None
    if len(head) < 12 or head[:8] != b"\x89HDF\r\n\x1a\n" or head[8] not in (2, 3) or head[9] not in (2, 4, 8):
        return None
    size = 12 + 4 * head[9]  # signature, version, sizes, flags, then four addresses
    if len(head) < size + 4 or _lookup3(bytes(head[:size])) != struct.unpack("<I", head[size : size + 4])[0]:
        return None
    return head, size


def swmr_flags_set(path: Path) -> bool:
    """Whether an HDF5 file's (intact) superblock says a writer has it open, or had it when it was killed."""
    found = _superblock(path)
    return found is not None and found[0][11] != 0


def clear_swmr_flags(path: Path) -> None:
    """Clear the "open for writing" flags that a killed writer leaves in an HDF5 superblock (as ``h5clear``).

    HDF5 refuses to open such a file for writing again. Only superblocks of version 2 and 3 have the flags; the
    superblock's checksum is verified before and recomputed after, so a file not laid out as expected is left
    alone (HDF5 reports it when it opens the file).
    """
    found = _superblock(path)
    if found is None or found[0][11] == 0:
        return
    head, size = found
    with open(path, "r+b") as f:
        head[11] = 0
        f.seek(11)
        f.write(b"\x00")
        f.seek(size)
        f.write(struct.pack("<I", _lookup3(bytes(head[:size]))))


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & 0xFFFFFFFF


def _lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 hash (``hashlittle``), the checksum HDF5 puts on its metadata."""
    mask = 0xFFFFFFFF
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & mask
    i = 0
    while length > 12:
        a = (a + int.from_bytes(data[i : i + 4], "little")) & mask
        b = (b + int.from_bytes(data[i + 4 : i + 8], "little")) & mask
        c = (c + int.from_bytes(data[i + 8 : i + 12], "little")) & mask
        a = (a - c) & mask ^ _rot(c, 4)
        c = (c + b) & mask
        b = (b - a) & mask ^ _rot(a, 6)
        a = (a + c) & mask
        c = (c - b) & mask ^ _rot(b, 8)
        b = (b + a) & mask
        a = (a - c) & mask ^ _rot(c, 16)
        c = (c + b) & mask
        b = (b - a) & mask ^ _rot(a, 19)
        a = (a + c) & mask
        c = (c - b) & mask ^ _rot(b, 4)
        b = (b + a) & mask
        length -= 12
        i += 12
    if length == 0:
        return c
    tail = data[i:] + bytes(12 - length)
    a = (a + int.from_bytes(tail[0:4], "little")) & mask
    b = (b + int.from_bytes(tail[4:8], "little")) & mask
    c = (c + int.from_bytes(tail[8:12], "little")) & mask
    for x, y, k in (
        ("c", "b", 14),
        ("a", "c", 11),
        ("b", "a", 25),
        ("c", "b", 16),
        ("a", "c", 4),
        ("b", "a", 14),
        ("c", "b", 24),
    ):
        values = {"a": a, "b": b, "c": c}
        values[x] = ((values[x] ^ values[y]) - _rot(values[y], k)) & mask
        a, b, c = values["a"], values["b"], values["c"]
    return c
