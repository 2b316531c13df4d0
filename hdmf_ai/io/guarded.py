"""Lazy column data that is checked as it is read: :class:`GuardedArray`, what :func:`hdmf_ai.open` gives.

A table opened lazily reads its columns on demand, from HDF5 or Zarr. Each read of a :class:`GuardedArray`
(slicing, ``numpy.asarray``, iteration; hdmf's ``VectorData``, ``VectorIndex``, ``EnumData`` and
``DynamicTableRegion`` read through it) either returns values that match the content digests recorded when
the file was written (:mod:`.digest`), or raises :class:`~hdmf_ai.errors.ResultsFileError` naming the file
and the dataset:

- numbers with block digests (about 1 MiB of rows each) are read block by block, and each block the selection
  touches is checked before any of its rows is returned (the last few blocks read are kept);
- datasets with a whole digest only (text, enum elements, numbers of tables grown past their block digests)
  are checked whole at their first read: text is then kept in memory and served from there;
- datasets without digests (files of other writers) are read as they are;
- and every error of the backend or a decoder (h5py's ``OSError``, a codec's error) becomes a
  ``ResultsFileError`` naming the dataset and the rows.

Example: ``with hdmf_ai.open(path) as rt: rt["loss"].data[:10]`` reads and checks the first block of ``loss``.
"""

from __future__ import annotations

import collections
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from hdmf.common import DynamicTable, EnumData, VectorIndex

from .. import invariants
from ..errors import ColumnError, HdmfAiError, ResultsFileError
from . import digest, h5chunks
from .incomplete import RowLimited

__all__ = ["GuardedArray", "guard_tables", "load", "load_tables", "stored"]

#: blocks kept per column after they were checked: a row at a time (ragged cells, iteration) reads each once
KEPT_BLOCKS = 4
#: bytes of consecutive blocks read at once (their chunks decoded in parallel), at most
RUN_BYTES = 64 * 2**20
#: rows of several runs read from Zarr in one orthogonal selection, at most (its index: 8 bytes a row)
_SELECTED_ROWS = 1 << 20
#: rows per piece of a dataset without block digests, when checked whole
_PIECE_ROWS = 1 << 16


def stored(data: Any) -> Any:
    """The backend's array under ``data`` (a GuardedArray, a RowLimited view...), for its storage settings."""
    while isinstance(data, (GuardedArray, RowLimited)):
        data = data.dataset
    return data


def _is_on_disk(data: Any) -> bool:
    """Whether ``data`` is an h5py Dataset or zarr Array (an unfinished table's view of one included); not
    hdmf's datasets of object references (they resolve to containers) nor data in memory."""
    if isinstance(data, RowLimited):
        data = data.dataset
    if isinstance(data, h5py.Dataset):
        return h5py.check_dtype(ref=data.dtype) is None
    zarr = sys.modules.get("zarr")  # a process that never imported zarr holds no zarr array
    return zarr is not None and isinstance(data, zarr.Array) and "reference" not in str(data.attrs.get("_DTYPE", ""))


class GuardedArray:
    """A read-only view of an on-disk dataset whose every read is checked (see the module docstring).

    Parameters
    ----------
    dataset
        The h5py Dataset or zarr Array (or an unfinished table's RowLimited view of one).
    name
        The dataset's name in messages (``table/column``).
    source
        The file, named in errors.
    elements
        For an enum column's codes: the on-disk elements, whose digest the codes' whole digest folds in.
    column
        The hdmf column the dataset belongs to: every read is also held to its rules
        (:func:`hdmf_ai.invariants.check_slice`; a ragged index whole, once, at its first read), which is what
        catches a file without digests that breaks them.
    """

    #: read_data (``_tableview``) hands integer positions to a GuardedArray as they are: it picks blocks
    picks_rows = True

    def __init__(
        self, dataset: Any, *, name: str, source: Path | str, elements: Any = None, column: Any = None
    ) -> None:
        self.dataset = dataset
        self.name, self.source, self._elements, self._column = name, source, elements, column
        self._rules_checked_whole = False  # a ragged index: held to its rules whole, once
        self._lock = threading.Lock()
        self._kept: collections.OrderedDict[int, np.ndarray] = collections.OrderedDict()
        self._whole: np.ndarray | None = None  # text checked whole, kept
        self._checked = False  # a whole digest checked (or none to check)
        self._shape = tuple(int(n) for n in self._guard("its shape", lambda: dataset.shape))
        self._dtype = np.dtype(self._guard("its dtype", lambda: dataset.dtype))
        self._prepared = False  # the digests are looked up at the first read: opening reads no attribute
        self._blocks: digest.BlockDigests | None = None
        self._recorded: str | None = None

    def _prepare(self) -> None:
        """The digests recorded with the dataset, looked up once (before the first read)."""
        if self._prepared:
            return
        names = (digest.BLOCKS_ATTRIBUTE, digest.DIGEST_ATTRIBUTE)
        attrs = self._guard("its attributes", lambda: _attributes(stored(self.dataset), names))
        try:
            self._blocks = digest.BlockDigests.of(attrs, self._dtype, self._shape)
        except ValueError as err:
            raise ResultsFileError(
                self.source, f"dataset '{self.name}': its block digests do not fit it: {err}"
            ) from None
        self._recorded = None if self._blocks is not None else digest.recorded_text(attrs, digest.DIGEST_ATTRIBUTE)
        self._prepared = True

    # -- what hdmf, numpy and Dask ask of an array -------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        found: np.dtype = self._dtype
        return found

    @property
    def ndim(self) -> int:
        return len(self._shape)

    @property
    def size(self) -> int:
        return int(np.prod(self._shape, dtype=np.int64))

    @property
    def chunks(self) -> Any:
        return getattr(stored(self.dataset), "chunks", None)

    @property
    def shards(self) -> Any:
        return getattr(stored(self.dataset), "shards", None)

    @property
    def attrs(self) -> Any:
        return getattr(stored(self.dataset), "attrs", {})

    @property
    def file(self) -> Any:
        return getattr(stored(self.dataset), "file", None)

    @property
    def store(self) -> Any:
        return getattr(stored(self.dataset), "store", None)

    def __len__(self) -> int:
        if not self._shape:
            raise TypeError(f"dataset '{self.name}' is a scalar: it has no length")
        return self._shape[0]

    def __repr__(self) -> str:
        return f"<GuardedArray '{self.name}' {self._shape} {self._dtype} of {self.source}>"

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.asarray(self[()] if not self._shape else self[:])
        return arr if dtype is None else arr.astype(dtype)

    def __iter__(self) -> Iterator[Any]:
        self._prepare()
        if not self._shape:
            raise TypeError(f"dataset '{self.name}' is a scalar: it cannot be iterated")
        step = self._blocks.rows_per_block if self._blocks is not None else _PIECE_ROWS
        for lo in range(0, self._shape[0], step):
            yield from self[lo : min(self._shape[0], lo + step)]

    def __getitem__(self, key: Any) -> Any:
        values = self._read(key)
        if self._column is not None:
            self._hold_to_rules(values)
        return values

    def _hold_to_rules(self, values: Any) -> None:
        """The column's rules on the rows read (a ragged index: on the whole index, at the first read)."""
        column, whole = self._column, False
        if isinstance(column, VectorIndex) and not self._rules_checked_whole:
            values, whole = self._read(slice(None)), True
        try:
            invariants.check_slice(column, values, whole=whole)
        except ColumnError as err:
            table = getattr(column.parent, "name", "?")
            raise ResultsFileError(self.source, f"table '{table}': {err}") from None
        self._rules_checked_whole |= whole

    def _read(self, key: Any) -> Any:
        """``self[key]``, checked against the digests (not yet against the column's rules)."""
        self._prepare()
        first, rest = (key[0], key[1:]) if isinstance(key, tuple) and key else (key, ())
        if not self._shape or (isinstance(key, tuple) and not key):  # a scalar, or data[()]
            return self._everything()[key]
        if first is Ellipsis:
            first, rest = slice(None), key[1:] if isinstance(key, tuple) else ()
            rest = (Ellipsis, *rest) if rest else ()
        n = self._shape[0]
        if isinstance(first, slice):
            start, stop, step = first.indices(n)
            if step < 0 or len(range(start, stop, step)) == 0:
                positions = np.arange(start, stop, step, dtype=np.int64)
                return self._pick(positions)[(slice(None), *rest)]
            span = self._span(start, stop if step == 1 else start + (len(range(start, stop, step)) - 1) * step + 1)
            return span[(slice(None, None, step), *rest)]
        if isinstance(first, (int, np.integer)):
            index = int(first) + n if int(first) < 0 else int(first)
            if not 0 <= index < n:
                raise IndexError(f"index {first} is out of range for dataset '{self.name}' of {n} rows")
            return self._span(index, index + 1)[(0, *rest)]
        positions = np.asarray(first)
        if positions.dtype == np.bool_:
            if positions.shape != (n,):
                raise IndexError(f"a boolean mask of {positions.shape} for dataset '{self.name}' of {n} rows")
            positions = np.flatnonzero(positions)
        if positions.size and positions.dtype.kind not in "iu":
            raise IndexError(f"dataset '{self.name}' is indexed by integers, not {positions.dtype}")
        positions = positions.astype(np.int64).ravel()
        positions = np.where(positions < 0, positions + n, positions)
        if positions.size and (positions.min() < 0 or positions.max() >= n):
            raise IndexError(f"positions out of range for dataset '{self.name}' of {n} rows")
        picked = self._pick(positions).reshape(*np.shape(first), *self._shape[1:])
        return picked[(slice(None),) * np.ndim(first) + rest] if rest else picked

    # -- reading, checked ---------------------------------------------------------------------------------------

    def _guard(self, what: str, read: Any) -> Any:
        """``read()``, any error but ours a ResultsFileError naming the file, the dataset and ``what``."""
        try:
            return read()
        except HdmfAiError:
            raise
        except (IndexError, TypeError) as err:
            if what.startswith("rows"):  # a damaged file only: the selection was checked before
                raise ResultsFileError(self.source, f"dataset '{self.name}' ({what}) cannot be read: {err}") from err
            raise
        except Exception as err:
            raise ResultsFileError(self.source, f"dataset '{self.name}' ({what}) cannot be read: {err}") from err

    def _raw(self, lo: int, hi: int) -> np.ndarray:
        """Rows ``lo:hi`` from the backend, decoded, not yet checked."""
        return self._raw_spans([(lo, hi)])[0]

    def _raw_spans(self, spans: list[tuple[int, int]]) -> list[np.ndarray]:
        """Rows ``lo:hi`` for each ``(lo, hi)`` of ``spans`` from the backend, decoded, not yet checked."""
        if not spans:
            return []

        def read() -> list[np.ndarray]:
            inner = self.dataset
            fast = h5chunks.read_spans(inner, spans)  # its decoder refuses chunks marked unfiltered
            if fast is not None:
                return fast
            if len(spans) > 1 and _is_zarr_array(inner) and sum(hi - lo for lo, hi in spans) <= _SELECTED_ROWS:
                # one selection: each shard's index read once, its chunks fetched and decoded together (one
                # slice per span re-reads the shard index each time: 1,000 random rows of 1M x 100, 2x slower)
                rows = np.concatenate([np.arange(lo, hi) for lo, hi in spans])
                whole = np.asarray(inner.get_orthogonal_selection((rows,)))
                return np.split(whole, np.cumsum([hi - lo for lo, hi in spans])[:-1])
            found = []
            for lo, hi in spans:
                h5chunks.check_filter_masks(inner, lo, hi)  # HDF5 decodes: it would skip a filter marked skipped
                found.append(np.asarray(inner[lo:hi]))
            return found

        lo, hi = spans[0][0], spans[-1][1]
        what = f"rows {lo} to {hi}" + (f" ({len(spans)} runs)" if len(spans) > 1 else "")
        parts: list[np.ndarray] = self._guard(what, read)
        for (lo, hi), rows in zip(spans, parts, strict=True):
            if rows.shape != (hi - lo, *self._shape[1:]):
                raise ResultsFileError(
                    self.source, f"dataset '{self.name}' (rows {lo} to {hi}) read as shape {rows.shape}: it is damaged"
                )
        return parts

    def _everything(self) -> np.ndarray:
        """The whole dataset, checked (a scalar, text and other datasets without block digests)."""
        if self._whole is not None:
            return self._whole
        if not self._shape:
            value = np.asarray(self._guard("its value", lambda: self.dataset[()]))
            self._check_whole(value)
            return value
        if self._blocks is not None:
            return self._span(0, self._shape[0])
        whole = self._raw(0, self._shape[0])
        self._check_whole(whole)
        if whole.dtype.kind in "OSUT":
            self._whole = whole
        return whole

    def _check_whole(self, values: np.ndarray) -> None:
        if self._checked or self._recorded is None:
            self._checked = True
            return
        found = digest.of_values(values if values.shape else values.reshape(1))
        if found is not None and self._elements is not None:
            elements = self._guard("its elements", lambda: np.asarray(self._elements[:]))
            found = digest.combine(found, digest.of_values(elements) or "")
        if values.shape == () and found != self._recorded:  # a scalar: digested as a 0-d array
            found = digest.of_values(values)
        if found != self._recorded:
            raise ResultsFileError(
                self.source,
                f"dataset '{self.name}': the values read differ from those written "
                f"(content digest {self._recorded} recorded, {found} read)",
            )
        self._checked = True

    def _ensure_checked(self) -> None:
        """A dataset with a whole digest only: checked at its first read (read in pieces, not kept)."""
        if self._checked or self._blocks is not None:
            return
        if self._recorded is None or self._dtype.kind in "OSUT":
            self._everything()
            return
        stream = digest.streaming_for(self)
        n = self._shape[0]
        if stream is None:
            self._checked = True
            return
        for lo in range(0, n, _PIECE_ROWS):
            stream.update(self._raw(lo, min(n, lo + _PIECE_ROWS)))
        found = stream.hexdigest()
        if self._elements is not None:
            elements = self._guard("its elements", lambda: np.asarray(self._elements[:]))
            found = digest.combine(found, digest.of_values(elements) or "")
        if found != self._recorded:
            raise ResultsFileError(
                self.source,
                f"dataset '{self.name}': the values read differ from those written "
                f"(content digest {self._recorded} recorded, {found} read)",
            )
        self._checked = True

    def _checked_blocks(self, indices: list[int]) -> Iterator[tuple[int, np.ndarray]]:
        """``(index, rows)`` of each block in ``indices`` (ascending), checked. Consecutive blocks are read as
        one run, and runs together up to :data:`RUN_BYTES` at a time: the backend decodes the chunks of all of
        them in parallel (the blocks of rows picked at random are many short runs). The last few blocks read
        are kept, and not read again."""
        assert self._blocks is not None
        size, n = self._blocks.rows_per_block, self._shape[0]
        block_bytes = max(1, size * self._dtype.itemsize * int(np.prod(self._shape[1:], dtype=np.int64)))
        per_batch = max(1, RUN_BYTES // block_bytes)
        plan: list[tuple[int, np.ndarray] | list[int]] = []  # a kept block, or a run of blocks to read
        for index in indices:
            with self._lock:
                kept = self._kept.get(index)
                if kept is not None:
                    self._kept.move_to_end(index)
            if kept is not None:
                plan.append((index, kept))
            elif plan and isinstance(plan[-1], list) and index == plan[-1][-1] + 1 and len(plan[-1]) < per_batch:
                plan[-1].append(index)
            else:
                plan.append([index])
        batch: list[tuple[int, np.ndarray] | list[int]] = []
        blocks = 0  # blocks to read in the batch
        for step in plan:
            if isinstance(step, list) and blocks and blocks + len(step) > per_batch:
                yield from self._read_batch(batch, size, n)
                batch, blocks = [], 0
            batch.append(step)
            blocks += len(step) if isinstance(step, list) else 0
        yield from self._read_batch(batch, size, n)

    def _read_batch(
        self, batch: list[tuple[int, np.ndarray] | list[int]], size: int, n: int
    ) -> Iterator[tuple[int, np.ndarray]]:
        """The steps of ``batch`` in order: kept blocks as they are, runs read in one backend call and checked."""
        runs = [step for step in batch if isinstance(step, list)]
        read = iter(self._raw_spans([(run[0] * size, min(n, (run[-1] + 1) * size)) for run in runs]))
        for step in batch:
            if isinstance(step, tuple):
                yield step
                continue
            rows = next(read)
            for k, index in enumerate(step):
                yield index, self._check_block(index, rows[k * size : (k + 1) * size])

    def _check_block(self, index: int, rows: np.ndarray) -> np.ndarray:
        assert self._blocks is not None
        found = self._blocks.mismatch(index, rows)
        if found is not None:
            size = self._blocks.rows_per_block
            lo, hi = index * size, min(self._shape[0], (index + 1) * size)
            raise ResultsFileError(
                self.source,
                f"dataset '{self.name}': rows {lo} to {hi} differ from those written "
                f"(block digest {self._blocks.hexes[index]} recorded, {found} read)",
            )
        with self._lock:
            self._kept[index] = rows
            while len(self._kept) > KEPT_BLOCKS:
                self._kept.popitem(last=False)
        return rows

    def _span(self, lo: int, hi: int) -> np.ndarray:
        """Rows ``lo:hi`` (``lo < hi``), checked."""
        if self._whole is not None:
            return self._whole[lo:hi]
        if self._blocks is None:
            self._ensure_checked()
            return self._whole[lo:hi] if self._whole is not None else self._raw(lo, hi)
        size = self._blocks.rows_per_block
        first, last = lo // size, (hi - 1) // size
        parts = [rows for _, rows in self._checked_blocks(list(range(first, last + 1)))]
        whole = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return whole[lo - first * size : hi - first * size]

    def _pick(self, positions: np.ndarray) -> np.ndarray:
        """The rows at ``positions`` (any order, repeats), each block they fall in read once."""
        if positions.size == 0:
            return np.empty((0, *self._shape[1:]), dtype=self._dtype)
        if self._whole is not None:
            kept: np.ndarray = self._whole[positions]
            return kept
        if self._blocks is None:
            lo, hi = int(positions.min()), int(positions.max()) + 1
            picked: np.ndarray = self._span(lo, hi)[positions - lo]
            return picked
        size = self._blocks.rows_per_block
        of_block = positions // size
        order = np.argsort(of_block, kind="stable")
        bounds = np.flatnonzero(np.diff(of_block[order])) + 1
        groups = {int(of_block[g[0]]): g for g in np.split(order, bounds)}
        out = np.empty((positions.size, *self._shape[1:]), dtype=self._dtype)
        for index, rows in self._checked_blocks(sorted(groups)):
            where = groups[index]
            out[where] = rows[positions[where] - index * size]
        return out


def _is_zarr_array(data: Any) -> bool:
    zarr = sys.modules.get("zarr")  # loaded when a Zarr store was opened: never imported here for HDF5
    return zarr is not None and isinstance(data, zarr.Array)


def _attributes(array: Any, names: tuple[str, ...]) -> dict[str, Any]:
    attrs = getattr(array, "attrs", None)
    if attrs is None:
        return {}
    return {name: attrs[name] for name in names if name in attrs}


def _guarded(data: Any, name: str, source: Path | str, elements: Any = None, column: Any = None) -> Any:
    if isinstance(data, GuardedArray) or not _is_on_disk(data):
        return data
    return GuardedArray(data, name=name, source=source, elements=elements, column=column)


def guard_tables(tables: list[DynamicTable], source: Path | str) -> None:
    """Make every on-disk dataset of ``tables`` (and of the tables their regions point at, transitively) a
    :class:`GuardedArray`: ids, columns, ragged indexes and enum elements."""
    for table in digest.tables_under(tables):
        for obj in (table.id, *table.columns):
            name = f"{table.name}/{obj.name}"
            elements = getattr(obj, "elements", None) if isinstance(obj, EnumData) else None
            raw_elements = None
            if elements is not None:
                raw_elements = stored(elements.data) if _is_on_disk(elements.data) else None
                elements.transform(lambda d, n=f"{table.name}/{elements.name}": _guarded(d, n, source))
            obj.transform(lambda d, n=name, e=raw_elements, c=obj: _guarded(d, n, source, e, c))


def load(data: Any) -> Any:
    """A GuardedArray's values read (and checked) into numpy, text as ``str``; anything else as it is."""
    if not isinstance(data, GuardedArray):
        return data
    arr = np.asarray(data)
    if arr.dtype.kind == "O" and arr.size and isinstance(arr.flat[0], bytes):
        arr = np.array([b.decode("utf-8") for b in arr.ravel()], dtype=object).reshape(arr.shape)
    elif arr.dtype.kind == "S":
        arr = np.char.decode(arr, "utf-8").astype(object)
    return arr


def load_tables(tables: list[DynamicTable]) -> None:
    """Every GuardedArray of ``tables`` (ids, columns, enum elements) replaced by its values, checked: what
    a table opened lazily needs before it is written to another file (never a copy of unchecked bytes)."""
    for table in tables:
        for obj in (table.id, *table.columns):
            elements = getattr(obj, "elements", None) if isinstance(obj, EnumData) else None
            if elements is not None and isinstance(elements.data, GuardedArray):
                elements.transform(load)
            if isinstance(obj.data, GuardedArray):
                obj.transform(load)
