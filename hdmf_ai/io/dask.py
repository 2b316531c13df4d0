"""Columns as Dask arrays, and tables written by many Dask workers at once (the ``dask`` extra).

Reading: ``table.column("predicted_probability").to_dask()`` is a Dask array over the stored chunks (each
block a whole number of them), so ``.mean(axis=0).compute()`` streams the column chunk by chunk.

Writing: :func:`write_dask` stores a table whose columns are Dask arrays in a Zarr store. The driver writes
the metadata once (the skeleton, through hdmf, as :class:`~hdmf_ai.ResultsWriter` does), every column is
rechunked so that each Dask block covers whole stored objects (shards, or chunks), and the workers write their
blocks in parallel without locks: no two blocks touch the same object. Each block goes through the same checks
as a batch of the writer, on the worker. The driver then finishes the table (ids, counts, consolidated
metadata).

The same code runs on a cluster: connect a client first, and dask sends the work there::

    from dask.distributed import Client
    client = Client("tcp://scheduler.example.org:8786")   # or dask-jobqueue / dask-kubernetes
    hdmf_ai.io.dask.write_dask("/shared/results.zarr", {"predicted_probability": probs, ...})

The store must be on storage every worker reaches under the same path (a shared file system), or be an
object-store URL that zarr opens on every worker.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from hdmf.common import DynamicTable, VectorData

from .._tableview import require
from . import policy
from .writer import _CLASS_COLUMNS, ColumnSpec, ResultsWriter, _bound, _coerce, _fit, _remove_path, progress_bar

__all__ = ["LazyColumn", "write_dask"]

# bytes per Dask block: big enough that task overhead is small, small enough for a worker's memory
BLOCK_BYTES = 64 * 2**20


class LazyColumn:
    """One column of a table, read on demand: whole, by rows, or as a Dask array.

    Example: ``with hdmf_ai.open(path) as rt: mean = rt.column("predicted_probability").to_dask().mean(0)``
    """

    def __init__(self, column: VectorData) -> None:
        self.column = column
        self.name = column.name

    @property
    def data(self) -> Any:
        return self.column.data

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in np.shape(self.data)) if isinstance(self.data, list) else tuple(self.data.shape)

    @property
    def dtype(self) -> np.dtype:
        return np.asarray(self.data[:0]).dtype if isinstance(self.data, list) else np.dtype(self.data.dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def stored_rows(self) -> int:
        """Rows per stored object (the shard on Zarr, else the chunk); what a read should be a multiple of."""
        data = self.data
        inner = getattr(data, "dataset", data)  # an unfinished table's column is a RowLimited view
        chunks = getattr(inner, "shards", None) or getattr(inner, "chunks", None)
        return int(chunks[0]) if chunks else max(1, len(self))

    def block_rows(self) -> int:
        """Rows per block of :meth:`read` and :meth:`to_dask`: whole stored objects, about 64 MiB."""
        row_bytes = self.dtype.itemsize * int(np.prod(self.shape[1:], dtype=np.int64))
        unit = self.stored_rows()
        return unit * max(1, BLOCK_BYTES // max(1, unit * row_bytes))

    def read(self, rows: slice | None = None, *, progress: bool | None = None) -> np.ndarray:
        """The column (or a slice of rows) as numpy, read block by block; a progress bar on a terminal."""
        start, stop, step = (rows or slice(None)).indices(len(self))
        out = np.empty((len(range(start, stop, step)), *self.shape[1:]), dtype=self.dtype)
        block = self.block_rows()
        bar = progress_bar(total=stop - start, desc=f"reading {self.name}", progress=progress)
        try:
            filled = 0
            for lo in range(start, stop, block):
                hi = min(stop, lo + block)
                part = np.asarray(self.data[lo:hi])[(-(lo - start)) % step :: step] if step != 1 else self.data[lo:hi]
                part = np.asarray(part)
                out[filled : filled + len(part)] = part
                filled += len(part)
                bar.update(hi - lo)
        finally:
            bar.close()
        return out

    def to_dask(self) -> Any:
        """A Dask array over the stored data, each block a whole number of stored chunks (nothing read yet).

        It reads through the open file, so it computes while the file is open, on Dask's threaded scheduler
        (h5py objects cannot travel to other processes). For a cluster, store Zarr and give each worker the store:
        ``dask.array.from_zarr("results.zarr", component="results/predicted_probability")``.
        """
        da = require("dask.array", "dask", "to_dask()")
        data = self.data
        if isinstance(data, list):
            return da.from_array(np.asarray(data), chunks=(self.block_rows(), *self.shape[1:]))
        chunks = (self.block_rows(), *self.shape[1:])
        # h5py is not thread-safe below its own global lock; zarr is
        lock = type(getattr(data, "dataset", data)).__module__.startswith("h5py")
        return da.from_array(data, chunks=chunks, lock=lock, asarray=True, fancy=False)


def column(table: DynamicTable, name: str) -> LazyColumn:
    """The column ``name`` of ``table`` as a :class:`LazyColumn`."""
    if name not in table.colnames:
        raise KeyError(f"table '{table.name}' has no column '{name}'; it has {list(table.colnames)}")
    return LazyColumn(table[name])


def write_dask(
    path: str | os.PathLike[str],
    columns: Mapping[str, Any],
    *,
    declarations: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
    source: DynamicTable | None = None,
    preset: str | policy.Preset = policy.DEFAULT_PRESET,
    storage: Mapping[str, policy.Setting] | None = None,
    overwrite: bool = False,
    progress: bool | None = None,
) -> Path:
    """Write a table whose columns are Dask arrays to a Zarr store, the workers writing in parallel.

    Parameters
    ----------
    path
        The Zarr store (``.zarr``) to create, on storage every worker can write.
    columns
        Column name -> Dask array (or numpy array), all of the same length.
    declarations, metadata, source, preset, storage
        As ``columns``, ``metadata``, ``source``, ``preset`` and ``storage`` of :class:`~hdmf_ai.ResultsWriter`.
    overwrite
        Replace an existing store.
    progress
        A progress bar of the blocks written (dask.distributed's, with a client; dask's own otherwise).

    Returns
    -------
    Path
        The store written: complete, valid, and the same as :func:`hdmf_ai.write` of the same table.
    """
    da = require("dask.array", "dask", "write_dask()")
    arrays = {name: da.asarray(values) for name, values in columns.items()}
    if not arrays:
        raise ValueError("write_dask() needs at least one column")
    lengths = {name: int(arr.shape[0]) for name, arr in arrays.items()}
    n = next(iter(lengths.values()))
    if any(math.isnan(v) for v in lengths.values()) or len(set(lengths.values())) != 1:
        raise ValueError(f"write_dask(): every column needs the same, known length; got {lengths}")
    declared = dict(declarations or {})
    ordered = {name: declared.pop(name, None) for name in arrays} | declared  # the table's order: the columns'
    writer = ResultsWriter(
        path, backend="zarr", n_samples=n, columns=ordered, metadata=metadata, source=source,
        preset=preset, storage=storage, overwrite=overwrite, progress=False,
    )  # fmt: skip
    # the first row of each column fixes dtypes and shapes, and the driver writes the metadata once
    head = {name: np.asarray(arr[:1].compute()) for name, arr in arrays.items()}
    first = writer._first_batch(head)
    assert writer._sink is not None
    writer._sink.resize(n)
    stores, targets = [], []
    for name, arr in {**arrays, "id": da.arange(n, dtype=np.int64)}.items():
        spec = writer._specs[name]
        unit = writer._units[name]
        row_bytes = max(1, np.dtype(spec.dtype).itemsize * int(np.prod(spec.row_shape or (), dtype=np.int64)))
        block = unit * max(1, BLOCK_BYTES // (unit * row_bytes))
        arr = arr.rechunk({0: block})
        if name != "id":
            setting = writer._settings.get(name)
            disk = np.dtype(setting.dtype) if setting is not None and setting.dtype else first[name].dtype
            arr = arr.map_blocks(
                _checked_block, spec=spec, n_source=writer._n_source, setting=setting,
                n_classes=_bound(spec, writer._specs, writer._n_source) if name in _CLASS_COLUMNS else None,
                meta=np.empty((0,) * arr.ndim, dtype=disk),
            )  # fmt: skip
        stores.append(arr)
        targets.append(writer._sink.datasets[name])
    try:
        _store(da, stores, targets, progress)
    except BaseException:
        writer._stop()
        _remove_path(writer.path)  # a bad block: no half-written store is left at the destination
        raise
    writer._appended = n
    writer._written = dict.fromkeys(writer._written, n)
    writer._pending = {name: [] for name in writer._pending}
    return writer.close()


def _checked_block(
    block: np.ndarray, *, spec: ColumnSpec, n_source: int | None, n_classes: int | None, setting: Any
) -> np.ndarray:
    """On a worker: the checks and coercion a batch of :class:`ResultsWriter` goes through."""
    arr = _fit(spec, _coerce(spec, block, n_source=n_source, n_classes=n_classes))
    if setting is not None and (setting.lossy is not None or setting.dtype is not None):
        arr = policy.stored_data(policy.Planned(None, spec.name, arr, setting))
    return arr


def _store(da: Any, sources: list[Any], targets: list[Any], progress: bool | None) -> None:
    """``da.store`` without locks (each block owns its stored objects), on the active scheduler or client."""
    import sys

    show = sys.stderr.isatty() if progress is None else progress
    if show:
        try:
            from dask.distributed import default_client
            from dask.distributed import progress as distributed_progress

            client = default_client()
        except (ImportError, ValueError):
            client = None
        if client is not None:
            future = da.store(sources, targets, lock=False, compute=False)
            persisted = client.compute(future)
            distributed_progress(persisted)
            persisted.result()
            return
        from dask.diagnostics import ProgressBar

        with ProgressBar():
            da.store(sources, targets, lock=False)
        return
    da.store(sources, targets, lock=False)
