"""Damage to Zarr stores: chunk bytes, shard indexes, links in place of chunks, the metadata that says how to
decode them (node and consolidated), hdmf's attributes, and the writer's promise that every chunk was written.

Each family damages a few arrays chosen to cover the kinds of data a results store holds (floats, enum codes,
a ragged index, a 2-D array, a source-table column, text); arrays a store does not have are passed over.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import google_crc32c
import zarr
import zarr.codecs
import zarr.codecs.numcodecs as numcodecs_v3

from hdmf_ai.io.zarr import consolidate

from .core import Family, damaged_copy, flip

__all__ = [
    "EMPTY",
    "FAMILIES",
    "edit_metadata",
    "first_chunk",
    "read_shard_index",
    "reshard",
    "set_crc",
    "write_shard_index",
]

NUMERIC = ("results/loss", "results/true_label", "results/tokens_index", "results/predicted_probability", "source/age")
TEXT = ("results/true_label_elements", "source/site")
ALL_CHUNKS = "hdmf_ai_all_chunks_written"
EMPTY = 2**64 - 1  # a shard index entry for a chunk that is not there


def _present(store: Path, names: tuple[str, ...]) -> list[str]:
    return [name for name in names if (store / name / "zarr.json").is_file()]


def first_chunk(store: Path, array: str) -> Path:
    """The file of an array's first chunk (or shard): ``c/0``, ``c/0/0``..."""
    chunk = store / array / "c"
    while chunk.is_dir():
        chunk = chunk / "0"
    return chunk


def _copy(good: Path, scratch: Path, variant: str) -> Path:
    return damaged_copy(good, scratch / variant.replace("/", "~") / good.name)


def set_crc(chunk: Path) -> None:
    """Recompute the CRC-32C that ends a chunk (zarr's ``crc32c`` codec: little-endian, over what precedes)."""
    body = chunk.read_bytes()[:-4]
    chunk.write_bytes(body + struct.pack("<I", google_crc32c.value(body)))


def edit_metadata(store: Path, array: str, edit: Callable[[dict[str, Any]], None], *, where: str = "both") -> None:
    """Apply ``edit`` to an array's (or group's) metadata: its own ``zarr.json`` (``node``), the root's
    consolidated copy of it (``consolidated``), or ``both`` (the store stays self-consistent)."""
    if where in ("node", "both"):
        node = store / array / "zarr.json"
        document = json.loads(node.read_bytes())
        edit(document)
        node.write_text(json.dumps(document, indent=2))  # as zarr writes it: sizes stay comparable
    if where in ("consolidated", "both"):
        if array == "" and where == "both":
            return  # the root's zarr.json is its own node: edited once
        root = store / "zarr.json"
        document = json.loads(root.read_bytes())
        edit(document if array == "" else document["consolidated_metadata"]["metadata"][array])
        root.write_text(json.dumps(document, indent=2))


def reshard(store: Path, array: str, *, chunk_rows: int = 10, codecs: str = "same") -> None:
    """Rewrite one array with the same values and attributes, as one shard of ``chunk_rows``-row chunks
    (``codecs="compact"``: numcodecs' shuffle and zstd, the ``compact`` preset's chain), so that its shard
    index and inner chunks can be damaged. The store is consolidated again."""
    old = zarr.open_array(str(store), path=array, mode="r", use_consolidated=False)
    values, attributes = old[...], dict(old.attrs)
    if codecs == "compact":
        compressors: Any = [
            numcodecs_v3.Shuffle(elementsize=old.dtype.itemsize),
            zarr.codecs.ZstdCodec(level=9),
            zarr.codecs.Crc32cCodec(),
        ]
    else:
        compressors = [*old.compressors]
    shards = None if codecs == "compact" else old.shape
    chunks = (chunk_rows, *old.shape[1:]) if shards is not None else old.chunks
    with zarr.config.set({"array.write_empty_chunks": True}):
        new = zarr.create_array(
            str(store),
            name=array,
            shape=old.shape,
            dtype=old.dtype,
            chunks=chunks,
            shards=shards,
            filters=list(old.filters),
            compressors=compressors,
            fill_value=old.fill_value,
            attributes=attributes,
            dimension_names=old.metadata.dimension_names,
            overwrite=True,
        )
        new[...] = values
    consolidate(store)


# -- chunks ---------------------------------------------------------------------------------------------------


def chunk_bytes(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """A flipped byte in the middle of an array's first chunk: its CRC-32C (or its codec) must catch it."""
    for array in _present(good, NUMERIC + TEXT):
        path = _copy(good, scratch, array)
        chunk = first_chunk(path, array)
        flip(chunk, chunk.stat().st_size // 2, 0x10)
        yield array, path


def chunk_bytes_crc(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """A flipped byte with the chunk's CRC-32C recomputed: the codec or the content digest must catch it.
    Flipped near the end of the compressed stream (a literal more likely than a header field)."""
    for array in _present(good, NUMERIC):
        for where, at in (("middle", lambda n: n // 2), ("end", lambda n: n - 8)):
            path = _copy(good, scratch, f"{array}-{where}")
            chunk = first_chunk(path, array)
            flip(chunk, at(chunk.stat().st_size), 0x01)
            set_crc(chunk)
            yield f"{array}:{where}", path


def read_shard_index(shard: Path, n: int) -> tuple[bytes, list[tuple[int, int]]]:
    raw = shard.read_bytes()
    index = raw[-(16 * n + 4) : -4]
    entries = [struct.unpack_from("<QQ", index, 16 * i) for i in range(n)]
    return raw[: -(16 * n + 4)], entries


def write_shard_index(shard: Path, body: bytes, entries: list[tuple[int, int]]) -> None:
    index = b"".join(struct.pack("<QQ", *entry) for entry in entries)
    shard.write_bytes(body + index + struct.pack("<I", google_crc32c.value(index)))


_SHARD_EDITS: dict[str, Callable[[list[tuple[int, int]]], None]] = {
    "swapped": lambda e: e.__setitem__(slice(0, 2), [e[1], e[0]]),
    "empty": lambda e: e.__setitem__(2, (EMPTY, EMPTY)),
    "aliased": lambda e: e.__setitem__(3, e[4]),
}


def shard_index(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """An array rewritten as a shard of 6 chunks, then one index entry marked empty, or pointed at another
    chunk's bytes; the index's CRC-32C recomputed each time. The shard index is checked as it is read."""
    yield from _shard_variants(good, scratch, ("empty", "aliased"))


def shard_index_swapped(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """Two index entries swapped (CRC-32C recomputed): a valid index of other values; only the content digest
    can tell."""
    yield from _shard_variants(good, scratch, ("swapped",))


def _shard_variants(good: Path, scratch: Path, names: tuple[str, ...]) -> Iterator[tuple[str, Path]]:
    edits = {name: _SHARD_EDITS[name] for name in names}
    for array in _present(good, ("results/loss", "results/true_label", "source/age")):
        for name, edit in edits.items():
            path = _copy(good, scratch, f"{array}-{name}")
            reshard(path, array)
            shard = first_chunk(path, array)
            body, entries = read_shard_index(shard, 6)
            edit(entries)
            write_shard_index(shard, body, entries)
            yield f"{array}:{name}", path


def chunk_links(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """A chunk (or a chunk directory) replaced by a symbolic link to another column's chunk of the same
    layout, or to the same chunk in another store (identical bytes: only the link gives it away)."""
    pairs = (("results/loss", "results/predicted_value"), ("results/true_label", "results/tvt_split"))
    for array, other in (p for p in pairs if _present(good, p) == list(p)):
        path = _copy(good, scratch, f"{array}-column")
        chunk = first_chunk(path, array)
        chunk.unlink()
        chunk.symlink_to(os.path.relpath(first_chunk(path, other), chunk.parent))
        yield f"{array}->{other}", path
    elsewhere = damaged_copy(good, scratch / "elsewhere" / good.name)
    path = _copy(good, scratch, "other-store-chunk")
    chunk = first_chunk(path, "results/loss")
    chunk.unlink()
    chunk.symlink_to(first_chunk(elsewhere, "results/loss"))
    yield "chunk->other store", path
    path = _copy(good, scratch, "other-store-dir")
    chunks = path / "source/age/c"
    os.rename(chunks, chunks.with_name("c-moved"))
    chunks.symlink_to(elsewhere / "source/age/c", target_is_directory=True)
    yield "chunk directory->other store", path


def missing_chunk(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """An array's first chunk deleted from a store whose writer promised every chunk (floats, a ragged index,
    a source column, text)."""
    for array in _present(good, ("results/loss", "results/tokens_index", "source/age", "source/site")):
        path = _copy(good, scratch, array)
        first_chunk(path, array).unlink()
        yield array, path


def promise_removed(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """The root's "all chunks written" attribute removed (node and consolidated), then a chunk deleted: zarr
    reads a missing chunk as the fill value, so only the content digest is left to catch it."""
    for array in _present(good, ("results/loss", "results/true_label", "source/site")):
        path = _copy(good, scratch, array)
        edit_metadata(path, "", lambda d: d["attributes"].pop(ALL_CHUNKS))
        first_chunk(path, array).unlink()
        yield array, path


# -- metadata -------------------------------------------------------------------------------------------------


def _codec(document: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in document["codecs"] if c["name"] == name)


def bytes_endian(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """The ``bytes`` codec's endianness flipped (node and consolidated): the same bytes as other numbers."""
    for array in _present(good, ("results/loss", "results/samples", "source/age", "results/predicted_probability")):
        path = _copy(good, scratch, array)
        edit_metadata(path, array, lambda d: _codec(d, "bytes")["configuration"].update(endian="big"))
        yield array, path


def blosc_typesize(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """Blosc's ``typesize`` changed in the metadata (its frames carry their own: inert)."""
    for array in _present(good, ("results/loss", "results/samples")):
        path = _copy(good, scratch, f"{array}-blosc")
        edit_metadata(path, array, lambda d: _codec(d, "blosc")["configuration"].update(typesize=2))
        yield f"{array}:blosc typesize", path


def shuffle_size(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """numcodecs' ``shuffle`` ``elementsize`` changed in the ``compact`` chain (the array rewritten with it
    first): the same bytes unshuffled into other values; only the content digest can tell."""
    for array in _present(good, ("results/loss", "results/samples")):
        path = _copy(good, scratch, f"{array}-shuffle")
        reshard(path, array, codecs="compact")
        edit_metadata(path, array, lambda d: _codec(d, "numcodecs.shuffle")["configuration"].update(elementsize=2))
        yield f"{array}:shuffle elementsize", path


def _metadata_edits() -> dict[str, tuple[str, Callable[[dict[str, Any]], None]]]:
    def codecs(d: dict[str, Any], keep: Callable[[dict[str, Any]], bool]) -> None:
        d["codecs"] = [c for c in d["codecs"] if keep(c)]

    return {
        "shape shorter": ("results/loss", lambda d: d.update(shape=[59])),
        "shape doubled": ("results/true_label", lambda d: d.update(shape=[120])),
        "float64 as int64": ("results/loss", lambda d: d.update(data_type="int64")),
        "uint8 as int8": ("results/true_label", lambda d: d.update(data_type="int8")),
        "fill value": ("results/loss", lambda d: d.update(fill_value=7.0)),
        "chunk grid doubled": (
            "source/age",
            lambda d: d["chunk_grid"]["configuration"].update(chunk_shape=[120]),
        ),
        "codec blosc dropped": ("results/loss", lambda d: codecs(d, lambda c: c["name"] != "blosc")),
        "text as int": ("source/site", lambda d: d.update(data_type="int32")),
    }


def metadata_edits(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """An array's ``zarr.json`` edited consistently (node and consolidated copy): shape, dtype, fill value,
    chunk grid, codecs."""
    yield from _edited(good, scratch, _metadata_edits())


def metadata_values(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """Edits that leave every chunk decodable but read other values: a 2-d array's trailing dimension narrowed
    (its chunks still 4 wide: zarr keeps the first 3 columns of each). Only the content digest can tell."""
    edit: Callable[[dict[str, Any]], None] = lambda d: d.update(shape=[60, 3])  # noqa: E731
    yield from _edited(good, scratch, {"2-d shape": ("results/predicted_probability", edit)})


def _edited(
    good: Path, scratch: Path, edits: dict[str, tuple[str, Callable[[dict[str, Any]], None]]]
) -> Iterator[tuple[str, Path]]:
    for name, (array, edit) in edits.items():
        if not _present(good, (array,)):
            continue
        path = _copy(good, scratch, name)
        edit_metadata(path, array, edit)
        yield f"{array}:{name}", path


def consolidated_disagrees(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """The consolidated metadata (what hdmf-zarr reads by) edited, the nodes left as written."""
    edits: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
        "shape": ("results/loss", lambda d: d.update(shape=[59])),
        "dtype": ("results/loss", lambda d: d.update(data_type="int64")),
        "endian": ("source/age", lambda d: _codec(d, "bytes")["configuration"].update(endian="big")),
        "description": ("results/loss", lambda d: d["attributes"].update(description="not what was written")),
        "digest": ("results/loss", lambda d: d["attributes"].pop("hdmf_ai_digest")),
        "colnames": ("results", lambda d: d["attributes"].update(colnames=list(d["attributes"]["colnames"])[::-1])),
    }
    for name, (array, edit) in edits.items():
        path = _copy(good, scratch, name)
        edit_metadata(path, array, edit, where="consolidated")
        yield f"{array}:{name}", path
    path = _copy(good, scratch, "entry dropped")
    edit_metadata(path, "", lambda d: d["consolidated_metadata"]["metadata"].pop("results/loss"), where="node")
    yield "results/loss:entry dropped", path


def attributes_removed(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """hdmf's attributes removed from a node (and its consolidated copy)."""
    yield from _removed(
        good,
        scratch,
        (
            ("results", "data_type"),
            ("results/loss", "data_type"),
            ("results/loss", "namespace"),
            ("results/tokens_index", "target"),
            ("results/loss", "hdmf_ai_digest"),
            ("", ".specloc"),
        ),
    )


def table_attributes_removed(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
    """The attributes a table's meaning rests on removed: its ``colnames`` (hdmf then reads no column), an enum
    column's ``elements`` (hdmf then reads its codes as plain numbers). Read-side invariants' to catch."""
    yield from _removed(good, scratch, (("results", "colnames"), ("results/true_label", "elements")))


def _removed(good: Path, scratch: Path, removals: tuple[tuple[str, str], ...]) -> Iterator[tuple[str, Path]]:
    for array, key in removals:
        if array and not (good / array / "zarr.json").is_file():
            continue
        path = _copy(good, scratch, f"{array}-{key}")
        edit_metadata(path, array, lambda d, key=key: d["attributes"].pop(key, None))
        yield f"{array or '/'}:{key}", path


FAMILIES: dict[str, Family] = {
    "zarr/shard-index": shard_index,
    "zarr/chunk-links": chunk_links,
    "zarr/missing-chunk": missing_chunk,
    "zarr/blosc-typesize": blosc_typesize,
    "zarr/metadata": metadata_edits,
    "zarr/consolidated": consolidated_disagrees,
    "zarr/attributes": attributes_removed,
    # these failed through open (lazy column reads) until every lazy read was checked (io/guarded.py), and
    # zarr/attributes-table until the read-side rules held colnames and enum elements
    "zarr/chunk-bytes": chunk_bytes,
    "zarr/chunk-bytes-crc": chunk_bytes_crc,
    "zarr/shard-index-swapped": shard_index_swapped,
    "zarr/promise-removed": promise_removed,
    "zarr/bytes-endian": bytes_endian,
    "zarr/shuffle-size": shuffle_size,
    "zarr/metadata-values": metadata_values,
    "zarr/attributes-table": table_attributes_removed,
}
