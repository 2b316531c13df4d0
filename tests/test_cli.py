"""``hdmf-ai inspect`` and ``hdmf-ai report`` (and the command line's common behaviour) on HDF5, Zarr and NWB
files, corrupt and missing ones included; run as users run them, in a subprocess, where it matters."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import zarr
from builders import full_table

import hdmf_ai
from hdmf_ai.cli import COMMANDS, main

SUFFIX = {"hdf5": ".h5", "zarr": ".zarr"}
N = 60


def hdmf_ai_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m hdmf_ai.cli ARGS`` with warnings as errors, as a user's shell would run ``hdmf-ai``."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "hdmf_ai.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One results file per backend: every column type, linked to a source table with a 'site' column."""
    folder = tmp_path_factory.mktemp("cli")
    table = full_table(N)
    return {backend: hdmf_ai.write(table, folder / f"results{suffix}") for backend, suffix in SUFFIX.items()}


def stored(path: Path, column: str) -> tuple[tuple[int, ...], int]:
    """A column's chunk shape and stored bytes, asked of h5py or zarr directly."""
    if path.suffix == ".h5":
        with h5py.File(path, "r") as f:
            found: list[h5py.Dataset] = []
            f.visititems(lambda name, obj: found.append(obj) if name.endswith(f"/{column}") else None)
            return found[0].chunks, found[0].id.get_storage_size()
    group = zarr.open_group(str(path), mode="r")
    array = next(a for name, a in group.members(max_depth=None) if name.endswith(f"/{column}"))
    assert isinstance(array, zarr.Array)
    return array.chunks, array.nbytes_stored()


# -- inspect -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", sorted(SUFFIX))
def test_inspect_describes_every_column_as_stored(written: dict[str, Path], backend: str) -> None:
    path = written[backend]
    done = hdmf_ai_cli("inspect", str(path))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith(f"{path}: {backend},")
    assert "cached schemas: hdmf-ai 0.3.0" in out
    assert f"ResultsTable 'results': {N} rows" in out and f"DynamicTable 'source': {N} rows" in out
    rt = hdmf_ai.read(path)
    for column in rt.columns:
        assert re.search(rf"^  {column.name} +{type(column).__name__} ", out, re.MULTILINE), column.name
    line = next(x for x in out.splitlines() if x.startswith("  predicted_probability "))
    chunks, nbytes = stored(path, "predicted_probability")
    assert f"({N}, 4)" in line and "float64" in line and "ClassProbability" in line
    assert f"chunks {'x'.join(map(str, chunks))} " in line
    assert f"{nbytes} B stored" in line or f"{nbytes / 1024:.1f} KiB stored" in line
    assert "parameters[0]: " in out and "model_description[1]: top-k" in out
    assert re.search(r"^    all +60 +\d\.\d+", out, re.MULTILINE), "a metrics summary with the overall row"


def test_inspect_finds_results_inside_an_nwb_file(tmp_path: Path) -> None:
    pytest.importorskip("pynwb", reason="NWB files need pynwb")
    from test_nwb import results_for, session

    from hdmf_ai import nwb

    nwbfile = session()
    nwb.add_to_nwbfile(nwbfile, results_for(nwbfile.units))
    path = nwb.write_nwb(nwbfile, tmp_path / "session.nwb")
    done = hdmf_ai_cli("inspect", str(path), "--no-metrics")
    assert done.returncode == 0, done.stderr
    assert "ResultsTable 'cell_types': 8 rows" in done.stdout
    assert "Units 'units': 8 rows" in done.stdout
    assert "(rows of 'units')" in done.stdout
    assert "metrics:" not in done.stdout


def test_inspect_of_a_table_without_outputs_says_why_there_are_no_metrics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = hdmf_ai.ResultsTable(name="bare", description="a loss, no split, no outputs")
    rt.add_column("loss", "per-sample loss", data=np.array([0.5, 0.25, 2.0]))
    path = hdmf_ai.write(rt, tmp_path / "bare.h5")
    assert main(["inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert "  loss                     VectorData               float64  (3,)" in out
    assert re.search(r"^  metrics: none \(no outputs to score: a true_label with predicted_class", out, re.MULTILINE), (
        out
    )


# -- report --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", sorted(SUFFIX))
def test_report_writes_an_index_that_shows_every_figure_and_table(
    written: dict[str, Path], backend: str, tmp_path: Path
) -> None:
    import pandas as pd
    from matplotlib.image import imread

    from hdmf_ai import analysis

    out = tmp_path / "report"
    done = hdmf_ai_cli("report", str(written[backend]), "--out", str(out), "--by", "site", "--by", "age")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"report written: {out / 'index.html'}"
    page = (out / "index.html").read_text(encoding="utf-8")
    images = re.findall(r'<img src="([^"]+)"', page)
    expected = {"confusion_matrix", "reliability", "embedding_true_label", "embedding_correct", "errors_by_site"}
    assert {f"results_{stem}.png" for stem in expected | {"errors_by_age"}} <= set(images)
    for image in images:
        pixels = imread(out / image)
        assert pixels.ndim == 3 and min(pixels.shape[:2]) > 200, image
    links = re.findall(r'<a href="([^"#]+\.csv)"', page)
    assert "results_metrics.csv" in links and "results_errors_by_site.csv" in links
    for link in links:
        assert (out / link).is_file(), link

    # the CSV read back holds what hdmf_ai.analysis computes from the file
    got = pd.read_csv(out / "results_metrics.csv", index_col=0)
    want = analysis.metrics(hdmf_ai.read(written[backend]))
    assert list(got.index) == [str(i) for i in want.index]
    np.testing.assert_allclose(got.to_numpy(dtype=float), want.to_numpy(dtype=float), equal_nan=True)


def test_report_of_one_named_table(
    written: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(written["hdf5"]), "--out", str(tmp_path), "--table", "results", "--split", "all"]) == 1
    assert "split" in capsys.readouterr().err  # 'all' is not a split: said on one line
    assert main(["report", str(written["hdf5"]), "--out", str(tmp_path), "--table", "results"]) == 0
    assert (tmp_path / "index.html").is_file()


def test_report_of_a_missing_table_is_one_line_and_writes_nothing(
    written: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    assert main(["report", str(written["zarr"]), "--out", str(out), "--table", "nope"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no ResultsTable named 'nope'" in err and "['results']" in err
    assert not out.exists()


def test_report_into_a_file_is_refused(
    written: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "taken"
    taken.write_text("not a directory")
    assert main(["report", str(written["hdf5"]), "--out", str(taken)]) == 1
    assert "is a file, not a directory" in capsys.readouterr().err
    assert taken.read_text() == "not a directory"


# -- bad files, usage, help ----------------------------------------------------------------------------------


@pytest.fixture(params=sorted(SUFFIX))
def corrupt(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A file of the backend's suffix that is not what it claims: garbage bytes, or a store without metadata."""
    path = tmp_path / f"broken{SUFFIX[request.param]}"
    if request.param == "hdf5":
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 4)  # HDF5's signature, then noise
    else:
        path.mkdir()
        (path / "zarr.json").write_text("{ this is not json")
    return path


def test_a_corrupt_file_is_one_clear_line_and_exit_1(corrupt: Path) -> None:
    done = hdmf_ai_cli("inspect", str(corrupt))
    assert done.returncode == 1
    assert done.stdout == ""
    err = done.stderr.strip()
    assert "\n" not in err and "Traceback" not in err
    prefix = f"hdmf-ai inspect: error: {corrupt}: "
    assert err.startswith(prefix) and len(err) > len(prefix) + 10, err  # the file, then what is wrong with it


@pytest.mark.parametrize("command", ["validate", "report"])
def test_other_commands_on_a_corrupt_file_also_fail_on_one_line(
    corrupt: Path, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["--out", str(tmp_path / "out")] if command == "report" else []
    assert main([command, str(corrupt), *extra]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"hdmf-ai {command}: error: {corrupt}")
    assert not (tmp_path / "out").exists()


def test_a_missing_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    done = hdmf_ai_cli("inspect", str(tmp_path / "nowhere.zarr"))
    assert done.returncode == 1
    assert done.stderr == f"hdmf-ai inspect: error: no results file at {tmp_path / 'nowhere.zarr'}\n"


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: hdmf-ai {command}")
    assert next(c.help for c in COMMANDS if c.name == command)[:40] in " ".join(out.split())


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert re.search(rf"^    {command.name} ", out, re.MULTILINE), command.name


@pytest.mark.parametrize(
    "argv", [["report", "results.h5"], ["inspect"], ["inspect", "a.h5", "--backend", "parquet"]], ids=str
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_report_lists_the_misclassified_rows_of_its_split_joined_to_the_source(
    written: dict[str, Path], backend: str, tmp_path: Path
) -> None:
    """The rows to look at, with the site and age of each: every wrong test row and nothing else."""
    import pandas as pd

    out = tmp_path / "report"
    assert hdmf_ai_cli("report", str(written[backend]), "--out", str(out)).returncode == 0
    got = pd.read_csv(out / "results_misclassified.csv", index_col=0)
    table = hdmf_ai.read(written[backend])
    truth = np.asarray(table.true_label.data)
    predicted = np.asarray(table.predicted_class.data)
    test = np.asarray(table.tvt_split.data) == 2
    ids = np.asarray(table.id.data)
    want = ids[(truth != predicted) & test]
    assert sorted(got.index) == sorted(want.tolist()) and len(want) > 0
    assert {"site", "age", "true_label", "predicted_class"} <= set(got.columns)
    names = list(table.true_label.elements.data[:])
    rows = {int(i): k for k, i in enumerate(ids)}
    for row_id, row in got.iterrows():
        k = rows[int(row_id)]
        assert row["true_label"] == names[truth[k]] and row["predicted_class"] == names[predicted[k]]
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "Misclassified rows (test)" in page and "Error rate by site (test)" in page
