"""The storage policy: presets and per-column settings, as they land on disk, on both backends."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import zarr
from builders import assert_tables_equal, column_values, full_table

import hdmf_ai
from hdmf_ai.io import policy
from hdmf_ai.io.policy import BitRound, Blosc, Delta, Gzip, Quantize, Setting, Shuffle, StorageError, Zstd

LOSSLESS = ("portable", "fast", "compact", "uncompressed")
N = 300  # enough rows for several chunks with small chunk settings


def dataset(path: Path, name: str) -> Any:
    """The on-disk array of column ``name`` of table ``results``, opened with h5py or zarr alone."""
    if path.suffix == ".h5":
        return h5py.File(path, "r")[f"results/{name}"]
    return zarr.open_group(str(path), mode="r")[f"results/{name}"]


CHECKSUMS = {3}  # HDF5's built-in Fletcher-32: integrity, not part of a preset's compression


def hdf5_filters(ds: h5py.Dataset) -> set[int]:
    """The compression filters of a dataset (checksums left out)."""
    plist = ds.id.get_create_plist()
    return {plist.get_filter(i)[0] for i in range(plist.get_nfilters())} - CHECKSUMS


def zarr_codec_names(arr: zarr.Array) -> list[str]:
    """Names of every codec of the array, inside a shard or not (checksums left out)."""
    codecs = arr.metadata.to_dict()["codecs"]
    if codecs[0]["name"] == "sharding_indexed":
        codecs = codecs[0]["configuration"]["codecs"]
    return [c["name"] for c in codecs if c["name"] != "crc32c"]


@pytest.mark.parametrize("preset", LOSSLESS)
def test_each_lossless_preset_round_trips_bit_exactly(path: Path, preset: str) -> None:
    rt = full_table(N)
    hdmf_ai.write(rt, path, preset=preset)
    assert_tables_equal(hdmf_ai.read(path), rt)


def test_compact_on_hdf5_stores_the_chosen_chunks_filters_and_dtypes(tmp_path: Path) -> None:
    rt = full_table(N)
    path = hdmf_ai.write(rt, tmp_path / "r.h5", preset="compact")
    probs = dataset(path, "predicted_probability")
    setting = policy.PRESETS["compact"].setting("hdf5", "probability")
    assert probs.chunks == setting.chunk_shape((N, 4), 8)
    assert probs.dtype == np.float64 and hdf5_filters(probs) == {32001}  # Blosc
    labels = dataset(path, "predicted_class")
    assert labels.dtype == np.uint32 and hdf5_filters(labels) == {32001}
    plist = labels.id.get_create_plist()
    blosc = next(plist.get_filter(i) for i in range(plist.get_nfilters()) if plist.get_filter(i)[0] == 32001)
    assert blosc[2][5] == 2  # Blosc's bit shuffle for labels
    np.testing.assert_array_equal(probs[:], column_values(rt.predicted_probability))


def test_portable_on_hdf5_uses_only_gzip_and_shuffle(tmp_path: Path) -> None:
    path = hdmf_ai.write(full_table(N), tmp_path / "r.h5", preset="portable")
    with h5py.File(path, "r") as f:
        numeric = [d for d in _datasets(f) if d.dtype.kind in "iuf" and d.shape and d.shape[0] == N]
        assert numeric
        for ds in numeric:
            assert ds.compression == "gzip" and ds.shuffle, ds.name
            assert hdf5_filters(ds) <= {1, 2}, ds.name  # deflate and shuffle: built into every HDF5


def _datasets(f: h5py.File) -> list[h5py.Dataset]:
    found: list[h5py.Dataset] = []
    f.visititems(lambda _, obj: found.append(obj) if isinstance(obj, h5py.Dataset) else None)
    return found


def test_compact_on_zarr_stores_the_chosen_chunks_shards_and_codecs(tmp_path: Path) -> None:
    rt = full_table(N)
    compact = policy.PRESETS["compact"]
    tight = Setting(codecs=(Delta(), Zstd(9)), chunk_rows=50, shard_chunks=4)
    path = hdmf_ai.write(rt, tmp_path / "r.zarr", preset=compact, storage={"samples": tight})
    probs = dataset(path, "predicted_probability")
    assert probs.chunks == compact.setting("zarr", "probability").chunk_shape((N, 4), 8)
    assert probs.dtype == np.float64
    assert zarr_codec_names(probs) == ["bytes", "numcodecs.shuffle", "zstd"]
    samples = dataset(path, "samples")
    assert samples.chunks == (50,) and samples.shards == (200,)
    assert zarr_codec_names(samples) == ["numcodecs.delta", "bytes", "zstd"]
    assert dataset(path, "predicted_class").dtype == np.uint32
    assert_tables_equal(hdmf_ai.read(path), rt)


def test_a_per_column_override_wins_over_the_preset(path: Path) -> None:
    rt = full_table(N)
    plain = Setting(codecs=(), chunk_rows=7)
    hdmf_ai.write(rt, path, preset="compact", storage={"predicted_probability": plain})
    probs, labels = dataset(path, "predicted_probability"), dataset(path, "predicted_class")
    assert probs.chunks == (7, 4)
    if path.suffix == ".h5":
        assert hdf5_filters(probs) == set() and hdf5_filters(labels) == {32001}
    else:
        assert zarr_codec_names(probs) == ["bytes"] and "blosc" in zarr_codec_names(labels)
    assert_tables_equal(hdmf_ai.read(path), rt)


def test_lossy_settings_stay_within_their_stated_error_and_are_recorded(path: Path) -> None:
    rt = full_table(N)
    storage = {"predicted_probability": policy.lossy(quantize_bits=10), "embedding": policy.lossy(keepbits=8)}
    hdmf_ai.write(rt, path, storage=storage)
    back = hdmf_ai.read(path)
    want_p, got_p = column_values(rt.predicted_probability), column_values(back.predicted_probability)
    assert got_p.dtype == want_p.dtype and got_p.shape == want_p.shape
    assert np.abs(got_p - want_p).max() <= 2.0**-11
    want_e, got_e = column_values(rt.embedding), column_values(back.embedding)
    assert got_e.dtype == np.float32 and got_e.shape == want_e.shape
    assert (np.abs(got_e - want_e) <= 2.0**-9 * np.abs(want_e)).all()
    assert not np.array_equal(got_e, want_e), "a lossy setting that changes nothing tests nothing"
    assert dataset(path, "predicted_probability").attrs[policy.LOSSY_ATTRIBUTE] == Quantize(10).describe()
    assert dataset(path, "embedding").attrs[policy.LOSSY_ATTRIBUTE] == BitRound(8).describe()
    assert policy.LOSSY_ATTRIBUTE not in dataset(path, "predicted_class").attrs
    np.testing.assert_array_equal(column_values(back.predicted_class), column_values(rt.predicted_class))


@pytest.mark.parametrize("rounding", [Quantize(1), Quantize(16), Quantize(23), BitRound(0), BitRound(7), BitRound(22)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rounding_keeps_the_dtype_and_its_error_bound(rounding: Any, dtype: type) -> None:
    rng = np.random.default_rng(5)
    data = np.concatenate([rng.random(2000), rng.normal(0, 1e3, 2000), [0.0, 1.0, 0.5, 2**-30]]).astype(dtype)
    out = rounding.apply(data)
    assert out.dtype == data.dtype and out.shape == data.shape
    error = np.abs(out.astype(np.float64) - data.astype(np.float64))
    bound = rounding.max_error * (np.abs(data.astype(np.float64)) if isinstance(rounding, BitRound) else 1.0)
    assert (error <= bound).all()


def test_writing_does_not_change_the_table_so_it_writes_again_to_the_other_backend(tmp_path: Path) -> None:
    rt = full_table(N)
    before = {c.name: c.data for c in rt.columns}
    steps = [("a.h5", "fast"), ("b.zarr", "compact"), ("c.h5", "portable"), ("d.zarr", "uncompressed")]
    for name, preset in steps:
        path = hdmf_ai.write(rt, tmp_path / name, preset=preset)
        assert all(c.data is before[c.name] for c in rt.columns), f"columns changed by the write to {name}"
        assert_tables_equal(hdmf_ai.read(path), rt)
    assert hdf5_filters(dataset(tmp_path / "a.h5", "predicted_probability")) == {32001}
    assert hdf5_filters(dataset(tmp_path / "c.h5", "predicted_probability")) == {1, 2}
    assert zarr_codec_names(dataset(tmp_path / "d.zarr", "predicted_probability")) == ["bytes"]


def test_an_unknown_preset_is_a_clear_error(path: Path) -> None:
    with pytest.raises(StorageError, match=r"unknown storage preset 'tiny'; choose one of \['compact'"):
        hdmf_ai.write(full_table(5), path, preset="tiny")
    assert not path.exists()


def test_delta_on_hdf5_is_a_clear_error_and_leaves_no_file(tmp_path: Path) -> None:
    rt = full_table(N)
    before = rt.samples.data
    target = tmp_path / "r.h5"
    with pytest.raises(StorageError, match=r"column 'results/samples': HDF5 has no delta filter"):
        hdmf_ai.write(rt, target, storage={"samples": Setting(codecs=(Delta(), Zstd()))})
    assert list(tmp_path.iterdir()) == []
    assert rt.samples.data is before


def test_a_chain_hdf5_cannot_express_is_a_clear_error(tmp_path: Path) -> None:
    bad = Setting(codecs=(Zstd(), Gzip()))
    with pytest.raises(StorageError, match=r"'results/loss': HDF5 takes an optional Shuffle\(\) then one compressor"):
        hdmf_ai.write(full_table(5), tmp_path / "r.h5", storage={"loss": bad})


def test_storage_naming_no_column_is_a_clear_error(path: Path) -> None:
    with pytest.raises(StorageError, match=r"columns \['predicted_probabilty'\] that no table"):
        hdmf_ai.write(full_table(5), path, storage={"predicted_probabilty": Setting()})


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Blosc(cname="snappy"), "Blosc: expected cname"),
        (lambda: Gzip(level=12), "Gzip: expected a level from 0 to 9; got 12"),
        (lambda: Setting(codecs=[Shuffle()]), "expected a tuple of codecs"),
        (lambda: Setting(chunk_rows=0), "chunks need at least one row"),
        (lambda: Quantize(30), "Quantize: expected bits from 1 to 23; got 30"),
        (lambda: policy.lossy(), "give exactly one of"),
    ],
)
def test_bad_settings_are_refused_when_made(make: Any, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        make()


def test_narrowing_an_integer_column_that_does_not_fit_is_refused(path: Path) -> None:
    rt = full_table(N)
    with pytest.raises(StorageError, match=r"'results/id': expected values that fit the on-disk dtype uint8"):
        hdmf_ai.write(rt, path, storage={"id": Setting(dtype="uint8")})


def _loss_table(values: Any) -> hdmf_ai.ResultsTable:
    rt = hdmf_ai.ResultsTable(name="results")
    rt.add_column("loss", "per-sample loss", data=values)
    return rt


@pytest.mark.parametrize(
    ("values", "stored"),
    [
        (np.array([0, 7, 255], dtype=np.int64), "uint8"),  # both ends of uint8
        (np.array([-128, 0, 127], dtype=np.int64), "int8"),  # both ends of int8
        (np.array([True, False, True]), "uint8"),  # booleans are integers 0 and 1
        (np.array([1.5, -2.25, 1e30], dtype=np.float32), "float64"),  # widening a float is lossless
        (np.array([1.5, -2.25, 1e300], dtype=">f8"), "float64"),  # the same width, other byte order: lossless
    ],
)
def test_a_dtype_setting_stores_the_values_in_that_dtype(path: Path, values: np.ndarray, stored: str) -> None:
    hdmf_ai.write(_loss_table(values), path, storage={"loss": Setting(dtype=stored)})
    on_disk = dataset(path, "loss")
    assert on_disk.dtype == np.dtype(stored)
    np.testing.assert_array_equal(on_disk[:], values.astype(stored))
    np.testing.assert_array_equal(column_values(hdmf_ai.read(path)["loss"]), values.astype(stored))


@pytest.mark.parametrize(
    ("values", "stored", "got"),
    [
        (np.array([0, 5, 256], dtype=np.int64), "uint8", "from 0 to 256"),  # one past the top
        (np.array([-1, 5, 255], dtype=np.int64), "uint8", "from -1 to 255"),  # one below the bottom
        (np.array([-129, 0, 127], dtype=np.int64), "int8", "from -129 to 127"),
        (np.array([-128, 0, 128], dtype=np.int64), "int8", "from -128 to 128"),
    ],
)
def test_a_dtype_setting_too_narrow_for_the_values_is_refused_naming_both(
    path: Path, values: np.ndarray, stored: str, got: str
) -> None:
    expected = rf"column 'results/loss': expected values that fit the on-disk dtype {stored}; got values {got}$"
    with pytest.raises(StorageError, match=expected):
        hdmf_ai.write(_loss_table(values), path, storage={"loss": Setting(dtype=stored)})
    assert not path.exists()


@pytest.mark.parametrize(
    ("values", "stored"),
    [
        (np.array([0.5, 1.0 / 3.0]), "float32"),  # narrowing a float loses precision
        (np.array([1, 2, 3], dtype=np.int64), "float64"),  # integers are not silently made floats
        (np.array([0.5, 1.5]), "int64"),  # nor floats integers
    ],
)
def test_a_lossy_dtype_setting_is_refused_without_a_lossy_setting(path: Path, values: np.ndarray, stored: str) -> None:
    expected = (
        rf"^column 'results/loss': cannot store dtype {values.dtype} as {stored} losslessly; "
        "narrowing a float needs an explicit lossy setting$"
    )
    with pytest.raises(StorageError, match=expected):
        hdmf_ai.write(_loss_table(values), path, storage={"loss": Setting(dtype=stored)})
    assert not path.exists()


def test_a_narrower_float_dtype_with_a_lossy_setting_is_stored_rounded(path: Path) -> None:
    values = np.array([0.5, 1.0 / 3.0, -2.75])
    hdmf_ai.write(_loss_table(values), path, storage={"loss": Setting(dtype="float32", lossy=BitRound(10))})
    on_disk = dataset(path, "loss")
    assert on_disk.dtype == np.float32
    np.testing.assert_allclose(on_disk[:], values, rtol=2.0**-10)
    assert not np.array_equal(on_disk[:].astype(np.float64), values)  # 1/3 is rounded


def test_reading_a_fast_hdf5_file_without_hdf5plugin_names_the_package(tmp_path: Path) -> None:
    path = hdmf_ai.write(full_table(20), tmp_path / "fast.h5", preset="fast")
    code = (
        "import sys; sys.modules['hdf5plugin'] = None\n"  # as on a machine without the package
        "import hdmf_ai\n"
        "try:\n    hdmf_ai.read(sys.argv[1])\n"
        "except hdmf_ai.HdmfAiError as err:\n    print(type(err).__name__, err)\n"
    )
    env = {**os.environ, "HDF5_PLUGIN_PATH": str(tmp_path / "no-plugins")}
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.startswith("MissingDependencyError"), out.stdout + out.stderr
    assert "blosc (32001)" in out.stdout and "pip install hdf5plugin" in out.stdout


# -- the reference hdmf-ai 0.2.0 reads files of the portable preset -----------------------------------------


@pytest.mark.interop
@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_the_reference_reads_portable_files(tmp_path: Path, backend: str) -> None:
    from refenv import ReferenceEnvUnavailable, ensure_reference_venv, run_reference
    from test_interop import assert_columns_read_right, table_the_reference_can_construct

    try:
        ref_python = ensure_reference_venv(Path(__file__).resolve().parents[1] / ".cache" / "refenv")
    except ReferenceEnvUnavailable as err:
        pytest.skip(f"the reference hdmf-ai 0.2.0 environment cannot be built here: {err}")
    rt = table_the_reference_can_construct(N)
    path = hdmf_ai.write(rt, tmp_path / ("ours.h5" if backend == "hdf5" else "ours.zarr"), preset="portable")
    if backend == "hdf5":
        assert dataset(path, "predicted_probability").compression == "gzip"
    report = json.loads(run_reference(ref_python, "read_with_reference.py", str(path)).stdout)
    assert report["open_error"] is None and report["read_error"] is None, report
    [table] = report["results_tables"]
    assert table["constructed"] and not table["column_errors"]
    assert_columns_read_right(table, rt)
