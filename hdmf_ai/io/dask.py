"""Tables written by many Dask workers at once (the ``dask`` extra).

Reading a column as a Dask array is :meth:`hdmf_ai.io.lazy.LazyColumn.to_dask`
(``table.column("predicted_probability").to_dask()``).

:func:`write_dask` stores a table whose columns are Dask arrays in a Zarr store. The driver writes the
metadata once (the skeleton of a :class:`~hdmf_ai.io.plan.WritePlan`, as :class:`~hdmf_ai.ResultsWriter` does),
every column is rechunked so that each Dask block covers whole stored objects (shards, or chunks), and the
workers write their blocks in parallel without locks: no two blocks touch the same object. Each block goes
through the same checks as a batch of the writer, on the worker. The driver then finishes the table (ids,
counts, consolidated metadata).

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
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from hdmf.common import DynamicTable

from .. import coercion
from .._tableview import require
from ..coercion import ColumnSpec
from . import digest, policy
from .files import check_replaceable, move_into_place, temporary_sibling
from .lazy import BLOCK_BYTES
from .plan import WritePlan
from .registry import backend_for

__all__ = ["write_dask"]


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
    if any(math.isnan(v) for v in lengths.values()) or len(set(lengths.values())) != 1:
        raise ValueError(f"write_dask(): every column needs the same, known length; got {lengths}")
    declared = dict(declarations or {})
    ordered = {name: declared.pop(name, None) for name in arrays} | declared  # the table's order: the columns'
    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it, or mode='a' to add rows")
    check_replaceable(target)
    with temporary_sibling(target) as work:  # the old store stays until the new one is complete
        _write_into(work, arrays, ordered, metadata=metadata, source=source, preset=preset, storage=storage,
                    progress=progress)  # fmt: skip
        move_into_place(work, target, replace=overwrite)
    return target


def _write_into(
    work: Path,
    arrays: Mapping[str, Any],
    ordered: Mapping[str, Any],
    *,
    metadata: Mapping[str, Any] | None,
    source: DynamicTable | None,
    preset: str | policy.Preset,
    storage: Mapping[str, policy.Setting] | None,
    progress: bool | None,
) -> None:
    """The store of :func:`write_dask` at ``work``, complete with its digests."""
    da = require("dask.array", "dask", "write_dask()")
    n = int(next(iter(arrays.values())).shape[0])
    plan = WritePlan.declared(
        work, backend_for(work, "zarr"), columns=ordered, metadata=metadata, source=source, n_samples=n,
        preset=preset, storage=storage,
    )  # fmt: skip
    # the first row of each column fixes dtypes and shapes, and the driver writes the metadata once
    first = plan.settle({name: np.asarray(arr[:1].compute()) for name, arr in arrays.items()})
    plan.create()
    sink = plan.open_sink(0)
    sink.resize(n)
    stores, targets = [], []
    for name, arr in {**arrays, "id": da.arange(n, dtype=np.int64)}.items():
        spec = plan.specs[name]
        unit = sink.unit(name)
        row_bytes = max(1, np.dtype(spec.dtype).itemsize * int(np.prod(spec.row_shape or (), dtype=np.int64)))
        block = unit * max(1, BLOCK_BYTES // (unit * row_bytes))
        arr = arr.rechunk({0: block})
        if name != "id":
            setting = plan.settings.get(name)
            disk = np.dtype(setting.dtype) if setting is not None and setting.dtype else first[name].dtype
            arr = arr.map_blocks(
                _checked_block, spec=spec, n_source=plan.n_source, setting=setting, n_classes=plan.n_classes(name),
                meta=np.empty((0,) * arr.ndim, dtype=disk),
            )  # fmt: skip
        stores.append(arr)
        targets.append(sink.datasets[name])
    try:
        _store(da, stores, targets, progress)
    except BaseException:
        sink.close()  # a bad block, a full disk: the caller removes the unfinished store
        raise
    sink.commit(n)
    sink.finish(plan.final_attributes(sink))
    digest.record(work, plan.backend)  # content digests (io/digest.py): read back from the store once


def _checked_block(
    block: np.ndarray, *, spec: ColumnSpec, n_source: int | None, n_classes: int | None, setting: Any
) -> np.ndarray:
    """On a worker: the checks and coercion a batch of :class:`ResultsWriter` goes through."""
    arr = coercion.fit(spec, coercion.coerce(spec, block, n_source=n_source, n_classes=n_classes))
    if setting is not None and (setting.lossy is not None or setting.dtype is not None):
        arr = policy.stored_data(policy.Planned(None, spec.name, arr, setting))
    return arr


def _store(da: Any, sources: list[Any], targets: list[Any], progress: bool | None) -> None:
    """``da.store`` without locks (each block owns its stored objects), on the active scheduler or client."""
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
        from dask.diagnostics.progress import ProgressBar

        with ProgressBar():
            _store_locally(da, sources, targets)
        return
    _store_locally(da, sources, targets)


def _store_locally(da: Any, sources: list[Any], targets: list[Any]) -> None:
    """``da.store`` on dask's threads, or on the scheduler the user configured. Dask's threads get a pool of our
    own, left only when every block it started has ended: when one block fails, dask raises at once while others
    are still writing, and they would write into the store after it is removed."""
    import dask

    if dask.config.get("scheduler", None) is not None:  # the user's choice
        da.store(sources, targets, lock=False)
        return
    with ThreadPoolExecutor(max(1, os.cpu_count() or 1)) as pool:
        da.store(sources, targets, lock=False, scheduler="threads", pool=pool)
