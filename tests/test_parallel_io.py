"""HDF5 chunks encoded and decoded on every core (``hdmf_ai.io.h5chunks``) are the chunks HDF5 would store.

The oracle is HDF5 itself: files written the fast way are read back by plain h5py in a fresh interpreter that
never imports hdf5plugin (and by the reference hdmf-ai 0.2.0), the Fletcher-32 is compared with the one h5py's
own filter stores, and every fast read is compared with h5py's ordinary read of the same dataset.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from builders import assert_tables_equal, full_table

import hdmf_ai
from hdmf_ai.io import h5chunks

# a Python that imports h5py and numpy only: every numeric dataset of a file, as plain h5py reads it, to a .npz
PLAIN_H5PY = """
import sys, h5py, numpy as np
arrays = {}
def visit(name, obj):
    if isinstance(obj, h5py.Dataset) and obj.dtype.kind in "biuf":
        arrays[name] = obj[()]
with h5py.File(sys.argv[1], "r") as f:
    f.visititems(visit)
np.savez(sys.argv[2], **arrays)
assert "hdf5plugin" not in sys.modules
"""


def read_with_plain_h5py(path: Path, tmp_path: Path) -> dict[str, np.ndarray]:
    out = tmp_path / "plain.npz"
    env = {k: v for k, v in os.environ.items() if k != "HDF5_PLUGIN_PATH"}
    subprocess.run([sys.executable, "-c", PLAIN_H5PY, str(path), str(out)], check=True, env=env, timeout=120)
    with np.load(out) as loaded:
        return {name: loaded[name] for name in loaded.files}


def numeric_columns(rt: hdmf_ai.ResultsTable) -> dict[str, np.ndarray]:
    """Every numeric dataset of ``rt`` (columns, index columns, ids) by its path in the file."""
    found = {f"{rt.name}/id": np.asarray(rt.id.data)}
    for column in rt.columns:
        data = np.asarray(column.data)
        if data.dtype.kind in "biuf":
            found[f"{rt.name}/{column.name}"] = data
    return found


def flip(path: Path, offset: int) -> None:
    with path.open("r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0xFF]))


# -- the encoding is HDF5's -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        np.arange(7000, dtype=np.float32).reshape(1000, 7),
        np.arange(1001, dtype=np.uint8),  # an odd number of bytes: HDF5 counts the last as a word's high byte
        np.zeros(100, dtype=np.uint8),  # all zero: the only input whose sums are 0
        np.full(3 * 65535, 255, dtype=np.uint8),  # sums that are multiples of 65535 fold to 0xFFFF, not 0
        np.ones(1, dtype=np.uint8),
        np.random.default_rng(0).normal(size=(500, 3)),
    ],
    ids=["float32-2d", "odd-bytes", "zeros", "multiples-of-65535", "one-byte", "float64"],
)
@pytest.mark.parametrize("implementation", ["numcodecs", "numpy"])
def test_fletcher32_is_the_checksum_hdf5s_own_filter_stores(
    tmp_path: Path, data: np.ndarray, implementation: str
) -> None:
    """Both sums: numcodecs' compiled one (used when installed) and the numpy one (without it), against HDF5's."""
    checksum = h5chunks.fletcher32 if implementation == "numcodecs" else h5chunks.fletcher32_numpy
    assert implementation != "numcodecs" or h5chunks._fletcher_codec() is not None, "numcodecs is a dependency"
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f.create_dataset("x", data=data, chunks=data.shape, fletcher32=True)
    with h5py.File(tmp_path / "f.h5", "r") as f:
        _, stored = f["x"].id.read_direct_chunk((0,) * data.ndim)
    assert checksum(stored[:-4]).to_bytes(4, "little") == stored[-4:]
    assert checksum(memoryview(stored)[:-4]) == checksum(np.frombuffer(stored[:-4], dtype=np.uint8))


def test_fletcher32_of_nothing_is_zero_in_both_implementations() -> None:
    """numcodecs refuses an empty buffer: the numpy sum answers (HDF5 gives 0 for all-zero input, as for none)."""
    assert h5chunks.fletcher32(b"") == h5chunks.fletcher32_numpy(b"") == 0


def test_fletcher32_gives_the_same_sums_from_many_threads_at_once() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(8)
    buffers = [rng.integers(0, 256, size, dtype=np.uint8).tobytes() for size in rng.integers(1, 300_000, 64)]
    alone = [h5chunks.fletcher32(b) for b in buffers]
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(h5chunks.fletcher32, buffers)) == alone


def test_a_chunk_encoded_by_hand_inflates_with_zlib_to_hdf5s_shuffle_order() -> None:
    rng = np.random.default_rng(1)
    chunk = rng.dirichlet(np.ones(50), 80).astype(np.float32)  # noisy mantissa bytes: stored, not deflated
    found = h5chunks.Pipeline(True, 1, True, 4, 80, (50,), np.dtype(np.float32))
    stored = found.encode(chunk)
    assert h5chunks.fletcher32(stored[:-4]) == int.from_bytes(stored[-4:], "little")
    shuffled = zlib.decompress(stored[:-4])
    assert shuffled == chunk.view(np.uint8).reshape(-1, 4).T.tobytes()
    np.testing.assert_array_equal(found.decode(stored, "chunk"), chunk)


def test_a_chunk_written_by_hand_equals_hdf5s_own_after_decoding(tmp_path: Path) -> None:
    data = np.random.default_rng(2).normal(size=(1000, 5))
    options = {"chunks": (64, 5), "shuffle": True, "compression": "gzip", "compression_opts": 1, "fletcher32": True}
    with h5py.File(tmp_path / "f.h5", "w") as f:
        assert h5chunks.write_rows(f.create_dataset("fast", shape=data.shape, dtype=data.dtype, **options), 0, data)
        f.create_dataset("hdf5", data=data, **options)
    with h5py.File(tmp_path / "f.h5", "r") as f:
        for lo in range(0, 1000, 64):
            mask, stored = f["fast"].id.read_direct_chunk((lo, 0))
            assert mask == 0  # every filter ran
            _, theirs = f["hdf5"].id.read_direct_chunk((lo, 0))
            assert zlib.decompress(stored[:-4]) == zlib.decompress(theirs[:-4])
        np.testing.assert_array_equal(f["fast"][:], data)


# -- files written the fast way, read back by plain h5py ---------------------------------------------------


@pytest.mark.parametrize("preset", ["portable", "uncompressed"])
@pytest.mark.parametrize("n", [1, 2, 10_001])
def test_every_column_written_on_every_core_reads_back_with_plain_h5py(tmp_path: Path, preset: str, n: int) -> None:
    rt = full_table(n)
    path = hdmf_ai.write(rt, tmp_path / "r.h5", preset=preset)
    plain = read_with_plain_h5py(path, tmp_path)
    for name, want in numeric_columns(rt).items():
        np.testing.assert_array_equal(plain[name], want, err_msg=name)
        assert plain[name].dtype == want.dtype, name
    with h5py.File(path, "r") as f:
        masks = [f["results/predicted_probability"].id.get_chunk_info(i).filter_mask for i in range(1)]
        assert masks == [0]
        site = rt.samples.table["site"].data
        assert [s.decode() for s in f["source/site"][:]] == list(site)  # text: hdmf's own path


def test_an_empty_table_is_written_and_read_back(tmp_path: Path) -> None:
    rt = hdmf_ai.ResultsTable(name="results", description="no rows")
    rt.add_predicted_probability(np.empty((0, 3)))
    rt.add_predicted_class(np.empty(0, dtype=int))
    path = hdmf_ai.write(rt, tmp_path / "r.h5")
    assert read_with_plain_h5py(path, tmp_path)["results/predicted_probability"].shape == (0, 3)
    assert hdmf_ai.read(path)["predicted_probability"].data.shape == (0, 3)


def test_the_batched_writer_writes_batches_across_chunk_boundaries(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    probs = rng.dirichlet(np.ones(6), 5000).astype(np.float32)
    path = tmp_path / "w.h5"
    with hdmf_ai.ResultsWriter(path, columns={"predicted_probability": (6,)}, progress=False) as writer:
        for lo, hi in [(0, 7), (7, 2000), (2000, 2001), (2001, 4999), (4999, 5000)]:
            writer.append(predicted_probability=probs[lo:hi], predicted_class=probs[lo:hi].argmax(axis=1))
    plain = read_with_plain_h5py(path, tmp_path)
    np.testing.assert_array_equal(plain["results/predicted_probability"], probs)
    np.testing.assert_array_equal(plain["results/predicted_class"], probs.argmax(axis=1))
    np.testing.assert_array_equal(plain["results/id"], np.arange(5000))


def test_without_isal_zlib_writes_the_same_values(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(h5chunks, "_isal", None)
    rt = full_table(3000)
    path = hdmf_ai.write(rt, tmp_path / "r.h5")
    plain = read_with_plain_h5py(path, tmp_path)
    for name, want in numeric_columns(rt).items():
        np.testing.assert_array_equal(plain[name], want, err_msg=name)


def test_rows_that_do_not_fit_are_left_to_h5py_and_its_error(tmp_path: Path) -> None:
    options: dict[str, Any] = {"chunks": (10, 3), "shuffle": True, "compression": "gzip", "fletcher32": True}
    with h5py.File(tmp_path / "f.h5", "w") as f:
        dataset = f.create_dataset("x", shape=(100, 3), dtype="f4", **options)
        assert not h5chunks.write_rows(dataset, 0, np.ones((100, 4)))  # a row of another width
        assert not h5chunks.write_rows(dataset, 90, np.ones((20, 3)))  # past the end
        with pytest.raises((TypeError, ValueError)):
            dataset[90:110] = np.ones((20, 3))


def test_a_plugin_filter_is_left_to_hdf5(tmp_path: Path) -> None:
    hdf5plugin = pytest.importorskip("hdf5plugin")
    with h5py.File(tmp_path / "f.h5", "w") as f:
        dataset = f.create_dataset("x", shape=(100,), dtype="f8", chunks=(10,), **hdf5plugin.LZ4())
        assert not h5chunks.write_rows(dataset, 0, np.ones(100))
        assert h5chunks.read_rows(dataset, slice(None)) is None


# -- reads decoded on every core equal h5py's ---------------------------------------------------------------


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file of 10,001 rows whose columns h5py's own filters wrote (the fast reads' oracle is h5py anyway)."""
    path = tmp_path_factory.mktemp("reads") / "r.h5"
    rng = np.random.default_rng(5)
    options: dict[str, Any] = {"shuffle": True, "compression": "gzip", "compression_opts": 1, "fletcher32": True}
    with h5py.File(path, "w") as f:
        f.create_dataset("probs", data=rng.dirichlet(np.ones(7), 10_001).astype(np.float32), chunks=(300, 7), **options)
        f.create_dataset("labels", data=rng.integers(0, 5, 10_001).astype(np.uint8), chunks=(4096,), **options)
        f.create_dataset("plain", data=rng.normal(size=10_001), chunks=(1000,), fletcher32=True)
    return path


ROWS = {
    "all": slice(None),
    "inside-one-chunk": slice(10, 20),
    "across-chunks": slice(299, 4100),
    "to-the-end": slice(9000, None),
    "empty": slice(5, 5),
    "random": np.random.default_rng(6).choice(10_001, 1000, replace=False),
    "repeated-unsorted": np.array([10_000, 3, 3, 9000, 0, 299, 300]),
    "none": np.array([], dtype=np.int64),
}


@pytest.mark.parametrize("rows", ROWS.values(), ids=list(ROWS))
@pytest.mark.parametrize("name", ["probs", "labels", "plain"])
def test_fast_reads_equal_h5pys_bit_for_bit(written: Path, name: str, rows: slice | np.ndarray) -> None:
    with h5py.File(written, "r") as f:
        dataset = f[name]
        want = dataset[rows] if isinstance(rows, slice) else dataset[()][rows]
        got = h5chunks.read_rows(dataset, rows)
    assert got is not None
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize(
    "rows", [ROWS["random"], slice(123, 4567), np.arange(10_001) % 3 == 0], ids=["positions", "slice", "mask"]
)
def test_open_columns_read_rows_through_the_public_api(tmp_path: Path, rows: Any) -> None:
    rt = full_table(10_001)
    path = hdmf_ai.write(rt, tmp_path / "r.h5")
    want = np.asarray(rt.predicted_probability.data)[rows]
    with hdmf_ai.open(path) as opened:
        np.testing.assert_array_equal(opened.column("predicted_probability").read(rows, progress=False), want)
        frame = opened.to_dataframe(columns=["predicted_class"], rows=rows, decode=False)
    np.testing.assert_array_equal(frame["predicted_class"].to_numpy(), np.asarray(rt.predicted_class.data)[rows])


# -- a damaged chunk is an error ------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["middle", "checksum"])
def test_a_damaged_chunk_written_on_every_core_is_a_results_file_error(tmp_path: Path, where: str) -> None:
    rt = full_table(10_001)
    path = hdmf_ai.write(rt, tmp_path / "r.h5")
    with h5py.File(path, "r") as f:
        info = f["results/predicted_probability"].id.get_chunk_info(1)
    flip(path, info.byte_offset + (info.size // 2 if where == "middle" else info.size - 2))
    with pytest.raises(hdmf_ai.ResultsFileError, match="predicted_probability"):
        hdmf_ai.read(path)
    with hdmf_ai.open(path) as opened, pytest.raises(OSError, match="chunk"):
        opened.column("predicted_probability").read(progress=False)


# -- the reference reads them --------------------------------------------------------------------------------


@pytest.mark.interop
def test_the_reference_reads_a_file_of_many_chunks(tmp_path: Path) -> None:
    from refenv import ReferenceEnvUnavailable, ensure_reference_venv, run_reference

    try:
        python = ensure_reference_venv(Path(__file__).resolve().parents[1] / ".cache" / "refenv")
    except ReferenceEnvUnavailable as err:  # an optional dependency, as in test_interop.py
        pytest.skip(f"the reference hdmf-ai 0.2.0 environment cannot be built here: {err}")
    from test_interop import table_the_reference_can_construct

    rt = table_the_reference_can_construct(10_001)
    path = hdmf_ai.write(rt, tmp_path / "ours.h5")
    report = json.loads(run_reference(python, "read_with_reference.py", str(path)).stdout)
    assert report["open_error"] is None and report["read_error"] is None, report
    [table] = report["results_tables"]
    for name in ("predicted_probability", "predicted_value", "embedding"):
        got = np.asarray(table["columns"][name]["values"], dtype=float)
        np.testing.assert_array_equal(got, np.asarray(rt[name].data, dtype=float), err_msg=name)


# -- filter masks: a chunk written with every filter, marked as if one was skipped ----------------------------


def _masked(tmp_path: Path, mask: int, **filters: Any) -> tuple[h5py.File, np.ndarray]:
    """A dataset of one chunk written with every filter (by h5py), whose stored filter mask is then ``mask``."""
    values = np.arange(64, dtype="<f8").reshape(16, 4)
    with h5py.File(tmp_path / "masked.h5", "w") as f:
        reference = f.create_dataset("ref", data=values, chunks=(16, 4), **filters)  # h5py's own filters ran
        _, stored = reference.id.read_direct_chunk((0, 0))
        dataset = f.create_dataset("x", shape=values.shape, dtype=values.dtype, chunks=(16, 4), **filters)
        dataset.id.write_direct_chunk((0, 0), stored, mask)
    return h5py.File(tmp_path / "masked.h5", "r"), values  # opened anew: no decoded chunk in HDF5's cache


@pytest.mark.parametrize("bit", [0, 1, 2], ids=["shuffle", "deflate", "fletcher32"])
def test_a_chunk_marked_as_skipping_a_filter_is_refused_by_the_decoder(tmp_path: Path, bit: int) -> None:
    f, _ = _masked(tmp_path, 1 << bit, shuffle=True, compression="gzip", fletcher32=True)
    with f, pytest.raises(OSError, match=r"dataset '/x', chunk at row 0: its filter mask 0x\d marks \w+ skipped"):
        h5chunks.read_rows(f["x"], slice(None))


def test_hdf5_reads_a_masked_chunk_as_other_values_and_the_mask_check_refuses_it(tmp_path: Path) -> None:
    f, values = _masked(tmp_path, 1, shuffle=True)  # shuffle only: HDF5 decodes it, h5chunks does not
    with f:
        assert h5chunks.pipeline(f["x"]) is None
        assert not np.array_equal(f["x"][:], values)  # the danger: HDF5 skips the unshuffle, silently
        with pytest.raises(OSError, match="filter mask 0x1 marks shuffle skipped"):
            h5chunks.check_filter_masks(f["x"], 0, 16)
        h5chunks.check_filter_masks(f["x"], 16, 16)  # no rows: nothing read, nothing checked


def test_read_refuses_a_masked_chunk_of_a_column_hdf5_decodes(tmp_path: Path) -> None:
    path = hdmf_ai.write(full_table(20), tmp_path / "results.h5")
    with h5py.File(path, "r+") as f:
        del f["results/loss"]
        reference = f.create_dataset("ref", data=np.linspace(0, 1, 20), chunks=(20,), shuffle=True)
        _, stored = reference.id.read_direct_chunk((0,))
        dataset = f.create_dataset("results/loss", shape=(20,), dtype="<f8", chunks=(20,), shuffle=True)
        dataset.id.write_direct_chunk((0,), stored, 1)
    with pytest.raises(hdmf_ai.ResultsFileError, match=r"results/loss.*filter mask 0x1 marks shuffle skipped"):
        hdmf_ai.read(path)


# -- a process forked after the pool started (a DataLoader worker, multiprocessing's "fork") ----------------


def _read_and_write_in_child(path: str, out: str) -> None:
    """In the forked child: a read and a write that both need the chunk pool; the values are compared."""
    with hdmf_ai.open(path) as rt:
        rows = rt.column("predicted_probability").read(slice(0, len(rt)), progress=False)
    table = full_table(len(rows))
    np.testing.assert_array_equal(rows, np.asarray(table["predicted_probability"].data))
    hdmf_ai.write(table, out)
    np.testing.assert_array_equal(hdmf_ai.read(out)["predicted_probability"].data, rows)


@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_a_process_forked_after_reads_reads_and_writes_with_its_own_pool(tmp_path: Path) -> None:
    """The parent's pool threads do not exist in a forked child: a pool that still thought they did queued
    every chunk to nobody, and the child's first read hung for ever (found while mutation testing, whose
    workers are forked)."""
    import multiprocessing

    path = hdmf_ai.write(full_table(3000), tmp_path / "parent.h5")
    with hdmf_ai.open(path) as rt:  # the pool's threads start in this process
        rt.column("predicted_probability").read(slice(0, 3000), progress=False)
    assert h5chunks.workers() == 1 or h5chunks._pool is not None
    child = multiprocessing.get_context("fork").Process(
        target=_read_and_write_in_child, args=(str(path), str(tmp_path / "child.h5"))
    )
    child.start()
    child.join(120)
    if child.is_alive():
        child.kill()
        child.join()
        pytest.fail("the forked child's read or write hung (killed after 120 s)")
    assert child.exitcode == 0
    assert_tables_equal(hdmf_ai.read(tmp_path / "child.h5"), full_table(3000))
