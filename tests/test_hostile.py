"""Hostile files and bombs (issue 18, item 4): a file or chunk that is not a regular file is refused before it
is opened; nesting depth and object counts are bounded; compressed chunks are bounded by their declared chunk
shape before they are decoded (io/safety.py, io/zarrguard.py, io/zarr.py). Each refusal is our typed error
naming the file and the object, and a bomb is refused with memory far below what it declares."""

from __future__ import annotations

import bz2
import json
import lzma
import os
import struct
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import google_crc32c
import h5py
import numcodecs
import numpy as np
import pytest
from attack.core import damaged_copy
from attack.hostile import add_zarr_groups, blosc_bomb, gzip_bomb, nesting, zstd_bomb
from attack.zarr import edit_metadata, first_chunk, reshard, set_crc
from builders import assert_tables_equal, full_table
from fuzz.isolation import refused_or, run_isolated

import hdmf_ai
from hdmf_ai.io.h5chunks import fletcher32
from hdmf_ai.io.hdf5 import checked_file
from hdmf_ai.io.safety import MAX_DEPTH, decoded_size_problem
from hdmf_ai.io.zarr import tree_problem

N_ROWS = 60
#: what a refused bomb may cost, against the gigabytes it declares
PEAK_LIMIT = 64 * 2**20


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("pristine")
    table = full_table(N_ROWS)
    return {
        backend: hdmf_ai.write(table, out / f"results{suffix}")
        for backend, suffix in (("hdf5", ".h5"), ("zarr", ".zarr"))
    }


def copy_of(source: Path, tmp_path: Path) -> Path:
    return damaged_copy(source, tmp_path / "damaged" / source.name)


@pytest.fixture
def peak() -> Iterator[Callable[[], int]]:
    """The peak of Python's and numpy's allocations (tracemalloc) while the test runs."""
    tracemalloc.start()
    yield lambda: tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()


def loss_slice(path: Path) -> Any:
    with hdmf_ai.open(path) as table:
        return table["loss"].data[:10]


def opened(path: Path) -> None:
    with hdmf_ai.open(path):
        pass


def refused(call: Callable[[], Any], *names: str) -> str:
    with pytest.raises(hdmf_ai.ResultsFileError) as caught:
        call()
    message = str(caught.value)
    for name in names:
        assert name in message, message
    return message


# -- the size check itself, against the codecs' own decoders (the oracle) ------------------------------------

CODECS: dict[str, Callable[[bytes], bytes]] = {
    "zstd": lambda raw: bytes(numcodecs.Zstd(level=3).encode(raw)),
    "blosc": lambda raw: bytes(numcodecs.Blosc(cname="zstd", shuffle=numcodecs.Blosc.SHUFFLE).encode(raw)),
    "lz4": lambda raw: bytes(numcodecs.LZ4().encode(raw)),
    "gzip": lambda raw: bytes(numcodecs.GZip(level=5).encode(raw)),
    "zlib": zlib.compress,
    "bz2": bz2.compress,
    "lzma": lzma.compress,
}


@pytest.mark.parametrize("codec", sorted(CODECS))
@pytest.mark.parametrize("n", [0, 1, 1000, 300_000])
def test_decoded_size_bound_is_exact_for_real_frames(codec: str, n: int) -> None:
    raw = np.random.default_rng(n).integers(0, 5, n, dtype=np.int32).tobytes()
    encoded = CODECS[codec](raw)
    assert decoded_size_problem(codec, encoded, len(raw)) is None
    if raw:
        assert "decodes to" in str(decoded_size_problem(codec, encoded, len(raw) - 1))


def test_bombs_decode_to_what_they_declare_and_are_refused_by_their_header() -> None:
    # the attack's bombs are real: decoded at a small size by the codecs' own decoders
    assert len(numcodecs.Zstd().decode(zstd_bomb(2**20))) == 2**20
    assert len(numcodecs.blosc.decompress(blosc_bomb(size=2**22))) == 2**22
    assert len(zlib.decompressobj(31).decompress(gzip_bomb(2**23))) == 2**23
    for codec, bomb, declared in (("zstd", zstd_bomb(), "4,294,967,296"), ("blosc", blosc_bomb(), "2,147,221,504")):
        assert declared in str(decoded_size_problem(codec, bomb, 480))
    assert "1,048,576" in str(decoded_size_problem("gzip", gzip_bomb(), 480))  # decoded a MiB at most


def test_zstd_frame_without_its_size_is_refused() -> None:
    frame = bytearray(zstd_bomb(1000))
    frame[4] = 0x00  # no single segment, no size: a window descriptor follows instead
    frame[5:13] = b"\x58"  # a window descriptor, then the blocks
    assert "does not state its size" in str(decoded_size_problem("zstd", bytes(frame[:6]) + bytes(frame[13:]), 10**9))


# -- Zarr bombs ------------------------------------------------------------------------------------------------


def _with_chunk(store: Path, array: str, body: bytes) -> None:
    chunk = first_chunk(store, array)
    chunk.write_bytes(body + b"\0\0\0\0")
    set_crc(chunk)


@pytest.mark.parametrize("kind", ["blosc", "zstd", "gzip", "zstd text"])
def test_zarr_bomb_is_refused_before_decoding(
    pristine: dict[str, Path], tmp_path: Path, peak: Callable[[], int], kind: str
) -> None:
    path = copy_of(pristine["zarr"], tmp_path)
    if kind == "blosc":
        _with_chunk(path, "results/loss", blosc_bomb())
    elif kind == "zstd":
        reshard(path, "results/loss", codecs="compact")
        _with_chunk(path, "results/loss", zstd_bomb())
    elif kind == "gzip":
        chain = [
            {"name": "bytes", "configuration": {"endian": "little"}},
            {"name": "gzip", "configuration": {"level": 5}},
        ]
        edit_metadata(path, "results/loss", lambda d: d.update(codecs=[*chain, {"name": "crc32c"}]))
        _with_chunk(path, "results/loss", gzip_bomb())
    else:  # strings: hdmf-zarr's chain has no CRC
        first_chunk(path, "source/site").write_bytes(zstd_bomb())
    array = "source/site" if kind == "zstd text" else "results/loss"
    tracemalloc.reset_peak()
    refused(lambda: hdmf_ai.read(path), path.name, array, "chunk shape")
    with hdmf_ai.open(path) as table:
        column = table.samples.table["site"] if kind == "zstd text" else table["loss"]
        refused(lambda: column.data[:5], array)
    assert hdmf_ai.validate(path)
    assert peak() < PEAK_LIMIT, f"peak {peak() / 2**20:.0f} MiB"


def test_zarr_stores_of_every_preset_still_read(tmp_path: Path) -> None:
    """The bounds do not refuse what the writer makes: each preset, large enough to shard, read back whole."""
    table = full_table(120_000)
    for preset in ("portable", "fast", "compact", "uncompressed"):
        path = hdmf_ai.write(table, tmp_path / f"{preset}.zarr", preset=preset)
        assert_tables_equal(hdmf_ai.read(path), table)
        with hdmf_ai.open(path) as lazy:
            np.testing.assert_array_equal(lazy["loss"].data[50_000:50_010], table["loss"].data[50_000:50_010])


# -- HDF5 bombs (the Blosc filter of the fast and compact presets) -------------------------------------------


@pytest.mark.parametrize("preset", ["fast", "compact"])
def test_hdf5_blosc_bomb_is_refused_before_hdf5_decodes_it(
    pristine: dict[str, Path], tmp_path: Path, peak: Callable[[], int], preset: str
) -> None:
    pytest.importorskip("hdf5plugin")
    path = hdmf_ai.write(full_table(N_ROWS), tmp_path / "results.h5", preset=preset)
    bomb = blosc_bomb("lz4" if preset == "fast" else "zstd", 8)
    with h5py.File(path, "r+") as f:
        f["results/loss"].id.write_direct_chunk((0,), bomb + struct.pack("<I", fletcher32(bomb)))
    tracemalloc.reset_peak()
    for call in (hdmf_ai.read, opened, hdmf_ai.list_tables, hdmf_ai.validate):
        refused(lambda call=call: call(path), path.name, "results/loss", "2,147,221,504")
    assert peak() < PEAK_LIMIT, f"peak {peak() / 2**20:.0f} MiB"


# -- not regular files -----------------------------------------------------------------------------------------


def _read_in_child(path: str) -> str:
    try:
        hdmf_ai.read(path)
    except hdmf_ai.ResultsFileError as err:
        return f"refused: {err}"
    return "read"


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
@pytest.mark.parametrize("what", ["fifo", "/dev/zero"])
def test_file_that_is_a_fifo_or_a_device_is_refused_without_opening_it(tmp_path: Path, backend: str, what: str) -> None:
    path = tmp_path / ("results.h5" if backend == "hdf5" else "results.zarr")
    if what == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(what)
    how, outcome = run_isolated(_read_in_child, str(path), timeout=30.0)  # a FIFO opened for reading blocks
    assert how == "returned" and outcome.startswith("refused") and path.name in outcome, (how, outcome)
    assert ("FIFO" if what == "fifo" else "device") in outcome


@pytest.mark.parametrize("what", ["fifo", "/dev/zero", "directory"])
def test_zarr_chunk_that_is_not_a_regular_file_is_refused_by_every_call(
    pristine: dict[str, Path], tmp_path: Path, what: str
) -> None:
    path = copy_of(pristine["zarr"], tmp_path)
    chunk = first_chunk(path, "results/loss")
    chunk.unlink()
    if what == "fifo":
        os.mkfifo(chunk)
    elif what == "directory":
        chunk.mkdir()
    else:
        chunk.symlink_to(what)
    # a directory in place of a chunk: zarr's size listing counts the files inside it; inspect reads no value
    for call in ("read",) if what == "directory" else ("read", "inspect"):
        how, outcome = run_isolated(_call_in_child, call, str(path), timeout=30.0)
        assert how == "returned" and outcome.startswith("refused") and "results/loss/c/0" in outcome, (call, outcome)


def _call_in_child(call: str, path: str) -> str:
    try:
        if call == "read":
            hdmf_ai.read(path)
        else:
            from hdmf_ai.report import inspect_file

            inspect_file(path).lines()
    except hdmf_ai.ResultsFileError as err:
        return f"refused: {err}"
    return "read"


def test_zarr_array_directory_replaced_by_a_file_is_refused(pristine: dict[str, Path], tmp_path: Path) -> None:
    path = copy_of(pristine["zarr"], tmp_path)
    array = path / "source/age"
    metadata = (array / "zarr.json").read_bytes()
    for entry in sorted(array.rglob("*"), reverse=True):
        entry.rmdir() if entry.is_dir() else entry.unlink()
    array.rmdir()
    array.write_bytes(metadata)
    refused(lambda: hdmf_ai.read(path), path.name, "source/age")
    how, outcome = run_isolated(_call_in_child, "inspect", str(path), timeout=30.0)
    assert how == "returned" and outcome.startswith("refused") and "source/age" in outcome, outcome


# -- depth and numbers of objects --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_deep_nesting_is_refused_naming_the_depth(pristine: dict[str, Path], tmp_path: Path, backend: str) -> None:
    variants = 0
    made = nesting(pristine[backend], tmp_path)
    try:
        for _, path in made:  # each variant is removed once the next is asked for (or the generator closed)
            variants += 1
            for call in (hdmf_ai.read, hdmf_ai.list_tables, hdmf_ai.validate):
                refused(lambda call=call, path=path: call(path), path.name, f"the {MAX_DEPTH} allowed")
    finally:
        made.close()
    assert variants == 2


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_nesting_up_to_the_bound_is_not_refused(pristine: dict[str, Path], tmp_path: Path, backend: str) -> None:
    path = copy_of(pristine[backend], tmp_path)
    chain = ["n" + "/n" * depth for depth in range(MAX_DEPTH)]  # the deepest group: MAX_DEPTH levels down
    deeper = chain[-1] + "/n"
    if backend == "hdf5":
        with h5py.File(path, "r+") as f:
            f.require_group(chain[-1])
        checked_file(path, source=path).close()
        with h5py.File(path, "r+") as f:
            f.require_group(deeper)
        refused(lambda: checked_file(path, source=path), path.name, f"the {MAX_DEPTH} allowed")
    else:
        add_zarr_groups(path, chain)
        assert tree_problem(path) is None
        add_zarr_groups(path, [deeper])
        assert f"the {MAX_DEPTH} allowed" in str(tree_problem(path))


# -- shard indexes and consolidated metadata -------------------------------------------------------------------


def _index(shard: Path, n: int) -> tuple[bytes, list[tuple[int, int]]]:
    raw = shard.read_bytes()
    body, index = raw[: -(16 * n + 4)], raw[-(16 * n + 4) : -4]
    return body, [struct.unpack_from("<QQ", index, 16 * i) for i in range(n)]


def _write_index(shard: Path, body: bytes, entries: list[tuple[int, int]]) -> None:
    index = b"".join(struct.pack("<QQ", *e) for e in entries)
    shard.write_bytes(body + index + struct.pack("<I", google_crc32c.value(index)))


@pytest.mark.parametrize("edit", ["empty", "overlapping", "past the end"])
def test_zarr_shard_index_damage_is_refused_on_read_and_on_a_lazy_slice(
    pristine: dict[str, Path], tmp_path: Path, edit: str
) -> None:
    path = copy_of(pristine["zarr"], tmp_path)
    reshard(path, "results/loss")
    assert_tables_equal(hdmf_ai.read(path), full_table(N_ROWS))  # resharded: the same values
    shard = first_chunk(path, "results/loss")
    body, entries = _index(shard, 6)
    if edit == "empty":
        entries[2] = (2**64 - 1, 2**64 - 1)
    elif edit == "overlapping":
        entries[3] = (entries[2][0], entries[3][1])
    else:
        entries[5] = (len(body) + 100, entries[5][1])
    _write_index(shard, body, entries)
    expected = {"empty": "chunk 2 missing", "overlapping": "overlapping", "past the end": "past the end"}[edit]
    refused(lambda: hdmf_ai.read(path), path.name, "results/loss", expected)
    with hdmf_ai.open(path) as table:
        refused(lambda: table["loss"].data[20:30], "results/loss")
    assert hdmf_ai.validate(path)


EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "shape": lambda d: d.update(shape=[59]),
    "dtype": lambda d: d.update(data_type="int64"),
    "endian": lambda d: d["codecs"][0]["configuration"].update(endian="big"),
    "description": lambda d: d["attributes"].update(description="not what was written"),
}


def test_zarr_consolidated_group_attributes_disagreeing_with_the_node_are_refused(
    pristine: dict[str, Path], tmp_path: Path
) -> None:
    path = copy_of(pristine["zarr"], tmp_path)
    edit_metadata(
        path,
        "results",
        lambda d: d["attributes"].update(colnames=d["attributes"]["colnames"][::-1]),
        where="consolidated",
    )
    for call in (hdmf_ai.read, hdmf_ai.list_tables, hdmf_ai.validate, opened):
        refused(lambda call=call: call(path), path.name, "'results'", "attribute 'colnames'")


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_zarr_consolidated_metadata_disagreeing_with_the_node_is_refused(
    pristine: dict[str, Path], tmp_path: Path, edit: str
) -> None:
    path = copy_of(pristine["zarr"], tmp_path)
    edit_metadata(path, "results/loss", EDITS[edit], where="consolidated")
    refused(lambda: hdmf_ai.read(path), path.name, "results/loss", "consolidated metadata disagree on")
    refused(lambda: loss_slice(path), path.name, "results/loss", "consolidated metadata disagree on")
    refused(lambda: hdmf_ai.validate(path), path.name, "results/loss", "consolidated metadata disagree on")
    assert json.loads((path / "results/loss/zarr.json").read_bytes())["shape"] == [N_ROWS]


# -- chunk index entries HDF5 trusts (found by the structure-aware fuzzer, tests/fuzz/structure.py) ---------


@pytest.fixture(scope="module")
def both_writers(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """HDF5 files of ``write`` (version-1 B-tree chunk indexes) and of the batched writer (extensible arrays)."""
    from attack.core import pristine_files

    files = pristine_files(tmp_path_factory.mktemp("writers"))
    return {name: path for name, path in files.items() if name.startswith("hdf5/")}


@pytest.mark.parametrize("writer", ["hdf5/write", "hdf5/writer"])
@pytest.mark.parametrize("size", [0, 3])
def test_a_chunk_recorded_with_a_size_no_chunk_has_is_refused_before_hdf5_reads_it(
    both_writers: dict[str, Path], tmp_path: Path, writer: str, size: int
) -> None:
    """A filtered chunk (shuffle, deflate, Fletcher-32) recorded as 0 bytes made HDF5 crash (SIGSEGV) when hdmf
    built the column; fewer than Fletcher-32's 4 bytes cannot be a chunk either. Each call runs in a child: a
    crash there fails the test instead of ending the run."""
    from attack.hdf5 import chunk_entry, edit, first_chunks

    path = copy_of(both_writers[writer], tmp_path)
    offset = next(at for name, at, _ in first_chunks(path) if name == "results/id")
    kind, where, width = chunk_entry(path.read_bytes(), offset)
    edit(path, {where: struct.pack("<I", size)} if kind == "tree" else {where + 8: size.to_bytes(width, "little")})
    for call in ("list_tables", "open", "read"):
        how, what = run_isolated(refused_or, call, str(path), timeout=60)
        assert how == "returned", (call, how, what)
        assert what.startswith("refused") and str(path) in what, what
        assert "/results/id" in what and f"records {size} bytes for a filtered chunk" in what, what


def test_a_dataset_grown_past_its_stored_chunks_is_refused_before_allocating(
    both_writers: dict[str, Path], tmp_path: Path
) -> None:
    """The dataspace of the labels' enum elements edited (checksum made anew) to 12 million rows while 3 are
    stored: HDF5 would read fill values for the rest, and ``read`` allocated 3.7 GB doing so."""
    from attack.hdf5 import dataset_headers, edit, messages

    path = copy_of(both_writers["hdf5/write"], tmp_path)
    address, _ = dataset_headers(path)["results/true_label_elements"]
    body = next(at for kind, at, _ in messages(path.read_bytes(), address) if kind == 0x01)  # the dataspace
    edit(path, {body + 4: struct.pack("<Q", 12_000_000)})  # version, rank, flags, type; then the first dimension
    with h5py.File(path, "r") as f:
        assert f["results/true_label_elements"].shape == (12_000_000,)  # the edit is what HDF5 now reads
    how, what = run_isolated(refused_or, "read", str(path), 3 * 2**30, timeout=60)
    assert how == "returned" and what.startswith("refused"), (how, what)
    assert "results/true_label_elements" in what and "chunks its shape (12000000,) needs are not stored" in what
