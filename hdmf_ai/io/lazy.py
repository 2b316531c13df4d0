"""Columns read on demand: whole, by rows in blocks of whole stored chunks, or as Dask arrays.

``table.column("predicted_probability").to_dask()`` is a Dask array over the stored chunks (each block a whole
number of them), so ``.mean(axis=0).compute()`` streams the column chunk by chunk (the ``dask`` extra).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hdmf.common import DynamicTable, VectorData

from .._tableview import normalize_rows, read_data, require
from ..progress import progress_bar
from .h5chunks import read_rows

__all__ = ["BLOCK_BYTES", "LazyColumn", "column"]

# bytes per block of a read or a Dask array: big enough that task overhead is small, small enough for memory
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

    def read(self, rows: Any = None, *, progress: bool | None = None) -> np.ndarray:
        """The column, a slice of rows, or the rows at integer positions (or a boolean mask), as numpy.

        A slice is read block by block, with a progress bar on a terminal; positions read each stored chunk
        that holds one of them once (compressed HDF5 chunks are decoded on every core, see :mod:`.h5chunks`).
        """
        if rows is not None and not isinstance(rows, slice):
            positions = normalize_rows(rows, len(self))
            picked = read_rows(self.data, positions)
            if picked is None and hasattr(self.data, "get_orthogonal_selection"):  # zarr: only the chunks needed
                picked = np.asarray(self.data.get_orthogonal_selection((positions,)))
            return picked if picked is not None else read_data(self.data, positions)
        start, stop, step = (rows or slice(None)).indices(len(self))
        out = np.empty((len(range(start, stop, step)), *self.shape[1:]), dtype=self.dtype)
        block = self.block_rows()
        bar = progress_bar(total=stop - start, desc=f"reading {self.name}", progress=progress)
        try:
            filled = 0
            for lo in range(start, stop, block):
                hi = min(stop, lo + block)
                if step != 1:
                    part = np.asarray(self.data[lo:hi])[(-(lo - start)) % step :: step]
                else:
                    fast = read_rows(self.data, slice(lo, hi))
                    part = fast if fast is not None else np.asarray(self.data[lo:hi])
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
