"""Integrity of what is written, end to end: every numeric dataset checksummed, and no flag trusted before its
checksum. (The wider attack suite is tests/test_reliability.py and tests/test_fuzz.py.)"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import zarr
from fuzz.isolation import run_isolated

import hdmf_ai
from hdmf_ai.io import hdf5 as hdf5_backend


def ragged_table(form: str) -> hdmf_ai.ResultsTable:
    rt = hdmf_ai.ResultsTable(name="results")
    rt.add_predicted_class([0, 1, 2])
    if form == "flat values and row ends":
        rt.add_column("tokens", "tokens per sample", data=[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], index=[2, 3, 6])
    else:
        rt.add_column("tokens", "tokens per sample", data=[[1.0, 2.0], [3.0], [4.0, 5.0, 6.0]], index=True)
    return rt


@pytest.mark.parametrize("form", ["flat values and row ends", "nested rows"])
def test_a_ragged_columns_index_is_chunked_and_checksummed_like_every_column(path: Path, form: str) -> None:
    """hdmf hands a ragged column's index over as a list of numpy integers, which used to bypass the policy."""
    hdmf_ai.write(ragged_table(form), path)
    if path.suffix == ".h5":
        with h5py.File(path, "r") as f:
            index = f["results/tokens_index"]
            plist = index.id.get_create_plist()
            filters = {plist.get_filter(i)[3] for i in range(plist.get_nfilters())}
            assert index.chunks is not None and {b"deflate", b"fletcher32"} <= filters
    else:
        index = zarr.open_group(str(path), mode="r", use_consolidated=False)["results/tokens_index"]
        assert any(type(c).__name__ == "Crc32cCodec" for c in index.compressors)
    back = hdmf_ai.read(path)
    assert [list(row) for row in back["tokens"][:]] == [[1.0, 2.0], [3.0], [4.0, 5.0, 6.0]]
    assert hdmf_ai.validate(path) == []


def test_a_flipped_byte_in_a_ragged_index_is_an_error_not_other_rows(tmp_path: Path) -> None:
    path = hdmf_ai.write(ragged_table("nested rows"), tmp_path / "r.h5")
    with h5py.File(path, "r") as f:
        offset = f["results/tokens_index"].id.get_chunk_info(0).byte_offset
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(hdmf_ai.ResultsFileError, match="tokens_index"):
        hdmf_ai.read(path)


def read_columns(path: str) -> list[str]:
    return sorted(hdmf_ai.read(path).colnames)


@pytest.mark.parametrize("flag", [0x01, 0x04, 0xFF])
def test_a_flipped_open_for_writing_flag_is_an_error_at_once_not_a_stalled_swmr_read(tmp_path: Path, flag: int) -> None:
    """Byte 11 of the superblock says "a writer has it open"; trusted before its checksum, one flipped bit made
    read() open the file as a SWMR reader that waited for minutes."""
    rt = hdmf_ai.ResultsTable(name="results")
    rt.add_predicted_class([0, 1, 2])
    path = hdmf_ai.write(rt, tmp_path / "r.h5")
    raw = bytearray(path.read_bytes())
    raw[11] ^= flag
    path.write_bytes(bytes(raw))
    assert not hdf5_backend.swmr_flags_set(path)
    outcome, detail = run_isolated(read_columns, str(path), timeout=30)
    assert outcome == "raised" and detail.startswith("ResultsFileError") and "checksum" in detail, (outcome, detail)


def test_a_writers_genuine_open_for_writing_flag_is_still_recognised(tmp_path: Path) -> None:
    """The checksum check must not hide the real flag: a file a writer holds open is read as a SWMR reader."""
    path = tmp_path / "r.h5"
    with hdmf_ai.ResultsWriter(path, progress=False) as writer:
        writer.append(predicted_class=np.array([0, 1], dtype=np.uint32))
        assert hdf5_backend.swmr_flags_set(path)
        with pytest.warns(hdmf_ai.IncompleteTableWarning):
            np.testing.assert_array_equal(hdmf_ai.read(path).predicted_class.data, [0, 1])
    assert not hdf5_backend.swmr_flags_set(path)
    np.testing.assert_array_equal(hdmf_ai.read(path).predicted_class.data, [0, 1])


# -- overwrite replaces results files, nothing else ---------------------------------------------------------


def small_table() -> hdmf_ai.ResultsTable:
    rt = hdmf_ai.ResultsTable(name="results")
    rt.add_predicted_class([0, 1, 2])
    return rt


def write_with_every_writer(target: Path, how: str) -> None:
    if how == "write":
        hdmf_ai.write(small_table(), target, overwrite=True)
    elif how == "ResultsWriter":
        with hdmf_ai.ResultsWriter(target, overwrite=True, progress=False) as writer:
            writer.append(predicted_class=[0, 1, 2])
    else:
        from hdmf_ai.io.convert import convert

        source = hdmf_ai.write(small_table(), target.parent / f"source{target.suffix}", overwrite=True)
        convert(source, target, overwrite=True)


WRITERS = ["write", "ResultsWriter", "convert"]


@pytest.mark.parametrize("how", WRITERS)
@pytest.mark.parametrize("suffix", [".h5", ".zarr"])
def test_overwrite_refuses_a_directory_of_other_files_and_loses_nothing(tmp_path: Path, suffix: str, how: str) -> None:
    target = tmp_path / f"results{suffix}"
    target.mkdir()
    (target / "thesis.tex").write_text("years of work")
    with pytest.raises(FileExistsError, match="a directory of other files, not a Zarr store"):
        write_with_every_writer(target, how)
    assert (target / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary left


@pytest.mark.parametrize("how", WRITERS)
@pytest.mark.parametrize("suffix", [".h5", ".zarr"])
def test_overwrite_refuses_a_file_that_is_not_hdf5(tmp_path: Path, suffix: str, how: str) -> None:
    target = tmp_path / f"results{suffix}"
    target.write_text("id,label\n0,cat\n")
    with pytest.raises(FileExistsError, match="a file that is not an HDF5 file"):
        write_with_every_writer(target, how)
    assert target.read_text() == "id,label\n0,cat\n"


@pytest.mark.parametrize("how", WRITERS)
def test_overwrite_still_replaces_results_files_and_empty_directories(path: Path, how: str) -> None:
    hdmf_ai.write(small_table(), path)  # an old results file of the same format
    write_with_every_writer(path, how)
    np.testing.assert_array_equal(hdmf_ai.read(path).predicted_class.data, [0, 1, 2])
    other = path.with_name(f"empty{path.suffix}")
    other.mkdir()
    write_with_every_writer(other, how)
    np.testing.assert_array_equal(hdmf_ai.read(other).predicted_class.data, [0, 1, 2])


def test_an_hdf5_file_with_a_user_block_is_recognised_as_hdf5(tmp_path: Path) -> None:
    target = tmp_path / "results.h5"
    with h5py.File(target, "w", userblock_size=1024) as f:
        f["x"] = [1, 2, 3]
    hdmf_ai.write(small_table(), target, overwrite=True)
    np.testing.assert_array_equal(hdmf_ai.read(target).predicted_class.data, [0, 1, 2])


# -- a store's objects are its own files ------------------------------------------------------------------


def first_chunk(store: Path, column: str) -> Path:
    return next(p for p in sorted((store / "results" / column).rglob("*")) if p.is_file() and p.name != "zarr.json")


@pytest.mark.parametrize("target", ["another column's chunk", "another store's chunk", "/dev/zero"])
def test_a_chunk_that_is_a_symbolic_link_is_refused(tmp_path: Path, target: str) -> None:
    rt = hdmf_ai.ResultsTable(name="results")
    rt.add_predicted_class([0, 1, 2])
    rt.add_cluster_label([2, 1, 0])
    store = hdmf_ai.write(rt, tmp_path / "r.zarr")
    other = hdmf_ai.write(rt, tmp_path / "other.zarr")
    chunk = first_chunk(store, "predicted_class")
    source = {
        "another column's chunk": first_chunk(store, "cluster_label"),
        "another store's chunk": first_chunk(other, "predicted_class"),
        "/dev/zero": Path("/dev/zero"),
    }[target]
    chunk.unlink()
    chunk.symlink_to(source)
    outcome, detail = run_isolated(read_columns, str(store), timeout=30)
    assert outcome == "raised" and "symbolic link" in detail, (outcome, detail)


def test_a_column_directory_that_is_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    rt = hdmf_ai.ResultsTable(name="results")
    rt.add_predicted_class([0, 1, 2])
    rt.add_cluster_label([2, 1, 0])
    store = hdmf_ai.write(rt, tmp_path / "r.zarr")
    column = store / "results" / "predicted_class"
    for part in sorted(column.rglob("*"), reverse=True):
        part.rmdir() if part.is_dir() else part.unlink()
    column.rmdir()
    column.symlink_to(store / "results" / "cluster_label", target_is_directory=True)
    with pytest.raises(hdmf_ai.ResultsFileError, match="symbolic link"):
        hdmf_ai.read(store)


def test_a_chunk_that_is_a_fifo_is_refused_without_waiting(tmp_path: Path) -> None:
    import os

    rt = hdmf_ai.ResultsTable(name="results")
    rt.add_predicted_class([0, 1, 2])
    store = hdmf_ai.write(rt, tmp_path / "r.zarr")
    chunk = first_chunk(store, "predicted_class")
    chunk.unlink()
    os.mkfifo(chunk)
    outcome, detail = run_isolated(read_columns, str(store), timeout=30)
    assert outcome == "raised" and "not a regular file" in detail, (outcome, detail)


# -- concurrent writers: one complete file, and a typed error for the loser ---------------------------------------

RACE = """
import sys, time, numpy as np, hdmf_ai
path, who, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rt = hdmf_ai.ResultsTable(name="results")
rt.add_predicted_class(np.full(300_000, who))
while time.time() < start:  # both processes leave the starting line together
    time.sleep(0.001)
try:
    hdmf_ai.write(rt, path)
except FileExistsError as err:
    print("LOST", err)
else:
    print("WON")
"""


@pytest.mark.parametrize("suffix", [".h5", ".zarr"])
def test_two_writers_racing_for_one_path_leave_one_complete_file_and_a_typed_error(tmp_path: Path, suffix: str) -> None:
    import subprocess
    import sys
    import time

    for attempt in range(2):
        path = tmp_path / f"race{attempt}{suffix}"
        start = time.time() + 2.0
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", RACE, str(path), str(who), str(start)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for who in (1, 2)
        ]
        outs = [p.communicate(timeout=120) for p in procs]
        said = [out.strip().split()[0] if out.strip() else err for out, err in outs]
        assert sorted(said) == ["LOST", "WON"], outs
        winner = said.index("WON") + 1
        # the file is the winner's, whole; the loser's message names the path and says what happened
        np.testing.assert_array_equal(hdmf_ai.read(path)["predicted_class"].data, np.full(300_000, winner))
        # the loser finds the file there at the start, or loses the final move: FileExistsError either way
        loser = outs[2 - winner][0]
        assert str(path) in loser and ("another writer" in loser or "exists; pass overwrite=True" in loser), loser
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporaries left


@pytest.mark.parametrize("suffix", [".h5", ".zarr"])
def test_a_file_that_appears_while_writing_is_kept_not_replaced(
    tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic form of the race: another writer's file lands between our check and our move."""
    from hdmf_ai.io import files

    path = tmp_path / f"f{suffix}"
    theirs = hdmf_ai.ResultsTable(name="results")
    theirs.add_predicted_class(np.zeros(5, dtype=int))
    ours = hdmf_ai.ResultsTable(name="results")
    ours.add_predicted_class(np.ones(5, dtype=int))
    real_move = files.move_into_place

    raced: list[bool] = []

    def move_after_someone_else(tmp: Path, target: Path, *, replace: bool = True) -> None:
        if not raced:  # the other writer finishes first (its own move is the real one)
            raced.append(True)
            hdmf_ai.write(theirs, target)
        real_move(tmp, target, replace=replace)

    import sys

    monkeypatch.setattr(sys.modules["hdmf_ai.io.write"], "move_into_place", move_after_someone_else)
    with pytest.raises(FileExistsError, match="another writer"):
        hdmf_ai.write(ours, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(hdmf_ai.read(path)["predicted_class"].data, np.zeros(5))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


@pytest.mark.parametrize("suffix", [".h5", ".zarr"])
def test_adding_tables_refuses_to_lose_another_writers_change_made_meanwhile(
    tmp_path: Path, suffix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hdmf_ai.io import append

    path = tmp_path / f"f{suffix}"
    first = hdmf_ai.ResultsTable(name="first")
    first.add_predicted_class(np.zeros(5, dtype=int))
    hdmf_ai.write(first, path)
    second = hdmf_ai.ResultsTable(name="second")
    second.add_predicted_class(np.ones(5, dtype=int))
    third = hdmf_ai.ResultsTable(name="third")
    third.add_predicted_class(np.full(5, 2))
    real_refresh = append.backend_for(path).refresh
    raced = []

    def refresh_then_someone_appends(tmp: Path) -> None:
        real_refresh(tmp)
        if not raced:  # while our copy is being finished, another process adds its table to the file
            raced.append(True)
            hdmf_ai.write(third, path, mode="a")

    backend = append.backend_for(path)
    monkeypatch.setattr(type(backend), "refresh", lambda self, tmp: refresh_then_someone_appends(tmp))
    with pytest.raises(FileExistsError, match="another writer"):
        hdmf_ai.write(second, path, mode="a")
    monkeypatch.undo()
    names = sorted(t.name for t in hdmf_ai.list_tables(path))
    assert names == ["first", "third"]  # the other writer's table is there; ours was not forced over it
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


# -- bounded decompression: a chunk that inflates to far more than it can hold -----------------------------------


def test_a_deflate_bomb_chunk_is_refused_without_inflating_it(tmp_path: Path) -> None:
    import tracemalloc
    import zlib

    from hdmf_ai.io import h5chunks

    path = hdmf_ai.write(_probabilities_table(), tmp_path / "bomb.h5")
    compressor = zlib.compressobj(9)
    block = bytes(2**24)
    bomb = b"".join(compressor.compress(block) for _ in range(32)) + compressor.flush()  # inflates to 512 MiB
    assert len(bomb) < 2**20
    with h5py.File(path, "r+") as f:
        dataset = f["results/predicted_probability"]
        assert dataset.compression == "gzip" and dataset.fletcher32
        stored = bomb + h5chunks.fletcher32(bomb).to_bytes(4, "little")  # a valid checksum: only the size is wrong
        dataset.id.write_direct_chunk((0, 0), stored, filter_mask=0)
    tracemalloc.start()
    try:
        with pytest.raises(hdmf_ai.ResultsFileError, match="predicted_probability"):
            hdmf_ai.read(path)
        with hdmf_ai.open(path) as lazy, pytest.raises(OSError, match=r"expected .* bytes of a chunk"):
            lazy.column("predicted_probability").read(slice(0, 10))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"{peak / 2**20:.0f} MiB allocated: the bomb was inflated"


def _probabilities_table() -> hdmf_ai.ResultsTable:
    rt = hdmf_ai.ResultsTable(name="results")
    rt.add_predicted_probability(np.full((20_000, 10), 0.1, dtype=np.float32))
    return rt
