"""End-to-end content digests: what a dataset's values were when written, checked when they are read.

Chunk checksums (Fletcher-32, CRC-32C) guard bytes, not values: a chunk rewritten with valid checksums, a
datatype or filter mask edited, strings in HDF5's global heap (outside every chunk) all read back as other
values without an error. So every dataset of a table gets, at write time, a digest of its *decoded* values
in the attribute ``hdmf_ai_digest``: text like ``"xxh3-128:<32 hex>"``, the XXH3 128-bit hash (``xxhash``)
of a header naming the value kind, the little-endian dtype and the shape of a row, then the rows in C
order (numbers: their little-endian bytes; text: each value's UTF-8 bytes after its length), then the row
count. An enum's codes fold in the digest of its elements, so that elements changed or swapped for another
dataset are caught on the codes too. Numbers also get a digest per block of rows (a stored chunk's rows, or
about 1 MiB; at most 8,192 blocks) in ``hdmf_ai_digest_blocks``, so that a slice read lazily can be checked
by reading only the blocks it falls in (:func:`verify_rows`).

Digests are computed from the arrays handed to the backend where the writer has them (:func:`planned_values`,
:class:`Streaming` for batches, in row order), and from the written file for the rest (:func:`missing_attributes`:
text, enum elements, skeleton datasets). ``read`` and ``validate`` check them (:func:`problems`);
:func:`verify_table` checks a table opened lazily. Datasets without the attribute (files of other
writers, of older versions) are not checked, and validate notes a file with none.

Example
-------
>>> import numpy as np
>>> of_values(np.arange(3, dtype="<i4")) == of_values(np.arange(3, dtype=">i4"))
True
"""

from __future__ import annotations

import math
import struct
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from ..errors import ResultsFileError

__all__ = [
    "DIGEST_ATTRIBUTE",
    "BLOCKS_ATTRIBUTE",
    "BlockDigests",
    "Streaming",
    "TEXT_ATTRIBUTE",
    "attributes_of",
    "block_rows",
    "clear",
    "combine",
    "missing_attributes",
    "of_values",
    "planned_values",
    "problems",
    "record",
    "recorded_text",
    "row_count",
    "snapshot",
    "streams",
    "tables_under",
    "text_digest",
    "undigested_table",
    "verify_rows",
    "verify_table",
]

DIGEST_ATTRIBUTE = "hdmf_ai_digest"
#: a table's digest of the text of its attributes and its datasets' (descriptions, colnames, metadata): in HDF5
#: they sit in the global heap, which no checksum covers
TEXT_ATTRIBUTE = "hdmf_ai_text_digest"
BLOCKS_ATTRIBUTE = "hdmf_ai_digest_blocks"
#: block digests per dataset at most (128 KiB of text): one per stored chunk up to 8,192 chunks (1M rows of 100
#: float32 in 64 KiB chunks), so that rows read at random decode only the chunks they fall in; beyond, a block
#: spans 2, 4... chunks. Past 64 KiB HDF5 keeps the attribute in the dense storage of the 1.8 file format.
MAX_BLOCKS = 8192
_BLOCK_BYTES = 1 << 20
_BLOCK_PREFIX = "xxh3-64:"
_PREFIX = "xxh3-128:"
_BLOCK_ROWS = 1 << 16  # rows hashed at a time from disk: bounded memory, any chunk shape
_MAGIC = b"hdmf-ai digest v1\x00"


def _kind(dtype: np.dtype) -> str | None:
    """'text' or the normalised (little-endian) dtype of values we digest; None for what we do not."""
    if dtype.kind in "biuf":
        return dtype.newbyteorder("<").str if dtype.byteorder not in "|" else dtype.str
    if dtype.kind in "USOT":
        return "text"
    return None


def block_rows(row_shape: tuple[int, ...], itemsize: int, rows: int, chunk_rows: int | None = None) -> int:
    """Rows per block digest: the rows of a stored chunk (``chunk_rows``; a lazy slice then reads and checks only
    the chunks it falls in), else a power of two of about 1 MiB; doubled until at most :data:`MAX_BLOCKS`
    cover ``rows``."""
    row_bytes = max(1, itemsize * int(np.prod(row_shape, dtype=np.int64)))
    size = 1 << max(0, (_BLOCK_BYTES // row_bytes).bit_length() - 1)
    if chunk_rows is not None and chunk_rows > 0:
        size = int(chunk_rows)
    while math.ceil(rows / size) > MAX_BLOCKS:
        size *= 2
    return size


def _chunk_rows(data: Any) -> int | None:
    """Rows per stored chunk of ``data``: an h5py or zarr array's (zarr: the inner chunks of a shard), or the
    chunks a DataIO asks for; None for data in memory."""
    from hdmf.data_utils import DataIO

    # a DataIO: the chunks a write asks for (its data may be held apart: FilledH5DataIO)
    chunks = (data.io_settings or {}).get("chunks") if isinstance(data, DataIO) else getattr(data, "chunks", None)
    if isinstance(chunks, (tuple, list)) and chunks and isinstance(chunks[0], (int, np.integer)):
        return int(chunks[0])
    return None


class Streaming:
    """A digest fed rows in order (batches of any length): :meth:`update`, then :meth:`attributes`.

    With ``block`` rows, numbers also get a digest per block of that many rows (XXH3 64-bit), so that a slice
    read lazily can be checked by the blocks it falls in (:func:`verify_rows`).
    """

    def __init__(self, kind: str, row_shape: tuple[int, ...], block: int | None = None) -> None:
        self.kind, self.row_shape, self.rows = kind, tuple(int(n) for n in row_shape), 0
        header = _MAGIC + f"{kind}|{self.row_shape}\x00".encode()
        self._hash = xxhash.xxh3_128(header)
        self.block = None if kind == "text" else block
        self._block_seed = xxhash.xxh3_64(header)
        self._current = self._block_seed.copy()
        self._blocks: list[str] = []

    def update(self, rows: Any) -> None:
        """Add ``rows`` (an array, or a list of text) after the rows given so far."""
        if self.kind == "text":
            values = np.asarray(rows, dtype=object).ravel()
            for value in values:
                raw = value if isinstance(value, bytes) else str(value).encode("utf-8")
                self._hash.update(struct.pack("<Q", len(raw)))
                self._hash.update(raw)
            self.rows += len(rows)
            return
        arr = np.ascontiguousarray(rows, dtype=np.dtype(self.kind))
        if arr.ndim == 0:
            arr = arr.reshape(1)
        self._hash.update(arr.reshape(-1).view(np.uint8))
        if self.block is not None:
            self._update_blocks(arr)
        self.rows += arr.shape[0]

    def _update_blocks(self, arr: np.ndarray) -> None:
        assert self.block is not None
        done = 0
        while done < arr.shape[0]:
            room = self.block - (self.rows + done) % self.block
            part = arr[done : done + room]
            self._current.update(part.reshape(-1).view(np.uint8))
            done += part.shape[0]
            if (self.rows + done) % self.block == 0:
                self._blocks.append(self._current.hexdigest())
                self._current = self._block_seed.copy()

    def hexdigest(self) -> str:
        final = self._hash.copy()
        final.update(struct.pack("<Q", self.rows))
        return _PREFIX + final.hexdigest()

    def blocks(self) -> str | None:
        """The block digests as recorded (``"xxh3-64:<rows per block>:<16 hex per block>"``); None without."""
        if self.block is None:
            return None
        hexes = list(self._blocks)
        if self.rows % self.block:
            hexes.append(self._current.hexdigest())
        if len(hexes) > MAX_BLOCKS:
            return None  # a table grown far past its first size: the whole digest stands alone
        return f"{_BLOCK_PREFIX}{self.block}:" + "".join(hexes)

    def attributes(self) -> dict[str, str]:
        """The attributes that record this digest: the whole, and the blocks when kept."""
        found = {DIGEST_ATTRIBUTE: self.hexdigest()}
        blocks = self.blocks()
        if blocks is not None:
            found[BLOCKS_ATTRIBUTE] = blocks
        return found


def streaming_for(data: Any, rows: int | None = None, chunk_rows: int | None = None) -> Streaming | None:
    """A :class:`Streaming` digest for ``data``'s dtype and row shape (blocks sized for ``rows``, default its
    length, and aligned with its stored chunks, or ``chunk_rows``); None for values we do not digest."""
    dtype = _dtype_of(data)
    kind = None if dtype is None else _kind(dtype)
    shape = (len(data),) if isinstance(data, list) else tuple(data.shape)
    if dtype is None or kind is None or len(shape) == 0:
        return None
    chunk_rows = chunk_rows or _chunk_rows(data)
    block = block_rows(shape[1:], dtype.itemsize, shape[0] if rows is None else rows, chunk_rows)
    return Streaming(kind, shape[1:], block)


def _dtype_of(data: Any) -> np.dtype | None:
    if isinstance(data, list):
        if not data:
            return None
        if all(isinstance(v, (str, bytes)) for v in data):
            return np.dtype(object)
        first = np.asarray(data[:1])
        return first.dtype if first.dtype.kind in "iuf" else None  # bools in a list: hdmf's own layout
    if getattr(data, "dtype", None) is None:
        return None
    dtype: np.dtype = np.dtype(data.dtype)
    # object dtype: text, or object references (not digested: they read back as containers)
    if dtype.kind == "O" and data.shape and data.shape[0]:
        first = np.asarray(data[:1], dtype=object).ravel()
        if not isinstance(first[0], (str, bytes)):
            return None
    return dtype


def of_values(data: Any) -> str | None:
    """The digest of ``data`` (an array, a list, or an on-disk dataset, read in blocks); None if not digested."""
    found = attributes_of(data)
    return None if found is None else found[DIGEST_ATTRIBUTE]


def attributes_of(data: Any, chunk_rows: int | None = None) -> dict[str, str] | None:
    """The digest attributes of ``data`` (whole and blocks), as :class:`Streaming` records them; blocks of
    ``chunk_rows`` rows (default: ``data``'s stored chunks, else about 1 MiB)."""
    stream = streaming_for(data, chunk_rows=chunk_rows)
    if stream is None:
        return None
    for block in _blocks(data):
        stream.update(block)
    return stream.attributes()


def _blocks(data: Any) -> Iterator[Any]:
    if isinstance(data, (list, np.ndarray)):
        yield data
        return
    n = int(data.shape[0])
    for start in range(0, n, _BLOCK_ROWS):
        yield data[start : min(n, start + _BLOCK_ROWS)]


def combine(codes: str, elements: str) -> str:
    """An enum column's digest: its codes' digest with its elements' folded in."""
    folded = xxhash.xxh3_128(_MAGIC + b"enum\x00" + codes.encode() + b"\x00" + elements.encode())
    return _PREFIX + folded.hexdigest()


# -- in the written file ----------------------------------------------------------------------------------------


def _members(group: Any) -> list[tuple[str, Any]]:
    members = group.members() if hasattr(group, "members") else group.items()  # zarr 3 | h5py
    return list(members)


def _is_array(node: Any) -> bool:
    return hasattr(node, "shape") and hasattr(node, "dtype")


def _tables(raw: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(path, group) of every DynamicTable (a group with ``colnames``) under the group at ``path``.

    Each group is opened by its own path: a Zarr group's ``zarr.json`` may hold a stale nested copy of the
    consolidated metadata (a column added since would be missed)."""
    for name, node in _members(raw.group(path or "/")):
        if _is_array(node):
            continue
        child = f"{path}/{name}" if path else name
        group = raw.group(child)
        if "colnames" in group.attrs:
            yield child, group
        yield from _tables(raw, child)


def _elements_name(reference: Any, raw: Any) -> str | None:
    """The name of the dataset an enum's ``elements`` reference points at (a sibling of the codes)."""
    if isinstance(reference, Mapping):  # hdmf-zarr: {"_REFERENCE": {"source", "path"}}
        target = reference.get("_REFERENCE") or reference.get("value") or reference
        return str(target.get("path", "")).rsplit("/", 1)[-1] or None
    try:
        return str(raw.deref(reference).name).rsplit("/", 1)[-1]
    except Exception:
        return None


def missing_attributes(raw: Any, known: Mapping[str, Mapping[str, str]] | None = None) -> dict[str, dict[str, str]]:
    """Digest attributes (dataset path -> {name: digest}) for every table dataset in a written file.

    ``raw`` is the file's :class:`~.backend.RawTree`.
    ``known`` gives the digest attributes the writer computed from its arrays (by path); the others are read
    from the file. Datasets with a digest already (and of kinds we do not digest) are left out.
    """
    found: dict[str, dict[str, str]] = {}
    for path, group in _tables(raw):
        values = _table_attributes(path, group, raw, known or {})
        found.update(values)
        found.update(_text_attributes(path, group, values))  # always anew: a column added changes the text
    return found


def _table_attributes(
    path: str, group: Any, raw: Any, known: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    arrays = {name: node for name, node in _members(group) if _is_array(node)}
    values: dict[str, dict[str, str] | None] = {}

    def value_digest(name: str) -> dict[str, str] | None:
        if name not in values:
            key = f"{path}/{name}"
            values[name] = dict(known[key]) if key in known else attributes_of(arrays[name])
        return values[name]

    found: dict[str, dict[str, str]] = {}
    for name, node in arrays.items():
        if node.attrs.get(DIGEST_ATTRIBUTE):  # recorded already (a blank one is none: see clear)
            continue
        if "reference" in str(node.attrs.get("_DTYPE", "")):  # hdmf-zarr's object references, stored as text
            continue
        digest = value_digest(name)
        if digest is None:
            continue
        if "elements" in node.attrs:
            other = _elements_name(node.attrs["elements"], raw)
            elements = value_digest(other) if other in arrays else None
            if elements is None:
                continue  # elements we cannot digest: leave the codes unrecorded rather than wrong
            digest = {**digest, DIGEST_ATTRIBUTE: combine(digest[DIGEST_ATTRIBUTE], elements[DIGEST_ATTRIBUTE])}
        found[f"{path}/{name}"] = digest
    return found


def _attribute_text(value: Any) -> list[str] | None:
    """The text of an attribute's value (a string, or a non-empty sequence or array of strings; a number, such as
    ``n_splits``, as its decimal text); None for anything else (references, other arrays)."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bool, np.bool_)):
        return [f"bool:{bool(value)}"]
    if isinstance(value, (int, np.integer)):
        return [f"int:{int(value)}"]
    if isinstance(value, (float, np.floating)):
        return [f"float:{float(value)!r}"]
    if isinstance(value, (str, bytes)):
        items: list[Any] = [value]
    elif isinstance(value, (list, tuple, np.ndarray)):
        items = list(np.asarray(value, dtype=object).ravel()) if len(value) else []
    else:
        return None
    if not items or not all(isinstance(v, (str, bytes)) for v in items):
        return None
    return [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in items]


def text_digest(
    group: Mapping[str, Any], datasets: Mapping[str, Mapping[str, Any]], rows: Mapping[str, int] | None = None
) -> str:
    """The digest of the text and number attributes (``n_splits``...) of a table's group and of its datasets (by
    name), and of which datasets carry a content digest; other attributes of ours (``hdmf_ai_*``) and those of
    the backend (``_*``, ``zarr_*``) are left out, so that the file as written and as hdmf reads it give one
    digest. Each string goes in after its length: no two lists of strings collide.

    Which datasets carry a digest is part of it: a digest deleted or blanked (with the values it guarded
    changed) would otherwise make a dataset read as one from another writer, unchecked. So are the datasets'
    row counts (``rows``, -1 for a scalar), which calls that read no values (``list_tables``) report."""
    found = xxhash.xxh3_128(_MAGIC + b"text\x00")

    def add(text: str) -> None:
        raw = text.encode("utf-8", "surrogatepass")
        found.update(struct.pack("<Q", len(raw)))
        found.update(raw)

    for owner, attrs in [("", group), *sorted(datasets.items())]:
        for key in sorted(attrs):
            if key.startswith(("hdmf_ai_", "_", "zarr_")):
                continue
            # anything else (an object reference: `probabilities`, `training_labels`...) by its presence
            texts = _attribute_text(attrs[key]) or ["present"]
            for part in (owner, key, str(len(texts)), *texts):
                add(part)
    for owner, attrs in sorted(datasets.items()):
        if recorded_text(attrs, DIGEST_ATTRIBUTE) is not None:
            add(owner)
            add(DIGEST_ATTRIBUTE)
    for owner, count in sorted((rows or {}).items()):
        for part in (owner, "rows", str(count)):
            add(part)
    return _PREFIX + found.hexdigest()


def row_count(data: Any) -> int:
    """The rows of a dataset (an h5py or zarr array, a numpy array, a list; -1 for a scalar), as
    :func:`text_digest` counts them."""
    shape = getattr(data, "shape", None)
    if shape is not None:
        return int(shape[0]) if len(shape) else -1
    return len(data) if isinstance(data, (list, tuple)) else -1


def _text_attributes(path: str, group: Any, recorded: Mapping[str, Mapping[str, str]]) -> dict[str, dict[str, str]]:
    """The table's text digest, its datasets' content digests as they will be once ``recorded`` (by dataset
    path) is written."""
    nodes = {name: node for name, node in _members(group) if _is_array(node)}
    arrays = {name: {**dict(node.attrs), **recorded.get(f"{path}/{name}", {})} for name, node in nodes.items()}
    rows = {name: row_count(node) for name, node in nodes.items()}
    return {path: {TEXT_ATTRIBUTE: text_digest(dict(group.attrs), arrays, rows)}}


def undigested_table(group: Mapping[str, Any], datasets: Mapping[str, Mapping[str, Any]]) -> str | None:
    """What is wrong with a table group whose datasets record content digests while the group records no text
    digest (None: nothing). The text digest is what says which datasets carry one (:func:`text_digest`); a
    table without it but with digests had it deleted. A table being written (blanked by :func:`clear`) has
    neither."""
    if recorded_text(group, TEXT_ATTRIBUTE) is not None:
        return None
    digested = sorted(name for name, attrs in datasets.items() if recorded_text(attrs, DIGEST_ATTRIBUTE) is not None)
    if not digested:
        return None
    return (
        f"its datasets record content digests ({', '.join(digested[:3])}{', ...' if len(digested) > 3 else ''}) "
        f"but the table records no text digest ({TEXT_ATTRIBUTE}): the record of which datasets are checked "
        "was removed"
    )


def record(
    path: Path,
    backend: Any,
    known: Mapping[str, Mapping[str, str]] | None = None,
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Write the digests of every table dataset of the file at ``path`` that has none (``known``: those the
    writer computed from its arrays, by dataset path), with ``extra`` attributes, in one pass of ``backend``."""
    with backend.raw_tree(path) as raw:
        attributes = missing_attributes(raw, known)
    for dataset, attrs in (extra or {}).items():
        attributes.setdefault(dataset, {}).update(attrs)
    backend.write_attributes(path, attributes)


def clear(path: Path, backend: Any, table: str) -> None:
    """Blank the digests of a table's datasets before rows are added to it (a blank digest is none): a run
    interrupted midway must not leave digests of the old rows on the new ones. :func:`record` sets them anew."""
    with backend.raw_tree(path) as raw:
        group = raw.group(table)
        stale: dict[str, dict[str, str]] = {
            f"{table}/{name}": {DIGEST_ATTRIBUTE: "", BLOCKS_ATTRIBUTE: ""}
            for name, node in _members(group)
            if _is_array(node) and node.attrs.get(DIGEST_ATTRIBUTE)
        }
        if group.attrs.get(TEXT_ATTRIBUTE):  # it says which datasets carry a digest: blank until record
            stale[table] = {TEXT_ATTRIBUTE: ""}
    backend.write_attributes(path, stale)


def streams(datasets: Mapping[str, Any], rows: int) -> dict[str, Streaming]:
    """A :class:`Streaming` digest per dataset (h5py or zarr, of a batched writer), fed its first ``rows`` rows
    from the file (resuming, or adding rows): the batches that follow are then fed in order."""
    found: dict[str, Streaming] = {}
    for name, dataset in datasets.items():
        stream = streaming_for(dataset)
        if stream is None:
            continue
        for start in range(0, rows, _BLOCK_ROWS):
            stream.update(dataset[start : min(rows, start + _BLOCK_ROWS)])
        found[name] = stream
    return found


def planned_values(planned: Any) -> dict[str, dict[str, str]]:
    """The digest attributes of the policy's planned columns, from the arrays handed to the backend (inside
    ``policy.applied``: each column's data is then a DataIO around its stored array)."""
    found: dict[str, dict[str, str]] = {}
    for item in planned:
        data = item.column.data
        inner = getattr(data, "data", data)
        if inner is None:  # a DataIO that fills its dataset itself (io/hdf5.FilledH5DataIO) holds the values apart
            inner = getattr(data, "values", None)
        digest = None if inner is None else attributes_of(inner, _chunk_rows(data))  # blocks: the chunks asked for
        if digest is not None:
            found[item.path] = digest
    return found


# -- checking what was read -------------------------------------------------------------------------------------


def _datasets(table: Any) -> Iterator[Any]:
    yield table.id
    yield from table.columns


def _attributes(obj: Any, manager: Any) -> Mapping[str, Any]:
    """The attributes of the dataset ``obj`` was read from: its builder's (read into memory, ``manager`` given)
    or its h5py/zarr array's (opened lazily)."""
    if manager is not None:
        try:
            return manager.get_builder(obj).attributes  # type: ignore[no-any-return]
        except Exception:  # not built from a file (a table made in memory)
            return {}
    attrs = getattr(obj.data, "attrs", None)
    return attrs if attrs is not None else {}


def _recorded(obj: Any, manager: Any = None) -> str | None:
    value = _attributes(obj, manager).get(DIGEST_ATTRIBUTE)
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    return value if isinstance(value, str) else None


def tables_under(tables: Any) -> list[Any]:
    """The tables given and those their region columns point at, transitively, each once."""
    from hdmf.common import DynamicTableRegion

    found: list[Any] = []
    stack = list(tables)
    while stack:
        table = stack.pop()
        if any(table is seen for seen in found):
            continue
        found.append(table)
        stack += [c.table for c in table.columns if isinstance(c, DynamicTableRegion) and c.table is not None]
    return found


def snapshot(tables: Any) -> dict[int, str]:
    """The digests recorded for the datasets of lazily opened tables (by ``id`` of the column), kept for
    :func:`problems` once their data have been loaded into memory (and the on-disk attributes are gone)."""
    found: dict[int, str] = {}
    for table in tables_under(tables):
        for obj in _datasets(table):
            recorded = _recorded(obj)
            if recorded is not None:
                found[id(obj)] = recorded
    return found


def problems(
    tables: Any, manager: Any = None, recorded: Mapping[int, str] | None = None, *, blocks: bool = False
) -> tuple[list[str], int]:
    """What differs from the digests recorded in the tables (and the tables they point at), and how many
    datasets had one. Each problem names the dataset, the digest recorded and the one of the values read.
    ``manager``: the BuildManager the tables were read with into memory; None for tables opened lazily;
    ``recorded``: the digests taken by :func:`snapshot` before the data were loaded; ``blocks``: also the block
    digests (what a lazy read checks slices against), with the values in memory (``validate``)."""
    found: list[str] = []
    checked = 0
    for table in tables_under(tables):
        for obj in _datasets(table):
            recorded_digest = _recorded(obj, manager) if recorded is None else recorded.get(id(obj))
            if recorded_digest is None:
                continue
            checked += 1
            try:
                actual = of_values(obj.data)
                elements = getattr(obj, "elements", None)
                if actual is not None and elements is not None:
                    actual = combine(actual, of_values(elements.data) or "")
            except Exception as err:  # a damaged chunk or codec
                found.append(f"dataset '{table.name}/{obj.name}' cannot be read to check its digest: {err}")
                continue
            if actual != recorded_digest:
                found.append(
                    f"dataset '{table.name}/{obj.name}': the values read differ from those written "
                    f"(content digest {recorded_digest} recorded, {actual} read)"
                )
            elif blocks and manager is not None:
                wrong = _block_problem(obj.data, _attributes(obj, manager))
                if wrong is not None:
                    found.append(f"dataset '{table.name}/{obj.name}': {wrong}")
    return found, checked


def _block_problem(values: Any, attrs: Mapping[str, Any]) -> str | None:
    """Why the block digests recorded with ``values`` (read whole, their digest matching) are not theirs; None
    when they are, or when none are recorded."""
    recorded = recorded_text(attrs, BLOCKS_ATTRIBUTE)
    if recorded is None:
        return None
    dtype = _dtype_of(values)
    try:
        if dtype is None:
            raise ValueError("values without block digests")
        found = BlockDigests.of(attrs, dtype, (len(values), *np.shape(values)[1:]))
    except ValueError as err:
        return f"its block digests do not fit it: {err}"
    if found is None:
        return None
    actual = (attributes_of(values, found.rows_per_block) or {}).get(BLOCKS_ATTRIBUTE)
    if actual != recorded:
        return f"its block digests (what a lazy read checks against) differ from its values' ({recorded[:40]}...)"
    return None


def verify_table(table: Any, *, source: Path | str | None = None, manager: Any = None) -> int:
    """Check a table's datasets (and those of the tables it points at) against their content digests.

    Works on a table from :func:`hdmf_ai.open` (reads every column once, block by block); :func:`hdmf_ai.read`
    checks what it reads (``manager``: the BuildManager it read with).
    Returns how many datasets were checked (0: the file records no digests); raises
    :class:`~hdmf_ai.errors.ResultsFileError` naming the file and the dataset on a mismatch.
    """
    found, checked = problems([table], manager)
    if found:
        where = source if source is not None else _source_of(table)
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise ResultsFileError(where, found[0] + more)
    return checked


def recorded_text(attrs: Mapping[str, Any], name: str) -> str | None:
    """The text of attribute ``name`` (str, bytes or a 0-d array of either); None when absent or blank."""
    value = attrs.get(name)
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return value if isinstance(value, str) and value else None


class BlockDigests:
    """The block digests recorded with a dataset, to check blocks of its rows one at a time.

    ``rows_per_block`` rows each (the last block may be short); :meth:`mismatch` says whether a block read
    differs from the one written. Made by :meth:`of`, from the dataset's attributes, dtype and shape.
    """

    def __init__(self, kind: str, row_shape: tuple[int, ...], rows_per_block: int, hexes: list[str]) -> None:
        self.kind, self.rows_per_block, self.hexes = kind, rows_per_block, hexes
        self._seed = xxhash.xxh3_64(_MAGIC + f"{kind}|{tuple(int(n) for n in row_shape)}\x00".encode())

    @classmethod
    def of(cls, attrs: Mapping[str, Any], dtype: np.dtype, shape: tuple[int, ...]) -> BlockDigests | None:
        """The block digests of a dataset of ``dtype`` and ``shape``; None when it records none.

        Raises ValueError when the record does not fit the dataset (its row count or its text)."""
        recorded = recorded_text(attrs, BLOCKS_ATTRIBUTE)
        if recorded is None:
            return None
        kind = _kind(np.dtype(dtype))
        if not recorded.startswith(_BLOCK_PREFIX) or not shape or kind is None or kind == "text":
            raise ValueError(f"block digests {recorded[:40]!r} do not fit a dataset of {dtype} and shape {shape}")
        size_text, _, hexes = recorded[len(_BLOCK_PREFIX) :].partition(":")
        size = int(size_text) if size_text.isdigit() else 0
        blocks = [hexes[i : i + 16] for i in range(0, len(hexes), 16)]
        if size <= 0 or len(blocks) != math.ceil(int(shape[0]) / size):
            raise ValueError(f"{shape[0]} rows, while the block digests cover {len(blocks)} blocks of {size} rows")
        return cls(kind, tuple(shape[1:]), size, blocks)

    def mismatch(self, block: int, rows: np.ndarray) -> str | None:
        """None when ``rows`` (block number ``block``, decoded) are those written; else the digest they have."""
        digest = self._seed.copy()
        digest.update(np.ascontiguousarray(rows, dtype=np.dtype(self.kind)).reshape(-1).view(np.uint8))
        found = digest.hexdigest()
        return None if found == self.hexes[block] else found


def verify_rows(column: Any, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` of a column opened lazily, checked against the block digests recorded with it.

    Only the blocks the rows fall in are read (about 1 MiB each). Raises
    :class:`~hdmf_ai.errors.ResultsFileError` naming the file, the dataset and the rows on a mismatch, or when
    the column records no block digests (text, files of other writers: check the whole with :func:`verify_table`).

    Example: ``with hdmf_ai.open(path) as rt: first = verify_rows(rt["predicted_probability"], 0, 100)``
    """
    data = column.data
    name = f"{getattr(column.parent, 'name', '?')}/{column.name}"
    where = _source_of(column.parent) if column.parent is not None else name
    recorded = getattr(data, "attrs", {}).get(BLOCKS_ATTRIBUTE)
    recorded = recorded.decode() if isinstance(recorded, bytes) else recorded
    if not isinstance(recorded, str) or not recorded.startswith(_BLOCK_PREFIX):
        raise ResultsFileError(where, f"dataset '{name}' records no block digests to check rows against")
    size_text, hexes = recorded[len(_BLOCK_PREFIX) :].split(":", 1)
    size, n = int(size_text), int(data.shape[0])
    expected = [hexes[i : i + 16] for i in range(0, len(hexes), 16)]
    if len(expected) != math.ceil(n / size):
        raise ResultsFileError(where, f"dataset '{name}' has {n} rows; its block digests cover {len(expected)} blocks")
    start, stop = max(0, start), min(n, stop)
    first, last = start // size, max(start // size, math.ceil(stop / size))
    rows = np.asarray(data[first * size : min(n, last * size)])
    stream = streaming_for(rows)
    if stream is None:
        raise ResultsFileError(where, f"dataset '{name}' holds values without block digests")
    stream.block = size
    stream.update(rows)
    got = stream.blocks() or ""
    got_hexes = [got[i : i + 16] for i in range(got.index(":", len(_BLOCK_PREFIX)) + 1, len(got), 16)]
    for index, (want, have) in enumerate(zip(expected[first:last], got_hexes, strict=True)):
        if want != have:
            block = first + index
            raise ResultsFileError(
                where,
                f"dataset '{name}': rows {block * size} to {min(n, (block + 1) * size)} differ from those written "
                f"(block digest {want} recorded, {have} read)",
            )
    return rows[start - first * size : stop - first * size]


def _source_of(table: Any) -> str:
    for obj in _datasets(table):
        file = getattr(getattr(obj.data, "file", None), "filename", None)  # h5py
        store = getattr(getattr(obj.data, "store", None), "root", None)  # zarr's LocalStore
        if file or store:
            return str(file or store)
    return f"table '{table.name}'"
