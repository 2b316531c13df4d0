"""The Zarr backend, through hdmf-zarr: Zarr v3 stores are written; v2 stores are read too."""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import zarr
import zarr.codecs
import zarr.codecs.numcodecs as numcodecs_v3
from hdmf.backends.io import HDMFIO
from hdmf.build import BuildManager, TypeMap
from hdmf.container import Container
from hdmf_zarr import ZarrDataIO, ZarrIO, ZarrV2IO, is_zarr_v2_file
from zarr.storage import LocalStore

from .backend import Backend, register_backend
from .policy import LZ4, Blosc, Delta, Gzip, Setting, Shuffle, StorageError, Zstd
from .safety import ALL_CHUNKS_ATTRIBUTE, ContainedReferences, GuardedStore

__all__ = ["ZarrBackend"]


class ZarrBackend(Backend):
    name = "zarr"
    suffixes = (".zarr",)

    def open_io(self, path: Path, mode: str, manager: BuildManager) -> HDMFIO:
        if mode == "r":  # every read goes through the guarded store (see safety.py)
            return reading_io(_local_store(path), manager=manager, location=str(path), v2=is_zarr_v2_file(str(path)))
        return ZarrIO(path=str(path), mode=mode, manager=manager)

    def write(self, io: HDMFIO, root: Container) -> None:
        # every chunk is written, even one that holds only the fill value, so that a reader can tell a
        # chunk lost from the store from an empty one; the root attribute says so
        with warnings.catch_warnings(), zarr.config.set({"array.write_empty_chunks": True}):
            # zarr 3 flags consolidated metadata as outside the v3 spec; hdmf-zarr relies on it by design
            warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
            # HDF5's chunk checksum has no Zarr filter; Zarr chunks carry their own CRC-32C (data_io)
            warnings.filterwarnings("ignore", message=".*HDF5 filter id fletcher32 .* ignored in Zarr")
            super().write(io, root)
            zarr.open_group(str(io.source), mode="r+").attrs[ALL_CHUNKS_ATTRIBUTE] = True
            zarr.consolidate_metadata(str(io.source))

    def load_cached_namespaces(self, path: Path, type_map: TypeMap) -> None:
        load_namespaces(_local_store(path), type_map, v2=is_zarr_v2_file(str(path)))

    # -- storage policy --------------------------------------------------------------------------------

    def data_io(self, data: np.ndarray, setting: Setting, path: str) -> tuple[type[ZarrDataIO], dict[str, Any]]:
        """The DataIO class and its arguments that store ``data`` as ``setting`` says."""
        chunks = setting.chunk_shape(data.shape, data.dtype.itemsize)
        kwargs: dict[str, Any] = {"chunks": chunks, **_codecs(setting, data.dtype, path)}
        # a CRC-32C of every chunk: a flipped byte would otherwise decode to other numbers, silently
        kwargs["compressors"] = [*(kwargs["compressors"] or []), zarr.codecs.Crc32cCodec()]
        n_chunks = math.ceil(data.shape[0] / chunks[0])
        if setting.shard_chunks is not None and setting.shard_chunks > 1 and n_chunks > 1:
            # a shard holds whole chunks; zarr allows a partial shard at the end
            kwargs["shards"] = (chunks[0] * min(setting.shard_chunks, n_chunks), *chunks[1:])
        return ZarrDataIO, kwargs

    def write_attributes(self, path: Path, attributes: Mapping[str, Mapping[str, str]]) -> None:
        """Add ``attributes`` (array path -> name -> text) to the arrays of a written store."""
        if not attributes:
            return
        group = zarr.open_group(str(path), mode="r+")
        for array, attrs in attributes.items():
            node = group[array]
            node.attrs.update(dict(attrs))
        with warnings.catch_warnings():  # hdmf-zarr reads through consolidated metadata: refresh it
            warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
            zarr.consolidate_metadata(str(path))


class _GuardedZarrIO(ContainedReferences, ZarrIO):
    """hdmf-zarr's reader, with references kept inside the store."""


class _GuardedZarrV2IO(ContainedReferences, ZarrV2IO):
    """hdmf-zarr's Zarr v2 reader, with references kept inside the store."""


def _local_store(path: Path) -> GuardedStore:
    return GuardedStore(LocalStore(str(path), read_only=True), source=path)


def reading_io(store: GuardedStore, *, manager: BuildManager, location: str, v2: bool) -> HDMFIO:
    """hdmf-zarr's reader (v3, or v2 for stores of hdmf-zarr < 0.14) on a guarded store."""
    io = (_GuardedZarrV2IO if v2 else _GuardedZarrIO)(path=store, mode="r", manager=manager)
    io.store_location = location
    return io


def load_namespaces(store: GuardedStore, type_map: TypeMap, *, v2: bool) -> None:
    """Load the namespaces cached in a (guarded) store that ``type_map`` does not know yet."""
    io_cls = ZarrV2IO if v2 else ZarrIO
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Ignoring (the following )?cached namespace")
        # every v2 store hdmf-zarr <= 0.13 wrote keeps its specs in json2 object arrays that zarr 3 cannot
        # open; ZarrV2IO decodes them from the raw chunks and warns that it does, which is not news here
        warnings.filterwarnings("ignore", message="Could not read spec dataset .* Falling back to raw chunk read")
        io_cls.load_namespaces(type_map, path=store)


def _codecs(setting: Setting, dtype: np.dtype, path: str) -> dict[str, Any]:
    """zarr 3's filters (array to array) and compressors (bytes to bytes) for a codec chain."""
    filters: list[Any] = []
    compressors: list[Any] = []
    for position, codec in enumerate(setting.codecs):
        if isinstance(codec, Delta):
            if position != 0 or dtype.kind not in "iu":
                raise StorageError(
                    f"column '{path}': Delta must come first and needs integers; got {setting.codecs} on {dtype}"
                )
            filters.append(numcodecs_v3.Delta(dtype=dtype.str))
        elif isinstance(codec, Shuffle):
            compressors.append(numcodecs_v3.Shuffle(elementsize=dtype.itemsize))
        elif isinstance(codec, Gzip):
            compressors.append(zarr.codecs.GzipCodec(level=codec.level))
        elif isinstance(codec, Zstd):
            compressors.append(zarr.codecs.ZstdCodec(level=codec.level))
        elif isinstance(codec, LZ4):
            compressors.append(numcodecs_v3.LZ4())
        elif isinstance(codec, Blosc):
            mode: Literal["noshuffle", "shuffle", "bitshuffle"] = {
                "none": "noshuffle",
                "byte": "shuffle",
                "bit": "bitshuffle",
            }[codec.shuffle]  # type: ignore[assignment]
            compressors.append(
                zarr.codecs.BloscCodec(cname=codec.cname, clevel=codec.level, shuffle=mode, typesize=dtype.itemsize)
            )
    return {"filters": filters, "compressors": compressors or False}


register_backend(ZarrBackend())
