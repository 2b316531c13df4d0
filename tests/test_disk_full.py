"""A full disk (or a file-size limit) during a write: the destination stays as it was, the process stays alive,
and the error is typed.

HDF5 cannot recover from a write that runs out of space: the library crashes the process (SIGSEGV) as the
file is closed (h5py issue 914; seen here with HDF5 2.0.0). The writers therefore check the room for the
file's largest possible size before HDF5 writes anything. Each case runs in a child process under a
file-size limit (``RLIMIT_FSIZE``), the one way to make "the disk is full" happen without root.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hdmf_ai

CHILD = """
import resource, signal, sys, numpy as np, hdmf_ai
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead of killing
path, how, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
rt = hdmf_ai.ResultsTable(name="results")
rt.add_predicted_probability(np.random.default_rng(0).dirichlet(np.ones(10), rows).astype("f4"))
resource.setrlimit(resource.RLIMIT_FSIZE, (4_000_000, 4_000_000))
try:
    if how == "write":
        hdmf_ai.write(rt, path, overwrite=True, preset="uncompressed")
    else:
        hdmf_ai.write(rt, path, mode="a", preset="uncompressed")
except hdmf_ai.HdmfAiError as err:
    print("TYPED", type(err).__name__, err)
except Exception as err:
    print("UNTYPED", type(err).__name__, err)
else:
    print("WROTE")
"""


def run_child(path: Path, how: str, rows: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(path), how, str(rows)], capture_output=True, text=True, timeout=300
    )


def old_file(path: Path) -> bytes:
    rt = hdmf_ai.ResultsTable(name="old")
    rt.add_predicted_class(np.arange(7))
    hdmf_ai.write(rt, path)
    return path.read_bytes()


@pytest.mark.parametrize("how", ["write", "append"])
def test_a_file_too_large_for_the_limit_is_refused_and_the_old_file_kept(tmp_path: Path, how: str) -> None:
    path = tmp_path / "results.h5"
    before = old_file(path)
    done = run_child(path, how, rows=200_000)  # 8 MB of probabilities against a 4 MB limit
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])  # alive: no SIGSEGV (-11)
    assert done.stdout.startswith("TYPED DiskSpaceError"), done.stdout + done.stderr[-2000:]
    assert str(path) in done.stdout and "MiB" in done.stdout and "ulimit -f" in done.stdout
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.h5"]  # no temporary left behind


def test_a_file_within_the_limit_is_written(tmp_path: Path) -> None:
    path = tmp_path / "results.h5"
    old_file(path)
    done = run_child(path, "write", rows=20_000)  # 0.8 MB
    assert (done.returncode, done.stdout.strip()) == (0, "WROTE"), done.stderr[-2000:]
    got = hdmf_ai.read(path)
    want = np.random.default_rng(0).dirichlet(np.ones(10), 20_000).astype("f4")
    np.testing.assert_array_equal(got["predicted_probability"].data, want)


def test_the_room_check_names_free_space_when_the_disk_is_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from hdmf_ai.io import files

    class Tiny:
        f_bavail, f_frsize = 10, 4096  # 40 KiB free

    monkeypatch.setattr(files.os, "statvfs", lambda _: Tiny())
    rt = hdmf_ai.ResultsTable(name="results")
    rt.add_predicted_class(np.arange(100_000))
    with pytest.raises(hdmf_ai.HdmfAiError) as err:
        hdmf_ai.write(rt, tmp_path / "f.h5")
    assert isinstance(err.value, OSError) and err.value.errno == __import__("errno").ENOSPC
    assert "MiB free" in str(err.value) and "nothing was written" in str(err.value)
    assert os.listdir(tmp_path) == []


BATCHED = """
import resource, signal, sys, numpy as np, hdmf_ai
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
path = sys.argv[1]
rng = np.random.default_rng(0)
resource.setrlimit(resource.RLIMIT_FSIZE, (4_000_000, 4_000_000))
written = 0
try:
    with hdmf_ai.ResultsWriter(path, preset="uncompressed", progress=False) as writer:
        for _ in range(20):  # 20 batches of 0.4 MB: the limit is reached around the ninth
            writer.append(predicted_probability=rng.dirichlet(np.ones(10), 10_000).astype("f4"))
            written += 10_000
except hdmf_ai.HdmfAiError as err:
    print("TYPED", type(err).__name__, written, err)
except Exception as err:
    print("UNTYPED", type(err).__name__, err)
else:
    print("WROTE", written)
"""


def test_the_batched_writer_stops_with_a_typed_error_and_keeps_what_it_wrote(tmp_path: Path) -> None:
    path = tmp_path / "batched.h5"
    done = subprocess.run([sys.executable, "-c", BATCHED, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])  # alive: no SIGSEGV
    assert done.stdout.startswith("TYPED DiskSpaceError"), done.stdout + done.stderr[-2000:]
    appended = int(done.stdout.split()[2])
    # the file holds the batches written before the limit, resumable, values exact
    with pytest.warns(hdmf_ai.IncompleteTableWarning):
        back = hdmf_ai.read(path)
    rows = len(back)
    assert 0 < rows <= appended
    rng = np.random.default_rng(0)
    want = np.concatenate([rng.dirichlet(np.ones(10), 10_000).astype("f4") for _ in range(rows // 10_000 + 1)])
    np.testing.assert_array_equal(back["predicted_probability"].data, want[:rows])


NWB_CHILD = """
import datetime, resource, signal, sys, numpy as np, hdmf_ai
from pynwb import NWBFile, TimeSeries
from hdmf_ai import nwb
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
path, rows = sys.argv[1], int(sys.argv[2])
start = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
f = NWBFile(session_description="s", identifier="i", session_start_time=start)
rng = np.random.default_rng(0)
f.add_acquisition(TimeSeries(name="raw", data=rng.normal(size=(rows, 10)), unit="V", rate=1.0))
rt = hdmf_ai.ResultsTable(name="results")
rt.add_predicted_class(np.arange(rows) % 3)
nwb.add_to_nwbfile(f, rt)
resource.setrlimit(resource.RLIMIT_FSIZE, (4_000_000, 4_000_000))
try:
    nwb.write_nwb(f, path, overwrite=True, preset="uncompressed")
except hdmf_ai.HdmfAiError as err:
    print("TYPED", type(err).__name__, err)
except Exception as err:
    print("UNTYPED", type(err).__name__, err)
else:
    print("WROTE")
"""


@pytest.mark.parametrize("rows", [200_000, 20_000], ids=["too large", "within the limit"])
def test_write_nwb_checks_the_room_for_the_whole_nwb_file(tmp_path: Path, rows: int) -> None:
    """The room check of write_nwb counts the NWB file's own data (a TimeSeries of 16 MB here), not only the
    tables: without it, HDF5 ran out of space midway and raised an untyped RuntimeError."""
    path = tmp_path / "session.nwb"
    before = old_file(path)
    done = subprocess.run(
        [sys.executable, "-c", NWB_CHILD, str(path), str(rows)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])  # alive: no SIGSEGV (-11)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["session.nwb"]  # no temporary left behind
    if rows == 200_000:  # 16 MB of samples against a 4 MB limit
        assert done.stdout.startswith("TYPED DiskSpaceError"), done.stdout + done.stderr[-2000:]
        assert str(path) in done.stdout and "ulimit -f" in done.stdout
        assert path.read_bytes() == before
        return
    assert done.stdout.strip() == "WROTE", done.stdout + done.stderr[-2000:]
    from hdmf_ai import nwb

    with nwb.open_nwb(path) as f:
        want = np.random.default_rng(0).normal(size=(rows, 10))
        np.testing.assert_array_equal(f.acquisition["raw"].data[:], want)
        np.testing.assert_array_equal(f.analysis["results"]["predicted_class"].data[:], np.arange(rows) % 3)


ZARR_CHILD = """
import resource, signal, sys, numpy as np, hdmf_ai
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
path, how = sys.argv[1], sys.argv[2]
rows = 200_000
probabilities = np.random.default_rng(0).dirichlet(np.ones(10), rows).astype("f4")
rt = hdmf_ai.ResultsTable(name="results")
rt.add_predicted_probability(probabilities)
resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))  # a 4 MiB shard of probabilities passes it
try:
    if how == "write":
        hdmf_ai.write(rt, path, overwrite=True, preset="uncompressed")
    elif how == "writer":
        with hdmf_ai.ResultsWriter(path, n_samples=rows, overwrite=True, preset="uncompressed", progress=False) as w:
            w.append(predicted_probability=probabilities)
    else:
        import dask.array as da
        from hdmf_ai.io.dask import write_dask
        columns = {"predicted_probability": da.from_array(probabilities, chunks=50_000)}
        write_dask(path, columns, overwrite=True, preset="uncompressed", progress=False)
except hdmf_ai.HdmfAiError as err:
    print("TYPED", type(err).__name__, err)
except Exception as err:
    print("UNTYPED", type(err).__name__, err)
else:
    print("WROTE")
"""


@pytest.mark.parametrize("how", ["write", "writer", "dask"])
def test_zarr_writes_out_of_room_end_with_a_typed_error_and_the_old_store(tmp_path: Path, how: str) -> None:
    """Zarr writes fail cleanly chunk by chunk (no room check first: a bound from the uncompressed size would
    refuse what compresses to fit); zarr's OSError becomes a DiskSpaceError, and the old store stays. Before,
    the error was zarr's bare OSError, and write_dask(overwrite=True) had already replaced the old store."""
    pytest.importorskip("dask.array", reason="write_dask needs the 'dask' extra")
    path = tmp_path / "results.zarr"
    rt = hdmf_ai.ResultsTable(name="old")
    rt.add_predicted_class(np.arange(7))
    hdmf_ai.write(rt, path)
    done = subprocess.run(
        [sys.executable, "-c", ZARR_CHILD, str(path), how], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.startswith("TYPED DiskSpaceError"), done.stdout + done.stderr[-2000:]
    assert "ran out of room while writing (File too large)" in done.stdout
    back = hdmf_ai.read(path)
    assert back.name == "old"
    np.testing.assert_array_equal(back["predicted_class"].data, np.arange(7))
    left = sorted(p.name for p in tmp_path.iterdir())
    if how == "writer":  # its rows so far, beside the old store, for a resumed run (ResultsWriter's side_path)
        assert left == [".results.zarr.writing", "results.zarr"] and str(path) in done.stdout
        assert f"kept in {tmp_path / '.results.zarr.writing'}, beside the old file" in done.stdout
        assert "resume=True" in done.stdout
    else:
        assert left == ["results.zarr"] and str(path) in done.stdout  # no temporary left behind
