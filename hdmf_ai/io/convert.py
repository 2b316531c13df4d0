"""``convert``: rewrite a results file with other storage settings, within a backend or across.

Example: ``convert("results.h5", "results.zarr", preset="compact")``. Every table of the source file (results
tables and the source tables their ``samples`` point at) is read into memory and written anew through
:func:`hdmf_ai.write`, so the destination gets the chosen preset's chunks, codecs and dtypes and is moved
into place only when complete.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import zarr
from hdmf.common import DynamicTable
from hdmf.container import Container, Data

from ..errors import ResultsFileError
from . import digest
from .guarded import GuardedArray
from .policy import DEFAULT_PRESET, Preset, Setting
from .read import list_tables
from .read import open as open_results
from .write import write

__all__ = ["convert"]


def convert(
    source: str | os.PathLike[str],
    target: str | os.PathLike[str],
    *,
    preset: str | Preset = DEFAULT_PRESET,
    storage: Mapping[str, Setting] | None = None,
    backend: str | None = None,
    source_backend: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write every table of ``source`` to ``target`` with ``preset`` (and per-column ``storage`` overrides).

    Parameters
    ----------
    source, target
        The file to read and the file to write; their suffixes pick the formats (``.h5`` or ``.zarr``).
    preset, storage
        As for :func:`hdmf_ai.write`.
    backend, source_backend
        The format of ``target`` / ``source`` when the suffix does not tell.
    overwrite
        Replace an existing ``target`` (which may be ``source`` itself).
    """
    src = Path(source)
    first = next((t.name for t in list_tables(src, backend=source_backend) if t.data_type == "ResultsTable"), None)
    with open_results(src, table=first, backend=source_backend) as table:
        root = table.parent if isinstance(table.parent, Container) else table
        tables = [c for c in root.children if isinstance(c, DynamicTable)] if root is not table else [table]
        recorded = digest.snapshot(tables)  # the source's content digests, checked once its values are loaded
        for obj in [root, *root.all_children()]:
            if isinstance(obj, Data) and isinstance(obj.data, (h5py.Dataset, zarr.Array, GuardedArray)):
                obj.transform(_loaded)  # the new file gets the new settings, not a copy of the old layout
        changed, _ = digest.problems(tables, recorded=recorded)
        if changed:  # never carry changed values into a new file under fresh digests
            raise ResultsFileError(src, changed[0])
        return write(tables, target, backend=backend, overwrite=overwrite, preset=preset, storage=storage)


def _loaded(data: Any) -> np.ndarray:
    arr = np.asarray(data[()] if data.shape == () else data[:])
    if arr.dtype.kind == "O" and arr.size and isinstance(arr.flat[0], bytes):
        arr = np.array([b.decode("utf-8") for b in arr.ravel()], dtype=object).reshape(arr.shape)
    return arr
