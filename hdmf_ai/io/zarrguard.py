"""The Zarr store every read goes through: :class:`GuardedStore` (see :mod:`.safety` for what it refuses).

Its own module because it subclasses zarr's ``WrapperStore``: only reading a Zarr store imports zarr.

Every chunk it hands out has been held to its array's metadata first (:class:`_Chunks`): what its compressed
bytes declare they decode to fits the declared chunk shape (zarr's codecs allocate what a frame states), and,
in a sharded array, the shard index names no chunk missing (when the writer promised every chunk) and no two
chunks at overlapping bytes. The array's metadata is taken from its own ``zarr.json`` and from the root's
consolidated copy, which zarr decodes by, and the two must agree on everything that says how to decode.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import stat
import struct
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Self

from zarr.abc.store import ByteRequest, RangeByteRequest, Store, SuffixByteRequest
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import WrapperStore

from ..errors import ResultsFileError
from .incomplete import COMPLETE_ROWS, TARGET_ROWS
from .safety import ALL_CHUNKS_ATTRIBUTE, TEXT_ELEMENT_BYTES, check_key, decoded_size_problem

__all__ = ["GuardedStore"]

_METADATA_NAMES = ("zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata")
_CODEC_KEYS = ("codecs", "index_codecs", "compressor", "compressors", "filters", "object_codec")


def _is_metadata(key: str) -> bool:
    return key.rsplit("/", 1)[-1] in _METADATA_NAMES


def _array_of(key: str) -> str:
    """The array a chunk key belongs to: ``results/id/c/0`` -> ``results/id``; v2's ``results/id/0`` too."""
    if "/c/" in key:
        return key.rsplit("/c/", 1)[0]
    return key.rsplit("/", 1)[0] if "/" in key else key


def _check_metadata(key: str, raw: bytes, source: object) -> None:
    """Refuse metadata that names a pickle codec or a node outside the store (e.g. in consolidated metadata)."""
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise ResultsFileError(source, f"the metadata '{key}' is not valid JSON: {err}") from err
    for node, value in _walk(document):
        in_codecs = any(f"/{name}" in node for name in _CODEC_KEYS)  # not in attributes, which are free text
        if in_codecs and isinstance(value, dict) and "pickle" in str(value.get("name", value.get("id", ""))).lower():
            raise ResultsFileError(source, f"the metadata '{key}' asks for the pickle codec at {node}; refused")
    consolidated = document.get("consolidated_metadata") if isinstance(document, dict) else None
    if isinstance(consolidated, dict) and isinstance(consolidated.get("metadata"), dict):
        for child in consolidated["metadata"]:
            check_key(str(child), source)


def _json(raw: Buffer, key: str, source: object) -> Any:
    return _json_bytes(raw.to_bytes(), key, source)


def _json_bytes(raw: bytes, key: str, source: object) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise ResultsFileError(source, f"the metadata of '{key or '/'}' is not valid JSON: {err}") from err


_PROGRESS = (COMPLETE_ROWS, TARGET_ROWS)


def _differences(own: dict[str, Any], listed: dict[str, Any], *, shapes: bool) -> list[str]:
    """What a node's own metadata and its consolidated copy disagree on (a run's progress left out)."""
    keys = [k for k in ("node_type", *_DECODING_KEYS) if shapes or k != "shape"]
    differ = [k for k in keys if own.get(k) != listed.get(k)]
    mine, theirs = dict(own.get("attributes") or {}), dict(listed.get("attributes") or {})
    for progress in _PROGRESS:
        mine.pop(progress, None)
        theirs.pop(progress, None)
    differ += [f"attribute '{k}'" for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k)]
    return differ


def _walk(value: Any, at: str = "") -> Iterable[tuple[str, Any]]:
    yield at or "/", value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{at}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{at}[{i}]")


#: codecs whose output is their input's size (array to array, array to bytes, or byte shuffles and checksums)
_SIZE_KEEPING = {"bytes", "vlen-utf8", "vlen-bytes", "transpose", "numcodecs.shuffle", "shuffle", "numcodecs.delta"}
_CHECKSUMS = {"crc32c": 4, "numcodecs.crc32c": 4, "numcodecs.fletcher32": 4, "numcodecs.adler32": 4}
_COMPRESSORS = {
    "blosc": "blosc",
    "zstd": "zstd",
    "gzip": "gzip",
    "zlib": "zlib",
    "lz4": "lz4",
    "bz2": "bz2",
    "lzma": "lzma",
}
#: what the decoding of a chunk depends on: the node's metadata and the consolidated copy must agree on it
_DECODING_KEYS = (
    "shape",
    "data_type",
    "chunk_grid",
    "chunk_key_encoding",
    "codecs",
    "fill_value",
    "chunks",
    "dtype",
    "compressor",
    "filters",
    "order",
    "dimension_separator",
)
_EMPTY = 2**64 - 1


def _codec_name(codec: Any) -> str:
    if isinstance(codec, dict):
        return str(codec.get("name", codec.get("id", "")))
    return str(codec)


def _compressor(name: str) -> str | None:
    return _COMPRESSORS.get(name.removeprefix("numcodecs."))


def _chain_problem(chain: list[Any], raw: memoryview, bound: int, exact: bool = False) -> str | None:
    """Why bytes encoded by the bytes-to-bytes codecs ``chain`` (in the order they were applied) must not be
    decoded: the outermost compressor declares more than ``bound``, or sits inside a codec that hides it.
    ``exact``: they must decode to ``bound`` bytes exactly (numbers: a chunk is stored whole)."""
    compressors = [c for c in chain if _compressor(_codec_name(c))]
    if not compressors:
        if exact and all(_codec_name(c) in _SIZE_KEEPING or _codec_name(c) in _CHECKSUMS for c in chain):
            stored = len(raw) - sum(_CHECKSUMS.get(_codec_name(c), 0) for c in chain)
            if stored != bound:
                return f"{stored:,} bytes of data; its chunk shape and data type hold {bound:,}"
        return None
    if len(compressors) > 1:
        return f"a chain of {len(compressors)} compressors, whose decoded size cannot be bounded"
    for codec in reversed(chain):  # from the outside in
        name = _codec_name(codec)
        if name in _CHECKSUMS:
            raw = raw[: max(len(raw) - _CHECKSUMS[name], 0)]
        elif (compressor := _compressor(name)) is not None:
            return decoded_size_problem(compressor, raw, bound, exact=exact)
        elif name not in _SIZE_KEEPING:
            return f"a compressor inside the codec '{name}', whose decoded size cannot be bounded"
    return None


@dataclass(frozen=True)
class _Chunks:
    """What an array's metadata says its stored objects may be: chunk bound, codecs, sharding."""

    chain: list[Any]  # bytes-to-bytes codecs of a chunk (of an inner chunk when sharded), in encoding order
    bound: int  # the most bytes a chunk decodes to
    inner: int = 0  # chunks per shard (0: not sharded)
    index_at_end: bool = True
    index_checksum: int = 4
    exact: bool = False  # a chunk decodes to ``bound`` bytes exactly (fixed-size data, no codec changing sizes)
    shape: tuple[int, ...] = ()  # the array's
    shard: tuple[int, ...] = ()  # a shard's shape, and its chunks' (sharded arrays only)
    inner_shape: tuple[int, ...] = ()

    @classmethod
    def of(cls, document: dict[str, Any]) -> _Chunks | None:
        """From an array's metadata document (v3 ``zarr.json`` or v2 ``.zarray``); None for a group."""
        if document.get("node_type", "array") != "array" or "shape" not in document:
            return None
        if document.get("zarr_format") == 3:
            chunk = document["chunk_grid"]["configuration"]["chunk_shape"]
            codecs = list(document.get("codecs", []))
            itemsize = _itemsize(document["data_type"], 3)
        else:
            chunk, itemsize = document["chunks"], _itemsize(document["dtype"], 2)
            compressor = document.get("compressor")
            codecs = [*(document.get("filters") or []), *([compressor] if compressor else [])]
        if codecs and _codec_name(codecs[0]) == "sharding_indexed":
            config = codecs[0]["configuration"]
            inner_shape = config["chunk_shape"]
            per_shard = math.prod(int(s) // int(i) for s, i in zip(chunk, inner_shape, strict=True))
            checksum = sum(_CHECKSUMS.get(_codec_name(c), 0) for c in config.get("index_codecs", []))
            inner = cls.of(
                {**document, "chunk_grid": {"configuration": {"chunk_shape": inner_shape}}, "codecs": config["codecs"]}
            )
            if inner is None:
                return None
            return cls(
                inner.chain,
                inner.bound,
                per_shard,
                config.get("index_location", "end") == "end",
                checksum,
                inner.exact,
                tuple(int(n) for n in document["shape"]),
                tuple(int(n) for n in chunk),
                tuple(int(n) for n in inner_shape),
            )
        if document.get("zarr_format") == 3:
            before = codecs[: len(codecs) - len(_after_array_codec(codecs)) - 1]
            exact = itemsize is not None and all(_codec_name(c) == "transpose" for c in before)
            return cls(_after_array_codec(codecs), _bound(chunk, itemsize), exact=exact)
        exact = itemsize is not None and not document.get("filters")
        return cls(codecs, _bound(chunk, itemsize), exact=exact)

    def problem(
        self, raw: Buffer, byte_range: ByteRequest | None, promised: bool, size: int | None = None, key: str = ""
    ) -> str | None:
        """Why a stored object (a chunk, a shard, or part of one) of this array must not be decoded. ``size``:
        the whole shard's, when its index was asked for alone; ``key``: the shard's (which chunks of it lie
        inside the array, and must be there)."""
        promised = promised and self._inside(key) is not None
        view = memoryview(raw.as_numpy_array()).cast("B")
        if not self.inner:
            return None if byte_range is not None else _chain_problem(self.chain, view, self.bound, self.exact)
        index_bytes = 16 * self.inner + self.index_checksum
        if byte_range is None:  # a whole shard: its index, then each chunk
            index = view[-index_bytes:] if self.index_at_end else view[:index_bytes]
            if len(view) < index_bytes:
                return f"a shard of {len(view)} bytes, shorter than its index"
            entries = self._entries(index)
            if (problem := self._index_problem(entries, len(view), promised, key)) is not None:
                return problem
            for offset, length in entries:
                if offset != _EMPTY and (
                    found := _chain_problem(self.chain, view[offset : offset + length], self.bound, self.exact)
                ):
                    return found
            return None
        if self.is_index(byte_range):
            return self._index_problem(self._entries(view), size, promised, key)
        return _chain_problem(self.chain, view, self.bound, self.exact)

    def is_index(self, byte_range: ByteRequest | None) -> bool:
        """Whether a request for part of a shard asks for its index."""
        index_bytes = 16 * self.inner + self.index_checksum
        if self.index_at_end:
            return isinstance(byte_range, SuffixByteRequest) and byte_range.suffix == index_bytes
        return isinstance(byte_range, RangeByteRequest) and (byte_range.start, byte_range.end) == (0, index_bytes)

    def _entries(self, index: memoryview) -> list[tuple[int, int]]:
        return [struct.unpack_from("<QQ", index, 16 * i) for i in range(self.inner)]

    def _inside(self, key: str) -> list[bool] | None:
        """For each chunk of the shard ``key`` (index order), whether it lies inside the array (the chunks past
        its end are never written); None when the key does not say where the shard is."""
        try:
            where = [int(part) for part in key.rsplit("/c/", 1)[1].split("/")]
        except (IndexError, ValueError):
            return None
        if len(where) != len(self.shard) or len(self.inner_shape) != len(self.shard):
            return None
        per = [s // i for s, i in zip(self.shard, self.inner_shape, strict=True)]
        inside = []
        for i in range(self.inner):
            coords, rest = [], i
            for n in reversed(per):
                coords.append(rest % n)
                rest //= n
            coords.reverse()
            starts = [w * s + c * n for w, s, c, n in zip(where, self.shard, coords, self.inner_shape, strict=True)]
            inside.append(all(start < end for start, end in zip(starts, self.shape, strict=True)))
        return inside

    def _index_problem(
        self, entries: list[tuple[int, int]], size: int | None, promised: bool, key: str = ""
    ) -> str | None:
        """Chunks the index marks missing though every chunk was written, or placed at overlapping bytes."""
        placed = sorted((offset, length, i) for i, (offset, length) in enumerate(entries) if offset != _EMPTY)
        inside = self._inside(key) if promised else None
        if inside is not None:
            missing = [i for i, (offset, _) in enumerate(entries) if offset == _EMPTY and inside[i]]
            if missing:
                return f"a shard index that marks chunk {missing[0]} missing (the store was written with every chunk)"
        for (offset, length, i), (following, _, j) in itertools.pairwise(placed):
            if offset + length > following:
                return f"a shard index that places chunks {i} and {j} at overlapping bytes"
        if size is not None and placed and placed[-1][0] + placed[-1][1] > size:
            return f"a shard index that places chunk {placed[-1][2]} past the end of the shard"
        return None


def _dtype_problem(document: Any) -> str | None:
    """Why an array's data type disagrees with the one hdmf-zarr recorded in its ``_DTYPE`` attribute (numbers:
    kind and size; an edited ``data_type`` reads the same bytes as other numbers)."""
    import numpy as np

    if not isinstance(document, dict):
        return None
    recorded = (document.get("attributes") or {}).get("_DTYPE")
    stated = document.get("data_type", document.get("dtype"))
    if not isinstance(recorded, str) or not isinstance(stated, str):
        return None
    try:
        want, got = np.dtype(recorded), np.dtype(stated)
    except TypeError:
        return None
    numeric = "biufc"
    if want.kind in numeric and got.kind in numeric and (want.kind, want.itemsize) != (got.kind, got.itemsize):
        return f"its data type is {stated}; hdmf recorded {recorded} when it was written"
    return None


def _after_array_codec(codecs: list[Any]) -> list[Any]:
    """The bytes-to-bytes codecs of a v3 chain: those after its array-to-bytes codec (``bytes``, ``vlen-*``)."""
    names = [_codec_name(c) for c in codecs]
    for position, name in enumerate(names):
        if name in ("bytes", "vlen-utf8", "vlen-bytes", "sharding_indexed"):
            return codecs[position + 1 :]
    return codecs


def _itemsize(data_type: Any, zarr_format: int) -> int | None:
    """Bytes per element, or None for variable-length types (text)."""
    try:
        if zarr_format == 3:
            from zarr.core.dtype import get_data_type_from_json

            size = getattr(get_data_type_from_json(data_type, zarr_format=3), "item_size", None)
            return None if size is None else int(size)
        import numpy as np

        dtype = np.dtype(data_type if isinstance(data_type, str) else [tuple(f) for f in data_type])
        return None if dtype.kind == "O" else dtype.itemsize
    except (TypeError, ValueError):
        return None


def _bound(chunk: list[int], itemsize: int | None) -> int:
    n = math.prod(int(c) for c in chunk)
    return n * itemsize if itemsize is not None else (n + 1) * TEXT_ELEMENT_BYTES


def _decoding(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        return {}
    return {key: document.get(key) for key in _DECODING_KEYS if key in document}


class GuardedStore(WrapperStore[Store]):
    """A read-only view of a Zarr store that refuses what a hostile or damaged store could do to a reader.

    Parameters
    ----------
    store
        The store to read (local or fsspec).
    source
        The file or URL, for error messages.
    """

    def __init__(self, store: Store, source: object = None) -> None:
        super().__init__(store)
        self.source = store if source is None else source
        self._promise: bool | None = None
        # metadata documents, present or absent, as first read: a read-only store's do not change while it is
        # open, and hdmf-zarr and zarr ask for the root's several times (a request each on S3 or HTTP)
        self._metadata: dict[str, Buffer | None] = {}
        self._plain_dirs: set[str] = set()  # directories of a local store already seen not to be links
        self._chunks: dict[str, list[_Chunks]] = {}  # per array: what its stored objects may be
        self._compared = False  # the consolidated metadata held to the nodes' own (local stores, once)
        # what that found: raised again on every request (zarr falls back from a failed consolidated open)
        self._disagreement: ResultsFileError | None = None

    def _with_store(self, store: Store) -> Self:
        return type(self)(store, self.source)

    def _check(self, key: str) -> None:
        """The key stays inside the store; on a local store, it also names a regular file inside it.

        A chunk that is a symbolic link (to another column's chunk, another store, ``/dev/zero``) or a FIFO
        would be read as this column's data, or block the reader: refused before anything is opened.
        """
        if self._disagreement is not None:
            raise self._disagreement
        check_key(key, self.source)
        root = getattr(self._store, "root", None)
        if not isinstance(root, os.PathLike):
            return  # a remote store: no links to follow
        parts = key.split("/")
        for depth in range(1, len(parts) + 1):  # every component: a linked directory is as foreign as a file
            relative = "/".join(parts[:depth])
            if relative in self._plain_dirs:
                continue
            try:
                mode = os.lstat(os.path.join(root, *parts[:depth])).st_mode
            except FileNotFoundError:
                return  # absent: the missing-chunk rule decides
            except OSError as err:
                raise ResultsFileError(self.source, f"'{key}' cannot be examined: {err}") from err
            if stat.S_ISLNK(mode):
                raise ResultsFileError(
                    self.source, f"'{relative}' is a symbolic link; a store's objects must be its own files"
                )
            if stat.S_ISDIR(mode) and depth < len(parts):
                self._plain_dirs.add(relative)
            elif stat.S_ISREG(mode) and depth < len(parts):
                raise ResultsFileError(self.source, f"'{relative}' is a file where a directory belongs")
            elif not stat.S_ISREG(mode):
                raise ResultsFileError(self.source, f"'{relative}' is not a regular file (a device, FIFO or socket)")

    def __str__(self) -> str:
        return str(self._store)

    async def getsize_prefix(self, prefix: str) -> int:
        """The stored size of a node, once every object under it is seen to be a regular file of the store
        (zarr's listing passes over links and FIFOs: their bytes would not be counted, and not be refused)."""
        root = getattr(self._store, "root", None)
        if isinstance(root, os.PathLike):
            self._check_tree(prefix.rstrip("/"), os.fspath(root))
            await self._count_chunks(prefix.rstrip("/"), os.fspath(root))
        return await super().getsize_prefix(prefix)

    async def _count_chunks(self, array: str, root: str) -> None:
        """Refuse an array of a store written with every chunk that has fewer chunk objects than its grid: the
        stored size would be reported for data that is not all there (reading it refuses the missing chunk)."""
        from zarr.core.buffer import default_buffer_prototype

        prototype = default_buffer_prototype()
        raw = await self.get(f"{array}/zarr.json" if array else "zarr.json", prototype)
        document = _json(raw, array, self.source) if raw is not None else None
        if not isinstance(document, dict) or document.get("node_type") != "array":
            return
        if not await self._promised_all_chunks(prototype):
            return
        if await self._unfinished(array, prototype):
            return  # a batched run not finished: its arrays are allocated ahead of the rows written
        try:
            grid = document["chunk_grid"]["configuration"]["chunk_shape"]
            encoding = document.get("chunk_key_encoding") or {}
            separator = (encoding.get("configuration") or {}).get("separator", "/")
            expected = math.prod(-(-int(n) // max(int(c), 1)) for n, c in zip(document["shape"], grid, strict=True))
        except (KeyError, TypeError, ValueError):
            return
        if encoding.get("name", "default") != "default" or separator != "/":
            return
        found = sum(len(files) for _, _, files in os.walk(os.path.join(root, *array.split("/"), "c")))
        if found < expected:
            raise ResultsFileError(
                self.source,
                f"array '{array}': {expected - found} of its {expected} chunks are missing (the store was written "
                "with every chunk); the store is damaged or incomplete",
            )

    def _check_tree(self, prefix: str, root: str) -> None:
        check_key(prefix, self.source)
        top = os.path.join(root, prefix) if prefix else root
        try:
            mode = os.lstat(top).st_mode
        except FileNotFoundError:
            return
        except OSError as err:
            raise ResultsFileError(self.source, f"'{prefix}' cannot be examined: {err}") from err
        if not stat.S_ISDIR(mode):
            kind = "a file" if stat.S_ISREG(mode) else "a link, FIFO or device"
            raise ResultsFileError(self.source, f"'{prefix or '/'}' is {kind} where a node's directory belongs")
        for directory, subdirectories, files in os.walk(top, followlinks=False):
            for name in [*subdirectories, *files]:
                entry_mode = os.lstat(os.path.join(directory, name)).st_mode
                if not (stat.S_ISREG(entry_mode) or stat.S_ISDIR(entry_mode)):
                    relative = os.path.relpath(os.path.join(directory, name), root)
                    raise ResultsFileError(
                        self.source, f"'{relative}' is not a regular file (a link, a FIFO or a device)"
                    )

    async def _promised_all_chunks(self, prototype: BufferPrototype) -> bool:
        if self._promise is None:
            root = self._metadata.get("zarr.json") or await self._store.get("zarr.json", prototype)
            try:
                attributes = json.loads(root.to_bytes()).get("attributes", {}) if root is not None else {}
            except ValueError:
                attributes = {}
            self._promise = bool(attributes.get(ALL_CHUNKS_ATTRIBUTE, False))
        return self._promise

    def _missing(self, key: str) -> ResultsFileError:
        return ResultsFileError(
            self.source,
            f"array '{_array_of(key)}': its chunk '{key}' is missing (the store was written with every chunk); "
            "the store is damaged or incomplete",
        )

    def _compare_consolidated(self, root_document: bytes) -> None:
        """Refuse a local store whose consolidated metadata (what hdmf-zarr reads shapes and attributes from)
        says other than the nodes' own ``zarr.json``: other attributes, type, or decoding. Attributes of an
        unfinished batched run's progress are left out, and so are shapes under it (the writer refreshes the
        consolidated copy after each step: a run killed in between leaves it one step behind)."""
        root = getattr(self._store, "root", None)
        if self._disagreement is not None:
            raise self._disagreement
        if self._compared or not isinstance(root, os.PathLike):
            return
        self._compared = True
        try:
            self._compare_nodes(root_document, os.fspath(root))
        except ResultsFileError as err:
            self._disagreement = err
            raise

    def _compare_nodes(self, root_document: bytes, root: str) -> None:
        try:
            entries = (json.loads(root_document).get("consolidated_metadata") or {}).get("metadata") or {}
        except (ValueError, AttributeError):
            return  # the root's own check says what is wrong with it
        if not isinstance(entries, dict):
            return
        unfinished: set[str] = set()
        own_documents: dict[str, Any] = {}
        for node in sorted(entries, key=lambda n: n.count("/")):
            key = f"{node}/zarr.json"
            self._check(key)
            try:
                with open(os.path.join(root, *key.split("/")), "rb") as f:
                    own = _json_bytes(f.read(), node, self.source)
            except FileNotFoundError:
                raise ResultsFileError(
                    self.source, f"the consolidated metadata describes '{node}', which the store does not hold"
                ) from None
            own_documents[node] = own
            if isinstance(own, dict) and COMPLETE_ROWS in (own.get("attributes") or {}):
                unfinished.add(node)
        for node, own in own_documents.items():
            listed = entries[node]
            if not isinstance(own, dict) or not isinstance(listed, dict):
                continue
            parent = node.rsplit("/", 1)[0] if "/" in node else ""
            differ = _differences(own, listed, shapes=parent not in unfinished and node not in unfinished)
            if differ:
                raise ResultsFileError(
                    self.source,
                    f"'{node}': its own metadata and the store's consolidated metadata disagree on {', '.join(differ)}",
                )

    async def _chunk_rules(self, key: str, prototype: BufferPrototype) -> tuple[str, list[_Chunks]]:
        """The array a chunk key belongs to, and the rules of its metadata (node and consolidated copy)."""
        array = _array_of(key)
        if array in self._chunks:
            return array, self._chunks[array]
        documents: list[Any] = []
        for _ in range(key.count("/") + 1):  # a v2 chunk of nested keys: up to the array that has metadata
            for name in ("zarr.json", ".zarray"):
                raw = await self.get(f"{array}/{name}" if array else name, prototype)
                if raw is not None:
                    documents = [_json(raw, array, self.source), await self._consolidated(array, name, prototype)]
                    break
            if documents or "/" not in array:
                break
            array = array.rsplit("/", 1)[0]
        node, consolidated = [*documents, None, None][:2]
        if isinstance(consolidated, dict) and isinstance(getattr(self._store, "root", None), os.PathLike):
            # a local store's nodes were held to the consolidated copy when it was opened; what zarr decodes by
            # is that copy (a store replaced since, by an append, is read as it was: its node may differ now)
            node, documents = consolidated, [consolidated]
        if isinstance(node, dict) and isinstance(consolidated, dict) and _decoding(node) != _decoding(consolidated):
            differ = sorted(k for k in _DECODING_KEYS if node.get(k) != consolidated.get(k))
            raise ResultsFileError(
                self.source,
                f"array '{array}': its metadata and the store's consolidated metadata disagree on {', '.join(differ)}",
            )
        if (problem := _dtype_problem(node)) is not None:
            raise ResultsFileError(self.source, f"array '{array}': {problem}")
        try:
            rules = [r for d in documents if isinstance(d, dict) and (r := _Chunks.of(d)) is not None]
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ResultsFileError(self.source, f"array '{array}': its metadata cannot be understood: {err!r}") from err
        self._chunks[array] = rules
        return array, rules

    async def _consolidated(self, array: str, name: str, prototype: BufferPrototype) -> Any:
        """The root's consolidated copy of an array's metadata, or None."""
        root = await self.get("zarr.json" if name == "zarr.json" else ".zmetadata", prototype)
        document = _json(root, "", self.source) if root is not None else None
        if not isinstance(document, dict):
            return None
        if name == "zarr.json":
            entries = (document.get("consolidated_metadata") or {}).get("metadata") or {}
            return entries.get(array) if isinstance(entries, dict) else None
        entries = document.get("metadata") or {}
        return entries.get(f"{array}/.zarray") if isinstance(entries, dict) else None

    async def _unfinished(self, array: str, prototype: BufferPrototype) -> bool:
        """Whether an array belongs to a table whose batched run has not finished (its arrays are allocated
        ahead of the rows written: chunks past the complete rows may be missing)."""
        parent = array.rsplit("/", 1)[0] if "/" in array else ""
        group = await self.get(f"{parent}/zarr.json" if parent else "zarr.json", prototype)
        return group is not None and COMPLETE_ROWS.encode() in group.to_bytes()

    async def _held_to_metadata(
        self, key: str, value: Buffer | None, byte_range: ByteRequest | None, prototype: BufferPrototype
    ) -> None:
        """Refuse a chunk (or shard, or part of one) that its array's metadata says must not be decoded."""
        if value is None or _is_metadata(key):
            return
        array, rules = await self._chunk_rules(key, prototype)
        if not rules:
            return
        promised = await self._promised_all_chunks(prototype) and not await self._unfinished(array, prototype)
        for rule in rules:
            size = await self._store.getsize(key) if rule.inner and rule.is_index(byte_range) else None
            if (problem := rule.problem(value, byte_range, promised, size, key)) is not None:
                raise ResultsFileError(self.source, f"array '{array}': its chunk '{key}' holds {problem}; refused")

    def _checked(self, key: str, value: Buffer | None, promised: bool) -> Buffer | None:
        if value is None:
            if promised and not _is_metadata(key):
                raise self._missing(key)
            return None
        if _is_metadata(key):
            _check_metadata(key, value.to_bytes(), self.source)
        return value

    async def get(self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None) -> Buffer | None:
        self._check(key)
        cacheable = byte_range is None and _is_metadata(key)
        if cacheable and key in self._metadata:
            return self._metadata[key]
        value = await self._store.get(key, prototype, byte_range)
        promised = value is None and not _is_metadata(key) and await self._promised_all_chunks(prototype)
        checked = self._checked(key, value, promised)
        if cacheable:
            self._metadata[key] = checked
        if key == "zarr.json" and checked is not None:
            self._compare_consolidated(checked.to_bytes())
        await self._held_to_metadata(key, checked, byte_range, prototype)
        return checked

    def get_sync(
        self, key: str, *, prototype: BufferPrototype | None = None, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        self._check(key)
        cacheable = byte_range is None and _is_metadata(key)
        if cacheable and key in self._metadata:
            return self._metadata[key]
        value = super().get_sync(key, prototype=prototype, byte_range=byte_range)
        promised = False
        from zarr.core.buffer import default_buffer_prototype
        from zarr.core.sync import sync

        if value is None and not _is_metadata(key):
            if self._promise is None:
                sync(self._promised_all_chunks(prototype or default_buffer_prototype()))
            promised = bool(self._promise)
        checked = self._checked(key, value, promised)
        if cacheable:
            self._metadata[key] = checked
        if key == "zarr.json" and checked is not None:
            self._compare_consolidated(checked.to_bytes())
        if checked is not None and not _is_metadata(key):
            sync(self._held_to_metadata(key, checked, byte_range, prototype or default_buffer_prototype()))
        return checked

    async def get_partial_values(
        self, prototype: BufferPrototype, key_ranges: Iterable[tuple[str, ByteRequest | None]]
    ) -> list[Buffer | None]:
        key_ranges = list(key_ranges)
        for key, _ in key_ranges:
            self._check(key)
        values = await self._store.get_partial_values(prototype, key_ranges)
        if any(v is None for v in values) and await self._promised_all_chunks(prototype):
            for (key, _), value in zip(key_ranges, values, strict=True):
                self._checked(key, value, promised=True)
        for (key, byte_range), value in zip(key_ranges, values, strict=True):
            await self._held_to_metadata(key, value, byte_range, prototype)
        return values

    async def get_ranges(
        self,
        key: str,
        byte_ranges: Sequence[ByteRequest | None],
        *,
        prototype: BufferPrototype,
        max_concurrency: int | None = None,
        max_gap_bytes: int | None = None,
        max_coalesced_bytes: int | None = None,
    ) -> AsyncIterator[Sequence[tuple[int, Buffer | None]]]:
        self._check(key)
        async for group in super().get_ranges(
            key,
            byte_ranges,
            prototype=prototype,
            max_concurrency=max_concurrency,
            max_gap_bytes=max_gap_bytes,
            max_coalesced_bytes=max_coalesced_bytes,
        ):
            if any(value is None for _, value in group) and await self._promised_all_chunks(prototype):
                raise self._missing(key)
            for index, value in group:
                await self._held_to_metadata(key, value, byte_ranges[index], prototype)
            yield group

    async def _get_many(
        self, requests: Iterable[tuple[str, BufferPrototype, ByteRequest | None]]
    ) -> AsyncGenerator[tuple[str, Buffer | None], None]:
        for key, prototype, byte_range in requests:
            yield key, await self.get(key, prototype, byte_range)
