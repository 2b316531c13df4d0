"""Lazy reads checked (issue 18, items 1-3; hdmf_ai/io/guarded.py): every read of a column's data through a table
from ``hdmf_ai.open`` returns the values written, or raises a ResultsFileError naming the file and the dataset.

The files are damaged with plain h5py / zarr (which recompute the chunk checksums they rewrite), so only the
content digests can tell; the values expected are the arrays written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import zarr
from attack.semantic import Edit as SemanticEdit
from builders import column_values, full_table

import hdmf_ai
from hdmf_ai.io.guarded import GuardedArray
from hdmf_ai.io.policy import Setting
from hdmf_ai.io.zarr import consolidate
from hdmf_ai.summary import inspect_file

N = 5000  # rows: several stored chunks per column


def _edit(path: Path, dataset: str, index: Any, value: Any) -> None:
    if path.suffix != ".zarr":
        with h5py.File(path, "r+") as f:
            f[dataset][index] = value
        return
    zarr.open_array(str(path / dataset), mode="r+")[index] = value
    consolidate(path)


def _chunk_rows(path: Path, dataset: str) -> int:
    if path.suffix != ".zarr":
        with h5py.File(path, "r") as f:
            return int(f[dataset].chunks[0])
    return int(zarr.open_array(str(path / dataset), mode="r").chunks[0])


@pytest.fixture
def written(path: Path) -> hdmf_ai.ResultsTable:
    table = full_table(N)
    rng = np.random.default_rng(3)
    table.add_column("tokens", "per-token scores", data=[rng.normal(size=k).tolist() for k in rng.integers(0, 4, N)],
                     index=True)  # fmt: skip
    hdmf_ai.write(table, path, storage={"predicted_probability": Setting(chunk_rows=512)})  # several chunks
    return table


def test_open_gives_every_on_disk_dataset_guarded(path: Path, written: hdmf_ai.ResultsTable) -> None:
    with hdmf_ai.open(path) as lazy:
        for column in (lazy.id, *lazy.columns, lazy["true_label"].elements, lazy.samples.table["age"]):
            assert isinstance(column.data, GuardedArray), column.name
        np.testing.assert_array_equal(np.asarray(lazy["predicted_probability"].data), column_values(
            written["predicted_probability"]))  # fmt: skip


@pytest.mark.parametrize("run_bytes", [1, 3 * 512 * 4 * 4, 64 * 2**20])
def test_rows_picked_at_random_read_back_in_any_batching_of_their_blocks(
    path: Path, written: hdmf_ai.ResultsTable, run_bytes: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scattered rows are read as runs of blocks, several runs per backend read (up to RUN_BYTES): one block per
    read, three, or all at once; repeats, any order, blocks kept from earlier reads among them."""
    monkeypatch.setattr("hdmf_ai.io.guarded.RUN_BYTES", run_bytes)
    want = column_values(written["predicted_probability"])
    rng = np.random.default_rng(11)
    with hdmf_ai.open(path) as lazy:
        column = lazy["predicted_probability"]
        np.testing.assert_array_equal(column.data[[4095, 4096]], want[[4095, 4096]])  # two blocks now kept
        for _ in range(3):
            rows = rng.integers(0, N, 40)
            rows[:3] = [4095, 0, N - 1]
            np.testing.assert_array_equal(column.data[rows], want[rows])
            np.testing.assert_array_equal(lazy.column("predicted_probability").read(rows, progress=False), want[rows])


def test_a_changed_block_among_scattered_rows_is_refused_in_any_batching(
    path: Path, written: hdmf_ai.ResultsTable, monkeypatch: pytest.MonkeyPatch
) -> None:
    unit = _chunk_rows(path, "results/predicted_probability")
    _edit(path, "results/predicted_probability", 3 * unit + 7, [0.5, 0.5, 0.0, 0.0][: want_width(written)])
    for run_bytes in (1, 64 * 2**20):
        monkeypatch.setattr("hdmf_ai.io.guarded.RUN_BYTES", run_bytes)
        expected = pytest.raises(hdmf_ai.ResultsFileError, match=f"rows {3 * unit} to {4 * unit} differ")
        with hdmf_ai.open(path) as lazy, expected:
            lazy["predicted_probability"].data[[0, 5 * unit, 3 * unit + 1, unit]]


def want_width(table: hdmf_ai.ResultsTable) -> int:
    return int(column_values(table["predicted_probability"]).shape[1])


def test_rows_outside_a_changed_block_read_and_rows_inside_it_are_refused(
    path: Path, written: hdmf_ai.ResultsTable
) -> None:
    unit = _chunk_rows(path, "results/predicted_probability")
    assert 2 * unit < N, "the column must span several chunks"
    want = column_values(written["predicted_probability"])
    _edit(path, "results/predicted_probability", unit + 3, [0.5, 0.5, 0.0, 0.0][: want.shape[1]])
    with hdmf_ai.open(path) as lazy:
        column = lazy["predicted_probability"]
        np.testing.assert_array_equal(column.data[:unit], want[:unit])
        np.testing.assert_array_equal(column.data[[5, 2 * unit + 1, 0]], want[[5, 2 * unit + 1, 0]])
        np.testing.assert_array_equal(lazy.column("predicted_probability").read(slice(0, unit)), want[:unit])
        reads = [
            lambda: column.data[unit + 3],
            lambda: column.data[unit : unit + 10],
            lambda: column.data[[0, unit + 5]],
            lambda: column[unit + 3],
            lambda: np.asarray(column.data),
            lambda: list(column.data),
            lambda: lazy[unit : unit + 4],
            lambda: lazy.column("predicted_probability").read(),
            lambda: lazy.column("predicted_probability").read(np.array([unit + 4])),
        ]
        for read in reads:
            with pytest.raises(hdmf_ai.ResultsFileError, match="'results/predicted_probability': rows") as caught:
                read()
            assert str(path) in str(caught.value)


def test_a_ragged_column_reads_through_its_checked_index(path: Path, written: hdmf_ai.ResultsTable) -> None:
    ends = column_values(written["tokens_index"])
    _edit(path, "results/tokens_index", 1, int(ends[1]) + 1)  # still rising: only the digest can tell
    with hdmf_ai.open(path) as lazy, pytest.raises(hdmf_ai.ResultsFileError, match="'results/tokens_index'"):
        lazy["tokens"][1]


def test_enum_elements_changed_on_disk_are_refused_when_codes_are_decoded(path: Path) -> None:
    table = full_table(20)
    hdmf_ai.write(table, path)
    elements = column_values(table["true_label"].elements).tolist()
    _edit(path, "results/true_label_elements", 0, elements[1])  # a label swapped for another: same length
    with hdmf_ai.open(path) as lazy, pytest.raises(hdmf_ai.ResultsFileError, match="true_label_elements"):
        lazy["true_label"][0:3]


def test_reads_through_samples_check_the_source_table(path: Path, written: hdmf_ai.ResultsTable) -> None:
    _edit(path, "source/age", 0, -1.0)
    with hdmf_ai.open(path) as lazy, pytest.raises(hdmf_ai.ResultsFileError, match="'source/age'"):
        lazy.samples.table["age"].data[:10]


def test_a_file_without_digests_reads_lazily_as_it_is(path: Path, written: hdmf_ai.ResultsTable) -> None:
    _edit(path, "results/loss", 0, 7.0)
    SemanticEdit(path).strip_digests()  # as another writer's file: no digest on any dataset or table
    want = column_values(written["loss"]).copy()
    want[0] = 7.0
    with hdmf_ai.open(path) as lazy:
        np.testing.assert_array_equal(lazy["loss"].data[:], want)


def test_a_damaged_hdf5_chunk_is_a_typed_error_naming_the_dataset(tmp_path: Path) -> None:
    path = hdmf_ai.write(full_table(40), tmp_path / "results.h5")
    with h5py.File(path, "r") as f:
        info = f["results/loss"].id.get_chunk_info(0)
    with path.open("r+b") as fh:  # one byte of the stored chunk: Fletcher-32 no longer matches
        fh.seek(info.byte_offset + info.size // 2)
        byte = fh.read(1)
        fh.seek(info.byte_offset + info.size // 2)
        fh.write(bytes([byte[0] ^ 0x10]))
    with hdmf_ai.open(path) as lazy, pytest.raises(hdmf_ai.ResultsFileError) as caught:
        lazy["loss"].data[:5]
    assert type(caught.value) is hdmf_ai.ResultsFileError
    assert str(path) in str(caught.value) and "'results/loss'" in str(caught.value)
    with pytest.raises(hdmf_ai.ResultsFileError, match="loss"):
        inspect_file(path).lines()


def test_inspect_refuses_a_column_whose_first_block_changed(path: Path) -> None:
    hdmf_ai.write(full_table(30), path)
    _edit(path, "results/loss", 0, 123.0)  # a column no metric reads: inspect still reads its first block
    with pytest.raises(hdmf_ai.ResultsFileError, match="'results/loss'"):
        inspect_file(path)


def test_a_lazily_opened_table_written_elsewhere_carries_no_changed_values(path: Path, tmp_path: Path) -> None:
    hdmf_ai.write(full_table(30), path)
    _edit(path, "results/loss", 2, 5.0)
    with hdmf_ai.open(path) as lazy, pytest.raises(hdmf_ai.ResultsFileError, match="'results/loss'"):
        hdmf_ai.write(lazy, tmp_path / "copy.h5")
    assert not (tmp_path / "copy.h5").exists()
