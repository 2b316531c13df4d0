"""The command line's error contract (README, "Command line"): every failure is one line on stderr naming the
file and the reason in the command line's terms, exit 1 for failed work and 2 for usage errors, no traceback
and no Python warning unless ``--debug``; run as users run it, in a subprocess."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import h5py
import pytest
import zarr
from builders import full_table

import hdmf_ai

N = 24


def hdmf_ai_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m hdmf_ai.cli ARGS`` as a shell runs ``hdmf-ai`` (default warning filters)."""
    return subprocess.run(
        [sys.executable, "-m", "hdmf_ai.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return hdmf_ai.write(full_table(N), tmp_path_factory.mktemp("clierr") / "results.h5")


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory no new file can be made in: mode 555, or, for root (whom modes do not stop), sysfs."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except PermissionError:
        yield folder
    else:
        (folder / "probe").unlink()
        yield Path("/sys")
    finally:
        folder.chmod(0o755)


def cases(results: Path, tmp: Path, read_only: Path) -> dict[tuple[str, str], tuple[list[str], int, list[str]]]:
    """(command, situation) -> (argv, exit code, what the one stderr line must contain)."""
    missing = tmp / "missing.h5"
    unknown = tmp / "results.csv"
    unknown.write_text("a,b\n1,2\n")
    empty = tmp / "empty.zarr"
    empty.mkdir()
    out = str(tmp / "out")
    table = {
        ("inspect", "missing file"): (["inspect", str(missing)], 1, [str(missing)]),
        ("inspect", "unknown format"): (["inspect", str(unknown)], 1, [str(unknown), "--backend hdf5"]),
        ("inspect", "empty store"): (["inspect", str(empty)], 1, [str(empty), "empty Zarr store"]),
        ("inspect", "bad option"): (["inspect", str(results), "--bogus"], 2, ["--bogus"]),
        ("validate", "missing file"): (["validate", str(missing)], 1, [str(missing)]),
        ("validate", "unknown format"): (["validate", str(unknown)], 1, [str(unknown), "--backend zarr"]),
        ("validate", "empty store"): (["validate", str(empty)], 1, [str(empty), "empty Zarr store"]),
        ("validate", "bad option"): (["validate", str(results), "--backend", "csv"], 2, ["--backend", "'csv'"]),
        ("report", "missing file"): (["report", str(missing), "--out", out], 1, [str(missing)]),
        ("report", "unknown format"): (["report", str(unknown), "--out", out], 1, [str(unknown), "--backend"]),
        ("report", "empty store"): (["report", str(empty), "--out", out], 1, [str(empty), "empty Zarr store"]),
        ("report", "read-only destination"): (
            ["report", str(results), "--out", str(read_only / "report")],
            1,
            [str(read_only / "report")],
        ),
        ("report", "bad option"): (["report", str(results)], 2, ["--out"]),
        ("convert", "missing file"): (["convert", str(missing), str(tmp / "x.zarr")], 1, [str(missing)]),
        ("convert", "unknown format"): (
            ["convert", str(unknown), str(tmp / "x.zarr")],
            1,
            [str(unknown), "--source-backend hdf5"],
        ),
        ("convert", "empty store"): (["convert", str(empty), str(tmp / "x.h5")], 1, [str(empty), "empty Zarr"]),
        ("convert", "read-only destination"): (
            ["convert", str(results), str(read_only / "x.zarr")],
            1,
            [str(read_only / "x.zarr"), "cannot write here"],
        ),
        ("convert", "bad option"): (["convert", str(results), str(tmp / "x.h5"), "--preset", "nope"], 2, ["nope"]),
        ("demo", "read-only destination"): (["demo", "--out", str(read_only / "demo")], 1, [str(read_only)]),
        ("demo", "bad option"): (["demo", "--seed", "one"], 2, ["'one'"]),
    }
    return table


SITUATIONS = ["missing file", "unknown format", "empty store", "read-only destination", "bad option"]
COMMANDS = ["inspect", "validate", "report", "convert", "demo"]
# inspect and validate write nothing; demo reads nothing: those pairs do not exist
NOT_APPLICABLE = {
    ("inspect", "read-only destination"),
    ("validate", "read-only destination"),
    *(("demo", s) for s in ("missing file", "unknown format", "empty store")),
}


@pytest.mark.parametrize(
    ("command", "situation"),
    [(c, s) for c in COMMANDS for s in SITUATIONS if (c, s) not in NOT_APPLICABLE],
)
def test_every_failure_is_one_line_naming_the_file_with_the_documented_exit_code(
    command: str, situation: str, results: Path, tmp_path: Path, read_only_dir: Path
) -> None:
    argv, code, expected = cases(results, tmp_path, read_only_dir)[command, situation]
    before = sorted(p.name for p in tmp_path.iterdir())
    done = hdmf_ai_cli(*argv)
    assert done.returncode == code, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    prefix = f"hdmf-ai {command}: error: " if code == 1 else "hdmf-ai"
    assert lines[0].startswith(prefix), lines[0]
    for part in expected:
        assert part in lines[0], (part, lines[0])
    assert "Traceback" not in done.stderr and "Errno" not in lines[0] and ".tmp" not in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "a failed command left something behind"


def test_convert_names_the_cli_option_not_the_python_argument(results: Path) -> None:
    done = hdmf_ai_cli("convert", str(results), str(results))
    assert done.returncode == 1
    assert done.stderr.strip() == f"hdmf-ai convert: error: {results} exists; pass --overwrite to replace it"


def test_convert_backend_options_pick_formats_a_suffix_cannot_tell(results: Path, tmp_path: Path) -> None:
    source = tmp_path / "results.dat"
    source.write_bytes(results.read_bytes())
    target = tmp_path / "converted.store"
    done = hdmf_ai_cli("convert", str(source), str(target), "--source-backend", "hdf5", "--backend", "zarr")
    assert done.returncode == 0, done.stderr
    assert (target / "zarr.json").is_file()
    back = hdmf_ai.read(target, backend="zarr")
    expected = hdmf_ai.read(results)
    assert back.to_dataframe().equals(expected.to_dataframe())


def test_report_with_an_unknown_by_column_fails_and_writes_nothing(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    done = hdmf_ai_cli("report", str(results), "--out", str(out), "--by", "nosuchcol")
    assert done.returncode == 1
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"hdmf-ai report: error: {results}: column 'nosuchcol': expected a column of")
    assert "'site'" in line, "the message lists the columns there are"
    assert not out.exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    unknown = tmp_path / "results.csv"
    unknown.write_text("a\n")
    done = hdmf_ai_cli("--debug", "inspect", str(unknown))
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "UnknownFormatError" in done.stderr


def test_output_cut_short_by_its_reader_ends_quietly(results: Path) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "hdmf_ai.cli", "inspect", str(results)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # as `| head -0` does: every write meets a closed pipe
        stderr = process.stderr.read()
        assert process.wait(timeout=300) == 141
    assert stderr == ""


@pytest.mark.parametrize("suffix", [".h5", ".zarr"])
def test_a_plain_file_is_named_not_an_hdmf_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"plain{suffix}"
    if suffix == ".h5":
        with h5py.File(path, "w") as f:
            f["x"] = [1, 2, 3]
    else:
        zarr.open_group(str(path), mode="w").create_array("x", shape=(3,), dtype="i4")
    for command in ("inspect", "validate"):
        done = hdmf_ai_cli(command, str(path))
        assert done.returncode == 1
        assert done.stderr.splitlines() == [
            f"hdmf-ai {command}: error: {path}: not an HDMF file (no cached specification / no data_type at its root)"
        ]
    with pytest.raises(hdmf_ai.ResultsFileError, match="not an HDMF file"):
        hdmf_ai.read(path)


def test_an_empty_zarr_directory_is_named_an_empty_store_with_no_warnings(tmp_path: Path) -> None:
    empty = tmp_path / "empty.zarr"
    empty.mkdir()
    for call in (hdmf_ai.read, hdmf_ai.list_tables, hdmf_ai.validate):
        with warnings.catch_warnings(), pytest.raises(hdmf_ai.ResultsFileError, match="empty Zarr store"):
            warnings.simplefilter("error")
            call(empty)
    assert not any(empty.iterdir())


def test_an_unwritable_destination_is_named_with_the_os_reason(results: Path, tmp_path: Path) -> None:
    missing_dir = tmp_path / "no-such-dir" / "out.h5"
    with pytest.raises(FileNotFoundError) as caught:
        hdmf_ai.write(hdmf_ai.read(results), missing_dir)
    assert caught.value.filename == str(missing_dir)
    assert caught.value.strerror == f"cannot write here ({missing_dir.parent}): {os.strerror(2)}"
    assert list(tmp_path.iterdir()) == []


def test_a_refused_write_leaves_an_existing_destination_as_it_was(results: Path, tmp_path: Path) -> None:
    copy = tmp_path / "results.h5"
    copy.write_bytes(results.read_bytes())
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()
    done = hdmf_ai_cli("convert", str(results), str(copy))
    assert done.returncode == 1
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.h5"]
