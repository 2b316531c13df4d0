"""Dask: a table of Dask arrays written to Zarr by two worker processes; columns read as Dask arrays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from builders import CLASS_NAMES, assert_table_holds, assert_tables_equal, column_values, full_table, source_table

import hdmf_ai

da = pytest.importorskip("dask.array", reason="write_dask and to_dask need the 'dask' extra")
distributed = pytest.importorskip("dask.distributed", reason="the cluster test needs the 'dask' extra")

from hdmf_ai.io.dask import write_dask  # noqa: E402  (after the skip: the module is for the 'dask' extra)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """Two worker processes on loopback, as on a cluster: every task crosses a process boundary."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as connected,
    ):
        yield connected


def _dask_columns(table: hdmf_ai.ResultsTable, rows_per_block: int) -> dict[str, Any]:
    out = {}
    for name in table.colnames:
        values = column_values(table[name])
        if name == "true_label":
            values = np.asarray(CLASS_NAMES)[values]
        out[name] = da.from_array(values, chunks=(rows_per_block, *values.shape[1:]))
    return out


def test_two_workers_write_a_store_equal_to_an_in_memory_write(client: Any, tmp_path: Path) -> None:
    n = 5_000
    table = full_table(n, source=source_table(n))
    meta = {key: getattr(table, key) for key in ("name", "description", "source_code", "parameters",
                                                  "model_description", "pre_trained_model")}  # fmt: skip
    declared = {"true_label": {"classes": CLASS_NAMES}, "cv_split": {"n_splits": 3}, "cluster_label": "int8",
                "loss": {"description": "per-sample loss"}}  # fmt: skip
    path = write_dask(
        tmp_path / "dask.zarr",
        _dask_columns(table, rows_per_block=777),  # blocks not aligned to chunks: write_dask realigns them
        declarations=declared,
        metadata=meta,
        source=table.samples.table,
        progress=False,
    )
    assert len(client.scheduler_info()["workers"]) == 2
    given = {name: column.compute() for name, column in _dask_columns(table, rows_per_block=777).items()}
    assert_table_holds(hdmf_ai.read(path), given, metadata=meta, source=table.samples.table)
    reference = hdmf_ai.write(table, tmp_path / "memory.zarr")
    assert hdmf_ai.validate(path) == [] == hdmf_ai.validate(reference)
    assert_tables_equal(hdmf_ai.read(path), hdmf_ai.read(reference))


def test_a_bad_block_fails_the_write_with_a_column_error(client: Any, tmp_path: Path) -> None:
    probs = np.full((3_000, 2), 0.5, dtype=np.float32)
    probs[2_500] = [1.5, -0.5]
    with pytest.raises(hdmf_ai.ColumnError, match="column 'predicted_probability'"):
        write_dask(tmp_path / "bad.zarr", {"predicted_probability": da.from_array(probs, chunks=1_000)}, progress=False)
    assert not (tmp_path / "bad.zarr").exists()


@pytest.mark.parametrize("suffix", [".h5", ".zarr"])
def test_to_dask_streams_a_stored_column(tmp_path: Path, suffix: str) -> None:
    table = full_table(300, source=source_table(300))
    path = hdmf_ai.write(table, tmp_path / f"results{suffix}")
    want = column_values(table.embedding)
    with hdmf_ai.open(path) as lazy:
        column = lazy.column("embedding")
        array = column.to_dask()
        assert array.shape == want.shape and array.dtype == want.dtype
        np.testing.assert_array_equal(array[50:120].compute(scheduler="threads"), want[50:120])
        np.testing.assert_allclose(array.sum(axis=0).compute(scheduler="threads"), want.sum(axis=0), rtol=1e-5)
