"""Damage to HDF5 files: the bytes of chunks, and the storage metadata that says how to decode them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import h5py

from .core import Family, damaged_copy, flip

__all__ = ["FAMILIES"]


def _chunks(path: Path) -> list[tuple[str, int, int]]:
    """(dataset, byte offset, size) of the first chunk of every chunked dataset."""
    found: list[tuple[str, int, int]] = []

    def visit(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset) and obj.chunks is not None and obj.id.get_num_chunks():
            info = obj.id.get_chunk_info(0)
            found.append((name, info.byte_offset, info.size))

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


def chunk_bytes(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """One flipped byte in the middle of the first chunk of each dataset: checksums must catch it."""
    for name, offset, size in _chunks(good):
        path = damaged_copy(good, scratch / name.replace("/", "~") / good.name)
        flip(path, offset + size // 2, 0x10)
        yield name, path


FAMILIES: dict[str, Family] = {"hdf5/chunk-bytes": chunk_bytes}
#: families the library does not yet handle (see the module docstring of attack): the report runs them
UNFIXED: dict[str, Family] = {}
