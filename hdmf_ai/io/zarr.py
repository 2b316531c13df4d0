"""The Zarr backend, through hdmf-zarr: Zarr v3 stores are written; v2 stores are read too.

The batched writer's stores are safe by construction: zarr writes every chunk and metadata document to a
temporary file and renames it into place. hdmf-zarr reads shapes and attributes from the consolidated
metadata, which is refreshed after every change made outside hdmf-zarr (:func:`consolidate`).

Numeric columns are written without a copy (:class:`FilledZarrDataIO`): hdmf-zarr creates each array, and
:func:`write_rows` fills it from the user's array with zarr's fused codec pipeline, shards on every core. The
batched writer's rows go through :func:`write_rows` too.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
import math
import os
import stat
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import zarr
import zarr.codecs
import zarr.codecs.numcodecs as numcodecs_v3
from hdmf.backends.io import HDMFIO
from hdmf.build import BuildManager, GroupBuilder, TypeMap
from hdmf.container import Container
from hdmf_zarr import ZarrDataIO, ZarrIO, ZarrV2IO, is_zarr_v2_file
from zarr.storage import LocalStore

from ..errors import MissingDependencyError, ResultsFileError, StorageError
from ..typemap import get_manager, load_cached, schema_type_map
from .backend import V2_FALLBACK, Backend, RawTree, Sink
from .h5chunks import workers
from .incomplete import COMPLETE_ROWS, TARGET_ROWS
from .policy import LZ4, Blosc, Delta, Gzip, Setting, Shuffle, Zstd
from .safety import (
    ALL_CHUNKS_ATTRIBUTE,
    ContainedReferences,
    check_key,
    count_problem,
    not_a_regular_file,
)
from .zarrguard import GuardedStore

__all__ = [
    "V2_FALLBACK",
    "FilledZarrDataIO",
    "ZarrBackend",
    "ZarrSink",
    "consolidate",
    "fused",
    "load_namespaces",
    "reading_io",
    "spec_digest",
    "tree_problem",
    "write_rows",
]


class ZarrBackend(Backend):
    name = "zarr"
    suffixes = (".zarr",)
    append_mode = "r+"

    def open_io(self, path: Path, mode: str, manager: BuildManager) -> HDMFIO:
        if mode == "r":  # every read goes through the guarded store (see safety.py)
            return reading_io(_local_store(path), manager=manager, location=str(path), v2=is_zarr_v2_file(str(path)))
        return _FillingZarrIO(path=str(path), mode=mode, manager=manager)

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

    def open_remote(
        self, url: str, options: Mapping[str, Any], manager: BuildManager, stack: contextlib.ExitStack
    ) -> HDMFIO:
        from zarr.core.buffer import default_buffer_prototype
        from zarr.core.sync import sync
        from zarr.storage import FsspecStore

        from .remote import filesystem

        try:
            store = GuardedStore(FsspecStore.from_url(url, storage_options=dict(options), read_only=True), source=url)
        except ImportError as err:  # the protocol's package (s3fs, aiohttp) is missing
            raise MissingDependencyError(
                f"reading {url} needs {err.name or err}; pip install 'hdmf-ai[remote]'"
            ) from err

        def has(key: str) -> bool:  # the store keeps what it read: asking costs no second request later
            return sync(store.get(key, default_buffer_prototype())) is not None

        v2 = not has("zarr.json")
        if v2 and not has(".zgroup"):
            fs, fs_path = filesystem(url, options)
            if not fs.exists(fs_path):
                raise FileNotFoundError(f"no results file at {url}")
            raise ResultsFileError(url, "is not a Zarr store (no zarr.json or .zgroup at its root)")
        load_namespaces(store, manager.type_map, v2=v2)
        return reading_io(store, manager=manager, location=url, v2=v2)

    def open_reader(self, path: Path, manager: BuildManager | None = None) -> HDMFIO:
        """``manager`` None: our map for the store's cached schema, made once per process (see spec_digest)."""
        v2 = is_zarr_v2_file(str(path))
        if manager is None:
            digest = spec_digest(path)
            if digest is None:  # not a plain local layout: loaded the usual way, through the guarded store
                manager = get_manager()
                load_namespaces(_local_store(path), manager.type_map, v2=v2)
            else:
                store = _local_store(path)
                type_map = schema_type_map(
                    f"zarr:{digest}", lambda tm: _load_namespaces(store, tm, v2=v2), source=store.source
                )
                manager = BuildManager(type_map)
        else:
            load_namespaces(_local_store(path), manager.type_map, v2=v2)
        return reading_io(_local_store(path), manager=manager, location=str(path), v2=v2)

    def load_cached_namespaces(self, path: Path, type_map: TypeMap) -> None:
        load_namespaces(_local_store(path), type_map, v2=is_zarr_v2_file(str(path)))

    def unreadable(self, path: Path) -> str | None:
        if (problem := not_a_regular_file(path, directory=True)) is not None:
            return f"not a Zarr store: {problem.removeprefix('is ')}"
        if not any(path.iterdir()):
            return "empty Zarr store (the directory holds nothing)"
        if not any((path / name).is_file() for name in ("zarr.json", ".zgroup")):
            return "not a Zarr store (no zarr.json or .zgroup at its root)"
        return tree_problem(path)

    def cached_namespaces(self, path: Path) -> dict[str, str]:
        try:
            # not through consolidated metadata either (see root_attribute)
            specs = zarr.open_group(str(path), mode="r", use_consolidated=False)["specifications"]
            if not isinstance(specs, zarr.Group):
                return {}
            return {name: sorted(group.group_keys())[-1] for name, group in specs.groups()}
        except (OSError, KeyError, ValueError):  # nothing cached, or not where hdmf keeps it
            return {}

    def refresh(self, path: Path) -> None:
        consolidate(path)

    # -- storage policy --------------------------------------------------------------------------------

    def data_io(
        self, data: np.ndarray, setting: Setting, path: str, *, growable: bool = False
    ) -> tuple[type[ZarrDataIO], dict[str, Any]]:
        # every Zarr array can grow: growable needs nothing more (a skeleton's columns are empty)
        chunks = setting.chunk_shape(data.shape, data.dtype.itemsize)
        kwargs: dict[str, Any] = {"chunks": chunks, **_codecs(setting, data.dtype, path)}
        # a CRC-32C of every chunk: a flipped byte would otherwise decode to other numbers, silently
        kwargs["compressors"] = [*(kwargs["compressors"] or []), zarr.codecs.Crc32cCodec()]
        n_chunks = math.ceil(data.shape[0] / chunks[0])
        if setting.shard_chunks is not None and setting.shard_chunks > 1 and n_chunks > 1:
            # a shard holds whole chunks; zarr allows a partial shard at the end
            kwargs["shards"] = (chunks[0] * min(setting.shard_chunks, n_chunks), *chunks[1:])
        # numbers are written shard by shard on every core, from the user's array (no copy of it)
        filled = data.size > 0 and data.dtype.kind in "biuf"
        return (FilledZarrDataIO if filled else ZarrDataIO), kwargs

    def write_attributes(self, path: Path, attributes: Mapping[str, Mapping[str, Any]]) -> None:
        if not attributes:
            return
        group = zarr.open_group(str(path), mode="r+")
        for array, attrs in attributes.items():
            node = group[array]
            node.attrs.update(dict(attrs))
        consolidate(path)  # hdmf-zarr reads through consolidated metadata

    def storage_of(self, dataset: Any) -> tuple[Any, tuple[str, ...], int | None] | None:
        if not isinstance(dataset, zarr.Array):
            return None
        parts = [*getattr(dataset, "filters", ()), *getattr(dataset, "compressors", ())]
        codecs = tuple(_codec_name(codec) for codec in parts)
        shards = getattr(dataset, "shards", None)  # chunks are then the inner chunks of each shard
        sharded = () if shards is None else ("shards " + "x".join(map(str, shards)),)
        return tuple(dataset.chunks), codecs + sharded, int(dataset.nbytes_stored())

    # -- raw access ------------------------------------------------------------------------------------

    def open_sink(self, path: Path, table: str, names: list[str], progress: Mapping[str, int]) -> Sink:
        return ZarrSink(path, table, names, progress)

    @contextlib.contextmanager
    def raw_tree(self, path: Path) -> Iterator[RawTree]:
        def group(name: str) -> zarr.Group:
            return zarr.open_group(str(path), path=name.lstrip("/"), mode="r", use_consolidated=False)

        def deref(ref: Mapping[str, Any]) -> zarr.Group:
            # hdmf-zarr stores an object reference as {"_REFERENCE": {"source", "path"}} (older: {"value": ...})
            target = ref.get("_REFERENCE") or ref.get("value") or ref
            return group(str(target["path"]))

        root = zarr.open_group(str(path), mode="r", use_consolidated=False)
        yield RawTree(groups=root.groups, group=group, deref=deref)

    def root_attribute(self, path: Path, key: str) -> Any:
        return self.root_attributes(path, (key,))[key]

    def root_attributes(self, path: Path, keys: tuple[str, ...]) -> dict[str, Any]:
        # the root's own metadata only: zarr 3 parses every entry of a consolidated v2 ``.zmetadata`` and fails on
        # the vlen-bytes arrays (fill_value 0) that hdmf-zarr <= 0.13 wrote for NWB's datetimes
        attrs = zarr.open_group(str(path), mode="r", use_consolidated=False).attrs
        values = {key: attrs.get(key) for key in keys}
        return {key: value.decode() if isinstance(value, bytes) else value for key, value in values.items()}

    def current_attributes(self, source: Path | str, group: GroupBuilder) -> Mapping[str, Any]:
        """A local store's group reopened: the consolidated metadata a reader went by may be older."""
        attributes: Mapping[str, Any] = group.attributes
        if not isinstance(source, Path):
            return attributes
        parts = []
        node: Any = group
        while node.parent is not None:
            parts.append(node.name)
            node = node.parent
        with contextlib.suppress(Exception):  # a store that cannot be reopened: the reader's view stands
            name = "/".join(reversed(parts))
            return zarr.open_group(str(source), path=name, mode="r", use_consolidated=False).attrs
        return attributes

    def nwb_io_class(self, path: Path, mode: str) -> type[HDMFIO]:
        from hdmf_zarr.nwb import NWBZarrIO

        if mode == "r" and is_zarr_v2_file(str(path)):  # written by hdmf-zarr < 0.14
            from hdmf_zarr.nwb_zarrv2 import NWBZarrV2IO

            v2: type[HDMFIO] = NWBZarrV2IO
            return v2
        v3: type[HDMFIO] = NWBZarrIO if mode == "r" else _filling_nwb_io()
        return v3


class ZarrSink(Sink):
    """Rows written with zarr into the skeleton's arrays; progress in the group's attributes."""

    def __init__(self, path: Path, table: str, names: list[str], progress: Mapping[str, int]) -> None:
        self.path = path
        # every chunk is written, so that the reader's check for lost chunks holds (see safety.py)
        with zarr.config.set({"array.write_empty_chunks": True}):
            # opened by its own path: a group's zarr.json may hold a stale nested copy of consolidated metadata
            self.group = zarr.open_group(str(path), path=table, mode="r+", use_consolidated=False)
            self.datasets = {name: self._array(table, name) for name in names}
        self.group.attrs.update(dict(progress))
        consolidate(path)

    def _array(self, table: str, name: str) -> zarr.Array[Any]:
        node = self.group[name]
        if not isinstance(node, zarr.Array):
            raise ResultsFileError(self.path, f"'{table}/{name}' is a group, where the table's column was expected")
        return fused(node)  # shards encoded on every core (see write_rows)

    def resize(self, rows: int) -> None:
        for array in self.datasets.values():
            array.resize((rows, *array.shape[1:]))
        consolidate(path=self.path)  # hdmf-zarr reads shapes from the consolidated metadata

    def commit(self, complete: int) -> None:
        self.group.attrs[COMPLETE_ROWS] = complete  # one atomic rewrite of the group's zarr.json

    def write(self, name: str, start: int, data: np.ndarray) -> None:
        write_rows(self.datasets[name], start, data)

    def close(self) -> None:
        """Nothing is held open."""

    def finish(self, attributes: Mapping[str, Mapping[str, Any]]) -> None:
        attrs = dict(self.group.attrs)
        for key in (COMPLETE_ROWS, TARGET_ROWS):
            attrs.pop(key, None)
        self.group.attrs.put(attrs)
        for name, values in attributes.items():
            self.group[name].attrs.update(dict(values))
        consolidate(self.path)


def consolidate(path: Path) -> None:
    """Refresh a Zarr store's consolidated metadata, which hdmf-zarr reads shapes and attributes from."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        zarr.consolidate_metadata(str(path))


def _codec_name(codec: Any) -> str:
    config: Any = getattr(codec, "to_dict", dict)()
    name = str(config.get("name") or getattr(codec, "codec_id", None) or type(codec).__name__)
    inner = config.get("configuration", {}) if isinstance(config, dict) else {}
    detail = inner.get("cname") or inner.get("level")
    return f"{name}({detail})" if detail is not None else name


class FilledZarrDataIO(ZarrDataIO):
    """A ``ZarrDataIO`` of numbers whose array hdmf-zarr creates and that our writer then fills from ``data`` with
    :func:`write_rows`: whole shards encoded on every core, and no copy of the array.

    hdmf-zarr's own write (``__list_fill__``) stores ``np.array(data, dtype=dtype)``, a copy of every array as
    large as the array. The array it creates, its ``zarr.json`` and its attributes are the same either way
    (tests/test_zarr_write.py); another ZarrIO writes a ``FilledZarrDataIO`` as the plain ``ZarrDataIO`` it is.
    """


class _Filling:
    """hdmf-zarr's writer (a ``ZarrIO`` mixed in after this), which fills the arrays of
    :class:`FilledZarrDataIO` columns with :func:`write_rows`.

    hdmf-zarr creates the array from the column's first zero rows (its dtype, ``_DTYPE`` attribute, chunks,
    shards and codecs as for the whole column), then it is resized to the column's shape and filled.
    """

    _filling: np.ndarray | None = None

    def write_dataset(self, **kwargs: Any) -> Any:
        data = kwargs["builder"].data
        filled = isinstance(data, FilledZarrDataIO) and kwargs.get("force_data") is None
        self._filling = data.data if filled else None
        return super().write_dataset(**kwargs)  # type: ignore[misc]  # ZarrIO's, after this mixin

    def __list_fill__(self, parent: Any, name: str, data: Any, options: dict[str, Any] | None = None) -> Any:
        values, self._filling = self._filling, None
        if values is None or data is not values or values.size == 0 or options is None:
            return super().__list_fill__(parent, name, data, options)  # type: ignore[misc]
        if options.get("dtype") is None:
            # hdmf-zarr takes the type of the first element, which the zero rows do not have: it is the array's
            options = {**options, "dtype": values.dtype.type}
        array = super().__list_fill__(parent, name, values[:0], options)  # type: ignore[misc]
        array.resize(values.shape)
        write_rows(array, 0, values)
        return array


class _FillingZarrIO(_Filling, ZarrIO):
    """hdmf-zarr's ``ZarrIO``, numeric columns filled by :func:`write_rows`."""


@functools.cache
def _filling_nwb_io() -> type[HDMFIO]:
    """hdmf-zarr's ``NWBZarrIO`` (imports pynwb: made on first use), numeric columns filled by :func:`write_rows`."""
    from hdmf_zarr.nwb import NWBZarrIO

    io_class: type[HDMFIO] = type("_FillingNWBZarrIO", (_Filling, NWBZarrIO), {"__doc__": _filling_nwb_io.__doc__})
    return io_class


#: zarr's synchronous codec pipeline (opt-in in zarr 3.4): each shard encoded in one task (not one coroutine per
#: chunk on zarr's single event loop), shards on a pool of ``codec_pipeline.max_workers`` threads; the same bytes
_FUSED = "zarr.core.codec_pipeline.FusedCodecPipeline"

#: shards per call when the rows must be cast to the array's dtype: the casts' memory is that many shards'
BLOCK_SHARDS = 8


def fused(array: zarr.Array[Any]) -> zarr.Array[Any]:
    """``array`` opened again (same metadata and runtime settings) with zarr's fused codec pipeline, when this
    zarr has one; else ``array`` itself (zarr's default pipeline also encodes chunks on several threads)."""
    from zarr.core import codec_pipeline

    pipeline = getattr(codec_pipeline, "FusedCodecPipeline", None)
    if pipeline is None or isinstance(array.async_array.codec_pipeline, pipeline):
        return array
    with zarr.config.set({"codec_pipeline.path": _FUSED}):
        return array.with_config(array.config)


def write_rows(array: zarr.Array[Any], start: int, data: np.ndarray) -> None:
    """Store ``data`` as rows ``start:start+len(data)`` of ``array``, shards encoded on every core.

    Whole shards are encoded from views of ``data``; a shard only partly covered is merged with what it holds
    (zarr reads it first). Rows of another dtype are cast to the array's as numpy casts, a few shards at a time.
    """
    data = np.asarray(data)
    target = fused(array)
    stop = start + len(data)
    with zarr.config.set({"codec_pipeline.max_workers": workers()}):
        if data.dtype == target.dtype or len(data) == 0:
            target[start:stop] = data
            return
        step = int((target.shards or target.chunks)[0]) * BLOCK_SHARDS
        cuts = [start, *range((start // step + 1) * step, stop, step), stop]
        for lo, hi in itertools.pairwise(cuts):
            target[lo:hi] = np.asarray(data[lo - start : hi - start], dtype=target.dtype)


class _GuardedZarrIO(ContainedReferences, ZarrIO):
    """hdmf-zarr's reader, with references kept inside the store."""


class _GuardedZarrV2IO(ContainedReferences, ZarrV2IO):
    """hdmf-zarr's Zarr v2 reader, with references kept inside the store."""

    def read_builder(self) -> Any:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=V2_FALLBACK)
            return super().read_builder()


def _local_store(path: Path) -> GuardedStore:
    return GuardedStore(LocalStore(str(path), read_only=True), source=path)


def reading_io(store: GuardedStore, *, manager: BuildManager, location: str, v2: bool) -> HDMFIO:
    """hdmf-zarr's reader (v3, or v2 for stores of hdmf-zarr < 0.14) on a guarded store."""
    io = (_GuardedZarrV2IO if v2 else _GuardedZarrIO)(path=store, mode="r", manager=manager)
    io.store_location = location
    return io


def load_namespaces(store: GuardedStore, type_map: TypeMap, *, v2: bool) -> None:
    """Load the namespaces cached in a (guarded) store that ``type_map`` does not know yet."""
    load_cached(lambda: _load_namespaces(store, type_map, v2=v2), source=store.source)


def _load_namespaces(store: GuardedStore, type_map: TypeMap, *, v2: bool) -> None:
    with warnings.catch_warnings():
        # every v2 store hdmf-zarr <= 0.13 wrote keeps its specs in json2 object arrays that zarr 3 cannot
        # open; ZarrV2IO decodes them from the raw chunks and warns that it does, which is not news here
        warnings.filterwarnings("ignore", message="Could not read spec dataset .* Falling back to raw chunk read")
        (ZarrV2IO if v2 else ZarrIO).load_namespaces(type_map, path=store)


_NODE_METADATA = ("zarr.json", ".zgroup", ".zarray")


def tree_problem(path: Path) -> str | None:
    """Why a local store's tree of groups cannot be read: nested deeper than :data:`~.safety.MAX_DEPTH` or more
    than :func:`~.safety.max_objects` nodes, or a node's metadata that is not a regular file. None if fine.

    Directories that hold a node's metadata are walked (without following links); below a directory without
    (chunks) nothing is: its files are examined as they are read, by the guarded store. One ``scandir`` per
    group, array and array's chunk directory.
    """
    nodes = 0
    stack = [(path, 0)]
    while stack:
        directory, depth = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError as err:
            return f"'{directory.relative_to(path)}' cannot be listed: {err.strerror or err}"
        names = {entry.name: entry for entry in entries}
        metadata = [names[name] for name in _NODE_METADATA if name in names]
        if not metadata and depth:
            continue  # chunks, or a directory zarr does not read
        for entry in metadata:
            if not entry.is_file(follow_symlinks=False):
                where = Path(entry.path).relative_to(path)
                return f"its metadata '{where}' is not a regular file (a link, a directory, a FIFO or a device)"
        nodes += 1
        if (problem := count_problem(depth, nodes, str(directory.relative_to(path)) or "/")) is not None:
            return problem
        stack.extend((Path(entry.path), depth + 1) for entry in entries if entry.is_dir(follow_symlinks=False))
    return None


def spec_digest(path: Path) -> str | None:
    """A hash of the schema cached in a local store, as hdmf-zarr reads it: the group the root's ``.specloc``
    names, every metadata entry the consolidated metadata holds for it, and every file under it (name and
    bytes: the spec documents are the chunks). None when the layout is anything but plain (a link, a device,
    unreadable metadata): such a store is read without the cache, through the guarded store, which says why.
    """
    try:
        root = path / "zarr.json"
        if root.is_file():
            document = json.loads(root.read_bytes())
            location = document.get("attributes", {}).get(".specloc")
            consolidated = (document.get("consolidated_metadata") or {}).get("metadata") or {}
        else:
            location = json.loads((path / ".zattrs").read_bytes()).get(".specloc")
            zmetadata = path / ".zmetadata"
            consolidated = json.loads(zmetadata.read_bytes()).get("metadata", {}) if zmetadata.exists() else {}
        if location is None:
            return "none"
        if not isinstance(location, str) or not isinstance(consolidated, dict):
            return None
        check_key(location, path)
        digest = hashlib.sha256()

        def add(*parts: bytes) -> None:
            for part in parts:
                digest.update(len(part).to_bytes(8, "little"))
                digest.update(part)

        add(location.encode())
        for key in sorted(k for k in consolidated if k == location or k.startswith(f"{location}/")):
            add(key.encode(), json.dumps(consolidated[key], sort_keys=True).encode())
        top = path / location
        for directory, subdirectories, files in os.walk(top, followlinks=False):
            subdirectories.sort()
            for name in sorted([*subdirectories, *files]):
                entry = Path(directory) / name
                mode = entry.lstat().st_mode
                if stat.S_ISLNK(mode) or not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                    return None
                if stat.S_ISREG(mode):
                    add(str(entry.relative_to(path)).encode(), entry.read_bytes())
        return digest.hexdigest()
    except (OSError, ValueError, AttributeError, ResultsFileError):
        return None


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
