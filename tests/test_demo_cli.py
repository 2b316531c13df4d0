"""``hdmf-ai demo`` and the command line around it: what a new user runs first."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import hdmf_ai
from hdmf_ai.cli import main
from hdmf_ai.demo import FILES, DemoRoundTripError, DemoSummary, run_demo

N_DIGITS = 1797  # images in scikit-learn's bundled digits data


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoSummary, list[str]]:
    """One run of the demo shared by the tests that only look at its results, and the lines it logged."""
    logged: list[str] = []
    summary = run_demo(tmp_path_factory.mktemp("demo"), seed=0, log=logged.append)
    return summary, logged


# -- run_demo ----------------------------------------------------------------------------------------------


def test_classifier_is_accurate_on_the_held_out_test_split(demo: tuple[DemoSummary, list[str]]) -> None:
    summary, _ = demo
    assert set(summary.accuracy) == {"train", "validate", "test"}
    assert summary.accuracy["test"] > 0.9


def test_summary_counts_every_digit_and_lists_every_results_column(demo: tuple[DemoSummary, list[str]]) -> None:
    summary, _ = demo
    assert summary.rows == N_DIGITS
    assert {
        "samples",
        "tvt_split",
        "cv_split",
        "true_label",
        "predicted_probability",
        "predicted_class",
        "topk_probabilities",
        "topk_classes",
        "cluster_label",
        "embedding",
        "viz_embedding",
        "loss",
    } <= set(summary.columns)


def test_summary_reports_the_size_of_each_file_written(demo: tuple[DemoSummary, list[str]]) -> None:
    summary, logged = demo
    assert set(summary.paths) == set(summary.file_sizes) == {"hdf5", "zarr"}
    for backend, path in summary.paths.items():
        assert path.exists()
        assert summary.file_sizes[backend] > 0
        assert any(str(path) in line and f"{summary.file_sizes[backend]:,} bytes" in line for line in logged)


@pytest.mark.parametrize("backend", sorted(FILES))
def test_files_link_every_result_to_its_row_of_the_digits_table(
    demo: tuple[DemoSummary, list[str]], backend: str
) -> None:
    summary, _ = demo
    back = hdmf_ai.read(summary.paths[backend])
    assert back.samples.table.name == "digits"
    assert len(back.samples.table) == len(back) == N_DIGITS
    np.testing.assert_array_equal(back.samples.data, np.arange(N_DIGITS))
    assert {"pixels", "site", "session"} <= set(back.samples.table.colnames)


@pytest.mark.parametrize("backend", sorted(FILES))
def test_files_keep_the_classifier_provenance(demo: tuple[DemoSummary, list[str]], backend: str) -> None:
    summary, _ = demo
    back = hdmf_ai.read(summary.paths[backend])
    assert back.get_parameters(0)["solver"] == "lbfgs"
    assert back.model_description[0].startswith("LogisticRegression(")
    assert "hdmf_ai/demo.py" in back.source_code[0]


def test_true_labels_and_predicted_classes_index_the_same_classes(demo: tuple[DemoSummary, list[str]]) -> None:
    summary, _ = demo
    back = hdmf_ai.read(summary.paths["hdf5"])
    assert list(back.true_label.elements.data) == [f"digit_{d}" for d in range(10)]
    test = back.tvt_split.data == 2
    correct = back.predicted_class.data[test] == back.true_label.data[test]
    assert correct.mean() == pytest.approx(summary.accuracy["test"])


def test_a_column_that_reads_back_different_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_with_a_flipped_loss(path: Path) -> hdmf_ai.ResultsTable:
        table = hdmf_ai.read(path)
        table.loss.data[0] += 1.0
        return table

    monkeypatch.setattr("hdmf_ai.demo.read", read_with_a_flipped_loss)
    with pytest.raises(DemoRoundTripError, match="column 'loss'"):
        run_demo(tmp_path, log=lambda line: None)


# -- the command line --------------------------------------------------------------------------------------


def test_demo_command_writes_both_files_and_prints_rows_and_accuracies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--out", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "demo.h5").is_file()
    assert (tmp_path / "out" / "demo.zarr").is_dir()
    printed = capsys.readouterr().out
    assert f"rows: {N_DIGITS}" in printed
    accuracy = dict(re.findall(r"\b(train|validate|test) ([01]\.\d{3})\b", printed))
    assert set(accuracy) == {"train", "validate", "test"}
    assert float(accuracy["test"]) > 0.9


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"]])
def test_help_exits_0_and_shows_usage(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 0
    assert "usage: hdmf-ai" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["frobnicate"], [], ["demo", "--seed", "many"]])
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_an_unusable_output_directory_is_one_line_on_stderr_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("not a directory")
    assert main(["demo", "--out", str(a_file)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a directory" in err


def test_demo_without_scikit_learn_names_the_extra_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)  # makes `import sklearn` fail as if not installed
    assert main(["demo", "--out", str(tmp_path)]) == 1
    assert "pip install 'hdmf-ai[demo]'" in capsys.readouterr().err
    assert not (tmp_path / "demo.h5").exists()


def test_version_through_the_module_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "hdmf_ai.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"hdmf-ai {hdmf_ai.__version__}"


def test_validate_command_passes_a_written_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = hdmf_ai.write(hdmf_ai.ResultsTable(n_samples=0), tmp_path / "empty.zarr")
    assert main(["validate", str(path)]) == 0
    assert "valid against its cached schema" in capsys.readouterr().out


def test_validate_command_fails_on_a_schema_violation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hdmf.build.warnings import IncorrectDatasetShapeBuildWarning

    rt = hdmf_ai.ResultsTable()
    rt.add_column("topk_classes", "1-D on purpose", data=np.array([1, 2], dtype=np.uint32), col_cls=hdmf_ai.TopKClasses)
    with pytest.warns(IncorrectDatasetShapeBuildWarning):
        path = hdmf_ai.write(rt, tmp_path / "bad.h5")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "topk_classes" in out and "incorrect shape" in out and "problem(s)" in out


def test_validate_command_reports_a_missing_file_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["validate", str(tmp_path / "nope.h5")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("hdmf-ai validate: error: no results file at") and "\n" not in err


def test_demo_ends_with_a_report_of_the_hdf5_file(demo: tuple[DemoSummary, list[str]]) -> None:
    summary, logged = demo
    index = summary.report
    assert index.name == "index.html" and index.parent == summary.paths["hdf5"].parent / "report"
    page = index.read_text(encoding="utf-8")
    images = re.findall(r'<img src="([^"]+)"', page)
    assert {"digits_logreg_confusion_matrix.png", "digits_logreg_errors_by_site.png"} <= set(images)
    assert "digits_logreg_errors_by_session.png" in images
    for image in images:
        assert (index.parent / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
    assert any(str(index) in line for line in logged)
