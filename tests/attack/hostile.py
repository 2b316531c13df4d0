"""Hostile file systems and bombs, on both backends: files that are not regular files (FIFOs, devices through
links, a directory for a file and the reverse), deep nesting and very many objects, and compressed chunks that
declare gigabytes ("bombs": Zarr's zstd, Blosc and gzip; HDF5's Blosc filter of the ``fast`` and ``compact``
presets). A reader must refuse each with a typed error, without blocking, and with its memory far below what a
bomb declares.
"""

from __future__ import annotations

import functools
import json
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import h5py
import numcodecs
import numpy as np

import hdmf_ai
from hdmf_ai.io.h5chunks import fletcher32

from .core import Family, damaged_copy
from .zarr import edit_metadata, first_chunk, reshard, set_crc

__all__ = ["FAMILIES", "UNFIXED", "add_zarr_groups", "remove_nested", "blosc_bomb", "gzip_bomb", "zstd_bomb"]

#: what the bombs declare (or, for gzip, which declares nothing, hold)
BOMB_BYTES = 2**31 - 2**18
NESTING = 2_500
MANY = 12_000


def _is_zarr(path: Path) -> bool:
    return path.suffix == ".zarr"


def _copy(good: Path, scratch: Path, variant: str) -> Path:
    return damaged_copy(good, scratch / variant.replace("/", "~").replace(" ", "-") / good.name)


def _spot(scratch: Path, variant: str, good: Path) -> Path:
    """A free path with ``good``'s name, to put something other than a copy at."""
    spot = scratch / variant.replace("/", "~").replace(" ", "-") / good.name
    spot.parent.mkdir(parents=True, exist_ok=True)
    return spot


# -- bombs ------------------------------------------------------------------------------------------------


def zstd_bomb(size: int = 2**32) -> bytes:
    """A zstd frame of ``size`` zero bytes in RLE blocks, stating its size in its header (128 KiB per 4 GiB)."""
    frame = bytearray(b"\x28\xb5\x2f\xfd" + bytes([0xE0]) + struct.pack("<Q", size))  # single segment, 8-byte size
    block = 128 * 2**10
    for start in range(0, size, block):
        n = min(block, size - start)
        last = int(start + n >= size)
        frame += struct.pack("<I", (n << 3) | (1 << 1) | last)[:3] + b"\x00"
    return bytes(frame)


def blosc_bomb(cname: str = "zstd", typesize: int = 8, size: int = BOMB_BYTES) -> bytes:
    """A Blosc frame that decodes to ``size`` zero bytes: one compressed block of zeros, which every entry of
    the block-start table points at (about 32 KiB for 2 GiB)."""
    block = 2**18
    codec = numcodecs.Blosc(cname=cname, clevel=5, shuffle=numcodecs.Blosc.NOSHUFFLE, blocksize=block)
    small = codec.encode(np.zeros(2 * block // typesize, dtype=f"u{typesize}"))
    first, second = struct.unpack_from("<ii", small, 16)
    data = small[first:second]
    n = size // block
    start = 16 + 4 * n
    header = bytearray(small[:16])
    struct.pack_into("<III", header, 4, n * block, block, start + len(data))
    return bytes(header) + struct.pack(f"<{n}i", *([start] * n)) + data


@functools.cache
def gzip_bomb(size: int = BOMB_BYTES) -> bytes:
    """A gzip stream of ``size`` zero bytes (gzip declares no size: its decoder finds out by decoding), made from
    one flushed deflate block of a MiB of zeros repeated: about 1 KiB per MiB."""
    mib = bytes(2**20)
    deflater = zlib.compressobj(9, zlib.DEFLATED, 31)
    head = deflater.compress(mib) + deflater.flush(zlib.Z_SYNC_FLUSH)
    repeated = deflater.compress(mib) + deflater.flush(zlib.Z_SYNC_FLUSH)
    n = size // 2**20
    crc = 0
    for _ in range(n):
        crc = zlib.crc32(mib, crc)
    end = deflater.flush()[:-8]  # the last (empty) block, then the trailer: CRC-32 and length of what it holds
    return head + repeated * (n - 1) + end + struct.pack("<II", crc, (n * 2**20) & 0xFFFFFFFF)


def _zarr_bombs(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    # a text array: zstd without a CRC (hdmf-zarr's chain for strings)
    path = _copy(good, scratch, "zstd-text")
    first_chunk(path, "source/site").write_bytes(zstd_bomb())
    yield "zstd frame of 4 GiB in source/site", path
    # numbers: the default chain, Blosc then CRC-32C
    path = _copy(good, scratch, "blosc")
    chunk = first_chunk(path, "results/loss")
    chunk.write_bytes(blosc_bomb() + b"\0\0\0\0")
    set_crc(chunk)
    yield "Blosc frame of 2 GiB in results/loss", path
    # the compact chain: shuffle, zstd, CRC-32C
    path = _copy(good, scratch, "zstd-compact")
    reshard(path, "results/loss", codecs="compact")
    chunk = first_chunk(path, "results/loss")
    chunk.write_bytes(zstd_bomb() + b"\0\0\0\0")
    set_crc(chunk)
    yield "zstd frame of 4 GiB in results/loss (compact chain)", path
    # gzip, which states no size
    path = _copy(good, scratch, "gzip")
    gzip_chain = [
        {"name": "bytes", "configuration": {"endian": "little"}},
        {"name": "gzip", "configuration": {"level": 5}},
    ]
    edit_metadata(path, "results/loss", lambda d: d.update(codecs=[*gzip_chain, {"name": "crc32c"}]))
    chunk = first_chunk(path, "results/loss")
    chunk.write_bytes(gzip_bomb() + b"\0\0\0\0")
    set_crc(chunk)
    yield "gzip stream of 2 GiB in results/loss", path


def _hdf5_bombs(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """Files of the ``fast`` and ``compact`` presets (HDF5's Blosc filter, through hdf5plugin), written from the
    pristine file's tables, with one chunk replaced by a Blosc bomb (its Fletcher-32 recomputed)."""
    tables = hdmf_ai.read(good)
    for preset, cname in (("fast", "lz4"), ("compact", "zstd")):
        for dataset, typesize in (("results/loss", 8), ("source/age", 8)):
            path = _spot(scratch, f"{preset}-{dataset}", good)
            hdmf_ai.write(tables, path, preset=preset)
            bomb = blosc_bomb(cname, typesize)
            with h5py.File(path, "r+") as f:
                f[dataset].id.write_direct_chunk((0,), bomb + struct.pack("<I", fletcher32(bomb)))
            yield f"{preset}: Blosc frame of 2 GiB in {dataset}", path


def bombs(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """Compressed chunks declaring gigabytes: refused before they are decoded."""
    yield from (_zarr_bombs if _is_zarr(good) else _hdf5_bombs)(good, scratch)


# -- not regular files ------------------------------------------------------------------------------------


def fifos(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """A FIFO (nobody writes to it: opening it for reading blocks) as the file, a chunk or a zarr.json."""
    spot = _spot(scratch, "file", good)
    os.mkfifo(spot)
    yield "the file", spot
    if not _is_zarr(good):
        return
    for name, member in (
        ("chunk", lambda p: first_chunk(p, "results/loss")),
        ("array zarr.json", lambda p: p / "results/loss/zarr.json"),
        ("root zarr.json", lambda p: p / "zarr.json"),
    ):
        path = _copy(good, scratch, name)
        target = member(path)
        target.unlink()
        os.mkfifo(target)
        yield name, path


def devices(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """Links to endless devices: the file itself (a link the user gave), a chunk or a zarr.json."""
    spot = _spot(scratch, "file-zero", good)
    spot.symlink_to("/dev/zero")
    yield "the file -> /dev/zero", spot
    if not _is_zarr(good):
        return
    for name, member, device in (
        ("chunk -> /dev/zero", lambda p: first_chunk(p, "results/loss"), "/dev/zero"),
        ("text chunk -> /dev/zero", lambda p: first_chunk(p, "source/site"), "/dev/zero"),
        ("array zarr.json -> /dev/urandom", lambda p: p / "results/loss/zarr.json", "/dev/urandom"),
        ("root zarr.json -> /dev/urandom", lambda p: p / "zarr.json", "/dev/urandom"),
    ):
        path = _copy(good, scratch, name)
        target = member(path)
        target.unlink()
        target.symlink_to(device)
        yield name, path


def files_and_directories(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """A directory where a file belongs, and a file where a directory belongs."""
    if not _is_zarr(good):
        spot = _spot(scratch, "dir", good)
        spot.mkdir()
        (spot / "results.h5").write_bytes(good.read_bytes())
        yield "the file is a directory", spot
        return
    spot = _spot(scratch, "file", good)
    spot.write_bytes((good / "zarr.json").read_bytes())
    yield "the store is a file", spot
    for name, member in (
        ("chunk is a directory", lambda p: first_chunk(p, "results/loss")),
        ("array zarr.json is a directory", lambda p: p / "results/loss/zarr.json"),
        ("root zarr.json is a directory", lambda p: p / "zarr.json"),
    ):
        path = _copy(good, scratch, name)
        target = member(path)
        target.unlink()
        target.mkdir()
        (target / "0").write_bytes(b"\0" * 64)
        yield name, path
    path = _copy(good, scratch, "array is a file")
    array = path / "results/loss"
    metadata = (array / "zarr.json").read_bytes()
    for entry in sorted(array.rglob("*"), reverse=True):
        entry.rmdir() if entry.is_dir() else entry.unlink()
    array.rmdir()
    array.write_bytes(metadata)
    yield "array directory is a file", path


# -- nesting and numbers of objects -----------------------------------------------------------------------


def add_zarr_groups(store: Path, names: list[str]) -> None:
    """Groups added to a store: their zarr.json, and entries in the consolidated metadata. Each is made inside
    its parent through a directory descriptor: a chain of 2,500 is longer than a path may be (4,096 bytes)."""
    group = json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}).encode()
    opened = {"": os.open(store, os.O_RDONLY)}
    try:
        for name in names:
            parent, _, leaf = name.rpartition("/")
            if parent not in opened:
                opened[parent] = os.open(store / parent, os.O_RDONLY)
            os.mkdir(leaf, dir_fd=opened[parent])
            opened[name] = os.open(leaf, os.O_RDONLY, dir_fd=opened[parent])
            fd = os.open("zarr.json", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=opened[name])
            os.write(fd, group)
            os.close(fd)
            if parent:  # a chain keeps only the descriptor of its deepest group
                os.close(opened.pop(parent))
    finally:
        for fd in opened.values():
            os.close(fd)
    root = store / "zarr.json"
    document = json.loads(root.read_bytes())
    entries = document["consolidated_metadata"]["metadata"]
    entries.update({name: {"zarr_format": 3, "node_type": "group", "attributes": {}} for name in names})
    root.write_text(json.dumps(document))


def _hdf5_groups(file: Path, names: list[str]) -> None:
    with h5py.File(file, "r+") as f:
        made: dict[str, h5py.Group] = {"": f}
        for name in names:
            parent, _, leaf = name.rpartition("/")
            made[name] = (made[parent] if parent in made else f.require_group(parent)).create_group(leaf)


def _add_groups(path: Path, names: list[str]) -> None:
    (add_zarr_groups if _is_zarr(path) else _hdf5_groups)(path, names)


def nesting(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """2,500 groups, each inside the last: beside the tables, and inside the results table."""
    for where in ("", "results/"):
        path = _copy(good, scratch, f"nested-{where or 'root'}")
        chain = [f"{where}n" + "/n" * depth for depth in range(NESTING)]
        _add_groups(path, chain)
        try:
            yield f"{NESTING} nested groups in /{where}", path
        finally:  # also when the generator is closed early: nothing this deep may be left to shutil.rmtree
            if _is_zarr(path):
                remove_nested(path, chain)


def remove_nested(store: Path, chain: list[str]) -> None:
    """Remove a chain of nested groups from a store, deepest first, through directory descriptors (the chain is
    longer than a path may be, and ``shutil.rmtree`` would recurse once per level, past Python's limit)."""
    top, _, _ = chain[0].rpartition("/")
    fds = [os.open(store / top if top else store, os.O_RDONLY)]
    try:
        for name in chain:
            fds.append(os.open(name.rpartition("/")[2], os.O_RDONLY, dir_fd=fds[-1]))
        for name, fd in zip(reversed(chain), reversed(fds[1:]), strict=True):
            os.unlink("zarr.json", dir_fd=fd)
            os.close(fd)
            fds.pop()
            os.rmdir(name.rpartition("/")[2], dir_fd=fds[-1])
    finally:
        for fd in fds:
            os.close(fd)


def many_objects(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """12,000 empty groups beside the tables: more than a results file may hold (safety.MAX_OBJECTS)."""
    path = _copy(good, scratch, "many")
    _add_groups(path, [f"g{i}" for i in range(MANY)])
    yield f"{MANY} groups at the root", path


FAMILIES: dict[str, Family] = {
    "any/bombs": bombs,
    "any/fifos": fifos,
    "any/devices": devices,
    "any/files-and-directories": files_and_directories,
    "any/nesting": nesting,
    "any/many-objects": many_objects,
}
#: families the library does not yet handle (see the module docstring of attack): the report runs them
UNFIXED: dict[str, Family] = {}
