"""A file whose ResultsWriter never finished (killed, or the process ended without ``close``) is a state every
surface knows: ``inspect`` shows its true storage and how far it got, ``validate`` checks its complete rows and
says so, refused appends leave it as it was, and other tools open it as the README says."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import zarr

import hdmf_ai

SUFFIX = {"hdf5": ".h5", "zarr": ".zarr"}
N, DONE = 100, 40

# a process that writes DONE of N declared rows, then ends without closing its writer (as a killed one does)
_UNFINISHED = """
import os, sys
import numpy as np
import hdmf_ai

writer = hdmf_ai.ResultsWriter(sys.argv[1], n_samples=int(sys.argv[2]), columns={"predicted_probability": (3,)},
                               progress=False)
done = int(sys.argv[3])
probs = np.tile([0.2, 0.3, 0.5], (done, 1))
writer.append(predicted_probability=probs, predicted_class=np.full(done, 2), loss=np.arange(done, dtype=float))
os._exit(0)
"""


def hdmf_ai_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hdmf_ai.cli", *args], capture_output=True, text=True, timeout=300, check=False
    )


def digest(path: Path) -> str:
    """The bytes of a file, or of every file of a store, with their names."""
    sha = hashlib.sha256()
    for part in sorted(p for p in [path, *path.rglob("*")] if p.is_file()):
        sha.update(str(part.relative_to(path.parent)).encode())
        sha.update(part.read_bytes())
    return sha.hexdigest()


@pytest.fixture(params=sorted(SUFFIX))
def unfinished(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / f"unfinished{SUFFIX[request.param]}"
    subprocess.run([sys.executable, "-c", _UNFINISHED, str(path), str(N), str(DONE)], check=True, timeout=300)
    return path


def stored(path: Path, column: str) -> tuple[tuple[int, ...], bool]:
    """A column's chunk shape and whether it is compressed, asked of h5py (SWMR) or zarr directly."""
    if path.suffix == ".h5":
        with h5py.File(path, "r", swmr=True) as f:
            dataset = f[f"results/{column}"]
            return dataset.chunks, dataset.compression is not None
    array = zarr.open_group(str(path), mode="r", use_consolidated=False)[f"results/{column}"]
    assert isinstance(array, zarr.Array)
    return array.chunks, bool(array.compressors)


def test_inspect_shows_the_true_storage_cached_schemas_and_the_progress(unfinished: Path) -> None:
    done = hdmf_ai_cli("inspect", str(unfinished), "--no-metrics")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", "the state is in the summary, not in warnings"
    out = done.stdout
    assert "cached schemas: hdmf-ai 0.3.0" in out
    assert (
        f"  incomplete: {DONE} of {N} rows (interrupted writer; resume with ResultsWriter(path, resume=True))"
    ) in out.splitlines()
    chunks, compressed = stored(unfinished, "predicted_probability")
    assert compressed
    line = next(x for x in out.splitlines() if x.startswith("  predicted_probability "))
    assert f"({DONE}, 3)" in line
    assert f"chunks {'x'.join(map(str, chunks))} " in line and "contiguous" not in line
    assert " none " not in line


def test_validate_checks_the_complete_rows_and_states_the_progress(unfinished: Path) -> None:
    done = hdmf_ai_cli("validate", str(unfinished))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines() == [
        f"table 'results': incomplete: {DONE} of {N} rows (interrupted writer; resume with "
        "ResultsWriter(path, resume=True))",
        f"{unfinished}: valid against its cached schema (the complete rows of unfinished tables)",
    ]
    with pytest.warns(hdmf_ai.IncompleteTableWarning, match=f"{DONE} complete rows"):
        assert hdmf_ai.validate(unfinished) == []


def test_refused_appends_leave_the_file_byte_identical(unfinished: Path) -> None:
    before = digest(unfinished)
    with pytest.raises(hdmf_ai.ResultsFileError, match=r"interrupted; continue it with resume=True"):
        hdmf_ai.append_rows(unfinished, loss=np.arange(3.0))
    assert digest(unfinished) == before
    with pytest.raises(hdmf_ai.ResultsFileError, match=r"interrupted; continue it with resume=True"):
        hdmf_ai.ResultsWriter(unfinished, mode="a", progress=False)
    assert digest(unfinished) == before
    with pytest.warns(hdmf_ai.IncompleteTableWarning):
        back = hdmf_ai.read(unfinished)
    np.testing.assert_array_equal(back["loss"].data[:], np.arange(DONE, dtype=float))


def test_the_readme_way_opens_an_unfinished_hdf5_file(tmp_path: Path) -> None:
    path = tmp_path / "unfinished.h5"
    subprocess.run([sys.executable, "-c", _UNFINISHED, str(path), str(N), str(DONE)], check=True, timeout=300)
    with pytest.raises(OSError, match="already open for write"):
        h5py.File(path, "r")
    with h5py.File(path, "r", swmr=True) as f:  # as the README says
        np.testing.assert_array_equal(f["results/loss"][:DONE], np.arange(DONE, dtype=float))
        assert int(f["results"].attrs["hdmf_ai_complete_rows"]) == DONE
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert "swmr=True" in readme and "h5clear -s" in readme


def test_a_finished_file_reads_without_a_warning_after_resume(unfinished: Path) -> None:
    with hdmf_ai.ResultsWriter(unfinished, resume=True, progress=False) as writer:
        rest = N - DONE
        writer.append(
            predicted_probability=np.tile([0.2, 0.3, 0.5], (rest, 1)),
            predicted_class=np.full(rest, 2),
            loss=np.arange(DONE, N, dtype=float),
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        back = hdmf_ai.read(unfinished)
    np.testing.assert_array_equal(back["loss"].data[:], np.arange(N, dtype=float))
    done = hdmf_ai_cli("inspect", str(unfinished), "--no-metrics")
    assert done.returncode == 0 and "incomplete:" not in done.stdout
