"""Defences of the read path against damaged and hostile files.

A results file comes from someone else: an archive, a collaborator, a bucket. Reading it must not run its
code, read outside it, exhaust memory, or hand back numbers it does not hold. This module holds the checks
the readers call:

- HDF5: :func:`check_hdf5` refuses external links, external raw storage and virtual datasets that map other
  files (HDF5 would follow each of them to a path the file chooses).
- Zarr: :class:`~hdmf_ai.io.zarrguard.GuardedStore` (its own module: it subclasses a zarr class) wraps the
  store every read goes through. It refuses keys with ``..`` segments or absolute paths, metadata that asks
  for the pickle codec, and a chunk missing from a store whose writer promised to write every chunk (zarr
  reads a missing chunk as the fill value, silently). hdmf-ai's writer makes that promise in the root
  attribute :data:`ALL_CHUNKS_ATTRIBUTE`; stores of other writers may leave out chunks that hold only the
  fill value, so there a missing chunk cannot be told from an empty one.
  :class:`ContainedReferences` refuses object references and links into other stores.
- Bombs: :func:`decoded_size_problem` bounds what a compressed chunk decodes to by its declared chunk shape
  before any decoder runs (zstd frames and Blosc headers state their size; gzip, zlib, bz2 and lzma streams are
  decoded incrementally with a cap, and the output dropped). Zarr's codecs (and HDF5's Blosc filter)
  allocate what a frame declares: a chunk of a few KiB could otherwise ask for gigabytes.
- Depth and numbers of objects: :data:`MAX_DEPTH` nested groups and :func:`max_objects` objects at most
  (hdmf builds every group and dataset it finds, recursively: 2,500 nested groups exhausted its stack).
- Eager reads: :class:`ReadBudget` refuses datasets whose declared shape would not fit in memory before
  anything is allocated (a file can declare ``shape=(10**12,)`` in a few bytes).

Every refusal is a :class:`~hdmf_ai.errors.ResultsFileError` naming the file and the object.
"""

from __future__ import annotations

import bz2
import json
import lzma
import math
import os
import posixpath
import stat
import struct
import zlib
from typing import Any

import h5py
import numpy as np
from hdmf.build import DatasetBuilder, GroupBuilder

from ..errors import ResultsFileError
from .h5chunks import StoredSizes, is_variable_length

__all__ = [
    "ALL_CHUNKS_ATTRIBUTE",
    "MAX_DEPTH",
    "MAX_OBJECTS",
    "MAX_OBJECTS_ENV",
    "READ_BUDGET_ENV",
    "TEXT_ELEMENT_BYTES",
    "count_problem",
    "max_objects",
    "chunk_bomb_problems",
    "decoded_size_problem",
    "not_a_regular_file",
    "ContainedReferences",
    "ReadBudget",
    "check_chunk_index",
    "check_hdf5",
    "check_key",
    "check_table_lengths",
]

#: Root attribute with which hdmf-ai's Zarr writer promises that every chunk of every array was written.
ALL_CHUNKS_ATTRIBUTE = "hdmf_ai_all_chunks_written"

#: Environment variable: the most bytes :func:`hdmf_ai.read` copies into memory (default: half the RAM).
READ_BUDGET_ENV = "HDMF_AI_READ_BUDGET"

#: bytes allowed per variable-length element (string or sequence) where a size must be bounded: a chunk
#: holds a 16-byte heap reference for each, and the read budget counts each string as this many bytes
_STRING_BYTES = 64

#: the deepest nesting of groups a file may have (a results file has 4 or 5 levels; NWB files about 8)
MAX_DEPTH = 64
#: the most objects (groups, datasets, links) a file may hold by default: hdmf builds a Python object for each,
#: and its validator takes some 4 ms per object (10,000: 40 s); raise it with :data:`MAX_OBJECTS_ENV`
MAX_OBJECTS = 10_000
#: Environment variable: the most objects a file may hold (default :data:`MAX_OBJECTS`)
MAX_OBJECTS_ENV = "HDMF_AI_MAX_OBJECTS"
#: what one element of a variable-length (text) chunk may decode to, at most, for the bound of the chunk
TEXT_ELEMENT_BYTES = 2**20


# -- any file ------------------------------------------------------------------------------------------------


def not_a_regular_file(path: str | os.PathLike[str], *, directory: bool = False) -> str | None:
    """Why ``path`` (followed if a link: the user named it) cannot be a results file, or None.

    A FIFO would block the reader for ever, a device (``/dev/zero``, ``/dev/urandom``) never ends: both are
    refused before anything opens them. ``directory``: a Zarr store, which is a directory.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        return f"cannot be examined: {err.strerror or err}"
    if stat.S_ISDIR(mode):
        return None if directory else "is a directory, not a file"
    if stat.S_ISREG(mode):
        return "is a file, not a directory (a Zarr store is a directory)" if directory else None
    kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"
    return f"is {kind}, not a regular file; refused"


def max_objects() -> int:
    """The most objects a file may hold: ``$HDMF_AI_MAX_OBJECTS``, or :data:`MAX_OBJECTS`."""
    configured = os.environ.get(MAX_OBJECTS_ENV, "")
    return int(configured) if configured.isdigit() else MAX_OBJECTS


def count_problem(depth: int, objects: int, name: str) -> str | None:
    """Why an object nested ``depth`` deep, the ``objects``-th of its file, is refused (None: it is not)."""
    if depth > MAX_DEPTH:
        return f"object '{name}' is nested {depth} groups deep, deeper than the {MAX_DEPTH} allowed; refused"
    if objects > (limit := max_objects()):
        return (
            f"holds more than {limit:,} objects (at '{name}'); refused as a results file (raise "
            f"${MAX_OBJECTS_ENV} to read it)"
        )
    return None


# -- decompression bombs ---------------------------------------------------------------------------------------

_ZSTD_MAGIC = 0xFD2FB528
_STREAMED = {
    "gzip": lambda: zlib.decompressobj(47),  # gzip or zlib header, detected
    "zlib": lambda: zlib.decompressobj(47),
    "bz2": bz2.BZ2Decompressor,
    "lzma": lzma.LZMADecompressor,
}
_SLICE = 2**20


def _zstd_header(raw: memoryview) -> tuple[int | None, int]:
    """(the content size a zstd frame's header states or None, the header's length)."""
    if len(raw) < 6 or int.from_bytes(raw[:4], "little") != _ZSTD_MAGIC:
        raise ValueError("not a zstd frame")
    descriptor = raw[4]
    single = (descriptor >> 5) & 1
    size_bytes = (single, 2, 4, 8)[descriptor >> 6]
    at = 5 + (0 if single else 1) + (0, 1, 2, 4)[descriptor & 3]
    if size_bytes == 0 or at + size_bytes > len(raw):
        return None, at + size_bytes
    return int.from_bytes(raw[at : at + size_bytes], "little") + (256 if size_bytes == 2 else 0), at + size_bytes


def _zstd_size(raw: memoryview) -> int | None:
    """The total content size the zstd frames of ``raw`` state, or None if a frame does not state it (numcodecs'
    decoder then grows its output without a bound). Frame and block headers only: nothing is decoded."""
    total, at, end = 0, 0, len(raw)
    while at < end:
        magic = int.from_bytes(raw[at : at + 4], "little")
        if magic & 0xFFFFFFF0 == 0x184D2A50 and end - at >= 8:  # a skippable frame: its length follows
            at += 8 + int.from_bytes(raw[at + 4 : at + 8], "little")
            continue
        size, header = _zstd_header(raw[at:])
        if size is None:
            return None
        total, checksum = total + size, raw[at + 4] & 4
        at += header
        while True:  # the blocks: a 3-byte header each (last flag, type, size); RLE blocks store one byte
            if at + 3 > end:
                raise ValueError("a truncated zstd frame")
            block = int.from_bytes(raw[at : at + 3], "little")
            at += 3 + (1 if (block >> 1) & 3 == 1 else block >> 3)
            if block & 1:
                break
        at += 4 if checksum else 0
    return total


def _streamed_size(make: Any, raw: memoryview, bound: int) -> int:
    """What a gzip, zlib, bz2 or lzma stream (or several, one after another) decodes to, decoding at most about
    ``bound`` bytes, a MiB at a time, and keeping none of them."""
    total, data = 0, bytes(raw)
    while data and total <= bound:
        decoder = make()
        total += len(decoder.decompress(data, _SLICE))
        while not decoder.eof and total <= bound:
            more = decoder.decompress(getattr(decoder, "unconsumed_tail", b""), _SLICE)
            if not more:
                break
            total += len(more)
        data = decoder.unused_data if decoder.eof else b""
    return total


def decoded_size_problem(codec: str, raw: bytes | memoryview, bound: int, *, exact: bool = False) -> str | None:
    """Why the compressed bytes ``raw`` of codec ``codec`` (``zstd``, ``blosc``, ``lz4``, ``gzip``, ``zlib``,
    ``bz2``, ``lzma``) must not be decoded: they declare (or decode to) more than ``bound`` bytes, or their
    size cannot be known before decoding. None for other codecs, which decode to their input's size or less.

    ``exact``: the chunk must decode to ``bound`` bytes exactly (a chunk of numbers holds its whole chunk shape,
    padded at the edge): checked where the codec states its size (zstd, Blosc, LZ4) without decoding.
    """
    view = memoryview(raw).cast("B")
    try:
        if codec == "zstd":
            size = _zstd_size(view)
            if size is None:
                return "a zstd frame that does not state its size"
        elif codec == "blosc":
            if len(view) < 16:
                return f"a Blosc frame of {len(view)} bytes, shorter than its header"
            size, _, stored = struct.unpack_from("<III", view, 4)
            if stored != len(view):
                return f"a Blosc frame that says it holds {stored} bytes; it has {len(view)}"
        elif codec == "lz4":
            size = int.from_bytes(view[:4], "little") if len(view) >= 4 else 0
        elif codec in _STREAMED:
            size = _streamed_size(_STREAMED[codec], view, bound)
        else:
            return None
    except (ValueError, EOFError, OSError, zlib.error, lzma.LZMAError) as err:
        return f"a {codec} stream that cannot be read: {err}"
    if size > bound:
        return f"{codec} data that decodes to {size:,} bytes or more, past the {bound:,} its chunk shape allows"
    if exact and codec not in _STREAMED and size != bound:
        return f"{codec} data that decodes to {size:,} bytes; its chunk shape and data type hold {bound:,}"
    return None


_H5_CODECS = {32001: "blosc", 32015: "zstd"}  # hdf5plugin's filters that allocate what a chunk's header states
_HEADER_BYTES = 64


def chunk_bomb_problems(
    dataset: h5py.h5d.DatasetID, name: str, fd: int | None = None, plist: h5py.h5p.PropDCID | None = None
) -> list[str]:
    """Why an HDF5 dataset of HDF5's Blosc filter (hdf5plugin, id 32001) or Zstd filter (32015) must not be read:
    a raw chunk whose header declares more bytes than the chunk shape holds (the filter allocates what the
    header states, before decoding), or a chain of filters whose output size cannot be told from the header.

    Only each chunk's first bytes are read, from ``fd`` (the file, opened by the caller) at the chunk's address,
    or through ``read_direct_chunk`` without one. The compressing filter's output is the raw chunk, followed by
    a Fletcher-32 when that filter comes after it. ``plist``: the dataset's creation properties, when the caller
    has them.
    """
    plist = plist or dataset.get_create_plist()
    filters = [plist.get_filter(i)[0] for i in range(plist.get_nfilters())]
    compressing = [f for f in filters if f in _H5_CODECS]
    if not compressing or plist.get_layout() != h5py.h5d.CHUNKED:
        return []
    outer = [f for f in filters if f != h5py.h5z.FILTER_FLETCHER32]
    if len(compressing) > 1 or outer[-1] != compressing[0] or len(outer) > 1 + outer.count(h5py.h5z.FILTER_SHUFFLE):
        return [f"dataset '{name}': a chain of filters {filters} whose decoded size cannot be bounded; refused"]
    codec = _H5_CODECS[compressing[0]]
    chunk = plist.get_chunk()
    file_type = dataset.get_type()
    itemsize = _STRING_BYTES if is_variable_length(file_type) else max(file_type.get_size(), 1)
    bound = int(np.prod(chunk, dtype=np.float64)) * itemsize
    problems: list[str] = []

    def visit(info: Any) -> None:
        if problems or info.filter_mask:
            return  # one problem is enough; a skipped filter: the filter-mask check says so
        if fd is not None:
            head = os.pread(fd, min(_HEADER_BYTES, info.size), info.byte_offset)
        else:
            head = dataset.read_direct_chunk(info.chunk_offset)[1][:_HEADER_BYTES]
        problem = _declared_size_problem(codec, memoryview(head), info.size, bound)
        if problem is not None:
            where = tuple(int(o) for o in info.chunk_offset)
            problems.append(f"dataset '{name}': its chunk at {where} holds {problem}; refused")

    dataset.chunk_iter(visit)
    return problems


def _declared_size_problem(codec: str, head: memoryview, stored: int, bound: int) -> str | None:
    """:func:`decoded_size_problem` from a chunk's first bytes only (``stored``: the whole chunk's size)."""
    if codec == "blosc":
        if len(head) < 16:
            return f"a Blosc frame of {len(head)} bytes, shorter than its header"
        size, _, frame = struct.unpack_from("<III", head, 4)
        if frame > stored:
            return f"a Blosc frame that says it holds {frame} bytes; the chunk has {stored}"
    else:
        size, _ = _zstd_header(head)
        if size is None:
            return "a zstd frame that does not state its size"
    if size > bound:
        return f"{codec} data that declares {size:,} bytes, past the {bound:,} its chunk shape holds"
    return None


# -- HDF5 ----------------------------------------------------------------------------------------------------


def check_hdf5(file: h5py.File, source: object) -> set[int]:
    """Refuse an HDF5 file that points outside itself: external links, external storage, virtual datasets.

    Only hard links are followed while walking, so a hostile file cannot make this loop or leave the file.
    Returns the ids of the filters outside HDF5's own (>= 256) that the file's datasets use, found on the same
    walk (the reader makes sure each can be decoded).
    """

    problems: list[str] = []
    filters: set[int] = set()
    failed: list[Exception] = []
    seen = [0]
    fd = _raw_descriptor(file)
    end_of_file = file.id.get_filesize()

    def visit(name: bytes, info: Any) -> str | None:
        # h5py cannot carry an exception out of its visitor: the first problem (or error) is kept and a value
        # returned, which stops it. Low-level calls (no h5py Group/Dataset objects): this runs on every open.
        seen[0] += 1
        try:
            counted = count_problem(name.count(b"/") + 1, seen[0], "/" + name.decode(errors="replace"))
            if counted is not None:
                problems.append(counted)
                return counted
            if info.type == h5py.h5l.TYPE_EXTERNAL:
                # by its stored name: a name that is not UTF-8 is not found again by its decoded text
                target, path = file.id.links.get_val(name)
                where = f"{target.decode(errors='replace')}:{path.decode(errors='replace')}"
                problems.append(f"object '/{name.decode(errors='replace')}' is an external link to {where}; refused")
            elif info.type == h5py.h5l.TYPE_HARD:
                obj = h5py.h5o.open(file.id, name)
                if isinstance(obj, h5py.h5d.DatasetID):
                    path, plist = "/" + name.decode(errors="replace"), obj.get_create_plist()
                    problems.extend(_hdf5_dataset_problems(obj, path, filters, plist))
                    problems.extend(chunk_bomb_problems(obj, path, fd, plist))
                    problems.extend(_first_chunk_problems(obj, path, end_of_file, plist))
        except Exception as err:  # a damaged object header
            failed.append(err)
            return "failed"
        return problems[0] if problems else None

    try:
        file.id.links.visit(visit, info=True)
    except Exception as err:  # a damaged link table
        failed.append(err)
    finally:
        if fd is not None:
            os.close(fd)
    if failed:
        raise ResultsFileError(source, f"its object tree cannot be walked: {failed[0]}") from failed[0]
    if problems:
        raise ResultsFileError(source, problems[0])
    return filters


def _first_chunk_problems(
    dataset: h5py.h5d.DatasetID, name: str, end_of_file: int, plist: h5py.h5p.PropDCID
) -> list[str]:
    """The first chunk's index entry, checked on every open: hdmf reads a column's first value when it builds
    the column, through HDF5, which trusts the entry (a filtered chunk recorded as 0 bytes crashes it). The
    other chunks are checked before HDF5 reads them (:func:`check_chunk_index`, ``h5chunks.check_filter_masks``)."""
    if plist.get_layout() != h5py.h5d.CHUNKED or dataset.shape is None or 0 in dataset.shape:
        return []
    info = dataset.get_chunk_info_by_coord((0,) * len(dataset.shape))
    if info.byte_offset is None:  # not written: HDF5 gives the fill value
        return []
    problem = StoredSizes(dataset, plist).problem(info.size)
    if problem is None and info.byte_offset + info.size > end_of_file:
        problem = f"its chunk index puts {info.size} bytes at byte {info.byte_offset}, past the end of the file"
    return [] if problem is None else [f"dataset '{name}', its first chunk: {problem}; refused"]


def _raw_descriptor(file: h5py.File) -> int | None:
    """The file, opened again for reading the first bytes of chunks (None: not a plain local file; chunks are
    then read through HDF5)."""
    name = getattr(file, "filename", None)
    if file.driver != "sec2" or not isinstance(name, str):
        return None
    try:
        return os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None


def _hdf5_dataset_problems(
    dataset: h5py.h5d.DatasetID, name: str, filters: set[int], plist: h5py.h5p.PropDCID
) -> list[str]:
    for i in range(plist.get_nfilters()):
        fid = plist.get_filter(i)[0]
        if fid >= 256:  # ids below 256 are HDF5's own filters
            filters.add(fid)
    if plist.get_external_count() > 0:
        target = plist.get_external(0)[0].decode(errors="replace")
        return [f"dataset '{name}' keeps its data in the external file {target!r}; refused"]
    if plist.get_layout() == h5py.h5d.VIRTUAL:
        return [
            f"virtual dataset '{name}' maps the file {mapping.file_name!r}; refused"
            for mapping in h5py.Dataset(dataset).virtual_sources()
            if mapping.file_name != "."
        ]
    return []


def check_chunk_index(dataset: h5py.Dataset, source: object) -> None:
    """Refuse a chunked dataset whose index puts a chunk past the end of the file, off the grid, or twice.

    The chunk index (a B-tree without checksums in the HDF5 1.8 format) is trusted by HDF5: a flipped bit in
    a chunk's size made it allocate 4 GiB for a 90 kB file (found by tests/fuzz), and a moved key would put a
    chunk, its own checksum intact, elsewhere in the array.
    """
    chunks, shape = dataset.chunks, dataset.shape
    if chunks is None or not shape:
        return
    end_of_file = dataset.file.id.get_filesize()
    seen: set[tuple[int, ...]] = set()
    sizes = StoredSizes(dataset.id)

    def visit(info: Any) -> None:
        offset = tuple(int(o) for o in info.chunk_offset)
        if info.byte_offset + info.size > end_of_file:
            problem = f"a chunk of {info.size} bytes at byte {info.byte_offset}, past the end of the file"
        elif (wrong_size := sizes.problem(info.size)) is not None:
            problem = f"the chunk at {offset}: {wrong_size}"
        elif offset in seen or any(o % c or o >= n for o, c, n in zip(offset, chunks, shape, strict=True)):
            problem = f"a chunk at {offset} that chunks of {chunks} in a shape of {shape} cannot have"
        else:
            seen.add(offset)
            return
        raise ResultsFileError(source, f"dataset '{dataset.name}': its chunk index is damaged: {problem}")

    try:
        dataset.id.chunk_iter(visit)
        needed = math.prod(-(-n // c) for n, c in zip(shape, chunks, strict=True))
        if len(seen) < needed:  # HDF5 would give the fill value there: rows that were never written
            raise ResultsFileError(
                source,
                f"dataset '{dataset.name}': {needed - len(seen)} of the {needed} chunks its shape {shape} needs are "
                "not stored (a shape larger than what was written, or chunk index entries lost)",
            )
        if is_variable_length(dataset.id.get_type()) and dataset.id.get_create_plist().get_nfilters() == 0:
            for offset in seen:
                _check_vlen_chunk(dataset, offset, end_of_file, source)
    except ResultsFileError:
        raise
    except Exception as err:
        raise ResultsFileError(source, f"dataset '{dataset.name}': its chunk index cannot be read: {err}") from err


# how a variable-length element is stored in a chunk: its length, then the global heap collection and index
_VLEN_ON_DISK = np.dtype([("length", "<u4"), ("collection", "<u8"), ("index", "<u4")])


def _check_vlen_chunk(dataset: h5py.Dataset, offset: tuple[int, ...], end_of_file: int, source: object) -> None:
    """Refuse variable-length elements that claim more bytes than the file has: HDF5 allocates what they
    claim before it reads (one flipped bit in a string's length asked for 4 GiB; found by tests/fuzz)."""
    _, raw = dataset.id.read_direct_chunk(offset)
    if len(raw) % _VLEN_ON_DISK.itemsize:
        return  # not the layout above (another address size): nothing to check it against
    elements = np.frombuffer(raw, dtype=_VLEN_ON_DISK)
    if elements.size and (
        # a length past the file's size, or a heap collection that starts at its end or past it
        int(elements["length"].max()) > end_of_file or int(elements["collection"].max()) >= end_of_file
    ):
        raise ResultsFileError(
            source, f"dataset '{dataset.name}': an element of its chunk at {offset} claims more bytes than the file has"
        )


# -- eager reads ---------------------------------------------------------------------------------------------


def _default_budget() -> int:
    configured = os.environ.get(READ_BUDGET_ENV)
    if configured:
        return int(configured)
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")) // 2
    except (ValueError, OSError, AttributeError):  # not POSIX: a fixed, generous bound
        return 8 * 2**30


class ReadBudget:
    """The bytes an eager read may still copy into memory, charged per dataset by its declared shape.

    Parameters
    ----------
    source
        The file, for error messages.
    limit
        Bytes; default ``$HDMF_AI_READ_BUDGET`` or half the machine's memory.
    """

    def __init__(self, source: object, *, limit: int | None = None) -> None:
        self.source = source
        self.limit = _default_budget() if limit is None else limit
        self.used = 0

    def charge(self, data: Any, name: str) -> None:
        """Account for reading ``data`` (an h5py or zarr array) whole; refuse it when over budget."""
        shape = tuple(int(n) for n in getattr(data, "shape", ()))
        dtype = np.dtype(getattr(data, "dtype", np.uint8))
        # a variable-length string becomes a Python str: some 60 bytes even when short
        itemsize = _STRING_BYTES if dtype.kind in "OT" else max(dtype.itemsize, 1)
        declared = int(np.prod(shape, dtype=np.float64) * itemsize)  # float: a hostile shape must not overflow
        if self.used + declared > self.limit:
            raise ResultsFileError(
                self.source,
                f"dataset '{name}' declares shape {shape} (~{_gib(declared)}), more than the "
                f"{_gib(self.limit - self.used)} left of the read budget; open() the file lazily and slice it, "
                f"or raise ${READ_BUDGET_ENV}",
            )
        self.used += declared


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:.3g} GiB"


# -- tables ----------------------------------------------------------------------------------------------


def check_table_lengths(builder: GroupBuilder, source: object) -> None:
    """Refuse a table whose columns do not all have as many rows as its ``id`` (ragged ones: their index).

    hdmf finds this too, but reports it with a dump of the whole table; this names the table and the column.
    """
    stack = [builder]
    while stack:
        group = stack.pop()
        stack.extend(group.groups.values())
        colnames = group.attributes.get("colnames")
        if colnames is None or "id" not in group.datasets:
            continue
        n_rows = _n_rows(group.datasets["id"])
        for raw in np.atleast_1d(np.asarray(colnames, dtype=object)):
            name = raw.decode() if isinstance(raw, bytes) else str(raw)
            while f"{name}_index" in group.datasets:  # a ragged column has one index entry per row
                name = f"{name}_index"
            column = group.datasets.get(name)
            rows = None if column is None else _n_rows(column)
            if rows is not None and n_rows is not None and rows != n_rows:
                raise ResultsFileError(
                    source, f"table '{group.name}': column '{name}' has {rows} rows; the table has {n_rows} (its id)"
                )


def _n_rows(dataset: DatasetBuilder) -> int | None:
    shape = getattr(dataset.data, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) else None
    try:
        return len(dataset.data)
    except TypeError:
        return None


# -- Zarr ----------------------------------------------------------------------------------------------------


def check_key(key: str, source: object) -> None:
    """Refuse a store key that climbs out of the store or is absolute."""
    if key.startswith(("/", "\\")) or "\\" in key or ".." in key.split("/") or "\x00" in key:
        raise ResultsFileError(source, f"the store key {key!r} points outside the store; refused")


class ContainedReferences:
    """Mixin for hdmf-zarr's IO classes: object references and links must stay inside the store.

    hdmf-zarr resolves a reference's ``source`` relative to the store and opens whatever store it names,
    anywhere on disk or on the network. Files hdmf-ai reads keep all their objects in one store (older
    hdmf-zarr wrote the store's own name relative to its parent directory, which is the same store).
    """

    source: Any
    #: the store's location (a local directory or a URL): what a reference's ``source`` may name
    store_location: str | None = None

    def resolve_ref(self, zarr_ref: Any) -> Any:
        ref = _as_reference(zarr_ref)
        if isinstance(ref, dict):
            where, path = ref.get("source"), ref.get("path")
            if path is not None:
                check_key(str(path).lstrip("/"), self.source)
            if where is not None and not _same_store(str(where), self.store_location):
                raise ResultsFileError(
                    self.source, f"an object reference points into another store ({where!r}, {path!r}); refused"
                )
        return super().resolve_ref(zarr_ref)  # type: ignore[misc]


def _as_reference(zarr_ref: Any) -> Any:
    if isinstance(zarr_ref, np.ndarray) and zarr_ref.ndim == 0:
        zarr_ref = zarr_ref[()]
    if isinstance(zarr_ref, str):
        try:
            return json.loads(zarr_ref)
        except ValueError:
            return {"source": ".", "path": zarr_ref}
    return zarr_ref


def _same_store(where: str, store: str | None) -> bool:
    """Whether a reference's ``source`` names the store it is read from."""
    where = where.strip()
    if where in ("", ".", "./"):
        return True
    if "://" in where or posixpath.isabs(where) or store is None or "://" in store:
        return False
    base = os.path.realpath(store)
    return any(os.path.realpath(os.path.join(start, where)) == base for start in (base, os.path.dirname(base)))
