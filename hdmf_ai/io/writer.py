"""``ResultsWriter``: write results larger than memory, batch by batch, crash-safe and resumable.

The writer makes the file's skeleton through hdmf itself (the same ResultsTable, columns, links, enum
elements and metadata that :func:`hdmf_ai.write` would store, each column declared empty and resizable with
the storage policy's chunks and codecs), then fills row ranges with h5py or zarr directly. Two attributes on
the table's group record the progress while a writer has the table open:

``hdmf_ai_complete_rows``
    How many rows (from row 0) are on disk in every column. Updated after each flush, after the data.
``hdmf_ai_n_samples``
    The number of rows declared with ``n_samples``, or -1 when the table grows.

Both are removed when the writer closes normally, so a finished file is the same as one written by
:func:`hdmf_ai.write` (same values, same validation). A file that still has them was interrupted (or is being
written): :func:`hdmf_ai.open` and :func:`hdmf_ai.read` give its complete rows with an
:class:`~hdmf_ai.errors.IncompleteTableWarning`, and ``ResultsWriter(path, resume=True)`` continues it.

Crash safety: HDF5 files are written in SWMR mode (single writer, multiple readers), in which HDF5 orders its
metadata writes so that the file is consistent at every moment; readers may open it while it is written.
Zarr stores are safe by construction: zarr writes every chunk and metadata document to a temporary file and
renames it into place.

Example
-------
>>> import numpy as np, hdmf_ai
>>> with hdmf_ai.ResultsWriter(tmp_path / "big.zarr", columns={"predicted_probability": (3,)}) as w:
...     for start in range(0, 10, 4):
...         p = np.full((min(4, 10 - start), 3), 1 / 3, dtype=np.float32)
...         w.append(predicted_probability=p, predicted_class=np.zeros(len(p), dtype=int))
>>> hdmf_ai.read(tmp_path / "big.zarr").predicted_class.data.shape
(10,)
"""

from __future__ import annotations

import contextlib
import math
import os
import struct
import sys
import uuid
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np
import zarr
from hdmf.backends.io import HDMFIO
from hdmf.build import BuildManager, DatasetBuilder, GroupBuilder
from hdmf.common import DynamicTable
from hdmf.query import HDMFDataset

from .. import checks
from ..errors import ColumnError, IncompleteTableWarning, MissingDependencyError, ResultsFileError
from ..results_table import ResultsTable
from . import policy
from .backend import Backend, backend_for

__all__ = ["COMPLETE_ROWS", "TARGET_ROWS", "ColumnSpec", "ResultsWriter", "RowLimited", "progress_bar"]

COMPLETE_ROWS = "hdmf_ai_complete_rows"
TARGET_ROWS = "hdmf_ai_n_samples"

_PREDEFINED = tuple(c["name"] for c in ResultsTable.__columns__)
_CLASS_COLUMNS = ("predicted_class", "topk_classes")
# rows per chunk when the row count is unknown: large, so the policy's own chunk size decides
_NOMINAL_ROWS = 2**40


# -- column declarations ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnSpec:
    """What the writer knows of one column: its per-row shape, its stored dtype and its type's options.

    Declared as ``columns={"predicted_probability": (1000,)}`` (a row shape), ``{"loss": "float32"}`` (a
    dtype), or a mapping with any of ``shape``, ``dtype``, ``classes`` (``true_label``), ``n_splits``
    (``cv_split``), ``check_sum`` (``predicted_probability``) and ``description``. What is not declared is
    taken from the first batch.
    """

    name: str
    row_shape: tuple[int, ...] | None = None
    dtype: np.dtype | None = None
    classes: tuple[str, ...] | None = None
    n_splits: int | None = None
    check_sum: bool = True
    description: str | None = None

    @classmethod
    def parse(cls, name: str, declared: Any) -> ColumnSpec:
        if isinstance(declared, ColumnSpec):
            return replace(declared, name=name)
        if declared is None:
            return cls(name)
        if isinstance(declared, tuple) and all(isinstance(n, (int, np.integer)) for n in declared):
            return cls(name, row_shape=tuple(int(n) for n in declared))
        if isinstance(declared, Mapping):
            unknown = sorted(set(declared) - {"shape", "dtype", "classes", "n_splits", "check_sum", "description"})
            if unknown:
                raise ColumnError(name, "a declaration with shape, dtype, classes, n_splits, check_sum, description",
                                  f"unknown keys {unknown}")  # fmt: skip
            shape = declared.get("shape")
            classes = declared.get("classes")
            return cls(
                name,
                row_shape=None if shape is None else tuple(int(n) for n in shape),
                dtype=None if declared.get("dtype") is None else np.dtype(declared["dtype"]),
                classes=None if classes is None else tuple(checks.text_list(name, classes) or ()),
                n_splits=declared.get("n_splits"),
                check_sum=bool(declared.get("check_sum", True)),
                description=declared.get("description"),
            )
        try:
            return cls(name, dtype=np.dtype(declared))
        except TypeError:
            raise ColumnError(name, "a row shape such as (1000,), a dtype, or a mapping", repr(declared)) from None


class _BatchCoercer:
    """Stands in for a ResultsTable, so that its ``add_*`` methods check and coerce one batch of a column.

    The methods run unchanged (the same checks and conversions as for a whole column); where they would build
    and register an hdmf column, this returns the coerced array instead, which keeps a batch's checks as cheap
    as the checks themselves. ``n_classes`` answers the methods' question about the number of classes.
    """

    _encode = staticmethod(ResultsTable._encode)
    _add_embedding = ResultsTable._add_embedding

    def __init__(self, n_classes: int | None) -> None:
        self.n_classes = n_classes

    def _column(self, name: str) -> None:
        return None  # no sibling columns: their agreement is checked against the declarations instead

    def _n_classes(self) -> int | None:
        return self.n_classes

    def _check_k(self, name: str, arr: np.ndarray, other: str) -> None:
        """k is checked against the column's declared row shape."""

    def _add_predefined(self, name: str, data: Any, description: str | None, **kwargs: Any) -> np.ndarray:
        return np.asarray(data)


def _coerce(spec: ColumnSpec, values: Any, *, n_source: int | None, n_classes: int | None = None) -> np.ndarray:
    """One batch of one column, checked and coerced by the same ``add_*`` method a whole column goes through."""
    name = spec.name
    if name == "samples":  # the source table's length is all the check needs
        arr = checks.as_integers(name, values)
        if n_source is not None:
            checks.check_below(name, arr, n_source, f"the {n_source} rows of the source table")
        return arr
    if name not in _PREDEFINED:
        arr = checks.as_array(name, values)
        if arr.dtype.kind not in "biuf":
            raise ColumnError(name, "numbers or booleans (the writer stores no text columns)", f"dtype {arr.dtype}")
        return arr
    coercer: Any = _BatchCoercer(n_classes)
    method = getattr(ResultsTable, f"add_{name}")
    if name == "true_label":
        return method(coercer, values, classes=spec.classes)
    if name == "cv_split":
        return method(coercer, values, n_splits=spec.n_splits)
    if name == "predicted_probability":
        return method(coercer, values, check_sum=spec.check_sum)
    return method(coercer, values)


def _add(table: ResultsTable, spec: ColumnSpec, values: Any, *, source: DynamicTable | None) -> Any:
    """Add ``values`` as column ``spec.name`` to ``table`` through the column's own ``add_*`` method."""
    name = spec.name
    described = {"description": spec.description} if spec.description else {}
    if name == "samples":
        if source is None:
            raise ColumnError(name, "the source table: ResultsWriter(..., source=<table>)", "no source table")
        return table.add_samples(values, table=source, **described)
    if name == "true_label":
        return table.add_true_label(values, classes=spec.classes, **described)
    if name == "cv_split":
        return table.add_cv_split(values, n_splits=spec.n_splits, **described)
    if name == "predicted_probability":
        return table.add_predicted_probability(values, check_sum=spec.check_sum, **described)
    if name in _PREDEFINED:
        return getattr(table, f"add_{name}")(values, **described)
    arr = checks.as_array(name, values)
    if arr.dtype.kind not in "biuf":
        raise ColumnError(name, "numbers or booleans (the writer stores no text columns)", f"dtype {arr.dtype}")
    return table.add_column(name, spec.description or f"the column '{name}'", data=arr)


def _bound(spec: ColumnSpec, specs: Mapping[str, ColumnSpec], n_source: int | None) -> int | None:
    """The exclusive upper bound of an integer column's values, when its declaration fixes one."""
    probs = specs.get("predicted_probability")
    n_classes = probs.row_shape[0] if probs is not None and probs.row_shape else None
    if spec.name in _CLASS_COLUMNS:
        return n_classes
    if spec.name == "true_label":
        return len(spec.classes) if spec.classes else n_classes
    if spec.name == "cv_split":
        return spec.n_splits
    if spec.name == "tvt_split":
        return 3
    if spec.name == "samples":
        return n_source
    return None


def _stored_dtype(spec: ColumnSpec, coerced: np.ndarray, given: np.dtype, bound: int | None) -> np.dtype:
    """The dtype a column is stored in, decided once from its declaration, its bound or the first batch.

    A bounded integer column (classes, folds, splits, source rows) gets the smallest type that holds its bound,
    which is the type :func:`hdmf_ai.write` picks for a column that uses its whole range. Other integers keep
    the type they arrive in: narrowing them to the first batch's values could refuse a later batch.
    """
    if spec.dtype is not None:
        return spec.dtype
    if coerced.dtype.kind not in "iu":
        return coerced.dtype
    if spec.name == "samples":
        return np.dtype(np.int32 if (bound or 0) <= 2**31 else np.int64)
    if bound is not None:
        top = np.array([max(bound - 1, 0)])
        return (checks.smallest_int(top) if spec.name == "cv_split" else checks.smallest_uint(top)).dtype
    return given if given.kind in "iu" else coerced.dtype


def _fit(spec: ColumnSpec, arr: np.ndarray) -> np.ndarray:
    """Cast a coerced batch to the column's stored dtype, refusing a wrong row shape or a lossy cast."""
    assert spec.dtype is not None and spec.row_shape is not None
    name, dtype = spec.name, spec.dtype
    if arr.shape[1:] != spec.row_shape:
        raise ColumnError(
            name, f"rows of shape {spec.row_shape} (declared or from the first batch)", f"an array of shape {arr.shape}"
        )
    if arr.dtype == dtype:
        return arr
    if dtype.kind in "iu" and arr.dtype.kind in "biu":
        info = np.iinfo(dtype)
        if arr.size and (int(arr.min()) < info.min or int(arr.max()) > info.max):
            raise ColumnError(
                name,
                f"values that fit the column's dtype {dtype} ({info.min} to {info.max}); declare a wider dtype",
                f"values from {arr.min()} to {arr.max()}",
            )
        return arr.astype(dtype)
    if dtype.kind == "f" and (
        arr.dtype.kind in "biu" or (arr.dtype.kind == "f" and arr.dtype.itemsize <= dtype.itemsize)
    ):
        return arr.astype(dtype)
    if dtype.kind == "b" and arr.dtype.kind == "b":
        return arr
    raise ColumnError(name, f"values of dtype {dtype} (declared or from the first batch)", f"dtype {arr.dtype}")


# -- progress --------------------------------------------------------------------------------------------------


def progress_bar(*, total: int | None, desc: str, progress: bool | None, initial: int = 0, unit: str = "rows") -> Any:
    """A tqdm progress bar when ``progress`` is True, or when None and stderr is a terminal; else a no-op.

    tqdm comes with the ``progress`` extra; ``progress=True`` without it is an error naming the extra.
    """
    enabled = sys.stderr.isatty() if progress is None else progress
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            raise MissingDependencyError("progress bars need tqdm: pip install 'hdmf-ai[progress]'") from None
        return _NoBar()
    if not enabled:
        return _NoBar()
    return tqdm(total=total, desc=desc, initial=initial, unit=unit, unit_scale=True, dynamic_ncols=True)


class _NoBar:
    def update(self, n: int = 1) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""


# -- the backends' raw handles ---------------------------------------------------------------------------------


class _Sink:
    """Row ranges of a table's datasets, written directly (h5py or zarr); the skeleton exists already."""

    datasets: dict[str, Any]

    def capacity(self) -> int:
        return int(self.datasets["id"].shape[0])

    def resize(self, rows: int) -> None:
        raise NotImplementedError

    def write(self, name: str, start: int, data: np.ndarray) -> None:
        self.datasets[name][start : start + len(data)] = data

    def commit(self, complete: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def finish(self, attributes: Mapping[str, Mapping[str, Any]]) -> None:
        """Close, remove the progress attributes and set final ``attributes`` (dataset -> name -> value)."""
        raise NotImplementedError


class _H5Sink(_Sink):
    def __init__(self, path: Path, table: str, names: list[str], progress: Mapping[str, int]) -> None:
        self.path, self.table = path, table
        clear_swmr_flags(path)  # left set by a writer that was killed
        self.file = h5py.File(path, "r+", libver="latest")
        group = self.file[table]
        for key, value in progress.items():  # attributes can be changed, not added, in SWMR mode
            group.attrs[key] = value
        self.attrs = group.attrs
        self.datasets = {name: group[name] for name in names}
        try:
            self.file.swmr_mode = True
        except (ValueError, RuntimeError, OSError):
            # a file written by hdmf_ai.write has the default (oldest) file format, which SWMR needs newer
            self.file.flush()

    def resize(self, rows: int) -> None:
        for dataset in self.datasets.values():
            dataset.resize(rows, axis=0)

    def commit(self, complete: int) -> None:
        self.file.flush()  # the data first: the count never runs ahead of what is on disk
        self.attrs[COMPLETE_ROWS] = complete
        self.file.flush()

    def close(self) -> None:
        if self.file.id.valid:
            self.file.close()

    def finish(self, attributes: Mapping[str, Mapping[str, Any]]) -> None:
        self.close()
        with h5py.File(self.path, "r+") as f:
            group = f[self.table]
            for key in (COMPLETE_ROWS, TARGET_ROWS):
                if key in group.attrs:
                    del group.attrs[key]
            for name, attrs in attributes.items():
                group[name].attrs.update(attrs)


class _ZarrSink(_Sink):
    def __init__(self, path: Path, table: str, names: list[str], progress: Mapping[str, int]) -> None:
        self.path = path
        # every chunk is written, so that the reader's check for lost chunks holds (see safety.py)
        with zarr.config.set({"array.write_empty_chunks": True}):
            # opened by its own path: a group's zarr.json may hold a stale nested copy of consolidated metadata
            self.group = zarr.open_group(str(path), path=table, mode="r+", use_consolidated=False)
            self.datasets = {name: self.group[name] for name in names}
        self.group.attrs.update(dict(progress))
        consolidate(path)

    def resize(self, rows: int) -> None:
        for array in self.datasets.values():
            array.resize((rows, *array.shape[1:]))
        consolidate(path=self.path)  # hdmf-zarr reads shapes from the consolidated metadata

    def commit(self, complete: int) -> None:
        self.group.attrs[COMPLETE_ROWS] = complete  # one atomic rewrite of the group's zarr.json

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


def _sink(chosen: Backend, path: Path, table: str, names: list[str], progress: Mapping[str, int]) -> _Sink:
    cls = _H5Sink if chosen.name == "hdf5" else _ZarrSink
    return cls(path, table, names, progress)


# -- the writer ------------------------------------------------------------------------------------------------


class ResultsWriter:
    """Write a ResultsTable batch by batch, with bounded memory, to HDF5 or Zarr.

    Parameters
    ----------
    path
        The file to write (``.h5``/``.hdf5`` or ``.zarr``, or ``backend=``).
    n_samples
        The total number of rows, when known: the columns are allocated once and ``close`` checks that all came.
        Unknown (None): the columns grow as batches come and are trimmed on close.
    columns
        Column declarations by name (see :class:`ColumnSpec`); undeclared properties come from the first
        batch. Every batch must hold exactly the declared columns (with no declarations: the first batch's).
    metadata
        The ResultsTable's ``name``, ``description``, ``source_code``, ``parameters``, ``model_description``
        and ``pre_trained_model``, as for :class:`~hdmf_ai.ResultsTable`.
    source
        The source data table that the ``samples`` column indexes; it is written into the file.
    preset, storage
        The storage preset and per-column overrides, as for :func:`hdmf_ai.write`.
    backend
        ``"hdf5"`` or ``"zarr"``, when the suffix does not tell.
    mode
        ``"w"``: a new file (``overwrite=True`` replaces an existing one). ``"a"``: add rows to the table of an
        existing, complete file (``table=`` picks it when there are several).
    resume
        Continue a file whose writer was interrupted, from its first missing row (see :attr:`rows_written`).
    durable
        True (default): every batch is on disk and counted when :meth:`append` returns, so a crash loses at
        most the batch in flight. False: rows are written in whole chunks (shards on Zarr) only, each chunk once;
        faster on Zarr, and a crash loses up to a chunk of rows per column.
    progress
        Show a progress bar: default when attached to a terminal; True/False force it on or off.

    Example
    -------
    ``with ResultsWriter("out.h5", n_samples=len(ds), columns={"predicted_probability": (10,)}) as w:``
    ``for x in loader: w.append(predicted_probability=model(x), predicted_class=...)``
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        n_samples: int | None = None,
        columns: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        source: DynamicTable | None = None,
        preset: str | policy.Preset = policy.DEFAULT_PRESET,
        storage: Mapping[str, policy.Setting] | None = None,
        backend: str | None = None,
        mode: str = "w",
        resume: bool = False,
        overwrite: bool = False,
        table: str | None = None,
        durable: bool = True,
        progress: bool | None = None,
    ) -> None:
        self.path = Path(path)
        self._backend = backend_for(self.path, backend)
        if mode not in ("w", "a"):
            raise ValueError(f"mode: expected 'w' (a new file) or 'a' (add rows); got {mode!r}")
        if n_samples is not None and n_samples < 0:
            raise ColumnError("n_samples", "a row count >= 0, or None when unknown", str(n_samples))
        self._preset, self._storage = preset, storage
        self._durable, self._progress_choice = durable, progress
        self._specs: dict[str, ColumnSpec] = {n: ColumnSpec.parse(n, d) for n, d in (columns or {}).items()}
        self._metadata = dict(metadata or {})
        self._source = source
        self._n_source = None if source is None else len(source)
        self._target = n_samples
        self._table = str(self._metadata.get("name", "results"))
        self._sink: _Sink | None = None
        self._settings: dict[str, policy.Setting] = {}
        self._units: dict[str, int] = {}
        self._written: dict[str, int] = {}
        self._pending: dict[str, list[np.ndarray]] = {}
        self._appended = 0
        self._recorded = 0
        self._closed = False
        self._bar: Any = None
        if resume or mode == "a":
            self._reopen(table, resume=resume)
        elif self.path.exists() and not overwrite:
            raise FileExistsError(f"{self.path} exists; pass overwrite=True to replace it, or mode='a' to add rows")
        # with overwrite, the old file is replaced when the first batch has passed its checks (see _start)

    # -- public --------------------------------------------------------------------------------------------

    @property
    def rows_written(self) -> int:
        """Rows appended so far (after ``resume``: the rows the file already had); the next batch starts here."""
        return self._appended

    @property
    def rows_complete(self) -> int:
        """Rows on disk in every column and recorded as complete in the file."""
        return self._recorded

    def append(self, **columns: Any) -> None:
        """Add one batch of rows: one array per column, all of the same length (any length, 0 included)."""
        if self._closed:
            raise ValueError(f"the writer of {self.path} is closed")
        if not columns:
            raise ColumnError("batch", "one array per column", "no columns")
        self._check_names(columns)
        bar = self._progress()  # made before the count moves: it starts at the rows already written
        if self._sink is None:
            batch = self._first_batch(columns)
        else:
            batch = {name: _fit(self._specs[name], self._coerce(name, values)) for name, values in columns.items()}
        n = self._batch_length(batch)
        if self._target is not None and self._appended + n > self._target:
            raise ColumnError("batch", f"at most {self._target} rows in all (n_samples)", f"{self._appended + n} rows")
        batch["id"] = np.arange(self._appended, self._appended + n, dtype=np.int64)
        for name, arr in batch.items():
            self._pending[name].append(self._stored(name, arr))
        self._ensure_capacity(self._appended + n)
        self._appended += n
        self._flush(final=False)
        bar.update(n)

    def close(self) -> Path:
        """Write what is buffered, trim unused rows, and finish the file: complete, valid, without progress marks."""
        if self._closed:
            return self.path
        if self._sink is None:
            self._start_empty()
        assert self._sink is not None
        if self._target is not None and self._appended != self._target:
            self._stop()
            raise ColumnError(
                "n_samples", f"{self._target} rows, as declared", f"{self._appended} rows; the file is incomplete "
                "and ResultsWriter(path, resume=True) continues it"
            )  # fmt: skip
        self._flush(final=True)
        if self._sink.capacity() != self._appended:
            self._sink.resize(self._appended)
        self._sink.commit(self._appended)
        self._sink.finish(self._final_attributes())
        self._closed = True
        self._progress().close()
        return self.path

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self._stop()

    # -- batches ---------------------------------------------------------------------------------------------

    def _check_names(self, columns: Mapping[str, Any]) -> None:
        known = sorted(set(self._specs) - {"id"})  # ids are the writer's: row numbers
        unknown = sorted(set(columns) - set(known))
        if "id" in columns:
            raise ColumnError("id", "no 'id' column: the writer numbers the rows", "an 'id' column")
        if unknown and self._sink is not None:  # the first batch may add columns to those declared
            raise ColumnError(unknown[0], f"one of the table's columns {known}", f"unknown columns {unknown}")
        missing = sorted(set(known) - set(columns))
        if missing:
            raise ColumnError(missing[0], f"every column in each batch: {known}", f"a batch without {missing}")

    def _coerce(self, name: str, values: Any) -> np.ndarray:
        spec = self._specs[name]
        n_classes = _bound(spec, self._specs, self._n_source) if name in _CLASS_COLUMNS else None
        return _coerce(spec, values, n_source=self._n_source, n_classes=n_classes)

    def _first_batch(self, columns: Mapping[str, Any]) -> dict[str, np.ndarray]:
        for name in columns:
            self._specs.setdefault(name, ColumnSpec(name))
        coerced = {name: self._coerce_shape(name, values) for name, values in columns.items()}
        for name, arr in coerced.items():
            spec = self._specs[name]
            bound = _bound(spec, self._specs, self._n_source)
            given = (
                np.asarray(columns[name]).dtype if not isinstance(columns[name], np.ndarray) else columns[name].dtype
            )
            self._specs[name] = replace(spec, dtype=_stored_dtype(spec, arr, given, bound))
        batch = {name: _fit(self._specs[name], self._coerce(name, columns[name])) for name in columns}
        self._start()
        return batch

    def _coerce_shape(self, name: str, values: Any) -> np.ndarray:
        arr = _coerce(self._specs[name], values, n_source=self._n_source)
        spec = self._specs[name]
        if spec.row_shape is None:
            self._specs[name] = replace(spec, row_shape=tuple(int(n) for n in arr.shape[1:]))
        elif arr.shape[1:] != spec.row_shape:
            raise ColumnError(name, f"rows of shape {spec.row_shape}, as declared", f"an array of shape {arr.shape}")
        return arr

    @staticmethod
    def _batch_length(batch: Mapping[str, np.ndarray]) -> int:
        lengths = {name: len(arr) for name, arr in batch.items()}
        first = next(iter(lengths))
        for name, n in lengths.items():
            if n != lengths[first]:
                raise ColumnError(name, f"{lengths[first]} rows, as '{first}' has in this batch", f"{n} rows")
        return lengths[first]

    def _stored(self, name: str, arr: np.ndarray) -> np.ndarray:
        setting = self._settings.get(name)
        if setting is None or (setting.lossy is None and setting.dtype is None):
            return arr
        return policy.stored_data(policy.Planned(None, f"{self._table}/{name}", arr, setting))

    def _start_empty(self) -> None:
        """close() before any batch: write the declared columns with no rows."""
        empty = {}
        for name, spec in self._specs.items():
            empty[name] = np.empty((0, *(spec.row_shape or ())), dtype=spec.dtype or np.float64)
        if empty:
            self.append(**empty)
        else:
            self._start()

    # -- the file ----------------------------------------------------------------------------------------------

    def _start(self) -> None:
        """Write the skeleton (through hdmf, to a temporary sibling moved into place), then open it for rows."""
        from .api import _move_into_place, _remove

        skeleton, planned = self._skeleton()
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            _write_skeleton(self._backend, skeleton, tmp)
            lossy = {p.path: {policy.LOSSY_ATTRIBUTE: p.setting.lossy.describe()} for p in planned if p.setting.lossy}
            self._backend.write_attributes(tmp, lossy)  # type: ignore[attr-defined]
            _move_into_place(tmp, self.path)
        finally:
            _remove(tmp)
        self._open_sink({COMPLETE_ROWS: 0, TARGET_ROWS: -1 if self._target is None else self._target})

    def _skeleton(self) -> tuple[ResultsTable, list[policy.Planned]]:
        table = ResultsTable(**self._metadata)
        for spec in self._specs.values():
            assert spec.dtype is not None and spec.row_shape is not None
            _add(table, spec, np.empty((0, *spec.row_shape), dtype=spec.dtype), source=self._source)
        self._specs["id"] = ColumnSpec("id", row_shape=(), dtype=np.dtype(np.int64))
        policy.check_storage(self._storage, set(self._specs))
        planned = []
        for column in (*table.columns, table.id):
            if column.name not in self._specs:
                continue  # an enum's elements: text, written as hdmf writes it
            spec = self._specs[column.name]
            assert spec.dtype is not None and spec.row_shape is not None
            nominal = np.broadcast_to(np.zeros((), spec.dtype), (self._target or _NOMINAL_ROWS, *spec.row_shape))
            kind = policy.column_kind(column, nominal)
            setting = policy.resolve(
                self._preset, backend=self._backend.name, column=spec.name, kind=kind, storage=self._storage
            )
            disk = np.dtype(setting.dtype) if setting.dtype else spec.dtype
            nominal = np.broadcast_to(np.zeros((), disk), nominal.shape)
            io_class, kwargs = self._backend.data_io(nominal, setting, f"{table.name}/{spec.name}")  # type: ignore[attr-defined]
            if self._backend.name == "hdf5":
                kwargs["maxshape"] = (None, *spec.row_shape)
            empty = np.empty((0, *spec.row_shape), dtype=disk)
            column.transform(lambda _, value=empty: value)
            column.set_data_io(io_class, kwargs)
            self._settings[spec.name] = setting
            planned.append(policy.Planned(column, f"{table.name}/{spec.name}", empty, setting))
        return table, planned

    def _open_sink(self, progress: Mapping[str, int]) -> None:
        names = [n for n in self._specs if n != "id"] + ["id"]  # ids last: a row counts once all its cells are in
        self._sink = _sink(self._backend, self.path, self._table, names, progress)
        self._units = {name: self._unit(name) for name in names}
        self._written = {name: self._appended for name in names}
        self._pending = {name: [] for name in names}
        self._recorded = self._appended

    def _unit(self, name: str) -> int:
        """Rows per stored object: the chunk on HDF5, the shard (or chunk) on Zarr."""
        assert self._sink is not None
        dataset = self._sink.datasets[name]
        shards = getattr(dataset, "shards", None)
        chunks = shards or dataset.chunks
        return int(chunks[0]) if chunks else 1

    def _ensure_capacity(self, needed: int) -> None:
        assert self._sink is not None
        capacity = self._sink.capacity()
        if needed <= capacity:
            return
        if self._target is not None:
            self._sink.resize(self._target)
            return
        # doubling keeps resizes (and, on Zarr, metadata rewrites) to a few; close() trims what is unused
        unit = max(self._units.values())
        rows = max(needed, 2 * capacity, unit)
        self._sink.resize(math.ceil(rows / unit) * unit)

    def _flush(self, *, final: bool) -> None:
        assert self._sink is not None
        for name, parts in self._pending.items():
            if not parts:
                continue
            data = parts[0] if len(parts) == 1 else np.concatenate(parts)
            start = self._written[name]
            end = start + len(data)
            unit = self._units[name]
            stop = end if (self._durable or final) else max(start, (end // unit) * unit)
            if stop > start:
                self._sink.write(name, start, data[: stop - start])
                self._written[name] = stop
            self._pending[name] = [data[stop - start :]] if stop < end else []
        complete = min(self._written.values())
        if complete > self._recorded or final:
            self._sink.commit(complete)
            self._recorded = complete

    def _stop(self) -> None:
        """Leave the file resumable: what was appended is written and counted; the progress marks stay."""
        if self._closed:
            return
        self._closed = True
        if self._sink is not None:
            with contextlib.suppress(Exception):  # the original error matters more than a second one
                self._flush(final=True)
            self._sink.close()
        self._progress().close()

    def _final_attributes(self) -> dict[str, dict[str, Any]]:
        """Attributes known only at the end: ``n_splits`` of a cv_split column whose folds were not declared."""
        assert self._sink is not None
        if "cv_split" not in self._specs:
            return {}
        folds = self._sink.datasets["cv_split"]
        top = -1
        step = max(1, self._units["cv_split"])
        for start in range(0, int(folds.shape[0]), step * 64):
            part = np.asarray(folds[start : start + step * 64])
            top = max(top, int(part.max())) if part.size else top
        declared = self._specs["cv_split"].n_splits
        return {"cv_split": {"n_splits": max(declared or 0, top + 1)}}

    def _progress(self) -> Any:
        if self._bar is None:
            self._bar = progress_bar(
                total=self._target, desc=f"writing {self.path.name}", progress=self._progress_choice,
                initial=self._appended,
            )  # fmt: skip
        return self._bar

    # -- resume and append ---------------------------------------------------------------------------------

    def _reopen(self, table: str | None, *, resume: bool) -> None:
        if not self.path.exists():
            raise FileNotFoundError(f"no results file at {self.path} to {'resume' if resume else 'add rows to'}")
        found = _describe_table(self._backend, self.path, table)
        self._table = found.name
        interrupted = found.complete is not None
        if resume and not interrupted:
            raise ResultsFileError(self.path, f"table '{found.name}' is complete; add rows with mode='a'")
        if not resume and interrupted:
            raise ResultsFileError(self.path, f"table '{found.name}' was interrupted; continue it with resume=True")
        for name, spec in self._specs.items():  # the same declarations as the first run are fine; others are not
            stored = found.specs.get(name)
            if stored is None or any(
                mine is not None and mine != theirs
                for mine, theirs in ((spec.row_shape, stored.row_shape), (spec.dtype, stored.dtype))
            ):
                stored_text = "no such column" if stored is None else f"rows {stored.row_shape} of {stored.dtype}"
                raise ColumnError(name, f"the column as the file has it ({stored_text})", f"the declaration {spec}")
        self._specs = found.specs
        self._n_source = found.n_source
        self._appended = found.complete if found.complete is not None else found.rows
        if resume:
            if self._target is not None and self._target != found.target:
                raise ColumnError("n_samples", f"{found.target}, as the interrupted run declared", str(self._target))
            self._target = found.target
        elif self._target is not None:
            self._target += self._appended  # n_samples counts the rows added
        self._specs["id"] = ColumnSpec("id", row_shape=(), dtype=np.dtype(np.int64))
        target = -1 if self._target is None else self._target
        self._open_sink({COMPLETE_ROWS: self._appended, TARGET_ROWS: target})


def _remove_path(path: Path) -> None:
    from .api import _remove

    _remove(path)


def _write_skeleton(chosen: Backend, table: ResultsTable, tmp: Path) -> None:
    from hdmf.backends.hdf5 import HDF5IO

    from ..typemap import get_type_map
    from .api import _ExportingManager, _root_container

    root = _root_container([table])
    manager = _ExportingManager(get_type_map())
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*compression may not be available", category=UserWarning)
        if chosen.name == "hdf5":
            # the newest file format: SWMR mode (crash-consistent writes) needs it
            file = h5py.File(tmp, "w", libver="latest")
            with HDF5IO(path=str(tmp), file=file, mode="w", manager=manager) as io:
                chosen.write(io, root)
            file.close()
        else:
            with chosen.open_io(tmp, "w", manager) as io:
                chosen.write(io, root)


@dataclass(frozen=True)
class _FoundTable:
    name: str
    specs: dict[str, ColumnSpec]
    rows: int
    complete: int | None
    target: int | None
    n_source: int | None


def _describe_table(chosen: Backend, path: Path, table: str | None) -> _FoundTable:
    """A table's columns and progress, read from the file with h5py/zarr (nothing is loaded)."""
    if chosen.name == "hdf5":
        clear_swmr_flags(path)
        with h5py.File(path, "r") as f:
            return _describe_group(path, f, table, lambda ref: f[ref], lambda name: f[name])

    def group(name: str) -> zarr.Group:
        return zarr.open_group(str(path), path=name.lstrip("/"), mode="r", use_consolidated=False)

    root = zarr.open_group(str(path), mode="r", use_consolidated=False)
    return _describe_group(path, root, table, lambda ref: group(ref["value"]["path"]), group)


def _describe_group(path: Path, root: Any, table: str | None, deref: Any, child: Any) -> _FoundTable:
    groups = root.items() if isinstance(root, h5py.Group) else root.groups()
    tables = [name for name, node in groups if _attr(node, "data_type") == "ResultsTable"]
    if table is None and len(tables) == 1:
        table = tables[0]
    if table is None or table not in tables:
        raise ResultsFileError(path, f"pick a table with table=<name>: its ResultsTables are {sorted(tables)}")
    group = child(table)
    specs: dict[str, ColumnSpec] = {}
    n_source = None
    for name in [str(n) for n in np.asarray(_attr(group, "colnames")).ravel()]:
        data = group[name]
        if isinstance(data, (h5py.Group, zarr.Group)) or f"{name}_index" in group:
            raise ColumnError(name, "a column of one value (or array) per row", "a ragged column")
        classes = None
        if name == "true_label" and "elements" in data.attrs:
            classes = tuple(str(e.decode() if isinstance(e, bytes) else e) for e in group["true_label_elements"][:])
        if name == "samples":
            n_source = int(deref(data.attrs["table"])["id"].shape[0])
        n_splits = int(data.attrs["n_splits"]) if name == "cv_split" else None
        row_shape = tuple(int(n) for n in data.shape[1:])
        specs[name] = ColumnSpec(
            name, row_shape=row_shape, dtype=np.dtype(data.dtype), classes=classes, n_splits=n_splits
        )
    complete = _attr(group, COMPLETE_ROWS)
    target = _attr(group, TARGET_ROWS)
    return _FoundTable(
        name=table,
        specs=specs,
        rows=int(group["id"].shape[0]),
        complete=None if complete is None else int(complete),
        target=None if target is None or int(target) < 0 else int(target),
        n_source=n_source,
    )


def _attr(node: Any, key: str) -> Any:
    value = node.attrs.get(key)
    return value.decode() if isinstance(value, bytes) else value


# -- reading tables that are being written, or were interrupted --------------------------------------------------


class RowLimited(HDMFDataset):
    """The first ``rows`` rows of an on-disk array (h5py or zarr), read lazily; what an incomplete table shows."""

    def __init__(self, dataset: Any, rows: int) -> None:
        super().__init__(dataset=dataset)
        self.rows = min(int(rows), int(dataset.shape[0]))

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.rows, *tuple(self.dataset.shape[1:]))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def chunks(self) -> Any:
        return getattr(self.dataset, "chunks", None)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return self.rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self[:])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        arr = np.asarray(self[:])
        return arr if dtype is None else arr.astype(dtype)

    def __getitem__(self, key: Any) -> Any:
        first, rest = (key[0], key[1:]) if isinstance(key, tuple) and key else (key, ())
        if (isinstance(key, tuple) and not key) or first is Ellipsis:
            return self.dataset[(slice(0, self.rows), *rest)] if first is Ellipsis else self.dataset[: self.rows]
        if isinstance(first, slice):
            start, stop, step = first.indices(self.rows)
            if step < 0:
                return self[(np.arange(start, stop, step), *rest)]
            return self.dataset[(slice(start, max(start, stop), step), *rest)]
        if isinstance(first, (int, np.integer)):
            index = int(first) + self.rows if first < 0 else int(first)
            if not 0 <= index < self.rows:
                raise IndexError(f"row {first} is out of range for {self.rows} rows")
            return self.dataset[(index, *rest)]
        positions = np.asarray(first)
        if positions.dtype == np.bool_:
            positions = np.flatnonzero(positions)
        positions = np.where(positions < 0, positions + self.rows, positions)
        if positions.size and (positions.min() < 0 or positions.max() >= self.rows):
            raise IndexError(f"rows out of range for {self.rows} rows")
        if positions.size == 0:
            return self.dataset[(slice(0, 0), *rest)]
        lo, hi = int(positions.min()), int(positions.max()) + 1
        return np.asarray(self.dataset[(slice(lo, hi), *rest)])[positions - lo]


def open_for_reading(source: Path, chosen: Backend, manager: BuildManager) -> HDMFIO:
    """``chosen``'s reader on ``source``, loading its cached namespaces; also for an HDF5 file being written.

    An HDF5 file in SWMR mode (a writer has it open, or was killed) refuses ordinary readers ("file is
    already open for write"); it is opened as a SWMR reader instead, which sees its last flushed state.
    """
    if chosen.name != "hdf5" or not swmr_flags_set(source):
        chosen.load_cached_namespaces(source, manager.type_map)
        return chosen.open_io(source, "r", manager)
    from hdmf.backends.hdf5 import HDF5IO

    from .hdf5 import load_namespaces, require_filters
    from .safety import check_hdf5

    file = h5py.File(source, "r", swmr=True)
    try:
        check_hdf5(file, source)
        load_namespaces(file, manager.type_map)
        require_filters(source)
    except Exception:
        file.close()
        raise
    return HDF5IO(path=str(source), file=file, mode="r", manager=manager)


def trim_incomplete(builder: GroupBuilder, source: Path | str, chosen: Backend) -> GroupBuilder:
    """Show only the complete rows of every table a writer has not finished, with an IncompleteTableWarning."""
    for group in _groups(builder):
        if COMPLETE_ROWS not in group.attributes:
            continue
        complete, target = _progress_now(group, source, chosen)
        names = [str(n) for n in np.asarray(group.attributes.get("colnames", [])).ravel()] + ["id"]
        for name in names:
            dataset = group.datasets.get(name)
            if isinstance(dataset, DatasetBuilder) and hasattr(dataset.data, "shape"):
                dataset["data"] = RowLimited(dataset.data, complete)
        of = "of an unknown number" if target is None or target < 0 else f"of {target}"
        warnings.warn(
            f"{source}: table '{group.name}' holds {complete} complete rows ({of}): its writer has not finished "
            "(still running, or interrupted); ResultsWriter(path, resume=True) continues it",
            IncompleteTableWarning,
            stacklevel=4,
        )
    return builder


def _groups(builder: GroupBuilder) -> Iterator[GroupBuilder]:
    yield builder
    for child in builder.groups.values():
        yield from _groups(child)


def _progress_now(group: GroupBuilder, source: Path | str, chosen: Backend) -> tuple[int, int | None]:
    """The progress attributes as they are now: a Zarr reader's consolidated metadata may be older."""
    attrs: Mapping[str, Any] = group.attributes
    if chosen.name == "zarr" and isinstance(source, Path):
        parts = []
        node: Any = group
        while node.parent is not None:
            parts.append(node.name)
            node = node.parent
        with contextlib.suppress(Exception):  # a store that cannot be reopened: the reader's view stands
            name = "/".join(reversed(parts))
            attrs = zarr.open_group(str(source), path=name, mode="r", use_consolidated=False).attrs
    target = attrs.get(TARGET_ROWS)
    return int(attrs.get(COMPLETE_ROWS, 0)), None if target is None else int(target)


# -- HDF5 file consistency flags -------------------------------------------------------------------------------


def swmr_flags_set(path: Path) -> bool:
    """Whether an HDF5 file's superblock (version 3) says a writer has it open, or had it when it was killed."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return False
    return len(head) == 12 and head[:8] == b"\x89HDF\r\n\x1a\n" and head[8] >= 2 and head[11] != 0


def clear_swmr_flags(path: Path) -> None:
    """Clear the "open for writing" flags that a killed writer leaves in an HDF5 superblock (as ``h5clear``).

    HDF5 refuses to open such a file for writing again. Only superblocks of version 2 and 3 have the flags; the
    superblock's checksum is verified before and recomputed after, so a file not laid out as expected is left
    alone and reported.
    """
    if not swmr_flags_set(path):
        return
    with open(path, "r+b") as f:
        head = bytearray(f.read(12 + 4 * 8 + 4))
        size = 12 + 4 * head[9]  # signature, version, sizes, flags, then four addresses
        stored = struct.unpack("<I", head[size : size + 4])[0]
        if _lookup3(bytes(head[:size])) != stored:
            raise ResultsFileError(path, "its HDF5 superblock checksum does not match; clear it with h5clear -s")
        head[11] = 0
        f.seek(11)
        f.write(b"\x00")
        f.seek(size)
        f.write(struct.pack("<I", _lookup3(bytes(head[:size]))))


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & 0xFFFFFFFF


def _lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 hash (``hashlittle``), the checksum HDF5 puts on its metadata."""
    mask = 0xFFFFFFFF
    length = len(data)
    a = b = c = (0xDEADBEEF + length + initval) & mask
    i = 0
    while length > 12:
        a = (a + int.from_bytes(data[i : i + 4], "little")) & mask
        b = (b + int.from_bytes(data[i + 4 : i + 8], "little")) & mask
        c = (c + int.from_bytes(data[i + 8 : i + 12], "little")) & mask
        a = (a - c) & mask ^ _rot(c, 4)
        c = (c + b) & mask
        b = (b - a) & mask ^ _rot(a, 6)
        a = (a + c) & mask
        c = (c - b) & mask ^ _rot(b, 8)
        b = (b + a) & mask
        a = (a - c) & mask ^ _rot(c, 16)
        c = (c + b) & mask
        b = (b - a) & mask ^ _rot(a, 19)
        a = (a + c) & mask
        c = (c - b) & mask ^ _rot(b, 4)
        b = (b + a) & mask
        length -= 12
        i += 12
    if length == 0:
        return c
    tail = data[i:] + bytes(12 - length)
    a = (a + int.from_bytes(tail[0:4], "little")) & mask
    b = (b + int.from_bytes(tail[4:8], "little")) & mask
    c = (c + int.from_bytes(tail[8:12], "little")) & mask
    for x, y, k in (
        ("c", "b", 14),
        ("a", "c", 11),
        ("b", "a", 25),
        ("c", "b", 16),
        ("a", "c", 4),
        ("b", "a", 14),
        ("c", "b", 24),
    ):
        values = {"a": a, "b": b, "c": c}
        values[x] = ((values[x] ^ values[y]) - _rot(values[y], k)) & mask
        a, b, c = values["a"], values["b"], values["c"]
    return c
