"""The read path's defences at their edges: the boundaries and messages ``make mutate`` found untested.

Each test pins one behaviour of :mod:`hdmf_ai.io.safety` with values worked out by hand (a header of exactly
the length it needs, a size one past what is allowed, a length the file can just hold), so that an off-by-one,
a flipped comparison or a lost branch fails here rather than letting a damaged or hostile file through.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
from hdmf.build import DatasetBuilder, GroupBuilder
from numcodecs import Blosc, Zstd

import hdmf_ai
from hdmf_ai.io import safety

ZSTD_MAGIC = struct.pack("<I", 0xFD2FB528)


def blosc_header(size: int, frame: int) -> memoryview:
    """The 16 bytes of a Blosc frame's header: version, flags, type size, then the three sizes."""
    return memoryview(bytes([2, 1, 1, 4]) + struct.pack("<III", size, 4096, frame))


# -- the header of an HDF5 Blosc or Zstd chunk (hdf5plugin's filters allocate what it declares) --------------


def test_a_blosc_header_of_exactly_sixteen_bytes_is_read() -> None:
    assert safety._declared_size_problem("blosc", blosc_header(4000, 100), 100, 4000) is None
    short = safety._declared_size_problem("blosc", blosc_header(4000, 100)[:15], 100, 4000)
    assert short == "a Blosc frame of 15 bytes, shorter than its header"


def test_a_blosc_frame_as_long_as_its_chunk_is_read_and_one_byte_longer_is_refused() -> None:
    assert safety._declared_size_problem("blosc", blosc_header(4000, 100), 100, 4000) is None
    longer = safety._declared_size_problem("blosc", blosc_header(4000, 101), 100, 4000)
    assert longer == "a Blosc frame that says it holds 101 bytes; the chunk has 100"


def test_a_blosc_size_past_two_gib_is_read_unsigned_and_refused() -> None:
    """Read as a signed number, 2**31 + 5 bytes would be negative and pass the bound."""
    problem = safety._declared_size_problem("blosc", blosc_header(2**31 + 5, 100), 100, 4000)
    assert problem == "blosc data that declares 2,147,483,653 bytes, past the 4,000 its chunk shape holds"


def test_a_real_blosc_frame_is_read_and_a_bound_below_its_size_refuses_it() -> None:
    frame = Blosc("zstd", 5, Blosc.SHUFFLE).encode(np.arange(1000, dtype=np.float32).tobytes())
    head = memoryview(frame)[:64]
    assert safety._declared_size_problem("blosc", head, len(frame), 4000) is None
    assert "declares 4,000 bytes, past the 3,999" in str(safety._declared_size_problem("blosc", head, len(frame), 3999))


def test_a_zstd_chunk_header_is_read_for_its_size() -> None:
    frame = memoryview(Zstd(1).encode(np.zeros(1000, dtype=np.uint8).tobytes()))
    assert safety._declared_size_problem("zstd", frame[:64], len(frame), 1000) is None
    assert safety._declared_size_problem("zstd", frame[:64], len(frame), 999) == (
        "zstd data that declares 1,000 bytes, past the 999 its chunk shape holds"
    )


def test_a_zstd_chunk_header_without_its_size_is_refused() -> None:
    """Frame header descriptor 0: no content size, not a single segment (a window descriptor byte follows)."""
    head = memoryview(ZSTD_MAGIC + bytes([0x00, 0x58]) + bytes(10))
    assert safety._declared_size_problem("zstd", head, 16, 1000) == "a zstd frame that does not state its size"


# -- variable-length elements (HDF5 allocates what each claims) ----------------------------------------------


def _text_file(path: Path) -> tuple[int, int]:
    """A chunked, unfiltered text dataset of 4 strings; (byte offset of its chunk, end of the file)."""
    with h5py.File(path, "w", libver=("v108", "v108")) as f:
        f.create_dataset("t", data=np.array(["ab", "cde", "f", "gh"], dtype=object), chunks=(4,),
                         dtype=h5py.string_dtype(), maxshape=(None,))  # fmt: skip
    with h5py.File(path, "r") as f:
        info = f["t"].id.get_chunk_info(0)
        assert info.size == 4 * 16, "4 elements of 16 bytes: length, heap collection, index"
        return info.byte_offset, f.id.get_filesize()


def _set_element(path: Path, at: int, element: int, field: str, value: int) -> None:
    offset = {"length": 0, "collection": 4}[field]
    pack = "<I" if field == "length" else "<Q"
    data = bytearray(path.read_bytes())
    struct.pack_into(pack, data, at + 16 * element + offset, value)
    path.write_bytes(bytes(data))


def _check(path: Path) -> None:
    with h5py.File(path, "r") as f:
        safety.check_chunk_index(f["t"], path)


def test_a_text_element_claiming_more_bytes_than_the_file_has_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.h5"
    at, end = _text_file(path)
    _check(path)  # intact
    _set_element(path, at, 2, "length", end + 1)  # its heap collection's address stays right
    with pytest.raises(hdmf_ai.ResultsFileError, match="an element of its chunk at \\(0,\\) claims more bytes") as info:
        _check(path)
    assert str(path) in str(info.value), "the error names the file"


def test_a_text_element_claiming_as_many_bytes_as_the_file_has_is_not_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.h5"
    at, end = _text_file(path)
    _set_element(path, at, 1, "length", end)
    _check(path)


@pytest.mark.parametrize("past", [0, 1])
def test_a_text_element_whose_heap_collection_starts_at_the_end_of_the_file_or_past_it_is_refused(
    tmp_path: Path, past: int
) -> None:
    path = tmp_path / "t.h5"
    at, end = _text_file(path)
    _set_element(path, at, 0, "collection", end + past)
    with pytest.raises(hdmf_ai.ResultsFileError, match="claims more bytes than the file has"):
        _check(path)


# -- the read budget's message --------------------------------------------------------------------------------


def test_the_read_budget_names_the_sizes_in_gib() -> None:
    budget = safety.ReadBudget("f.h5", limit=2**30)
    budget.charge(np.zeros((2**20,), dtype=np.uint8), "small")  # 1 MiB used
    with pytest.raises(hdmf_ai.ResultsFileError) as info:
        budget.charge(np.broadcast_to(np.zeros(1, dtype=np.float64), (3 * 2**27,)), "big")  # 3 GiB declared
    assert "dataset 'big' declares shape (402653184,) (~3 GiB), more than the 0.999 GiB left" in str(info.value)


# -- streams decoded to measure them (gzip, zlib, bz2, lzma): bounded, a MiB at a time --------------------------


def test_streams_one_after_another_are_all_counted() -> None:
    """The second stream takes the total past the bound, from exactly the bound."""
    two = zlib.compress(bytes(1000)) + zlib.compress(bytes(10))
    assert safety.decoded_size_problem("zlib", two, 1010) is None
    assert safety.decoded_size_problem("zlib", two, 1000) == (
        "zlib data that decodes to 1,010 bytes or more, past the 1,000 its chunk shape allows"
    )


def test_a_stream_one_byte_past_a_mib_is_refused_at_a_bound_of_a_mib() -> None:
    """Decoded a MiB at a time: the slice that reaches the bound exactly must not end the count."""
    stream = zlib.compress(bytes(2**20 + 1))
    assert safety.decoded_size_problem("zlib", stream, 2**20 + 1) is None
    problem = safety.decoded_size_problem("zlib", stream, 2**20)
    assert problem is not None and problem.startswith("zlib data that decodes to 1,048,577 bytes or more")


def test_a_truncated_stream_is_measured_by_what_it_decodes_to() -> None:
    """Its size is what it holds (the codec then refuses it when it decodes); no error, no other stream read."""
    stream = zlib.compress(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    assert safety.decoded_size_problem("zlib", stream[: len(stream) // 2], 5000) is None


def test_a_bomb_is_measured_without_holding_what_it_decodes_to() -> None:
    """256 MiB of zeros in a 255 KiB stream: measured a MiB at a time up to the bound, never held whole."""
    import tracemalloc

    bomb = zlib.compress(bytes(256 * 2**20), 1)
    tracemalloc.start()
    try:
        problem = safety.decoded_size_problem("zlib", bomb, 2**20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert problem is not None and "past the 1,048,576 its chunk shape allows" in problem
    assert peak < 8 * 2**20, f"{peak:,} bytes held while measuring"


# -- the chunk index (HDF5 trusts it) --------------------------------------------------------------------------


def _chunked(path: Path) -> int:
    """A dataset of 3 unfiltered chunks of 400 bytes, the last written last: it ends where the file ends."""
    with h5py.File(path, "w", libver=("v108", "v108")) as f:
        f.create_dataset("x", shape=(300,), chunks=(100,), maxshape=(None,), dtype="<u4")[:] = np.arange(
            300, dtype="<u4"
        )
    with h5py.File(path, "r") as f:
        last = f["x"].id.get_chunk_info(2)
        assert last.byte_offset + last.size == f.id.get_filesize(), "the last chunk should end the file"
        return int(last.byte_offset)


def _check_all(path: Path) -> None:
    with h5py.File(path, "r") as f:
        for name in f:
            safety.check_chunk_index(f[name], path)


def test_a_chunk_that_ends_where_the_file_ends_passes(tmp_path: Path) -> None:
    path = tmp_path / "c.h5"
    _chunked(path)
    _check_all(path)


def test_datasets_without_chunks_have_no_chunk_index_to_check(tmp_path: Path) -> None:
    path = tmp_path / "plain.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("contiguous", data=np.arange(10))
        f.create_dataset("scalar", data=3.0)
        f.create_dataset("empty", shape=(0,), dtype="f4")
    _check_all(path)


def test_a_chunk_index_entry_that_runs_past_the_end_of_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.h5"
    last = _chunked(path)
    data = bytearray(path.read_bytes())
    key = struct.pack("<IIQQ", 400, 0, 200, 0)  # the v1 B-tree key of the last chunk: size, filter mask, offset
    assert data.count(key) == 1
    at = data.index(key)
    end = len(data)
    struct.pack_into("<I", data, at, end - last + 10)  # 10 bytes past the end; its start still inside
    path.write_bytes(bytes(data))
    with pytest.raises(hdmf_ai.ResultsFileError) as info:
        _check_all(path)
    message = f"a chunk of {end - last + 10} bytes at byte {last}, past the end of the file"
    assert f"dataset '/x': its chunk index is damaged: {message}" in str(info.value)


def _edit_key(path: Path, chunk: int, *, size: int = 400, offset: int | None = None) -> None:
    """The v1 B-tree key of the chunk at row ``chunk`` of _chunked's dataset, with another size or offset."""
    data = bytearray(path.read_bytes())
    key = struct.pack("<IIQQ", 400, 0, chunk, 0)
    assert data.count(key) == 1
    data[data.index(key) : data.index(key) + len(key)] = struct.pack(
        "<IIQQ", size, 0, chunk if offset is None else offset, 0
    )
    path.write_bytes(bytes(data))


def _refusal(path: Path) -> str:
    with pytest.raises(hdmf_ai.ResultsFileError) as info:
        _check_all(path)
    message = str(info.value)
    assert str(path) in message, "the error names the file"
    return message


def test_an_unfiltered_chunk_of_another_size_than_a_chunk_holds_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.h5"
    _chunked(path)
    _edit_key(path, 100, size=396)
    assert "dataset '/x': its chunk index is damaged: the chunk at (100,): " in _refusal(path)


@pytest.mark.parametrize(
    ("offset", "refused_as"),
    [
        (300, "its chunk index is damaged: a chunk at (300,) that chunks of (100,) in a shape of (300,) cannot have"),
        (100, "its chunk index is damaged: a chunk at (100,) that chunks of (100,) in a shape of (300,) cannot have"),
        (150, "its chunk index cannot be read: "),  # off the grid: HDF5's own walk stops there
    ],
    ids=["at-the-end-of-the-shape", "twice-at-one-offset", "off-the-grid"],
)
def test_a_chunk_at_an_offset_no_chunk_can_have_is_refused(tmp_path: Path, offset: int, refused_as: str) -> None:
    path = tmp_path / "c.h5"
    _chunked(path)
    _edit_key(path, 200, offset=offset)
    assert f"dataset '/x': {refused_as}" in _refusal(path)


def test_a_shape_that_needs_chunks_never_stored_is_refused_naming_how_many(tmp_path: Path) -> None:
    path = tmp_path / "c.h5"
    _chunked(path)
    with h5py.File(path, "r+") as f:
        f["x"].resize((450,))  # rows 300-449 need 2 more chunks; none is written
    message = _refusal(path)
    assert "dataset '/x': 2 of the 5 chunks its shape (450,) needs are not stored (a shape larger than what was " in (
        message
    )


def test_a_chunk_index_that_cannot_be_walked_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.h5"
    _chunked(path)
    data = bytearray(path.read_bytes())
    assert data.count(b"TREE") == 1, "one B-tree node: the chunk index"
    data[data.index(b"TREE")] = ord("X")
    path.write_bytes(bytes(data))
    assert "dataset '/x': its chunk index cannot be read: " in _refusal(path)


# -- chains of filters whose decoded size a chunk's header cannot bound ------------------------------------------

BLOSC, ZSTD = 32001, 32015


def _dcpl(rows: int, filters: list[int]) -> h5py.h5p.PropDCID:
    """Creation properties: chunks of ``rows`` rows, ``filters`` in that order, each optional (written without
    its plugin: HDF5 then stores chunks as given)."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_chunk((rows,))
    for fid in filters:
        dcpl.set_filter(fid, h5py.h5z.FLAG_OPTIONAL, () if fid != h5py.h5z.FILTER_DEFLATE else (1,))
    return dcpl


def _filtered(path: Path, filters: list[int]) -> None:
    """An empty chunked dataset with ``filters`` in that order (only its pipeline is checked)."""
    import hdf5plugin  # noqa: F401  (registers the Blosc and Zstd filters)

    dcpl = _dcpl(100, filters)
    with h5py.File(path, "w") as f:
        space = h5py.h5s.create_simple((0,), (h5py.h5s.UNLIMITED,))
        h5py.h5d.create(f.id, b"x", h5py.h5t.NATIVE_FLOAT, space, dcpl=dcpl)


@pytest.mark.parametrize(
    "filters",
    [
        [BLOSC, ZSTD],  # two compressors
        [BLOSC, h5py.h5z.FILTER_SHUFFLE],  # a shuffle after the compressor
        [h5py.h5z.FILTER_DEFLATE, BLOSC],  # a compressor before the compressor
    ],
    ids=["blosc-then-zstd", "blosc-then-shuffle", "deflate-then-blosc"],
)
def test_a_chain_of_filters_whose_output_a_header_cannot_bound_is_refused(tmp_path: Path, filters: list[int]) -> None:
    _filtered(tmp_path / "f.h5", filters)
    with h5py.File(tmp_path / "f.h5", "r") as f:
        problems = safety.chunk_bomb_problems(f["x"].id, "/x")
    assert problems == [f"dataset '/x': a chain of filters {filters} whose decoded size cannot be bounded; refused"]


@pytest.mark.parametrize(
    "filters",
    [[BLOSC], [h5py.h5z.FILTER_SHUFFLE, BLOSC], [h5py.h5z.FILTER_SHUFFLE, ZSTD, h5py.h5z.FILTER_FLETCHER32]],
    ids=["blosc", "shuffle-then-blosc", "shuffle-zstd-fletcher32"],
)
def test_a_compressor_last_after_shuffles_and_before_a_checksum_is_checked_chunk_by_chunk(
    tmp_path: Path, filters: list[int]
) -> None:
    _filtered(tmp_path / "f.h5", filters)
    with h5py.File(tmp_path / "f.h5", "r") as f:
        assert safety.chunk_bomb_problems(f["x"].id, "/x") == []  # its creation properties looked up here


# -- the walk of an HDF5 file on every open -------------------------------------------------------------------


def _small_tree(path: Path) -> int:
    """A root, a group and a dataset in the 1.8 format (checksummed object headers); the dataset's header."""
    with h5py.File(path, "w", libver=("v108", "v108")) as f:
        f.create_group("g").create_dataset("d", data=np.arange(5))
    data = path.read_bytes()
    headers = [i for i in range(len(data)) if data.startswith(b"OHDR", i)]
    assert len(headers) == 3, "the root's, the group's and the dataset's object headers"
    return headers[-1]


def _walk(path: Path) -> set[int]:
    with h5py.File(path, "r") as f:
        return safety.check_hdf5(f, path)


def test_an_object_header_that_cannot_be_read_stops_the_walk_with_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "t.h5"
    header = _small_tree(path)
    assert _walk(path) == set()
    data = bytearray(path.read_bytes())
    data[header + 8] ^= 0xFF  # inside the dataset's header: its checksum no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(hdmf_ai.ResultsFileError, match="its object tree cannot be walked: ") as info:
        _walk(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(("limit", "refused"), [(2, False), (1, True)])
def test_the_object_limit_counts_every_object_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int, refused: bool
) -> None:
    """Two objects below the root (the group and its dataset): a limit of 2 lets the file through, 1 does not."""
    path = tmp_path / "t.h5"
    _small_tree(path)
    monkeypatch.setenv(safety.MAX_OBJECTS_ENV, str(limit))
    if not refused:
        assert _walk(path) == set()
        return
    with pytest.raises(hdmf_ai.ResultsFileError, match="holds more than 1 objects \\(at '/g/d'\\); refused"):
        _walk(path)


@pytest.mark.parametrize(("name", "shown"), [(b"ext", "ext"), (b"ext\xfe", "ext\ufffd")], ids=["utf-8", "not-utf-8"])
def test_an_external_link_is_refused_naming_the_file_and_the_object_it_points_at(
    tmp_path: Path, name: bytes, shown: str
) -> None:
    path = tmp_path / "t.h5"
    with h5py.File(path, "w", libver=("v108", "v108")) as f:
        f[name] = h5py.ExternalLink("other.h5", "/target")
    with pytest.raises(hdmf_ai.ResultsFileError) as info:
        _walk(path)
    assert str(info.value) == f"{path}: object '/{shown}' is an external link to other.h5:/target; refused"


def test_an_object_name_that_is_not_utf_8_is_shown_replaced_in_the_object_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "t.h5"
    with h5py.File(path, "w", libver=("v108", "v108")) as f:
        f[b"a"] = np.arange(3)
        f[b"\xffb"] = np.arange(3)
    monkeypatch.setenv(safety.MAX_OBJECTS_ENV, "1")
    with pytest.raises(hdmf_ai.ResultsFileError, match="holds more than 1 objects \\(at '/\ufffdb'\\); refused"):
        _walk(path)


# -- the first chunk of every dataset, checked on every open (hdmf reads a column's first value) -------------------


def _first_chunk_edited(path: Path, *, rows: int, chunk: int, gzip: bool, size: int | None = None) -> tuple[int, int]:
    """A dataset "x" whose first chunk's recorded size is ``size`` (default: one byte short of what is stored);
    (its byte offset, the recorded size)."""
    with h5py.File(path, "w", libver=("v108", "v108")) as f:
        f.create_dataset("empty", shape=(0,), chunks=(10,), maxshape=(None,), dtype="<u4")
        f.create_dataset("x", shape=(rows,), chunks=(chunk,), maxshape=(None,), dtype="<u4",
                         compression="gzip" if gzip else None)[:] = np.arange(rows, dtype="<u4") + 7  # fmt: skip
    with h5py.File(path, "r") as f:
        info = f["x"].id.get_chunk_info(0)
    data = bytearray(path.read_bytes())
    assert data.count(b"TREE") == 1, "one B-tree node: x's chunk index ('empty' has none)"
    key = data.index(b"TREE") + 24  # after the node's signature, type, level, entry count and two siblings
    assert struct.unpack_from("<IIQQ", data, key) == (info.size, 0, 0, 0), "the first key: the chunk at row 0"
    new_size = info.size - 1 if size is None else size
    struct.pack_into("<I", data, key, new_size)
    path.write_bytes(bytes(data))
    return info.byte_offset, new_size


@pytest.mark.parametrize(("rows", "chunk"), [(300, 100), (1, 1), (3, 1)], ids=["3-chunks", "one-row", "rows-of-one"])
def test_a_first_chunk_of_a_size_no_chunk_has_is_refused_when_the_file_is_walked(
    tmp_path: Path, rows: int, chunk: int
) -> None:
    path = tmp_path / "f.h5"
    _first_chunk_edited(path, rows=rows, chunk=chunk, gzip=False)
    with pytest.raises(hdmf_ai.ResultsFileError, match=r"dataset '/x', its first chunk: .*; refused") as info:
        _walk(path)
    assert str(path) in str(info.value)


def test_a_first_chunk_recorded_past_the_end_of_the_file_is_refused_when_the_file_is_walked(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    offset, size = _first_chunk_edited(path, rows=300, chunk=100, gzip=True, size=10**6)
    end = path.stat().st_size
    assert offset + size > end
    message = (
        f"dataset '/x', its first chunk: its chunk index puts {size} bytes at byte {offset}, past the end of the file"
    )
    with pytest.raises(hdmf_ai.ResultsFileError, match="refused") as info:
        _walk(path)
    assert message in str(info.value)


def test_empty_chunked_datasets_and_a_filtered_first_chunk_of_any_size_pass_the_walk(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    _first_chunk_edited(path, rows=300, chunk=100, gzip=True, size=None)  # a filtered chunk may be any size >= 1
    assert _walk(path) == set()


# -- zstd frame headers, every layout the format allows (RFC 8878, 3.1.1.1) ------------------------------------


@pytest.mark.parametrize("dictionary", [0, 1, 2, 3])
@pytest.mark.parametrize("single", [0, 1])
@pytest.mark.parametrize("size_field", [0, 1, 2, 3])
def test_a_zstd_frame_header_gives_its_content_size_in_every_layout(
    dictionary: int, single: int, size_field: int
) -> None:
    """Descriptor: size field flag (2 bits), single segment (1), checksum (1), dictionary id flag (2). Then a
    window byte unless single segment, a dictionary id of 0, 1, 2 or 4 bytes, a content size of (1 if single
    else 0), 2 (+256), 4 or 8 bytes."""
    size_bytes = (single, 2, 4, 8)[size_field]
    content = 300_000 if size_bytes >= 4 else 200 if size_bytes == 1 else 700
    stored = content - 256 if size_bytes == 2 else content
    header = (
        ZSTD_MAGIC
        + bytes([size_field << 6 | single << 5 | dictionary])
        + (b"" if single else b"\x58")
        + bytes(range(1, 1 + (0, 1, 2, 4)[dictionary]))
        + (stored.to_bytes(size_bytes, "little") if size_bytes else b"")
    )
    for raw in (header + bytes(8), header):  # blocks follow, or the header ends the bytes given
        size, length = safety._zstd_header(memoryview(raw))
        assert (size, length) == (content if size_bytes else None, len(header))
    if size_bytes and len(header) > 6:  # its size field cut short: no size to trust
        assert safety._zstd_header(memoryview(header[:-1])) == (None, len(header))
    elif size_bytes:  # 5 bytes: less than the shortest frame header
        with pytest.raises(ValueError, match=r"^not a zstd frame$"):
            safety._zstd_header(memoryview(header[:-1]))


@pytest.mark.parametrize("raw", [b"\x28\xb5\x2f", b"\x28\xb5\x2f\xfd\x20", b"\x29\xb5\x2f\xfd\x20\x10\x00"])
def test_what_is_not_a_whole_zstd_frame_header_is_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match=r"^not a zstd frame$"):
        safety._zstd_header(memoryview(raw))


# -- skippable zstd frames (RFC 8878, 3.1.2): stepped over by their length ---------------------------------------


def _skippable(nibble: int, payload: bytes) -> bytes:
    return struct.pack("<II", 0x184D2A50 | nibble, len(payload)) + payload


def test_skippable_zstd_frames_are_stepped_over_and_the_frames_around_them_counted() -> None:
    first = Zstd(1).encode(bytes(1000))
    second = Zstd(1).encode(np.arange(300, dtype=np.uint8).tobytes())
    # every magic number of the range (0x184D2A5?), payloads of several lengths, one frame of no payload last
    raw = _skippable(0xF, b"abc") + first + _skippable(0x1, bytes(5)) + second + _skippable(0x0, b"")
    assert safety._zstd_size(memoryview(raw)) == 1300
    assert safety.decoded_size_problem("zstd", raw, 1300, exact=True) is None


def test_a_skippable_frame_cut_before_its_length_is_refused() -> None:
    frame = Zstd(1).encode(bytes(1000))
    cut = struct.pack("<I", 0x184D2A50) + bytes(2)  # its magic and half of its length
    problem = safety.decoded_size_problem("zstd", frame + cut, 10**6)
    assert problem == "a zstd stream that cannot be read: not a zstd frame"


# -- HDF5 chunks of hdf5plugin's Zstd filter, checked from their first bytes -------------------------------------


def _zstd_chunks(path: Path, dtype: object, chunks: list[bytes], rows: int = 100) -> None:
    """A dataset "x" of the Zstd filter (32015, optional: no plugin is needed to write it), ``rows`` rows a
    chunk, its chunks written raw."""
    with h5py.File(path, "w") as f:
        plist = _dcpl(rows, [ZSTD])
        space = h5py.h5s.create_simple((rows * len(chunks),), (rows * len(chunks),))
        dataset = h5py.Dataset(h5py.h5d.create(f.id, b"x", h5py.h5t.py_create(dtype, logical=True), space, dcpl=plist))
        for i, chunk in enumerate(chunks):
            dataset.id.write_direct_chunk((i * rows,), chunk, filter_mask=0)


def _bombs(path: Path) -> tuple[list[str], list[str]]:
    """chunk_bomb_problems of "x": reading chunk heads from the file's descriptor, and through HDF5."""
    fd = os.open(path, os.O_RDONLY)
    try:
        with h5py.File(path, "r") as f:
            return safety.chunk_bomb_problems(f["x"].id, "/x", fd), safety.chunk_bomb_problems(f["x"].id, "/x")
    finally:
        os.close(fd)


def test_a_zstd_chunk_declaring_one_byte_more_than_its_chunk_holds_is_refused_however_its_head_is_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "z.h5"
    _zstd_chunks(path, np.uint8, [Zstd(1).encode(bytes(100)), Zstd(1).encode(bytes(101))])  # one byte a row
    problem = "dataset '/x': its chunk at (100,) holds zstd data that declares 101 bytes, past the 100 its chunk "
    assert _bombs(path) == ([problem + "shape holds; refused"],) * 2


@pytest.mark.parametrize("dtype", [h5py.string_dtype(), h5py.vlen_dtype(np.float32)], ids=["text", "ragged"])
def test_variable_length_chunks_are_bounded_by_the_bytes_allowed_per_element(tmp_path: Path, dtype: object) -> None:
    """A chunk of variable-length elements holds a 16-byte heap reference for each, whatever h5py's in-memory
    size of the type (8 for a string): 64 bytes are allowed per element (safety._STRING_BYTES)."""
    path = tmp_path / "z.h5"
    _zstd_chunks(path, dtype, [Zstd(1).encode(bytes(10 * 16)), Zstd(1).encode(bytes(10 * 64 + 1))], rows=10)
    problem = "dataset '/x': its chunk at (10,) holds zstd data that declares 641 bytes, past the 640 its chunk "
    assert _bombs(path) == ([problem + "shape holds; refused"],) * 2


def test_a_zstd_text_column_written_by_hdf5plugin_passes_the_walk(tmp_path: Path) -> None:
    hdf5plugin = pytest.importorskip("hdf5plugin", reason="hdf5plugin (the fast extra) writes the Zstd filter")
    path = tmp_path / "t.h5"
    text = np.array([f"sample {i}" for i in range(100)], dtype=object)
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=text, dtype=h5py.string_dtype(), chunks=(50,), **hdf5plugin.Zstd())
    assert _walk(path) == {ZSTD}
    with h5py.File(path, "r") as f:
        assert f["x"].asstr()[:].tolist() == text.tolist()


# -- the walk: what it returns, what it names, and the file it opens --------------------------------------------


def test_the_walk_returns_the_filters_outside_hdf5s_own_from_256_up(tmp_path: Path) -> None:
    path = tmp_path / "f.h5"
    with h5py.File(path, "w") as f:
        for name, fid in ((b"a", 256), (b"b", ZSTD)):
            space = h5py.h5s.create_simple((10,), (10,))
            h5py.h5d.create(f.id, name, h5py.h5t.NATIVE_INT32, space, dcpl=_dcpl(5, [fid]))
        f.create_dataset("c", data=np.arange(10), chunks=(5,), compression="gzip", shuffle=True, fletcher32=True)
    assert _walk(path) == {256, ZSTD}


def test_names_that_are_not_utf_8_are_shown_replaced_in_what_the_walk_refuses(tmp_path: Path) -> None:
    path = tmp_path / "t.h5"
    with h5py.File(path, "w", libver=("v108", "v108")) as f:
        f["ext"] = h5py.ExternalLink(b"\xffother.h5", b"/t\xfe")
    with pytest.raises(hdmf_ai.ResultsFileError) as info:
        _walk(path)
    assert str(info.value) == f"{path}: object '/ext' is an external link to \ufffdother.h5:/t\ufffd; refused"
    with h5py.File(path, "w") as f:
        f.create_dataset(b"\xfex", shape=(10,), dtype="i4", external=[(b"\xff.bin", 0, 40)])
    with pytest.raises(hdmf_ai.ResultsFileError) as info:
        _walk(path)
    assert str(info.value) == f"{path}: dataset '/\ufffdx' keeps its data in the external file '\ufffd.bin'; refused"


def test_a_virtual_dataset_mapping_its_own_file_passes_the_walk(tmp_path: Path) -> None:
    path = tmp_path / "v.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(10)
        layout = h5py.VirtualLayout(shape=(10,), dtype="i8")
        layout[:] = h5py.VirtualSource(f["x"])
        f.create_virtual_dataset("v", layout)
    with h5py.File(path, "r") as f:
        assert [m.file_name for m in f["v"].virtual_sources()] == ["."], "HDF5 records its own file as '.'"
    assert _walk(path) == set()


def test_the_walk_stops_at_the_first_problem_before_a_damaged_object_behind_it(tmp_path: Path) -> None:
    path = tmp_path / "t.h5"
    with h5py.File(path, "w", libver=("v108", "v108")) as f:
        f["a"] = h5py.ExternalLink("other.h5", "/t")  # visited first (links are visited in name order)
        f["b"] = np.arange(5)
    data = bytearray(path.read_bytes())
    headers = [i for i in range(len(data)) if data.startswith(b"OHDR", i)]
    assert len(headers) == 2, "the root's and b's object headers"
    data[headers[-1] + 8] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(hdmf_ai.ResultsFileError) as info:
        _walk(path)
    assert str(info.value) == f"{path}: object '/a' is an external link to other.h5:/t; refused"


def test_a_damaged_header_or_link_table_is_refused_with_hdf5s_reason(tmp_path: Path) -> None:
    path = tmp_path / "t.h5"
    header = _small_tree(path)
    data = bytearray(path.read_bytes())
    data[header + 8] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(hdmf_ai.ResultsFileError) as info:
        _walk(path)
    assert str(info.value).endswith("its object tree cannot be walked: 'Unable to synchronously open object "
                                    "(incorrect metadata checksum after all read attempts)'")  # fmt: skip
    with h5py.File(path, "w", libver=("v108", "v108")) as f:
        for i in range(40):  # enough links for the dense form: a fractal heap indexed by a v2 B-tree
            f[f"g{i:02d}"] = np.arange(2)
    data = bytearray(path.read_bytes())
    assert data.count(b"FRHP") == 1
    data[data.index(b"FRHP")] = ord("X")
    path.write_bytes(bytes(data))
    with pytest.raises(hdmf_ai.ResultsFileError) as info:
        _walk(path)
    assert str(info.value) == (
        f"{path}: its object tree cannot be walked: Link visitation failed (wrong fractal heap header signature)"
    )


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc (Linux)")
def test_the_walk_closes_the_descriptor_it_opens_and_needs_none_for_a_file_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "t.h5"
    _zstd_chunks(path, np.uint8, [Zstd(1).encode(bytes(100))])
    with h5py.File(path, "r") as f:
        before = _open_descriptors()
        assert safety.check_hdf5(f, path) == {ZSTD}
        assert _open_descriptors() == before
    with h5py.File(tmp_path / "m.h5", "w", driver="core", backing_store=False) as f:
        f["x"] = np.arange(3)
        assert safety.check_hdf5(f, "in memory") == set()


def _frame(content: bytes, *, checksum: bool = False, dictionary: int = 0) -> bytes:
    """A zstd frame of one raw block: single segment, a 1-byte content size, a dictionary id of 0, 1, 2 or 4
    bytes (``dictionary``: its flag), and a content checksum's 4 bytes (zeros: only decoding checks them)."""
    assert len(content) < 256
    descriptor = 0x20 | (4 if checksum else 0) | dictionary
    block = ((len(content) << 3) | 1).to_bytes(3, "little")  # the last block, raw, its size
    dictionary_id = bytes((0, 1, 2, 4)[dictionary])
    return (
        ZSTD_MAGIC + bytes([descriptor]) + dictionary_id + bytes([len(content)]) + block + content + bytes(4 * checksum)
    )


def test_the_frames_that_follow_a_checksum_or_a_dictionary_id_are_found_and_counted() -> None:
    plain = _frame(bytes(range(10)))
    assert Zstd().decode(plain) == bytes(range(10)), "a well-formed frame"
    frames = [plain, _frame(bytes(20), checksum=True), _frame(bytes(30), dictionary=1),
              _frame(bytes(40), dictionary=3, checksum=True), _frame(bytes(50), dictionary=2)]  # fmt: skip
    raw = b"".join(frames)
    assert safety._zstd_size(memoryview(raw)) == 150
    assert safety.decoded_size_problem("zstd", raw, 150, exact=True) is None


@pytest.mark.parametrize("kept", [1, 2], ids=["one-byte", "two-bytes"])
def test_a_frame_cut_inside_a_block_header_is_refused(kept: int) -> None:
    frame = _frame(bytes(10))
    cut = frame[: len(frame) - 10 - 3 + kept]  # the frame's header and part of its block's
    assert (
        safety.decoded_size_problem("zstd", cut, 10**6) == "a zstd stream that cannot be read: a truncated zstd frame"
    )


def test_chunk_heads_are_read_through_a_descriptor_of_a_local_file_only(tmp_path: Path) -> None:
    """The walk reads chunk heads with os.pread from its own descriptor of a plain local file (sec2); a file
    HDF5 holds in memory (core, here read from disk) is read through HDF5 instead."""
    path = tmp_path / "t.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)
    with h5py.File(path, "r") as f:
        fd = safety._raw_descriptor(f)
        assert fd is not None
        try:
            assert os.path.samestat(os.fstat(fd), path.stat())
            assert os.pread(fd, 8, 0) == b"\x89HDF\r\n\x1a\n"
        finally:
            os.close(fd)
    with h5py.File(path, "r", driver="core") as f:
        assert safety._raw_descriptor(f) is None


# -- Zarr object references: they must name a key of the store being read ---------------------------------------


class _Resolver:
    def resolve_ref(self, zarr_ref: object) -> tuple[str, object]:
        return ("resolved", zarr_ref)


class _Contained(safety.ContainedReferences, _Resolver):
    """The mixin over a stand-in for hdmf-zarr's resolve_ref (which would open what the reference names)."""

    def __init__(self, store: str | None) -> None:
        self.source = "results.zarr"
        self.store_location = store


@pytest.mark.parametrize("where", ["", ".", "./", " . "])
@pytest.mark.parametrize("store", [None, "/data/r.zarr", "s3://bucket/r.zarr"])
def test_a_reference_to_the_current_store_is_its_own_whatever_the_store(where: str, store: str | None) -> None:
    assert safety._same_store(where, store)


def test_a_reference_may_name_its_store_relative_to_the_store_or_its_parent(tmp_path: Path) -> None:
    store = str(tmp_path / "r.zarr")
    assert safety._same_store("r.zarr", store)  # older hdmf-zarr: the store's name beside it
    assert safety._same_store(f"../{tmp_path.name}/r.zarr", store)
    assert safety._same_store("sub/..", store)  # from the store itself
    assert not safety._same_store("other.zarr", store)
    assert not safety._same_store("r.zarr", None)  # no store location to compare with


@pytest.mark.parametrize(
    ("where", "store"),
    [
        ("s3://bucket/r.zarr", "s3://bucket/r.zarr"),  # a URL, even the store's own
        ("x://../r.zarr", "/data/r.zarr"),  # a URL that a path join would bring back to the store
        ("/data/r.zarr", "/data/r.zarr"),  # an absolute path, even the store's own
        ("r.zarr", "s3://bucket/r.zarr"),  # relative to a store that is not a local directory
    ],
)
def test_a_reference_by_url_or_absolute_path_or_into_a_remote_store_is_not_its_own(where: str, store: str) -> None:
    assert not safety._same_store(where, store)


def test_references_are_read_from_json_text_zero_d_arrays_and_plain_paths() -> None:
    ref = {"source": "other.zarr", "path": "/x"}
    assert safety._as_reference(json.dumps(ref)) == ref
    assert safety._as_reference(np.array(json.dumps(ref), dtype=object)) == ref  # a 0-d array holding the text
    assert safety._as_reference("results/x") == {"source": ".", "path": "results/x"}  # not JSON: a path here
    assert safety._as_reference(ref) is ref
    rows = np.array([json.dumps(ref)], dtype=object)
    assert safety._as_reference(rows) is rows


def test_a_reference_into_another_store_or_out_of_the_store_is_refused_naming_the_file(tmp_path: Path) -> None:
    contained = _Contained(str(tmp_path / "r.zarr"))
    for ok in ({"source": ".", "path": "/results/x"}, {"source": "r.zarr", "path": "x"}, {"path": "x"}, "x"):
        assert contained.resolve_ref(ok) == ("resolved", ok)
    other = json.dumps({"source": "other.zarr", "path": "/x"})
    for bad in (other, np.array(other, dtype=object)):
        with pytest.raises(hdmf_ai.ResultsFileError) as info:
            contained.resolve_ref(bad)
        assert str(info.value) == (
            "results.zarr: an object reference points into another store ('other.zarr', '/x'); refused"
        )
    for path in ("../x", "/../x", "a/../../x"):
        with pytest.raises(hdmf_ai.ResultsFileError) as info:
            contained.resolve_ref({"source": ".", "path": path})
        assert str(info.value) == f"results.zarr: the store key {path.lstrip('/')!r} points outside the store; refused"


# -- decoded sizes of whole chunks (Zarr's codecs, and HDF5 chunks read whole) -----------------------------------


def test_a_zstd_frame_that_does_not_state_its_size_is_refused() -> None:
    block = ((10 << 3) | 1).to_bytes(3, "little") + bytes(10)
    frame = ZSTD_MAGIC + bytes([0x00, 0x00]) + block  # no size flag, not single-segment: a window byte instead
    assert safety.decoded_size_problem("zstd", frame, 10**6) == "a zstd frame that does not state its size"


def test_a_chunk_may_decode_to_less_than_its_bound_unless_it_must_fill_it() -> None:
    frame = _frame(bytes(10))
    assert safety.decoded_size_problem("zstd", frame, 20) is None
    problem = safety.decoded_size_problem("zstd", frame, 20, exact=True)
    assert problem == "zstd data that decodes to 10 bytes; its chunk shape and data type hold 20"
    # a stream is only measured up to its bound: it cannot be held to the bound exactly
    assert safety.decoded_size_problem("gzip", zlib.compress(bytes(10)), 20, exact=True) is None


def test_a_blosc_frame_size_past_two_gib_is_read_unsigned() -> None:
    frame = bytes([2, 1, 1, 4]) + struct.pack("<III", 2**31 + 5, 4096, 16)
    assert safety.decoded_size_problem("blosc", frame, 4000) == (
        "blosc data that decodes to 2,147,483,653 bytes or more, past the 4,000 its chunk shape allows"
    )


@pytest.mark.parametrize(
    ("raw", "bound", "problem"),
    [
        (b"\x05\x00\x00", 0, None),  # shorter than the size it starts with: nothing is declared
        (b"\x0a\x00\x00\x00", 10, None),
        (b"\x0b\x00\x00\x00", 10, "lz4 data that decodes to 11 bytes or more, past the 10 its chunk shape allows"),
    ],
    ids=["three-bytes", "four-bytes-at-the-bound", "four-bytes-past-it"],
)
def test_an_lz4_chunk_declares_its_size_in_its_first_four_bytes(raw: bytes, bound: int, problem: str | None) -> None:
    assert safety.decoded_size_problem("lz4", raw, bound) == problem


def _meminfo_total() -> int:
    line = next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal:"))
    return int(line.split()[1]) * 1024


@pytest.mark.skipif(not Path("/proc/meminfo").exists(), reason="reads the memory size from /proc (Linux)")
def test_the_default_read_budget_is_half_the_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(safety.READ_BUDGET_ENV, raising=False)
    budget = safety._default_budget()
    assert isinstance(budget, int)
    assert budget == _meminfo_total() // 2


def test_without_a_memory_size_the_read_budget_is_8_gib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(safety.READ_BUDGET_ENV, raising=False)

    def no_sysconf(name: str) -> int:
        raise ValueError(f"unrecognized configuration name {name!r}")

    monkeypatch.setattr(os, "sysconf", no_sysconf)
    assert safety._default_budget() == 8 * 2**30


class _Declared:
    """What the budget reads of an array: its shape and dtype, when it has them."""

    def __init__(self, **attributes: object) -> None:
        self.__dict__.update(attributes)


@pytest.mark.parametrize(
    ("data", "size"),
    [
        (_Declared(shape=(10, 3), dtype=np.dtype("<f4")), 120),
        (_Declared(shape=(10,)), 10),  # no dtype: a byte each
        (_Declared(dtype=np.dtype("<f8")), 8),  # no shape: one value
        (_Declared(shape=(10,), dtype=np.dtype(object)), 10 * 64),  # text: 64 bytes a string
        (_Declared(shape=(4,), dtype=np.dtype("V0")), 4),  # no bytes: still one each
    ],
    ids=["numbers", "no-dtype", "no-shape", "text", "empty-elements"],
)
def test_the_read_budget_takes_exactly_what_an_array_declares(data: object, size: int) -> None:
    budget = safety.ReadBudget("f.h5", limit=size)
    budget.charge(data, "x")  # exactly the limit: allowed
    assert budget.used == size
    with pytest.raises(hdmf_ai.ResultsFileError, match="dataset 'x' declares shape"):
        safety.ReadBudget("f.h5", limit=size - 1).charge(data, "x")


def test_a_hostile_shape_is_counted_without_overflowing() -> None:
    """2**32 x 2**32 one-byte values: 2**64 bytes, which an int64 product would wrap round to 0."""
    with pytest.raises(hdmf_ai.ResultsFileError) as info:
        safety.ReadBudget("f.h5", limit=10**9).charge(_Declared(shape=(2**32, 2**32), dtype=np.dtype("u1")), "x")
    assert str(info.value).startswith("f.h5: dataset 'x' declares shape (4294967296, 4294967296) (~1.72e+10 GiB)")


# -- tables: every column as long as the table's id ---------------------------------------------------------------


def _table(name: str, n_ids: int, colnames: object, **datasets: object) -> GroupBuilder:
    built = {"id": DatasetBuilder("id", np.arange(n_ids))}
    built.update({key: DatasetBuilder(key, value) for key, value in datasets.items()})
    return GroupBuilder(name, attributes={"colnames": colnames}, datasets=built)


def _lengths_problem(root: GroupBuilder) -> str | None:
    try:
        safety.check_table_lengths(root, "f.h5")
    except hdmf_ai.ResultsFileError as err:
        return str(err)
    return None


def test_a_column_shorter_than_the_tables_id_is_refused_naming_both() -> None:
    table = _table("results", 5, ["a", "b"], a=np.arange(5), b=[1, 2, 3, 4])
    assert _lengths_problem(table) == "f.h5: table 'results': column 'b' has 4 rows; the table has 5 (its id)"


def test_tables_are_found_at_any_depth_below_groups_that_are_not_tables() -> None:
    bad = _table("results", 5, np.array([b"a"], dtype=object), a=np.arange(6))  # names stored as bytes
    not_a_table = GroupBuilder("analysis", attributes={"colnames": ["a"]}, datasets={"a": DatasetBuilder("a", [1])})
    ids_only = GroupBuilder("ids", datasets={"id": DatasetBuilder("id", [1, 2])})
    root = GroupBuilder("root", groups={"g": GroupBuilder("g", groups={"results": bad}), "analysis": not_a_table,
                                        "ids": ids_only})  # fmt: skip
    assert _lengths_problem(root) == "f.h5: table 'results': column 'a' has 6 rows; the table has 5 (its id)"
    assert _lengths_problem(GroupBuilder("root", groups={"analysis": not_a_table, "ids": ids_only})) is None


def test_a_ragged_column_is_measured_by_its_index() -> None:
    ok = _table("t", 3, ["c"], c=np.arange(10), c_index=np.array([2, 5, 10]))
    assert _lengths_problem(ok) is None
    bad = _table("t", 3, ["c"], c=np.arange(3), c_index=np.array([2, 3]))
    assert _lengths_problem(bad) == "f.h5: table 't': column 'c_index' has 2 rows; the table has 3 (its id)"


class _Lazy(_Declared):
    """A column read lazily: a shape, no len(), and reading it is a failure here."""

    def __iter__(self) -> Iterator[object]:
        raise AssertionError("the column was read")


def test_rows_are_counted_from_a_declared_shape_without_reading_the_column() -> None:
    lazy = _Lazy(shape=(4, 2), dtype=np.dtype("<f4"))
    table = _table("t", 5, ["x"], x=lazy)
    assert _lengths_problem(table) == "f.h5: table 't': column 'x' has 4 rows; the table has 5 (its id)"
    assert _lengths_problem(_table("t", 5, ["x"], x=np.float64(1.5))) is None  # a scalar has no rows to count


def test_a_column_named_but_not_stored_is_left_to_hdmf() -> None:
    """colnames naming a dataset the table lacks: hdmf reports the missing column; lengths have nothing to say."""
    assert _lengths_problem(_table("t", 2, ["a", "missing"], a=np.arange(2))) is None
