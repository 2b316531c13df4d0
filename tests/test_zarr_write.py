"""The Zarr write path without the copy (issue 11): the stores it writes are the stores hdmf-zarr writes.

hdmf-ai writes numeric columns through ``FilledZarrDataIO``: hdmf-zarr creates each array, and ``write_rows``
fills it from the user's array with zarr's fused codec pipeline, shards encoded on every core. The oracle is
hdmf-zarr's own writer (``ZarrIO``, whose ``__list_fill__`` stores ``np.array(data, dtype=dtype)``): the same
table written through it gives the same store, every ``zarr.json`` key by key and every chunk and shard file
byte for byte, and plain zarr reads the same values from both. The batched writer's rows likewise match zarr's
own assignment into the same arrays.
"""

from __future__ import annotations

import json
import shutil
import tracemalloc
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import zarr
from builders import assert_columns_equal, assert_tables_equal, full_table
from hdmf_zarr import ZarrIO

import hdmf_ai
from hdmf_ai.io import zarr as zarr_backend
from hdmf_ai.io.backend import Sink
from hdmf_ai.io.convert import convert
from hdmf_ai.io.policy import PRESETS, Blosc, Setting, Shuffle, Zstd

N = 1_000

#: settings that give several shards per column, a partial shard at the end, and an unsharded column
SMALL_SHARDS = {
    "predicted_probability": Setting(codecs=(Blosc("zstd", 3, "byte"),), chunk_rows=64, shard_chunks=4),
    "loss": Setting(codecs=(Shuffle(), Zstd(3)), chunk_rows=100, shard_chunks=3),
    "embedding": Setting(codecs=(Blosc("lz4", 5, "byte"),), chunk_rows=96),
    "cluster_label": Setting(chunk_rows=128, shard_chunks=2),
}


@pytest.fixture
def hdmf_zarr_writes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Writes go through hdmf-zarr's own ZarrIO (the path before this change); reads as before."""
    reading = zarr_backend.ZarrBackend.open_io

    def open_io(self: Any, path: Path, mode: str, manager: Any) -> Any:
        return reading(self, path, mode, manager) if mode == "r" else ZarrIO(path=str(path), mode=mode, manager=manager)

    with monkeypatch.context() as patch:
        patch.setattr(zarr_backend.ZarrBackend, "open_io", open_io)
        yield


@pytest.fixture
def filled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the arrays write_rows fills (the new path, seen taken)."""
    paths: list[str] = []
    write_rows = zarr_backend.write_rows

    def recording(array: zarr.Array[Any], start: int, data: np.ndarray) -> None:
        paths.append(array.path)
        write_rows(array, start, data)

    monkeypatch.setattr(zarr_backend, "write_rows", recording)
    return paths


def _files(store: Path) -> dict[str, bytes]:
    return {str(p.relative_to(store)): p.read_bytes() for p in sorted(store.rglob("*")) if p.is_file()}


def _metadata(name: str, text: bytes) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(text)
    if name == "zarr.json":  # the root container is made anew by every write (build.root_container): its id
        document["attributes"].pop("object_id")
    return document


def _arrays(group: zarr.Group, prefix: str = "") -> Iterator[tuple[str, zarr.Array[Any]]]:
    for name, node in group.members():
        if isinstance(node, zarr.Group):
            yield from _arrays(node, f"{prefix}{name}/")
        else:
            yield f"{prefix}{name}", node


def assert_same_store(got: Path, want: Path) -> None:
    """Same files; metadata documents equal key by key, every other file byte for byte; plain zarr's values."""
    got_files, want_files = _files(got), _files(want)
    assert sorted(got_files) == sorted(want_files)
    for name, data in want_files.items():
        if name.endswith("zarr.json"):
            got_doc, want_doc = _metadata(name, got_files[name]), _metadata(name, data)
            assert sorted(got_doc) == sorted(want_doc), name
            for key in want_doc:
                assert got_doc[key] == want_doc[key], (name, key)
        else:
            assert got_files[name] == data, name
    got_arrays = dict(_arrays(zarr.open_group(str(got), mode="r", use_consolidated=False)))
    want_arrays = dict(_arrays(zarr.open_group(str(want), mode="r", use_consolidated=False)))
    assert sorted(got_arrays) == sorted(want_arrays)
    for name, array in want_arrays.items():
        values, expected = np.asarray(got_arrays[name][...]), np.asarray(array[...])
        assert values.dtype == expected.dtype, name
        np.testing.assert_array_equal(values, expected, err_msg=name)
        assert dict(got_arrays[name].attrs) == dict(array.attrs), name


def _write(table: hdmf_ai.ResultsTable, path: Path, *, preset: str, storage: dict[str, Setting] | None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # hdmf's notices about the columns' settings
        hdmf_ai.write(table, path, preset=preset, storage=storage)


@pytest.mark.parametrize(
    ("preset", "storage"),
    [*((name, None) for name in sorted(PRESETS)), ("portable", SMALL_SHARDS)],
    ids=[*sorted(PRESETS), "small-shards"],
)
def test_a_store_written_without_the_copy_is_the_store_hdmf_zarr_writes(
    tmp_path: Path, request: pytest.FixtureRequest, filled: list[str], preset: str, storage: dict[str, Setting] | None
) -> None:
    table = full_table(N)  # one table written twice: its containers' object ids are the same in both stores
    _write(table, tmp_path / "filled.zarr", preset=preset, storage=storage)
    assert {"results/predicted_probability", "results/loss", "results/id"} <= set(filled)
    request.getfixturevalue("hdmf_zarr_writes")
    _write(table, tmp_path / "copied.zarr", preset=preset, storage=storage)
    assert_same_store(tmp_path / "filled.zarr", tmp_path / "copied.zarr")
    assert_tables_equal(hdmf_ai.read(tmp_path / "filled.zarr"), hdmf_ai.read(tmp_path / "copied.zarr"))


def test_convert_and_adding_a_table_write_the_stores_hdmf_zarr_writes(
    tmp_path: Path, request: pytest.FixtureRequest, filled: list[str]
) -> None:
    source = hdmf_ai.write(full_table(N), tmp_path / "source.h5", preset="uncompressed")
    base = hdmf_ai.write(full_table(N // 2, name="base"), tmp_path / "base.zarr")
    added = full_table(N // 2, name="added")  # one table added to two copies of one store (its source reused)
    for name in ("filled", "copied"):
        if name == "copied":
            assert {"results/predicted_probability", "added/predicted_probability"} <= set(filled)
            request.getfixturevalue("hdmf_zarr_writes")
        convert(source, tmp_path / f"converted-{name}.zarr", storage=SMALL_SHARDS)
        shutil.copytree(base, tmp_path / f"added-{name}.zarr")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            hdmf_ai.write(added, tmp_path / f"added-{name}.zarr", mode="a", storage=SMALL_SHARDS)
        added.reset_parent()  # the table stays in the first store's root; free again for the second
    assert_same_store(tmp_path / "converted-filled.zarr", tmp_path / "converted-copied.zarr")
    assert_same_store(tmp_path / "added-filled.zarr", tmp_path / "added-copied.zarr")


def test_write_nwb_writes_the_store_hdmf_zarrs_nwb_io_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, filled: list[str]
) -> None:
    pytest.importorskip("pynwb", reason="write_nwb needs pynwb (pip install 'hdmf-ai[nwb]')")
    from datetime import UTC, datetime

    from hdmf_zarr.nwb import NWBZarrIO
    from pynwb import NWBFile

    from hdmf_ai.nwb import add_to_nwbfile, write_nwb

    nwbfile = NWBFile(session_description="s", identifier="i", session_start_time=datetime(2024, 5, 6, tzinfo=UTC))
    table = full_table(N)
    add_to_nwbfile(nwbfile, table)
    write_nwb(nwbfile, tmp_path / "filled.nwb.zarr", storage=SMALL_SHARDS)
    assert "analysis/results/predicted_probability" in filled
    for obj in [nwbfile, *nwbfile.all_children()]:  # hdmf ties containers to the first file written, as append does
        setattr(obj, "_AbstractContainer__container_source", None)  # noqa: B010
    with monkeypatch.context() as patch:
        patch.setattr(zarr_backend.ZarrBackend, "nwb_io_class", lambda self, path, mode: NWBZarrIO)
        write_nwb(nwbfile, tmp_path / "copied.nwb.zarr", storage=SMALL_SHARDS)
    got, want = _files(tmp_path / "filled.nwb.zarr"), _files(tmp_path / "copied.nwb.zarr")
    assert sorted(got) == sorted(want)
    assert got == want
    assert_columns_equal(
        hdmf_ai.read(tmp_path / "filled.nwb.zarr")["predicted_probability"], table["predicted_probability"]
    )


def test_numeric_columns_are_filled_by_hdmf_ai_and_text_by_hdmf_zarr(tmp_path: Path) -> None:
    backend = zarr_backend.ZarrBackend()
    setting = PRESETS["portable"].setting("zarr", "float")
    numbers, _ = backend.data_io(np.zeros((3, 2), dtype=np.float32), setting, "t/x")
    text, _ = backend.data_io(np.array(["a", "b"], dtype=object), setting, "t/y")
    empty, _ = backend.data_io(np.zeros((0,), dtype=np.int64), setting, "t/z")
    assert numbers is zarr_backend.FilledZarrDataIO
    assert text is not zarr_backend.FilledZarrDataIO
    assert empty is not zarr_backend.FilledZarrDataIO


def _plain_array(path: Path, *, shards: tuple[int, ...] | None) -> zarr.Array[Any]:
    with zarr.config.set({"array.write_empty_chunks": True}):
        return zarr.create_array(
            str(path),
            shape=(1_000, 3),
            dtype="float32",
            chunks=(32, 3),
            shards=shards,
            compressors=[zarr.codecs.BloscCodec(cname="zstd", clevel=3), zarr.codecs.Crc32cCodec()],
        )


@pytest.mark.parametrize("shards", [(96, 3), None], ids=["sharded", "unsharded"])
@pytest.mark.parametrize("start", [0, 50, 96])
def test_write_rows_stores_what_zarr_stores(tmp_path: Path, shards: tuple[int, ...] | None, start: int) -> None:
    # float64 rows into a float32 array: cast as numpy casts, a few shards at a time; a partial shard first and
    # last (start 50), whole shards only (start 96), the array's edge shard
    data = np.random.default_rng(3).normal(size=(1_000 - start, 3))
    first = np.arange(3_000, dtype=np.float32).reshape(1_000, 3)  # what the rows before start hold
    got, want = _plain_array(tmp_path / "got.zarr", shards=shards), _plain_array(tmp_path / "want.zarr", shards=shards)
    for array in (got, want):
        array[...] = first
    zarr_backend.write_rows(got, start, data)
    want[start:] = np.array(data, dtype=np.float32)
    assert _files(tmp_path / "got.zarr") == _files(tmp_path / "want.zarr")
    values = np.asarray(zarr.open_array(str(tmp_path / "got.zarr"), mode="r")[...])
    np.testing.assert_array_equal(values[:start], first[:start])
    np.testing.assert_array_equal(values[start:], np.array(data, dtype=np.float32))


def test_the_batched_writer_stores_what_zarr_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def run(path: Path) -> None:
        rng = np.random.default_rng(5)
        storage = {"predicted_probability": SMALL_SHARDS["predicted_probability"]}
        with hdmf_ai.ResultsWriter(path, columns={"predicted_probability": (7,)}, storage=storage) as writer:
            for size in (100, 300, 37, 500):
                probabilities = rng.dirichlet(np.ones(7), size).astype(np.float32)
                writer.append(predicted_probability=probabilities, tvt_split=np.ones(size, dtype=np.uint8))

    run(tmp_path / "filled.zarr")
    with monkeypatch.context() as patch:  # zarr's own assignment, into arrays on zarr's default pipeline
        patch.setattr(zarr_backend, "fused", lambda array: array)
        patch.setattr(zarr_backend.ZarrSink, "write", Sink.write)
        run(tmp_path / "assigned.zarr")
    got, want = _files(tmp_path / "filled.zarr"), _files(tmp_path / "assigned.zarr")
    assert sorted(got) == sorted(want)
    chunks = [name for name in want if not name.endswith("zarr.json")]
    assert any(name.startswith("results/predicted_probability/") for name in chunks)
    for name in chunks:
        assert got[name] == want[name], name


def _peak_of_write(path: Path, n: int) -> int:
    table = hdmf_ai.ResultsTable(name="results", description="peak memory")
    probabilities = np.random.default_rng(n).random((n, 100), dtype=np.float32)
    table.add_predicted_probability(probabilities, check_sum=False)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        hdmf_ai.write(table, path, overwrite=True)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_a_write_makes_no_temporary_as_large_as_a_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # what numpy and Python allocate (tracemalloc sees numpy's buffers) does not grow with the column: shards in
    # flight only, on two workers (hdmf-zarr's own write holds a copy of the whole column)
    monkeypatch.setattr(zarr_backend, "workers", lambda: 2)
    path = tmp_path / "peak.zarr"
    _peak_of_write(path, 100)  # imports, type maps and pools: not the write's
    small, large = _peak_of_write(path, 30_000), _peak_of_write(path, 120_000)
    added = 90_000 * 100 * 4  # bytes the larger column adds
    assert large - small < 0.1 * added, (small, large)
