"""The Zarr store every read goes through: :class:`GuardedStore` (see :mod:`.safety` for what it refuses).

Its own module because it subclasses zarr's ``WrapperStore``: only reading a Zarr store imports zarr.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Sequence
from typing import Any, Self

from zarr.abc.store import ByteRequest, Store
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import WrapperStore

from ..errors import ResultsFileError
from .safety import ALL_CHUNKS_ATTRIBUTE, check_key

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


def _walk(value: Any, at: str = "") -> Iterable[tuple[str, Any]]:
    yield at or "/", value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{at}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{at}[{i}]")


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

    def _with_store(self, store: Store) -> Self:
        return type(self)(store, self.source)

    def _check(self, key: str) -> None:
        """The key stays inside the store; on a local store, it also names a regular file inside it.

        A chunk that is a symbolic link (to another column's chunk, another store, ``/dev/zero``) or a FIFO
        would be read as this column's data, or block the reader: refused before anything is opened.
        """
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
            elif not stat.S_ISREG(mode):
                raise ResultsFileError(self.source, f"'{relative}' is not a regular file (a device, FIFO or socket)")

    def __str__(self) -> str:
        return str(self._store)

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
        if value is None and not _is_metadata(key):
            if self._promise is None:
                from zarr.core.buffer import default_buffer_prototype
                from zarr.core.sync import sync

                sync(self._promised_all_chunks(prototype or default_buffer_prototype()))
            promised = bool(self._promise)
        checked = self._checked(key, value, promised)
        if cacheable:
            self._metadata[key] = checked
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
            yield group

    async def _get_many(
        self, requests: Iterable[tuple[str, BufferPrototype, ByteRequest | None]]
    ) -> AsyncGenerator[tuple[str, Buffer | None], None]:
        for key, prototype, byte_range in requests:
            yield key, await self.get(key, prototype, byte_range)
