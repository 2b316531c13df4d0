"""Read a table's columns into numpy, each once, whether the table is in memory or open on disk.

:class:`TableView` is what :mod:`hdmf_ai.analysis`, :mod:`hdmf_ai.plot` and
:meth:`hdmf_ai.ResultsTable.to_dataframe` read through: it caches every column it reads, decodes enum columns
to their labels, names the classes from the ``true_label`` enum, and follows ``samples`` to the source table
(any :class:`~hdmf.common.DynamicTable`, found through the region's ``.table`` or passed in). It depends on
numpy and hdmf, and on :mod:`hdmf_ai.io.h5chunks` (no hdmf_ai import), which decodes compressed HDF5
chunks on every core; pandas is imported by the functions that build DataFrames.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, EnumData, VectorData, VectorIndex

from .errors import ColumnError, MissingDependencyError
from .io.h5chunks import read_rows

__all__ = ["TableView", "normalize_rows", "read_data", "require"]

# row selections: a slice, integer positions, a boolean mask, or None for every row
Rows = slice | np.ndarray | None


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Import an optional dependency, or raise :class:`MissingDependencyError` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise MissingDependencyError(
            f"{feature} needs {module}, which is not installed: pip install 'hdmf-ai[{extra}]'", name=module
        ) from err


def normalize_rows(rows: Any, n: int) -> slice | np.ndarray:
    """A slice (kept, so on-disk reads stay contiguous) or non-negative integer positions below ``n``."""
    if rows is None:
        return slice(0, n)
    if isinstance(rows, slice):
        start, stop, step = rows.indices(n)
        # h5py reads forward slices only; other steps become positions
        return slice(start, max(start, stop), 1) if step == 1 else np.arange(start, stop, step)
    arr = np.asarray(rows)
    if arr.dtype == np.bool_:
        if arr.shape != (n,):
            raise ColumnError("rows", f"a boolean mask of length {n}", f"shape {arr.shape}")
        return np.flatnonzero(arr)
    if arr.ndim != 1 or (arr.size and arr.dtype.kind not in "iu"):
        raise ColumnError("rows", "a slice, integer positions or a boolean mask", f"{arr.dtype} of shape {arr.shape}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < -n or arr.max() >= n):
        bad = arr[(arr < -n) | (arr >= n)][0]
        raise ColumnError("rows", f"positions in range({n})", f"the position {bad}")
    return np.where(arr < 0, arr + n, arr)


def read_data(data: Any, rows: slice | np.ndarray | None = None) -> np.ndarray:
    """A numpy copy of a column's data (list, ndarray, h5py or zarr array), text decoded to ``str``.

    Integer ``rows`` are read as the one contiguous range that holds them, then picked in memory: both
    backends read a range fast, while fancy indexing differs between h5py and zarr and is slow on h5py.
    """
    fast = read_rows(data, slice(None) if rows is None else rows)
    if fast is not None:  # compressed HDF5 chunks, each needed one decoded once, on every core
        arr = fast
    elif isinstance(data, (list, tuple)):
        arr = np.asarray(data)
        arr = arr if rows is None else arr[rows]
    elif rows is None or isinstance(rows, slice):
        arr = np.asarray(data[()] if getattr(data, "shape", None) == () else data[rows or slice(None)])
    elif rows.size == 0:
        arr = np.asarray(data[0:0])
    elif getattr(data, "picks_rows", False):  # a checked lazy column (io/guarded.py): it reads only their blocks
        arr = np.asarray(data[rows])
    else:
        lo, hi = int(rows.min()), int(rows.max()) + 1
        arr = np.asarray(data[lo:hi])[rows - lo]
    return _decode_text(arr)


def _decode_text(arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind == "S":
        return np.char.decode(arr, "utf-8").astype(object)
    if arr.dtype.kind == "O" and arr.size and isinstance(arr.flat[0], bytes):
        flat = [v.decode("utf-8") if isinstance(v, bytes) else v for v in arr.ravel()]
        return np.array(flat, dtype=object).reshape(arr.shape)
    return arr


def read_ragged(index: VectorIndex, rows: slice | np.ndarray) -> list[np.ndarray]:
    """The cells of a ragged (indexed) column as one array per row; index and values are read once."""
    if isinstance(index.target, VectorIndex):
        raise ColumnError(index.target.name, "a column with at most one level of index", "a doubly indexed column")
    ends = read_data(index.data).astype(np.int64)
    starts = np.concatenate([[0], ends[:-1]])
    values = read_data(index.target.data)
    picked = range(*rows.indices(len(ends))) if isinstance(rows, slice) else rows
    return [values[starts[i] : ends[i]] for i in picked]


class TableView:
    """Columns of ``table`` as numpy arrays, read on first use and cached, for the selected ``rows``.

    Parameters
    ----------
    table
        A ResultsTable (or any DynamicTable), in memory, read, or opened lazily.
    source
        The source table that ``samples`` indexes; default: the region's own ``.table``. Without a
        ``samples`` column, row ``i`` of ``table`` is row ``i`` of ``source``.
    rows
        Which rows to read: a slice, integer positions or a boolean mask; default all.
    """

    def __init__(self, table: DynamicTable, *, source: DynamicTable | None = None, rows: Any = None) -> None:
        self.table = table
        self.rows = normalize_rows(rows, len(table))
        self._source = source
        self._cache: dict[str, Any] = {}
        self._columns = {c.name: c for c in table.columns}

    def __len__(self) -> int:
        rows = self.rows
        return len(range(*rows.indices(len(self.table)))) if isinstance(rows, slice) else len(rows)

    # -- the table's own columns ------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        return name in self._columns

    def column(self, name: str) -> VectorData:
        try:
            return self._columns[name]
        except KeyError:
            colnames = list(self.table.colnames)
            raise KeyError(f"table '{self.table.name}' has no column '{name}'; it has {colnames}") from None

    def shape(self, name: str) -> tuple[int, ...]:
        """A column's full shape, from metadata only."""
        data = self.column(name).data
        return tuple(int(s) for s in getattr(data, "shape", np.shape(data)))

    def values(self, name: str) -> np.ndarray:
        """The stored values of the selected rows (codes, for an enum column), read once."""
        key = f"values:{name}"
        if key not in self._cache:
            self._cache[key] = read_data(self.column(name).data, self.selection())
        return self._cache[key]

    def ragged(self, name: str) -> list[np.ndarray]:
        """The cells of a ragged column (one array per selected row)."""
        key = f"ragged:{name}"
        if key not in self._cache:
            self._cache[key] = read_ragged(self.table[name], self.rows)
        return self._cache[key]

    def is_ragged(self, name: str) -> bool:
        return isinstance(self.table[name], VectorIndex)

    def elements(self, name: str) -> list[str] | None:
        """The labels of an enum column, or None for a plain column."""
        column = self.column(name)
        if not isinstance(column, EnumData):
            return None
        key = f"elements:{name}"
        if key not in self._cache:
            self._cache[key] = [str(e) for e in read_data(column.elements.data).tolist()]
        return self._cache[key]

    def decoded(self, name: str) -> np.ndarray:
        """Values with enum codes replaced by their labels (an object array of ``str``)."""
        names = self.elements(name)
        values = self.values(name)
        if names is None:
            return values
        return np.asarray(names, dtype=object)[values.astype(np.int64)]

    def selection(self) -> slice | np.ndarray | None:
        """The selected rows for :func:`read_data`: None when they are all the rows."""
        rows = self.rows
        if isinstance(rows, slice) and rows == slice(0, len(self.table), 1):
            return None
        return rows

    # -- classes ------------------------------------------------------------------------------------------

    def labels(self) -> np.ndarray:
        """The true class of each selected row as an integer code (text labels coded in sorted order)."""
        values = self.values("true_label")
        if values.dtype.kind in "OUS":  # text stored without an enum, as some writers do
            return np.searchsorted(self._text_classes(), values.astype(str))
        return values.astype(np.int64)

    def _text_classes(self) -> list[str]:
        if "text_classes" not in self._cache:
            all_values = read_data(self.column("true_label").data)
            self._cache["text_classes"] = sorted({str(v) for v in all_values.tolist()})
        return self._cache["text_classes"]

    def n_classes(self) -> int:
        """How many classes the model knows: its probabilities' width, else the label enum, else labels seen."""
        if self.has("predicted_probability") and len(self.shape("predicted_probability")) == 2:
            return self.shape("predicted_probability")[1]
        names = self.elements("true_label") if self.has("true_label") else None
        if names is not None:
            return len(names)
        if self.has("true_label") and self.values("true_label").dtype.kind in "OUS":
            return len(self._text_classes())
        seen = [self.labels()] if self.has("true_label") else []
        seen += [self.values(c) for c in ("predicted_class", "topk_classes") if self.has(c)]
        return max((int(s.max()) + 1 for s in seen if s.size), default=0)

    def class_names(self) -> list[str]:
        """One name per class: the ``true_label`` enum's labels, else the class numbers as text."""
        names: list[str] = []
        if self.has("true_label"):
            column = self.column("true_label")
            names = (self.elements("true_label") or []) if isinstance(column, EnumData) else []
            if not names and self.values("true_label").dtype.kind in "OUS":
                names = self._text_classes()
        n = self.n_classes()
        return [*names[:n], *(str(i) for i in range(len(names), n))]

    def predictions(self) -> np.ndarray:
        """The predicted class of each row: ``predicted_class``, else the most probable class."""
        if self.has("predicted_class"):
            return self.values("predicted_class").astype(np.int64)
        if self.has("predicted_probability"):
            return np.argmax(self.values("predicted_probability"), axis=1)
        raise KeyError(f"table '{self.table.name}' has neither 'predicted_class' nor 'predicted_probability'")

    # -- the source table, through samples ---------------------------------------------------------------

    def source(self) -> DynamicTable:
        if self._source is not None:
            return self._source
        region = self._columns.get("samples")
        if isinstance(region, DynamicTableRegion) and region.table is not None:
            return region.table
        raise KeyError(
            f"table '{self.table.name}' has no 'samples' column linked to a source table; pass source=<table>"
        )

    def source_rows(self) -> np.ndarray:
        """The row of the source table each selected row describes."""
        if "source_rows" not in self._cache:
            source = self.source()
            if self.has("samples"):
                found = self.values("samples").astype(np.int64)
            elif len(source) == len(self.table):
                found = np.arange(len(self.table))[self.rows]
            else:
                raise ColumnError(
                    "samples",
                    f"a samples column, or a source table with one row per result ({len(self.table)} rows)",
                    f"no samples column and a source table '{source.name}' of {len(source)} rows",
                )
            if found.size and found.max() >= len(source):
                raise ColumnError(
                    "samples", f"rows of source table '{source.name}' (< {len(source)})", f"{found.max()}"
                )
            self._cache["source_rows"] = found
        return self._cache["source_rows"]

    def source_values(self, name: str) -> np.ndarray:
        """A column of the source table, one value per selected row (enums decoded)."""
        key = f"source:{name}"
        if key in self._cache:
            return self._cache[key]
        source = self.source()
        if name not in source.colnames:
            raise KeyError(f"source table '{source.name}' has no column '{name}'; it has {list(source.colnames)}")
        column = source[name]
        positions = self.source_rows()
        if isinstance(column, VectorIndex):
            self._cache[key] = read_ragged(column, positions)
            return self._cache[key]
        if isinstance(column, DynamicTableRegion):
            raise ColumnError(name, "a column of values in the source table", "a region into another table")
        values = read_data(column.data, positions)
        if isinstance(column, EnumData):
            labels = np.asarray([str(e) for e in read_data(column.elements.data).tolist()], dtype=object)
            values = labels[values.astype(np.int64)]
        self._cache[key] = values
        return values

    def lookup(self, name: str) -> np.ndarray:
        """A 1-D column by name: of the results table (decoded) if it has one, else of the source table."""
        if self.has(name):
            if self.is_ragged(name):
                raise ColumnError(name, "one value per row", "a ragged column")
            values = self.decoded(name)
        else:
            values = self.source_values(self._source_name(name))
        if isinstance(values, list) or values.ndim != 1:
            raise ColumnError(name, "one value per row (a 1-D column)", "several values per row")
        return values

    def _source_name(self, name: str) -> str:
        """``name`` if the source table has such a column; else an error that says where it looked."""
        here = f"table '{self.table.name}' (columns {list(self.table.colnames)})"
        try:
            source = self.source()
        except KeyError:
            raise KeyError(
                f"'{name}' is not a column of {here}, which has no source table to look in: "
                "link one through samples, or pass source=<table>"
            ) from None
        if name not in source.colnames:
            raise KeyError(
                f"'{name}' is neither a column of {here} nor of its source table '{source.name}' "
                f"(columns {list(source.colnames)})"
            )
        return name

    def categories(self, name: str) -> list[str] | None:
        """The labels of an enum column (results or source table) in stored order, else None."""
        if self.has(name):
            return self.elements(name)
        column = self.source()[name]
        if isinstance(column, EnumData):
            return [str(e) for e in read_data(column.elements.data).tolist()]
        return None
