"""Damage to HDF5 files: the bytes of chunks, and the storage metadata that says how to decode them.

The files of ``hdmf_ai.write`` (the HDF5 1.8 format) index their chunks with version-1 B-trees (``TREE``
nodes, no checksum); those of the batched writer (the newest format) with extensible arrays (``EAIB``
index blocks, with a Jenkins lookup3 checksum). Damage to checksummed metadata is made consistent: the
structure's checksum is computed anew (:func:`lookup3`, written here from Bob Jenkins' ``hashlittle``, which
HDF5's ``H5_checksum_lookup3`` is), so HDF5's own check passes and only the values can tell.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import h5py

from .core import Family, damaged_copy, flip

__all__ = ["FAMILIES", "chunk_entry", "dataset_headers", "edit", "first_chunks", "heap_texts", "lookup3", "messages"]

UNDEFINED = b"\xff" * 8  # HDF5's undefined address
#: signatures of HDF5 structures that end in a lookup3 checksum
CHECKSUMMED = (b"OHDR", b"OCHK", b"EAHD", b"EAIB", b"EADB", b"EASB", b"BTHD", b"BTIN", b"BTLF", b"FRHP", b"FHDB")
#: signatures of HDF5 structures without a checksum (version-1 B-tree nodes, global and local heaps)
PLAIN = (b"TREE", b"GCOL", b"HEAP", b"SNOD")
#: how far back the signature of the structure holding a byte is looked for
WINDOW = 8192


# -- HDF5's checksum, by hand ----------------------------------------------------------------------------------


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & 0xFFFFFFFF


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 ``hashlittle`` of ``data`` (what HDF5 checksums its metadata with)."""
    m = 0xFFFFFFFF
    n = len(data)
    a = b = c = (0xDEADBEEF + n + initval) & m
    i = 0
    while n - i > 12:
        a = (a + int.from_bytes(data[i : i + 4], "little")) & m
        b = (b + int.from_bytes(data[i + 4 : i + 8], "little")) & m
        c = (c + int.from_bytes(data[i + 8 : i + 12], "little")) & m
        a = ((a - c) & m) ^ _rot(c, 4)
        c = (c + b) & m
        b = ((b - a) & m) ^ _rot(a, 6)
        a = (a + c) & m
        c = ((c - b) & m) ^ _rot(b, 8)
        b = (b + a) & m
        a = ((a - c) & m) ^ _rot(c, 16)
        c = (c + b) & m
        b = ((b - a) & m) ^ _rot(a, 19)
        a = (a + c) & m
        c = ((c - b) & m) ^ _rot(b, 4)
        b = (b + a) & m
        i += 12
    tail = data[i:]
    if not tail:
        return c
    tail = tail + b"\x00" * (12 - len(tail))
    a = (a + int.from_bytes(tail[0:4], "little")) & m
    b = (b + int.from_bytes(tail[4:8], "little")) & m
    c = (c + int.from_bytes(tail[8:12], "little")) & m
    c = (c ^ b) - _rot(b, 14) & m
    a = (a ^ c) - _rot(c, 11) & m
    b = (b ^ a) - _rot(a, 25) & m
    c = (c ^ b) - _rot(b, 16) & m
    a = (a ^ c) - _rot(c, 4) & m
    b = (b ^ a) - _rot(a, 14) & m
    c = (c ^ b) - _rot(b, 24) & m
    return c


def _checksum_end(original: bytes, offset: int) -> tuple[int, int] | None:
    """(start, checksum offset) of the checksummed structure holding byte ``offset``; None outside any."""
    nearest = max((original.rfind(sig, max(0, offset - WINDOW), offset + 1), sig) for sig in (*CHECKSUMMED, *PLAIN))
    start, signature = nearest
    if start < 0 or signature in PLAIN:
        return None
    if signature == b"OHDR":  # a version-2 object header's first chunk: its size is in the prefix
        flags = original[start + 5]
        at = start + 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
        width = 1 << (flags & 0x03)
        end = at + width + int.from_bytes(original[at : at + width], "little")
        assert lookup3(original[start:end]) == int.from_bytes(original[end : end + 4], "little")
        return start, end
    for end in range(offset + 1, min(len(original) - 4, start + 1024)):  # the others: found by their checksum
        if lookup3(original[start:end]) == int.from_bytes(original[end : end + 4], "little"):
            return start, end
    raise LookupError(f"no checksum found for the {signature!r} at {start}")


def edit(path: Path, changes: dict[int, bytes]) -> None:
    """Write ``changes`` (offset -> bytes) into ``path``, and the checksums of the structures they fall in anew."""
    original = path.read_bytes()
    data = bytearray(original)
    for offset, new in changes.items():
        data[offset : offset + len(new)] = new
    for offset in changes:
        found = _checksum_end(original, offset)
        if found is not None:
            start, end = found
            data[end : end + 4] = lookup3(bytes(data[start:end])).to_bytes(4, "little")
    path.write_bytes(bytes(data))


# -- where things are --------------------------------------------------------------------------------------------


def dataset_headers(path: Path) -> dict[str, tuple[int, int]]:
    """name -> (object header address, rank) of every dataset outside the cached specifications."""
    found: dict[str, tuple[int, int]] = {}

    def visit(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset) and not name.startswith("specifications"):
            found[name] = (h5py.h5o.get_info(obj.id).addr, obj.ndim)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


def first_chunks(path: Path) -> list[tuple[str, int, int]]:
    """(dataset, byte offset, size) of the first chunk of every chunked dataset."""
    found: list[tuple[str, int, int]] = []

    def visit(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset) and obj.chunks is not None and obj.id.get_num_chunks():
            info = obj.id.get_chunk_info(0)
            found.append((name, info.byte_offset, info.size))

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


def chunk_entry(data: bytes, address: int) -> tuple[str, int, int]:
    """Where the index entry of the chunk at ``address`` is: ("tree", first key, 0) for a version-1 B-tree
    node of one entry, ("ea", element, bytes of its size) for an extensible array."""
    packed = struct.pack("<Q", address)
    at = data.find(packed)
    while at >= 0:
        node = data.rfind(b"TREE", max(0, at - 4096), at)
        if node >= 0 and data[node + 4] == 1:
            return "tree", node + 24, 0  # the first key: chunk size, filter mask, offsets; then the address
        block = data.rfind(b"EAIB", max(0, at - 4096), at)
        if block >= 0:
            header = int.from_bytes(data[block + 6 : block + 14], "little")
            element_size = data[header + 6]
            return "ea", at, element_size - 12
        at = data.find(packed, at + 1)
    raise LookupError(f"no chunk index entry points at {address}")


#: datasets of each kind of value (float64, 2-D float32, uint32; then int32, and a source table's float64)
#: whose filter masks and datatypes are damaged
FILTERED = ("results/loss", "results/embedding", "results/predicted_class")
DATATYPED = (*FILTERED, "results/cluster_label", "source/age")


def chunk_bytes(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """One flipped byte in the middle of the first chunk of each dataset: checksums must catch it."""
    for name, offset, size in first_chunks(good):
        path = damaged_copy(good, scratch / name.replace("/", "~") / good.name)
        flip(path, offset + size // 2, 0x10)
        yield name, path


def filter_mask(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """A chunk's filter mask marking shuffle, deflate or Fletcher-32 skipped (index checksums made anew)."""
    data = good.read_bytes()
    chunks = {name: (offset, size) for name, offset, size in first_chunks(good)}
    for name in FILTERED:
        kind, where, extra = chunk_entry(data, chunks[name][0])
        mask_at = where + 4 if kind == "tree" else where + 8 + extra
        for bit, skipped in enumerate(("shuffle", "deflate", "fletcher32")):
            variant = f"{name}:{skipped}"
            path = damaged_copy(good, scratch / variant.replace("/", "~").replace(":", "~") / good.name)
            edit(path, {mask_at: struct.pack("<I", 1 << bit)})
            yield variant, path


def chunk_index(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """Chunk index entries pointing at another dataset's chunk, two swapped, and one dropped."""
    data = good.read_bytes()
    chunks = {name: (offset, size) for name, offset, size in first_chunks(good)}
    headers = dataset_headers(good)

    def entry(name: str) -> tuple[str, int, int]:
        return chunk_entry(data, chunks[name][0])

    def pointing(name: str, other: str) -> dict[int, bytes]:
        kind, where, extra = entry(name)
        offset, size = chunks[other]
        if kind == "tree":  # the key (size, mask, offsets) precedes the child address
            ndims = 1 + headers[name][1]
            return {where: struct.pack("<I", size), where + 8 + 8 * ndims: struct.pack("<Q", offset)}
        return {where: struct.pack("<Q", offset), where + 8: size.to_bytes(extra, "little")}

    pairs = [("results/loss", "results/predicted_value"), ("results/cluster_label", "results/cv_split")]
    for name, other in pairs:
        path = damaged_copy(good, scratch / f"{name}-at-{other}".replace("/", "~") / good.name)
        edit(path, pointing(name, other))
        yield f"{name} at {other}'s chunk", path
        path = damaged_copy(good, scratch / f"{name}-swap-{other}".replace("/", "~") / good.name)
        edit(path, {**pointing(name, other), **pointing(other, name)})
        yield f"{name} swapped with {other}", path
    for name in ("results/predicted_probability", "source/age"):
        kind, where, _ = entry(name)
        path = damaged_copy(good, scratch / f"{name}-dropped".replace("/", "~") / good.name)
        if kind == "tree":  # the node's entries used: none
            edit(path, {where - 24 + 6: struct.pack("<H", 0)})
        else:
            edit(path, {where: UNDEFINED})
        yield f"{name} entry dropped", path


def messages(data: bytes, header: int) -> list[tuple[int, int, int]]:
    """(type, body offset, body size) of every message in the first chunk of the version-2 object header at
    ``header``."""
    assert data[header : header + 4] == b"OHDR", data[header : header + 4]
    flags = data[header + 5]
    at = header + 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
    width = 1 << (flags & 0x03)
    size = int.from_bytes(data[at : at + width], "little")
    at += width
    end = at + size
    found = []
    while at < end:
        mtype, msize = data[at], int.from_bytes(data[at + 1 : at + 3], "little")
        body = at + 4 + (2 if flags & 0x04 else 0)
        found.append((mtype, body, msize))
        at = body + msize
    return found


def _message(data: bytes, header: int, kind: int) -> int:
    """The offset of the body of the first message of type ``kind`` in the object header at ``header``."""
    for mtype, body, _ in messages(data, header):
        if mtype == kind:
            return body
    raise LookupError(f"no message {kind} in the object header at {header}")


DATATYPE = 0x03


def datatype(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """A dataset's datatype changed in its object header (checksum made anew): byte order, float read as an
    integer of the same size, signedness, exponent bias."""
    data = good.read_bytes()
    headers = {name: addr for name, (addr, _) in dataset_headers(good).items()}

    def variants() -> Iterator[tuple[str, str, dict[int, bytes]]]:
        for name in DATATYPED:
            body = _message(data, headers[name], DATATYPE)
            klass, bits = data[body] & 0x0F, data[body + 1]
            yield name, "byte order", {body + 1: bytes([bits ^ 0x01])}
            if klass == 1:  # floating point: read as a fixed-point integer of the same size
                yield name, "float as integer", {body: bytes([(data[body] & 0xF0) | 0x00]), body + 1: b"\x08"}
                bias = int.from_bytes(data[body + 8 + 8 : body + 8 + 12], "little")
                yield name, "exponent bias", {body + 16: struct.pack("<I", bias + 1)}
            elif klass == 0:
                yield name, "signedness", {body + 1: bytes([bits ^ 0x08])}

    for name, what, changes in variants():
        variant = f"{name}:{what}"
        path = damaged_copy(good, scratch / variant.replace("/", "~").replace(":", "~").replace(" ", "-") / good.name)
        edit(path, changes)
        yield variant, path


def heap_texts(good: Path) -> list[tuple[str, bytes]]:
    """(what, text) of strings a file keeps in its global heap: enum elements, source strings, descriptions,
    metadata attributes, a spec document."""
    with h5py.File(good, "r") as f:
        results, source = f["results"], f["source"]
        spec = next(iter(f["specifications/hdmf-ai"].values()))
        document = next(iter(spec.values()))[()]
        picked = [
            ("true_label_elements[1]", results["true_label_elements"][1]),
            ("tvt_split_elements[2]", results["tvt_split_elements"][2]),
            ("source/site[0]", source["site"][0]),
            ("results description", results.attrs["description"]),
            ("loss description", results["loss"].attrs["description"]),
            ("source_code[0]", results.attrs["source_code"][0]),
            ("parameters[0]", results.attrs["parameters"][0]),
            ("spec document", document),
        ]
    return [(what, text.encode() if isinstance(text, str) else bytes(text)) for what, text in picked]


def heap_strings(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """Strings in the global heap (no checksum covers them) with one letter changed, and one heap object's
    size shortened."""
    data = good.read_bytes()
    for what, text in heap_texts(good):
        at = data.find(struct.pack("<Q", len(text)) + text) + 8  # a heap object: its size, then its bytes
        assert at >= 8 and data.rfind(b"GCOL", 0, at) >= 0, (what, text)
        doc = text.find(b'"doc":"')  # a spec document: a letter of a doc string, not of a key
        start = doc + 7 if doc >= 0 else 0
        letter = next(i for i, ch in enumerate(text) if i >= start and chr(ch).isalpha())
        path = damaged_copy(good, scratch / what.replace("/", "~").replace(" ", "-") / good.name)
        flip(path, at + letter, 0x20)  # the letter's case
        yield f"{what}: a letter", path
        if what.startswith("source/site"):
            path = damaged_copy(good, scratch / f"{what}-size".replace("/", "~") / good.name)
            size = int.from_bytes(data[at - 8 : at], "little")
            edit(path, {at - 8: struct.pack("<Q", size - 1)})
            yield f"{what}: heap object size", path


def truncation(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """The file cut short: by its last byte, in half, after its first 4 KiB."""
    size = good.stat().st_size
    for what, keep in (("last byte", size - 1), ("half", size // 2), ("4 KiB", 4096)):
        path = damaged_copy(good, scratch / what.replace(" ", "-") / good.name)
        with path.open("r+b") as fh:
            fh.truncate(keep)
        yield what, path


FAMILIES: dict[str, Family] = {
    "hdf5/chunk-bytes": chunk_bytes,
    "hdf5/filter-mask": filter_mask,
    "hdf5/chunk-index": chunk_index,
    "hdf5/datatype": datatype,
    "hdf5/heap-strings": heap_strings,
    "hdf5/truncation": truncation,
}
#: families the library does not yet handle (see the module docstring of attack): the report runs them
UNFIXED: dict[str, Family] = {}
