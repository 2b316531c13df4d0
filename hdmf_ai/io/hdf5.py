"""The HDF5 backend, through hdmf's ``HDF5IO`` (h5py)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

import h5py
import numpy as np
from hdmf.backends.hdf5 import HDF5IO, H5DataIO
from hdmf.build import BuildManager, TypeMap

from ..errors import MissingDependencyError
from .backend import Backend, register_backend
from .policy import LZ4, Blosc, Delta, Gzip, Setting, Shuffle, StorageError, Zstd
from .safety import check_hdf5

__all__ = ["HDF5Backend"]

# HDF5 filters outside the library that hdf5plugin registers: id -> name (from the HDF5 filter registry)
PLUGIN_FILTERS = {32001: "blosc", 32004: "lz4", 32008: "bitshuffle", 32015: "zstd", 32026: "blosc2"}
PLUGIN_HINT = "pip install hdf5plugin (or the hdmf-ai[fast] extra)"


class HDF5Backend(Backend):
    name = "hdf5"
    suffixes = (".h5", ".hdf5", ".nwb")

    def open_io(self, path: Path, mode: str, manager: BuildManager) -> HDF5IO:
        if mode == "r":
            require_filters(path)
            return HDF5IO(path=str(path), file=checked_file(path, source=path), mode=mode, manager=manager)
        if mode == "w":
            # the HDF5 1.8 format: its object headers carry checksums, so a damaged header is an error on read,
            # not a crash (HDF5 2.0 segfaults on an attribute name whose NUL was flipped in the older, unchecked
            # format; found by tests/fuzz). Not 1.10: its v2 B-trees, when damaged, crashed or hung HDF5 2.0 in
            # 4 of 100 random flips, against none for 1.8 (tests/test_reliability.py's corpus).
            file = h5py.File(path, "w", libver=("v108", "v108"))
            return HDF5IO(path=str(path), file=file, mode=mode, manager=manager)
        return HDF5IO(path=str(path), mode=mode, manager=manager)

    def load_cached_namespaces(self, path: Path, type_map: TypeMap) -> None:
        with checked_file(path, source=path) as file:
            load_namespaces(file, type_map)

    # -- storage policy --------------------------------------------------------------------------------

    def data_io(self, data: np.ndarray, setting: Setting, path: str) -> tuple[type[H5DataIO], dict[str, Any]]:
        """The DataIO class and its arguments that store ``data`` as ``setting`` says."""
        kwargs: dict[str, Any] = {"chunks": setting.chunk_shape(data.shape, data.dtype.itemsize)}
        kwargs.update(_filters(setting, path))
        kwargs["fletcher32"] = True  # a checksum of every chunk: a flipped byte is an error, not another number
        return H5DataIO, kwargs

    def write_attributes(self, path: Path, attributes: Mapping[str, Mapping[str, str]]) -> None:
        """Add ``attributes`` (dataset path -> name -> text) to the datasets of a written file."""
        if not attributes:
            return
        with h5py.File(path, "r+") as f:
            for dataset, attrs in attributes.items():
                f[dataset].attrs.update(attrs)


def checked_file(target: str | Path | IO[bytes], *, source: object) -> h5py.File:
    """``target`` (a path or a file object) opened read-only, refused when it points outside itself."""
    file = h5py.File(target, "r")
    try:
        check_hdf5(file, source)  # before hdmf follows any link
    except BaseException:
        file.close()
        raise
    return file


def load_namespaces(file: h5py.File, type_map: TypeMap) -> None:
    """Load the namespaces cached in an open file that ``type_map`` does not know yet."""
    with warnings.catch_warnings():
        # only hdmf-common, hdmf-experimental and hdmf-ai are loaded before: the versions we know
        # (files of older versions of these read with the newer schema by design)
        warnings.filterwarnings("ignore", message="Ignoring (the following )?cached namespace")
        HDF5IO.load_namespaces(type_map, file=file)


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


def require_filters(path: Path) -> None:
    """Make sure every filter the file's datasets use can be decoded here, loading hdf5plugin if needed.

    Without this a missing plugin shows up only when a column is sliced, as HDF5's "can't open directory"
    or "required filter is not registered", which names neither the filter nor what to install.
    """
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


register_backend(HDF5Backend())
