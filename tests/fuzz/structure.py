"""Structure-aware damage for ``make fuzz``: the input chooses fields of a valid file and what to put in them.

Byte flips (``reader_target.py``) mostly land in chunk data, where checksums refuse them at once. These edits go
where the attack of issue 18 found values changed silently, each made consistent with every checksum:

- ``value``: one element of a dataset rewritten through h5py or zarr (an edge value of its type: NaN, 2.0, one
  ULP away, a code past the classes, an empty or long string...);
- ``attribute``: an attribute of a group or dataset replaced (a number, a text, a list, a link to another
  object) or deleted;
- ``resize``: a dataset given a row more or fewer, or one row;
- HDF5 ``header``: a byte of a message (datatype, dataspace, layout, filter pipeline...) of a dataset's object
  header, the header's checksum made anew; ``chunk-entry``: a chunk's index entry (its size, filter mask or
  address; index checksums made anew); ``heap-text``: a letter of a string in the global heap;
- Zarr ``metadata``: a leaf of an array's or group's ``zarr.json`` changed or deleted, in the node, in the
  consolidated copy, or both; ``shard-index``: an array rewritten as a shard of 6 chunks (same values), then an
  entry of its index changed (CRC-32C recomputed); ``chunk-crc``: a chunk's bytes changed, its CRC-32C recomputed.

The input is read as a stream of choices (:class:`Choices`): the first picks the pristine file (both backends,
both writers: ``attack/core.py``), the next how many edits (1-3), then each edit's kind and fields. An exhausted
input reads as zeros, so every input makes a file. The pristine files carry content digests, so every outcome
but our typed error or exactly the pristine file's values is a finding, a value changed silently included
(:func:`wrong`). ``tests/test_fuzz.py`` replays ``tests/fuzz/corpus-structure/``; ``make fuzz`` searches.
"""

from __future__ import annotations

import atexit
import json
import math
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import h5py
import numpy as np
import zarr
from attack import hdf5 as h5attack
from attack import zarr as zattack
from attack.core import calls_here, calls_on, damaged_copy, expected_outcomes, pristine_files, verdict
from attack.semantic import Edit, Ref
from fuzz.reader_target import fixed_object_ids

__all__ = ["Choices", "KINDS", "describe", "mutate", "seed_files", "wrong"]

T = TypeVar("T")
PRISTINE = ("hdf5/write", "hdf5/writer", "zarr/write", "zarr/writer")
MAX_EDITS = 3


class Choices:
    """The fuzzer's bytes read as choices; past their end, every choice is 0."""

    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def raw(self, n: int) -> bytes:
        chunk = self.data[self.at : self.at + n]
        self.at += n
        return chunk.ljust(n, b"\0")

    def below(self, n: int) -> int:
        """A number in ``range(n)`` (0 when ``n`` <= 1, reading nothing)."""
        if n <= 1:
            return 0
        width = 1 if n <= 256 else 2 if n <= 65536 else 4
        return int.from_bytes(self.raw(width), "little") % n

    def pick(self, items: Sequence[T]) -> T:
        return items[self.below(len(items))]


# -- what a file holds ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Inventory:
    """The objects of a pristine file that edits choose among (sorted: the same input, the same field)."""

    #: (path, dtype, shape) of every dataset outside the cached specifications
    datasets: tuple[tuple[str, np.dtype, tuple[int, ...]], ...]
    #: (path, attribute names) of every object with attributes, the root ("") included
    attributes: tuple[tuple[str, tuple[str, ...]], ...]
    #: every group and dataset path (targets of a link)
    objects: tuple[str, ...]


@cache
def inventory(good: Path) -> Inventory:
    datasets: list[tuple[str, np.dtype, tuple[int, ...]]] = []
    attributes: list[tuple[str, tuple[str, ...]]] = []
    objects: list[str] = []

    def add(name: str, node: Any) -> None:
        if name.startswith("specifications"):
            return
        objects.append(name)
        keys = tuple(sorted(node.attrs.keys()))
        if keys:
            attributes.append((name, keys))
        if isinstance(node, (h5py.Dataset, zarr.Array)):
            datasets.append((name, np.dtype(node.dtype), tuple(node.shape)))

    if good.is_dir():
        root = zarr.open_group(str(good), mode="r", use_consolidated=False)
        add("", root)
        for name, node in root.members(max_depth=None):
            add(name, node)
    else:
        with h5py.File(good, "r") as f:
            add("", f)
            f.visititems(add)
    datasets = [d for d in datasets if not _is_reference(d[1])]
    return Inventory(tuple(sorted(datasets, key=lambda d: d[0])), tuple(sorted(attributes)), tuple(sorted(objects)))


def _is_reference(dtype: np.dtype) -> bool:
    return dtype.kind == "V" or h5py.check_ref_dtype(dtype) is not None


# -- edge values -------------------------------------------------------------------------------------------------


def _edge_number(ch: Choices, old: Any, dtype: np.dtype) -> Any:
    if dtype.kind == "b":
        return not bool(old)
    if dtype.kind == "f":
        info = np.finfo(dtype)
        options: list[Any] = [
            np.nan,
            np.inf,
            -np.inf,
            2.0,
            -1.0,
            0.0,
            -0.0,
            np.nextafter(dtype.type(old), dtype.type(np.inf)),
            float(old) + 1.0,
            float(info.max),
            float(info.tiny) / 2,
        ]
        choice = ch.below(len(options) + 1)
        if choice == len(options):
            return np.frombuffer(ch.raw(dtype.itemsize), dtype=dtype)[0]
        return dtype.type(options[choice])
    info = np.iinfo(dtype)
    ints = [0, 1, -1, int(old) + 1, int(old) - 1, info.max, info.min, 2, 3, 4, 7, 10, 59, 60, 61, 2**31]
    choice = ch.below(len(ints) + 1)
    if choice == len(ints):
        return np.frombuffer(ch.raw(dtype.itemsize), dtype=dtype)[0]
    return np.array(ints[choice]).astype(np.int64).astype(dtype)  # wrapped to the type, as a writer could


def _edge_text(ch: Choices, old: Any) -> str:
    text = old.decode("utf-8", "replace") if isinstance(old, bytes) else str(old)
    options = ["", "x", text + "x", text[:-1], text.upper(), text[::-1], "\u00e9\u00e8", "a" * 10_000, "0", "null"]
    return options[ch.below(len(options))]


def _edge(ch: Choices, old: Any, dtype: np.dtype) -> Any:
    return _edge_number(ch, old, dtype) if dtype.kind in "biuf" else _edge_text(ch, old)


# -- the edits -------------------------------------------------------------------------------------------------
# each: (choices, the copy to damage, the pristine file) -> what it did, or None when it made no edit


def _value(ch: Choices, path: Path, good: Path) -> str | None:
    name, dtype, shape = ch.pick(inventory(good).datasets)
    if not shape or 0 in shape:
        return None
    index = tuple(ch.below(n) for n in shape)
    replaced: list[Any] = []

    def change(values: np.ndarray) -> np.ndarray:
        new = np.array(values, copy=True)
        old = new[index]
        new[index] = _edge(ch, old, dtype)
        replaced.append((old, new[index]))
        return new

    Edit(path).values(name, change)
    old, new = replaced[0]
    if _same(old, new):
        return None  # the same value written back: no edit
    return f"{name}{list(index)}: {_short(old)} -> {_short(new)}"


def _same(old: Any, new: Any) -> bool:
    if isinstance(old, (bytes, str)) or isinstance(new, (bytes, str)):
        as_text = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in (old, new)]
        return as_text[0] == as_text[1]
    a, b = np.asarray(old), np.asarray(new)
    if not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
        return False
    return a.dtype.kind != "f" or bool(np.all(np.signbit(a) == np.signbit(b)))  # -0.0 is another value


def _attribute_value(ch: Choices, old: Any, objects: Sequence[str]) -> Any:
    """A new value for an attribute holding ``old`` (None: delete it)."""
    if ch.below(5) == 0:
        return None
    if isinstance(old, (h5py.Reference, dict)) or (isinstance(old, str) and old.startswith("/")):
        return Ref(ch.pick([o for o in objects if o]))
    if isinstance(old, np.ndarray) and old.shape == ():
        old = old[()]
    if isinstance(old, (bool, np.bool_)):
        return not bool(old)
    if isinstance(old, (int, np.integer, float, np.floating)):
        dtype = np.asarray(old).dtype
        return _edge_number(ch, old, dtype if dtype.kind in "biuf" else np.dtype("int64")).item()
    if isinstance(old, (str, bytes)):
        return _edge_text(ch, old)
    items = list(np.asarray(old, dtype=object).ravel()) if isinstance(old, (list, tuple, np.ndarray)) else []
    if items and all(isinstance(v, (str, bytes)) for v in items):
        how = ch.below(4)
        texts = [v.decode() if isinstance(v, bytes) else str(v) for v in items]
        if how == 0:
            return texts[1:] or ["x"]  # one dropped
        if how == 1:
            return [*texts, texts[-1]]  # one repeated
        if how == 2:
            return list(reversed(texts))
        at = ch.below(len(texts))
        return [*texts[:at], _edge_text(ch, texts[at]), *texts[at + 1 :]]
    if items:
        values = np.asarray(old)
        at = ch.below(values.size)
        changed = np.array(values, copy=True).ravel()
        changed[at] = _edge_number(ch, changed[at], changed.dtype if changed.dtype.kind in "biuf" else np.dtype("f8"))
        return changed.reshape(values.shape)
    return "x"


def _attribute(ch: Choices, path: Path, good: Path) -> str | None:
    found = inventory(good)
    owner, keys = ch.pick(found.attributes)
    key = ch.pick(keys)
    old = _read_attribute(good, owner, key)
    new = _attribute_value(ch, old, found.objects)
    if key in ("zarr_format", "node_type"):  # zarr's own keys of a node's metadata, not attributes
        return None
    Edit(path).attrs(owner or "/", **{key: new})
    shown = "deleted" if new is None else f"-> {_short(getattr(new, 'target', new))}"
    return f"{owner or '/'}@{key} {shown}"


def _read_attribute(good: Path, owner: str, key: str) -> Any:
    if good.is_dir():
        node = zarr.open(str(good), path=owner, mode="r", use_consolidated=False)
        return node.attrs[key]
    with h5py.File(good, "r") as f:
        return f[owner or "/"].attrs[key]


def _resize(ch: Choices, path: Path, good: Path) -> str | None:
    name, _, shape = ch.pick([d for d in inventory(good).datasets if d[2] and d[2][0] > 0])
    rows = shape[0]
    new = ch.pick([rows - 1, rows + 1, 1, rows * 2, max(1, rows // 2)])
    if new == rows or new < 1:
        return None
    Edit(path).resize(name, new)
    return f"{name}: {rows} -> {new} rows"


#: object header messages whose bytes say how to read the values
MESSAGE_NAMES = {0x01: "dataspace", 0x03: "datatype", 0x05: "fill value", 0x08: "layout", 0x0B: "filters"}


def _header(ch: Choices, path: Path, good: Path) -> str | None:
    headers = sorted(h5attack.dataset_headers(good).items())
    name, (address, _) = ch.pick(headers)
    data = path.read_bytes()
    if data[address : address + 4] != b"OHDR":
        return None
    messages = [m for m in h5attack.messages(data, address) if m[0] in MESSAGE_NAMES]
    kind, body, size = ch.pick(messages)
    offset = body + ch.below(max(1, size))
    mask = ch.raw(1)[0] or 0xFF
    try:
        h5attack.edit(path, {offset: bytes([data[offset] ^ mask])})
    except LookupError:
        return None
    return f"{name}: {MESSAGE_NAMES[kind]} message byte {offset - body} ^ {mask:#04x}"


def _chunk_entry(ch: Choices, path: Path, good: Path) -> str | None:
    chunks = sorted(h5attack.first_chunks(good))
    headers = h5attack.dataset_headers(good)
    name, offset, _ = ch.pick(chunks)
    data = path.read_bytes()
    try:
        kind, where, extra = h5attack.chunk_entry(data, offset)
    except LookupError:
        return None
    if kind == "tree":  # key: size (4), filter mask (4), offsets (8 per dimension + 1); then the address
        fields = {"size": (where, 4), "mask": (where + 4, 4), "address": (where + 8 + 8 * (1 + headers[name][1]), 8)}
    else:  # extensible array element: address (8), size (extra), filter mask (4)
        fields = {"address": (where, 8), "size": (where + 8, extra), "mask": (where + 8 + extra, 4)}
    field = ch.pick(sorted(fields))
    at, width = fields[field]
    old = int.from_bytes(data[at : at + width], "little")
    options = [old ^ (1 << ch.below(8 * width)), old + 1, old - 1, 0, 1, 2, 4, (1 << (8 * width)) - 1, old + 64]
    new = options[ch.below(len(options))] % (1 << (8 * width))
    if new == old:
        return None
    h5attack.edit(path, {at: new.to_bytes(width, "little")})
    return f"{name}: first chunk's {field} {old} -> {new}"


def _heap_text(ch: Choices, path: Path, good: Path) -> str | None:
    data = path.read_bytes()
    what, text = ch.pick(h5attack.heap_texts(good))
    at = data.find(struct.pack("<Q", len(text)) + text)
    if at < 0 or not text:
        return None
    offset = at + 8 + ch.below(len(text))
    mask = ch.raw(1)[0] or 0x20
    h5attack.flip(path, offset, mask)
    return f"heap string {what}: byte {offset - at - 8} ^ {mask:#04x}"


def _leaves(document: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(document, dict) and document:
        for key in sorted(document):
            yield from _leaves(document[key], (*prefix, key))
    elif isinstance(document, list) and document:
        for index, item in enumerate(document):
            yield from _leaves(item, (*prefix, index))
    else:
        yield prefix


def _zarr_nodes(store: Path) -> list[str]:
    return sorted(str(p.parent.relative_to(store)).replace(".", "") for p in store.rglob("zarr.json"))


def _metadata(ch: Choices, path: Path, good: Path) -> str | None:
    node = ch.pick([n for n in _zarr_nodes(good) if not n.startswith("specifications")])
    document = json.loads((good / node / "zarr.json").read_bytes())
    if node == "":
        document = {k: v for k, v in document.items() if k != "consolidated_metadata"}
    leaf = ch.pick(list(_leaves(document)))
    if not leaf:
        return None
    where = ch.pick(("both", "both", "node", "consolidated"))
    delete = ch.below(6) == 0
    parent_path, key = leaf[:-1], leaf[-1]

    def value_of(doc: Any) -> Any:
        for part in parent_path:
            doc = doc[part]
        return doc

    old = value_of(document)[key]
    new = None if delete else _json_value(ch, old)
    if not delete and new == old and type(new) is type(old):
        return None

    def edit(doc: dict[str, Any]) -> None:
        holder = value_of(doc)
        if delete and isinstance(holder, dict):
            holder.pop(key, None)
        elif delete:
            holder.pop(key)
        else:
            holder[key] = new

    zattack.edit_metadata(path, node, edit, where=where)
    shown = "deleted" if delete else f"{_short(old)} -> {_short(new)}"
    return f"{node or '/'}: {'/'.join(map(str, leaf))} {shown} ({where})"


def _json_value(ch: Choices, old: Any) -> Any:
    if isinstance(old, bool):
        return not old
    if isinstance(old, int):
        return ch.pick([old + 1, old - 1, 0, -1, old * 2, 2**63, 1])
    if isinstance(old, float):
        return ch.pick([old + 1.0, -old, 0.0, math.inf, math.nan])
    if isinstance(old, str):
        swaps = {"little": "big", "big": "little", "float32": "int32", "int32": "float32", "float64": "int64"}
        return ch.pick([swaps.get(old, old + "x"), "", old[:-1], "gzip", "zstd", "bytes", "uint8", "float64"])
    if old is None:
        return ch.pick([0, "", [], {}])
    return ch.pick([None, 0, "x"])


def _shard_index(ch: Choices, path: Path, good: Path) -> str | None:
    arrays = [
        name
        for name, dtype, shape in inventory(good).datasets
        if dtype.kind in "biuf" and shape[0] >= 20 and shape[0] % 10 == 0  # whole chunks of 10 rows
    ]
    array = ch.pick(arrays)
    zattack.reshard(path, array)
    shard = zattack.first_chunk(path, array)
    n = math.ceil(zarr.open_array(str(path), path=array, mode="r", use_consolidated=False).shape[0] / 10)
    body, entries = zattack.read_shard_index(shard, n)
    at, field = ch.below(n), ch.below(2)
    old = entries[at][field]
    other = entries[ch.below(n)][field]
    options = [other, zattack.EMPTY, old + 1, old - 1, 0, old ^ (1 << ch.below(16))]
    new = ch.pick([value for value in options if value != old and 0 <= value <= zattack.EMPTY])
    entry = list(entries[at])
    entry[field] = new
    entries[at] = (entry[0], entry[1])
    zattack.write_shard_index(shard, body, entries)
    return f"{array}: shard index entry {at}'s {('offset', 'length')[field]} {old} -> {new}"


def _chunk_crc(ch: Choices, path: Path, good: Path) -> str | None:
    chunks = sorted(p for p in path.rglob("c/*") if p.is_file() and "specifications" not in p.parts)
    chunks += sorted(p for p in path.rglob("c/*/*") if p.is_file() and "specifications" not in p.parts)
    if not chunks:
        return None
    chunk = ch.pick(chunks)
    size = chunk.stat().st_size
    if size <= 4:
        return None
    offset = ch.below(size - 4)
    mask = ch.raw(1)[0] or 0x01
    h5attack.flip(chunk, offset, mask)
    zattack.set_crc(chunk)
    return f"{chunk.relative_to(path)}: byte {offset} ^ {mask:#04x}, CRC-32C recomputed"


Mutator = Callable[[Choices, Path, Path], "str | None"]
#: edits of either backend, then each backend's own
ANY: dict[str, Mutator] = {"value": _value, "attribute": _attribute, "resize": _resize}
HDF5: dict[str, Mutator] = {"header": _header, "chunk-entry": _chunk_entry, "heap-text": _heap_text}
ZARR: dict[str, Mutator] = {"metadata": _metadata, "shard-index": _shard_index, "chunk-crc": _chunk_crc}
KINDS = {"hdf5": (*ANY, *HDF5), "zarr": (*ANY, *ZARR)}


def _short(value: Any) -> str:
    text = repr(value.tolist() if isinstance(value, np.ndarray) else value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- files and inputs --------------------------------------------------------------------------------------------


@cache
def seed_files() -> dict[str, Path]:
    """The attack suite's four pristine files (written once per process, object ids from a seeded generator)."""
    out = Path(tempfile.mkdtemp(prefix="hdmf-ai-fuzz-structure-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    with fixed_object_ids():
        return pristine_files(out)


def mutate(data: bytes, target: Path, files: dict[str, Path] | None = None) -> tuple[str, Path, list[str]]:
    """Copy the pristine file ``data`` picks to ``target`` (a directory) and make the edits it chooses there.

    Returns (which pristine file, the damaged path, what was done: one line per edit). An edit the input makes
    impossible (an exception while making it) is left out; the input then damages less, never differently.
    """
    files = files or seed_files()
    ch = Choices(data)
    pristine = PRISTINE[ch.below(len(PRISTINE))]
    good = files[pristine]
    path = damaged_copy(good, target / good.name)
    kinds = {**ANY, **(ZARR if good.is_dir() else HDF5)}
    names = sorted(kinds, key=list(kinds).index)
    done = []
    for _ in range(1 + ch.below(MAX_EDITS)):
        kind = ch.pick(names)
        try:
            what = kinds[kind](ch, path, good)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError, OSError, LookupError, RuntimeError) as err:
            what = None
            done.append(f"{kind}: not made ({type(err).__name__}: {str(err)[:80]})")
        if what is not None:
            done.append(f"{kind}: {what}")
    return pristine, path, done


def describe(data: bytes) -> str:
    """What an input does (for a finding's report)."""
    with tempfile.TemporaryDirectory(prefix="hdmf-ai-fuzz-") as tmp:
        pristine, _, done = mutate(data, Path(tmp))
    return f"{pristine}: " + "; ".join(done)


@cache
def _expected(pristine: str) -> dict[str, str]:
    return expected_outcomes(seed_files()[pristine])


def wrong(data: bytes, *, isolated: bool = True) -> list[str]:
    """What is wrong with the calls on the file ``data`` makes (empty: nothing). ``isolated``: each call in a
    child with time and memory limits (``attack/core.py``); else in this process (under atheris, whose
    libFuzzer catches crashes, hangs and memory itself)."""
    with tempfile.TemporaryDirectory(prefix="hdmf-ai-fuzz-") as tmp:
        pristine, path, _ = mutate(data, Path(tmp))
        expected = _expected(pristine)
        if isolated:
            return verdict(calls_on(path, expected))
        return verdict(calls_here(path, expected))
