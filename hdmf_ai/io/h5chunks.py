"""HDF5 chunks filtered and unfiltered on every core, outside HDF5's single-threaded filter pipeline.

HDF5 runs its filters (shuffle, deflate, Fletcher-32) one chunk at a time on the calling thread. For the
pipelines this module can encode by hand -- an optional byte shuffle, an optional deflate, an optional
Fletcher-32, in that order, which is what every ``portable`` and ``uncompressed`` column has -- chunks are
encoded in a thread pool (numpy, zlib and ISA-L release the GIL) and handed to HDF5 as they are
(``write_direct_chunk`` with filter mask 0: every filter ran), and read back with ``read_direct_chunk`` and
decoded in the pool. The bytes on disk are what HDF5's own filters would accept: a zlib stream (any zlib
inflates it), HDF5's shuffle order, HDF5's Fletcher-32 (tests/test_parallel_io.py compares it byte for byte
with h5py's). Any other pipeline returns None / False here and the caller uses h5py's ordinary path.

After the shuffle, each byte plane is its own run of deflate blocks in one zlib stream: deflated by ISA-L
(``isal``; zlib without it) when it compresses, stored when it is noise (the low mantissa bytes of floats), so
a float32 chunk costs a quarter of a deflate and inflates mostly by copying (numbers in
benchmarks/RESULTS.md).

Example
-------
>>> import h5py, numpy as np
>>> f = h5py.File(tmp_path / "x.h5", "w")
>>> d = f.create_dataset("x", shape=(10, 3), dtype="f4", chunks=(4, 3), shuffle=True, compression="gzip",
...                      fletcher32=True)
>>> write_rows(d, 0, np.ones((10, 3), dtype="f4"))
True
>>> float(read_rows(d, slice(None)).sum())
30.0
"""

from __future__ import annotations

import collections
import os
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import h5py
import numpy as np

__all__ = [
    "Pipeline",
    "StoredSizes",
    "check_filter_masks",
    "deflate",
    "fletcher32",
    "fletcher32_numpy",
    "is_variable_length",
    "isal_zlib",
    "pipeline",
    "planes_to_deflate",
    "read_rows",
    "read_spans",
    "workers",
    "write_rows",
]

SHUFFLE, DEFLATE, FLETCHER32 = h5py.h5z.FILTER_SHUFFLE, h5py.h5z.FILTER_DEFLATE, h5py.h5z.FILTER_FLETCHER32

#: zlib level -> the ISA-L level used instead: ISA-L's 1 compresses the exponent bytes of shuffled float32
#: probabilities to 0.421 of their size (zlib's 1: 0.439) at about 5x the speed per core (benchmarks/RESULTS.md)
ISAL_LEVEL = {1: 1, 2: 1, 3: 2}

# a byte plane whose first PROBE bytes carry more than STORE_ABOVE bits per byte is stored, not deflated: the
# low three bytes of a float32 (mantissa bits) do not compress at all (1.001 of their size with zlib's 1)
PROBE, STORE_ABOVE = 2048, 7.5

# chunks in flight per worker: enough to keep every core busy, few enough to bound memory
DEPTH = 4
#: decoded bytes per task of a read (whole chunks): fewer, larger tasks than one per chunk
TASK_BYTES = 1 << 20

_pool: ThreadPoolExecutor | None = None
_isal: Any = False  # not looked for yet


def _forget_pool() -> None:
    """In a child made by ``fork``: the parent's pool threads do not exist there, and a pool that still thinks
    they do queues tasks nobody runs (a read hung for ever in a DataLoader worker). The child makes its own."""
    global _pool
    _pool = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def isal_zlib() -> Any:
    """ISA-L's zlib module, or None without the ``isal`` package (then zlib, slower, still on every core)."""
    global _isal
    if _isal is False:
        try:
            from isal import isal_zlib as found

            _isal = found
        except ImportError:  # pragma: no cover - isal is a dependency
            _isal = None
    return _isal


def workers() -> int:
    """Threads of the pool: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=workers(), thread_name_prefix="hdmf-ai-chunks")
    return _pool


def _ordered(func: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
    """``map(func, items)`` on the pool, results in order, at most ``DEPTH`` per worker in flight."""
    if workers() == 1:
        yield from map(func, items)
        return
    pool, limit = _executor(), DEPTH * workers()
    pending: collections.deque[Future[Any]] = collections.deque()
    for item in items:
        pending.append(pool.submit(func, item))
        if len(pending) >= limit:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


# -- HDF5's Fletcher-32 --------------------------------------------------------------------------------------

_weights = np.zeros(0, dtype=np.uint64)


def fletcher32(data: bytes | memoryview | np.ndarray) -> int:
    """HDF5's Fletcher-32 of ``data`` (``H5_checksum_fletcher32``): sums mod 65535 of big-endian 16-bit words.

    numcodecs' compiled Fletcher-32 (a port of HDF5's; zarr's dependency) where it is installed: 1.8x the speed
    of :func:`fletcher32_numpy` on a 64 KiB chunk, which is what is left without it.
    """
    codec = _fletcher_codec()
    if codec is None or not len(data):  # numcodecs' encoder refuses an empty buffer
        return fletcher32_numpy(data)
    return int.from_bytes(bytes(codec.encode(data)[-4:]), "little")


_codec: Any = False


def _fletcher_codec() -> Any:
    global _codec
    if _codec is False:
        try:
            from numcodecs import Fletcher32

            _codec = Fletcher32()
        except ImportError:  # pragma: no cover - zarr's dependency, so installed with hdmf-ai
            _codec = None
    return _codec


def fletcher32_numpy(data: bytes | memoryview | np.ndarray) -> int:
    """:func:`fletcher32` in numpy (no compiled code).

    HDF5 folds its sums to 16 bits as it goes, so a sum that is a non-zero multiple of 65535 ends as 0xFFFF,
    and only an all-zero input gives 0; the closed form below reproduces both.
    """
    global _weights
    raw = np.frombuffer(data, dtype=np.uint8)
    if raw.size % 2:  # HDF5 counts a last odd byte as the high byte of a word
        raw = np.concatenate([raw, np.zeros(1, dtype=np.uint8)])
    words = raw.view(">u2").astype(np.uint64)
    n = words.size
    weights = _weights  # this call's own reference: another thread may replace the shared table meanwhile
    if weights.size < n:
        weights = np.arange(max(n, 2 * weights.size), dtype=np.uint64) % np.uint64(65535)
        _weights = weights
    # sum1 = sum_i w_i; sum2 = the sum of the running sums = sum_i (n - i) w_i = n sum1 - sum_i i w_i (mod 65535)
    sum1 = int(words.sum())
    if sum1 == 0:
        return 0
    sum2 = (n * sum1 - int(np.dot(weights[:n], words))) % 65535
    return (sum2 or 0xFFFF) << 16 | (sum1 % 65535 or 0xFFFF)


# -- a zlib stream, plane by plane ---------------------------------------------------------------------------

ZLIB_HEADER = b"\x78\x01"  # deflate, 32 KiB window, "fastest" (the level hint is informative only)
LAST_BLOCK = b"\x01\x00\x00\xff\xff"  # an empty stored block marked final


def deflate(raw: np.ndarray, planes: int, level: int, deflated: tuple[bool, ...] | None = None) -> bytes:
    """A zlib stream of ``raw`` (bytes, ``planes`` byte planes after a shuffle) that any zlib inflates.

    Each plane is its own run of deflate blocks: deflated (ending on a byte boundary with a sync flush), or,
    when it does not compress, stored blocks, which cost nothing to write and a copy to read. ``deflated``
    says which planes to deflate (see :func:`planes_to_deflate`); None judges each plane of ``raw``.
    """
    size = raw.size // planes if planes else 0
    deflated = deflated or planes_to_deflate(raw, planes)
    isal = isal_zlib()
    isal_level = ISAL_LEVEL.get(level) if isal is not None else None
    parts: list[bytes | memoryview] = [ZLIB_HEADER]
    for k in range(planes):
        plane = memoryview(raw[k * size : (k + 1) * size])
        if deflated[k]:
            compressor = isal.compressobj(isal_level, 8, -15) if isal_level is not None else None
            compressor = compressor or zlib.compressobj(level, zlib.DEFLATED, -15)
            parts += [compressor.compress(plane), compressor.flush(zlib.Z_SYNC_FLUSH)]
            continue
        for lo in range(0, size, 65535):
            piece = plane[lo : lo + 65535]
            parts += [b"\x00" + len(piece).to_bytes(2, "little") + (len(piece) ^ 0xFFFF).to_bytes(2, "little"), piece]
    parts += [LAST_BLOCK, zlib.adler32(raw).to_bytes(4, "big")]
    return b"".join(parts)


def planes_to_deflate(raw: np.ndarray, planes: int) -> tuple[bool, ...]:
    """Which byte planes of ``raw`` (a shuffled chunk) are worth deflating; the others are stored."""
    size = raw.size // planes if planes else 0
    return tuple(_compresses(memoryview(raw[k * size : (k + 1) * size])) for k in range(planes))


def _compresses(plane: memoryview) -> bool:
    """Whether a byte plane is worth deflating, judged by the byte entropy of its first ``PROBE`` bytes and of
    their differences (a counter's low byte is uniform but its differences are constant); far cheaper than
    deflating a sample, which costs ISA-L ~30 us of set-up per call."""
    probe = np.frombuffer(plane[:PROBE], dtype=np.uint8)
    if probe.size < PROBE:
        return True  # too short to judge; deflate it
    return _entropy(probe) <= STORE_ABOVE or _entropy(probe[1:] - probe[:-1]) <= STORE_ABOVE


_C_LOG_C = np.array([0.0, *(c * np.log2(c) for c in range(1, PROBE + 1))])


def _entropy(values: np.ndarray) -> float:
    """Bits per byte of the bytes' histogram (8: uniform, incompressible by Huffman coding)."""
    counts = np.bincount(values, minlength=256)
    return float(np.log2(values.size) - _C_LOG_C[counts].sum() / values.size)


# -- a dataset's filter pipeline ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pipeline:
    """The filters of a dataset this module encodes by hand, and its chunk layout (whole rows per chunk)."""

    shuffle: bool
    level: int | None  # deflate level; None: no deflate
    checksum: bool  # Fletcher-32
    itemsize: int
    chunk_rows: int
    row_shape: tuple[int, ...]
    dtype: np.dtype

    @property
    def chunk_bytes(self) -> int:
        return self.chunk_rows * int(np.prod(self.row_shape, dtype=np.int64)) * self.itemsize

    @property
    def planes(self) -> int:
        """Byte planes of a chunk after the filters' shuffle (1 without it)."""
        return self.itemsize if self.shuffle else 1

    def shuffled(self, chunk: np.ndarray) -> np.ndarray:
        """A full chunk's bytes in HDF5's shuffle order (as they are without a shuffle)."""
        raw = np.ascontiguousarray(chunk).view(np.uint8).reshape(-1)
        if self.shuffle and self.itemsize > 1:
            raw = np.ascontiguousarray(raw.reshape(-1, self.itemsize).T).reshape(-1)
        return raw

    def encode(self, chunk: np.ndarray, deflated: tuple[bool, ...] | None = None) -> bytes:
        """A full chunk's bytes as HDF5's filters would store them (``deflated``: see :func:`deflate`)."""
        raw = self.shuffled(chunk)
        out: bytes | np.ndarray = raw
        if self.level is not None:
            out = deflate(raw, self.planes, self.level, deflated)
        body = out if isinstance(out, bytes) else out.tobytes()
        if self.checksum:
            body += fletcher32(body).to_bytes(4, "little")
        return body

    def decode(self, stored: bytes, where: str, rows: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Rows ``rows`` of a chunk (of ``chunk_rows`` rows) from its stored bytes; a damaged chunk is an OSError.

        Only the rows asked for are unshuffled.
        """
        body = memoryview(stored)
        if self.checksum:
            if len(body) < 4 or fletcher32(body[:-4]) != int.from_bytes(body[-4:], "little"):
                raise OSError(f"{where}: Fletcher-32 checksum mismatch: the chunk is damaged")
            body = body[:-4]
        if self.level is not None:
            try:
                # at most one byte more than a chunk holds: a stream that inflates to gigabytes (a "bomb") is
                # stopped there and refused below, instead of exhausting memory
                raw: bytes | memoryview = (isal_zlib() or zlib).decompressobj().decompress(body, self.chunk_bytes + 1)
            except Exception as err:  # isal's and zlib's errors differ
                raise OSError(f"{where}: the chunk does not inflate ({err})") from err
        else:
            raw = body
        if len(raw) != self.chunk_bytes:
            raise OSError(f"{where}: expected {self.chunk_bytes} bytes of a chunk; got {len(raw)}")
        values = np.frombuffer(raw, dtype=np.uint8)
        width = int(np.prod(self.row_shape, dtype=np.int64))
        if self.shuffle and self.itemsize > 1:
            planes = values.reshape(self.itemsize, self.chunk_rows, width)[:, rows, :]
            values = np.ascontiguousarray(planes.transpose(1, 2, 0))
        else:
            values = values.reshape(self.chunk_rows, width * self.itemsize)[rows]
        return values.view(self.dtype).reshape(-1, *self.row_shape)


def pipeline(dataset: h5py.Dataset) -> Pipeline | None:
    """The hand-encodable pipeline of ``dataset``, or None when h5py's own path must be used."""
    dtype = dataset.dtype
    chunks = dataset.chunks
    if chunks is None or dtype.kind not in "biuf" or dtype.byteorder == ">" or dataset.ndim == 0:
        return None
    if tuple(chunks[1:]) != tuple(dataset.shape[1:]):
        return None  # a chunk holds part of a row: not a layout this module writes
    plist = dataset.id.get_create_plist()
    filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
    ids = [f[0] for f in filters]
    order = [SHUFFLE, DEFLATE, FLETCHER32]
    if any(i not in order for i in ids) or ids != sorted(ids, key=order.index) or len(set(ids)) != len(ids):
        return None
    if not ids or ids == [SHUFFLE]:
        return None  # nothing to gain: HDF5 copies unfiltered chunks as fast as we would
    level = None
    if DEFLATE in ids:
        values = filters[ids.index(DEFLATE)][2]
        level = int(values[0]) if len(values) else 6
    return Pipeline(
        shuffle=SHUFFLE in ids,
        level=level,
        checksum=FLETCHER32 in ids,
        itemsize=dtype.itemsize,
        chunk_rows=int(chunks[0]),
        row_shape=tuple(int(n) for n in dataset.shape[1:]),
        dtype=dtype,
    )


# -- writing ------------------------------------------------------------------------------------------------


def write_rows(dataset: h5py.Dataset, start: int, data: np.ndarray) -> bool:
    """Store ``data`` as rows ``start:start+len(data)`` of ``dataset``, whole chunks encoded on every core.

    Rows in chunks only partly covered go through h5py (HDF5 merges them with what the chunk holds), as does
    everything when the pipeline is not one this module encodes: then the return value is False.
    """
    found = pipeline(dataset)
    data = np.asarray(data)
    if found is None or data.shape[1:] != found.row_shape or start + len(data) > dataset.shape[0]:
        return False  # h5py writes it, or says what does not fit
    data = data.astype(found.dtype, copy=False)
    stop, unit, total = start + len(data), found.chunk_rows, int(dataset.shape[0])
    first = -(-start // unit) * unit  # the first chunk boundary at or after start
    # a last chunk that ends the dataset is whole even when short: HDF5 stores edge chunks at full size
    last = stop if stop == total else (stop // unit) * unit
    if first >= last:
        dataset[start:stop] = data
        return True
    if start < first:
        dataset[start:first] = data[: first - start]
    if last < stop:
        dataset[last:stop] = data[last - start :]

    def block(lo: int) -> np.ndarray:
        rows = data[lo - start : min(lo + unit, last) - start]
        if len(rows) == unit:
            return rows
        padded = np.zeros((unit, *found.row_shape), dtype=found.dtype)  # the edge chunk, padded as HDF5 does
        padded[: len(rows)] = rows
        return padded

    # which byte planes to deflate, judged once per write on its first chunk: a column's planes keep their
    # character (the low bytes of floats are noise throughout), and judging each chunk costs more than deflate
    deflated = planes_to_deflate(found.shuffled(block(first)), found.planes) if found.level is not None else None

    def encode(los: range) -> list[tuple[int, bytes]]:
        return [(lo, found.encode(block(lo), deflated)) for lo in los]

    tail = (0,) * (dataset.ndim - 1)
    step = unit * max(1, TASK_BYTES // max(1, found.chunk_bytes))  # several chunks per task, as when reading
    for encoded in _ordered(encode, (range(lo, min(lo + step, last), unit) for lo in range(first, last, step))):
        for lo, stored in encoded:
            dataset.id.write_direct_chunk((lo, *tail), stored, 0)
    return True


# -- reading ------------------------------------------------------------------------------------------------


def read_rows(dataset: Any, rows: slice | np.ndarray) -> np.ndarray | None:
    """Rows of ``dataset`` (a forward slice, or integer positions), each needed chunk decoded once on the pool.

    None when ``dataset`` is not an h5py dataset whose pipeline this module decodes; the caller then reads it
    the ordinary way.
    """
    if not isinstance(dataset, h5py.Dataset):
        return None
    found = pipeline(dataset)
    if found is None:
        return None
    n, unit = int(dataset.shape[0]), found.chunk_rows
    if isinstance(rows, slice):
        start, stop, step = rows.indices(n)
        if step != 1:
            return None
        return _spans(dataset, found, [(start, stop)])[0]
    positions = np.asarray(rows, dtype=np.int64)
    out = np.empty((positions.size, *found.row_shape), dtype=found.dtype)
    if positions.size == 0:
        return out
    if found.level is None:
        check_filter_masks(dataset, int(positions.min()), int(positions.max()) + 1)
        # nothing to inflate: HDF5 picks rows out of checksummed chunks faster than a copy of each chunk to
        # Python does (1,000 random rows of 1M x 100 float32, 1 MiB chunks: 140 vs 290 ms)
        unique, inverse = np.unique(positions, return_inverse=True)
        picked: np.ndarray = dataset[unique][inverse]
        return picked
    chunk_of = positions // unit
    order = np.argsort(chunk_of, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(chunk_of[order])) + 1)

    def pick(where: np.ndarray) -> None:
        lo = int(chunk_of[where[0]]) * unit
        out[where] = _chunk(dataset, found, lo, positions[where] - lo)

    for _ in _ordered(pick, groups):
        pass
    return out


def read_spans(dataset: Any, spans: list[tuple[int, int]]) -> list[np.ndarray] | None:
    """Rows ``lo:hi`` of ``dataset`` for each ``(lo, hi)`` of ``spans``, the chunks of all of them decoded on the
    pool together (the blocks of rows picked at random: one pass, not one per span). None as :func:`read_rows`.
    """
    if not isinstance(dataset, h5py.Dataset):
        return None
    found = pipeline(dataset)
    if found is None:
        return None
    n = int(dataset.shape[0])
    return _spans(dataset, found, [(min(max(lo, 0), n), min(max(hi, 0), n)) for lo, hi in spans])


def _spans(dataset: h5py.Dataset, found: Pipeline, spans: list[tuple[int, int]]) -> list[np.ndarray]:
    unit = found.chunk_rows
    outs: list[np.ndarray] = []
    pieces: list[tuple[np.ndarray, int, int, int, int]] = []  # (out, its first row, chunk start, first, last)
    for start, stop in spans:
        stop = max(start, stop)
        out = np.empty((stop - start, *found.row_shape), dtype=found.dtype)
        outs.append(out)
        pieces += [
            (out, start, lo, max(lo, start), min(lo + unit, stop)) for lo in range(start // unit * unit, stop, unit)
        ]

    def fill(some: list[tuple[np.ndarray, int, int, int, int]]) -> None:
        for out, start, lo, first, last in some:
            out[first - start : last - start] = _chunk(dataset, found, lo, slice(first - lo, last - lo))

    # several chunks per task: a chunk decodes in ~0.1 ms, about what handing a task to a thread costs
    per_task = max(1, TASK_BYTES // max(1, found.chunk_bytes))
    for _ in _ordered(fill, [pieces[i : i + per_task] for i in range(0, len(pieces), per_task)]):
        pass
    return outs


def _chunk(dataset: h5py.Dataset, found: Pipeline, lo: int, rows: slice | np.ndarray) -> np.ndarray:
    """Rows ``rows`` of the chunk that starts at row ``lo``."""
    offset = (lo, *(0,) * (dataset.ndim - 1))
    mask, stored = dataset.id.read_direct_chunk(offset)
    try:
        if mask:  # every chunk is written with all its filters (mask 0): a filter marked skipped is damage
            raise OSError(f"its filter mask {mask:#x} marks {_skipped(dataset, mask)} skipped")
        return found.decode(stored, "decoding", rows)
    except OSError as err:  # the dataset's name only now: looking it up costs as much as a small chunk's inflate
        raise OSError(f"dataset '{dataset.name}', chunk at row {lo}: {err}") from err


#: filters that never fail on their own (HDF5 skips an optional filter that fails, and marks it in the chunk's
#: filter mask): a chunk that says one was skipped is damaged. Plugin filters (Blosc, Zstd...) may skip for real.
_NEVER_SKIPPED = frozenset({SHUFFLE, DEFLATE, FLETCHER32, 4, 5, 6})  # and szip, N-bit, scale-offset


def _skipped(dataset: h5py.Dataset, mask: int) -> str:
    plist = dataset.id.get_create_plist()
    names = [plist.get_filter(i)[3].decode(errors="replace") for i in range(plist.get_nfilters()) if mask >> i & 1]
    return ", ".join(names) or "filters the dataset does not have"


def _refused_mask(dataset: h5py.Dataset, mask: int) -> bool:
    """Whether ``mask`` skips a filter of ``dataset`` that never fails, or a filter it does not have."""
    plist = dataset.id.get_create_plist()
    n = plist.get_nfilters()
    if mask >> n:
        return True
    return any(mask >> i & 1 and plist.get_filter(i)[0] in _NEVER_SKIPPED for i in range(n))


def check_filter_masks(dataset: Any, start: int, stop: int) -> None:
    """Raise OSError when a chunk of rows ``start:stop`` of ``dataset`` (h5py; others are left alone) marks a
    filter skipped that never fails (HDF5 would decode its bytes without that filter, as other values), or
    records a size no such chunk can have (:func:`stored_size_problem`)."""
    if not isinstance(dataset, h5py.Dataset) or dataset.chunks is None or stop <= start or dataset.ndim == 0:
        return
    sizes = StoredSizes(dataset.id)
    unit = int(dataset.chunks[0])
    tails = [range(0, int(n), int(c)) for n, c in zip(dataset.shape[1:], dataset.chunks[1:], strict=True)]
    for lo in range(start // unit * unit, stop, unit):
        for tail in _product(tails):
            info = dataset.id.get_chunk_info_by_coord((lo, *tail))
            if info.byte_offset is None:  # not written: HDF5 gives the fill value
                continue
            if info.filter_mask and sizes.filtered and _refused_mask(dataset, info.filter_mask):
                raise OSError(
                    f"dataset '{dataset.name}', chunk at row {lo}: its filter mask {info.filter_mask:#x} marks "
                    f"{_skipped(dataset, info.filter_mask)} skipped"
                )
            problem = sizes.problem(info.size)
            if problem is not None:
                raise OSError(f"dataset '{dataset.name}', chunk at row {lo}: {problem}")


def is_variable_length(file_type: h5py.h5t.TypeID) -> bool:
    """Whether elements of ``file_type`` live in the file's global heap: variable-length strings and sequences.
    A chunk holds a heap reference for each (16 bytes on disk), not ``get_size()`` bytes: that is 8 for a
    variable-length string (a pointer in memory)."""
    return isinstance(file_type, h5py.h5t.TypeVlenID) or (
        isinstance(file_type, h5py.h5t.TypeStringID) and file_type.is_variable_str()
    )


class StoredSizes:
    """The sizes a stored chunk of an HDF5 dataset can have: exactly the chunk's bytes without filters; with
    filters at least one byte, and the 4 of a Fletcher-32 when that filter is on. HDF5 trusts the size in the
    chunk index: a filtered chunk recorded as 0 bytes crashed it (SIGSEGV, found by tests/fuzz/structure.py);
    an unfiltered chunk of another size reads other bytes."""

    def __init__(self, dataset: h5py.h5d.DatasetID, plist: h5py.h5p.PropDCID | None = None) -> None:
        plist = plist or dataset.get_create_plist()
        ids = {plist.get_filter(i)[0] for i in range(plist.get_nfilters())}
        self.filtered = bool(ids)
        self.least = 4 if FLETCHER32 in ids else 1
        self.exact: int | None = None
        if not ids and plist.get_layout() == h5py.h5d.CHUNKED:
            file_type = dataset.get_type()
            if not is_variable_length(file_type):
                self.exact = int(np.prod(plist.get_chunk(), dtype=np.int64)) * file_type.get_size()

    def problem(self, size: int) -> str | None:
        """Why a chunk of ``size`` stored bytes cannot be one of the dataset's (None: it can)."""
        if self.exact is not None and size != self.exact:
            return f"its chunk index records {size} bytes for an unfiltered chunk of {self.exact}"
        if size < self.least:
            return f"its chunk index records {size} bytes for a filtered chunk (at least {self.least})"
        return None


def _product(ranges: list[range]) -> Iterator[tuple[int, ...]]:
    if not ranges:
        yield ()
        return
    for head in ranges[0]:
        for tail in _product(ranges[1:]):
            yield (head, *tail)
