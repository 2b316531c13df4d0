"""``hdmf-ai audit``: run as users run it, in a subprocess, on HDF5 and Zarr files: suspicious slices, label
errors and leakage printed; exit 1 when a group crosses splits, 0 otherwise, 1 on a missing file, 2 on usage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hdmf.common import DynamicTable, VectorData

import hdmf_ai

pytest.importorskip("pandas", reason="the audit's analyses build pandas DataFrames")

SUFFIX = {"hdf5": ".h5", "zarr": ".zarr"}
N = 3000


def audit(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m hdmf_ai.cli audit ARGS`` with warnings as errors, as a user's shell runs ``hdmf-ai audit``."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "hdmf_ai.cli", "audit", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _table(*, leak: bool) -> hdmf_ai.ResultsTable:
    """3000 scans of 600 subjects; test = subjects 0, 5, 10...; errors planted on site C; ``leak`` moves
    three scans of training subjects into the test split."""
    rng = np.random.default_rng(0)
    subject = np.arange(N) // 5
    site = rng.choice(np.array(["A", "B", "C", "D"]), N)
    source = DynamicTable(
        name="scans",
        description="scans",
        columns=[
            VectorData(name="subject", description="subject id", data=subject),
            VectorData(name="site", description="site", data=site),
        ],
    )
    tvt = np.where(subject % 5 == 0, 2, 0)
    if leak:
        tvt[[1, 6, 11]] = 0  # subjects 0, 1 and 2: scan 1 of subject 0 moves to train, 6 and 11 stay
        tvt[[7, 12]] = 2
    y = rng.integers(0, 3, N)
    wrong = rng.random(N) < np.where(site == "C", 0.4, 0.05)
    pred = np.where(wrong, (y + 1) % 3, y)
    probs = np.full((N, 3), 0.1)
    probs[np.arange(N), pred] = 0.8
    rt = hdmf_ai.ResultsTable(name="scored")
    rt.add_samples(np.arange(N), table=source)
    rt.add_tvt_split(tvt)
    rt.add_cv_split(subject % 5)
    rt.add_true_label(y)
    rt.add_predicted_probability(probs)
    rt.add_predicted_class(pred)
    return rt


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, bool], Path]:
    folder = tmp_path_factory.mktemp("audit")
    return {
        (backend, leak): hdmf_ai.write(_table(leak=leak), folder / f"{'leaky' if leak else 'clean'}{suffix}")
        for backend, suffix in SUFFIX.items()
        for leak in (False, True)
    }


@pytest.mark.parametrize("backend", sorted(SUFFIX))
def test_a_clean_file_exits_0_and_prints_every_section(files: dict[tuple[str, bool], Path], backend: str) -> None:
    done = audit(str(files[backend, False]), "--group", "subject")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "[scored] suspicious slices" in out and "[scored] possible label errors" in out
    assert "\n  site = C: n " in out  # the planted site is found
    assert "no 'subject' in more than one split or fold" in out


@pytest.mark.parametrize("backend", sorted(SUFFIX))
def test_leakage_exits_1_and_names_the_groups(files: dict[tuple[str, bool], Path], backend: str) -> None:
    done = audit(str(files[backend, True]), "--group", "subject", "--max-order", "1")
    assert done.returncode == 1, done.stderr
    assert "tvt_split: subject 0: train 1, test 4" in done.stdout
    assert "tvt_split: subject 1: train 4, test 1" in done.stdout
    assert "tvt_split: subject 2: train 4, test 1" in done.stdout


def test_without_a_group_leakage_is_not_checked(files: dict[tuple[str, bool], Path]) -> None:
    done = audit(str(files["hdf5", True]), "--table", "scored")
    assert done.returncode == 0, done.stderr
    assert "not checked: pass --group" in done.stdout


def test_a_missing_file_exits_1_and_a_bad_option_2(tmp_path: Path, files: dict[tuple[str, bool], Path]) -> None:
    missing = audit(str(tmp_path / "nothing.h5"))
    assert missing.returncode == 1 and "hdmf-ai audit: error:" in missing.stderr
    assert audit(str(files["hdf5", False]), "--max-order", "3").returncode == 2
    unknown = audit(str(files["hdf5", False]), "--group", "nowhere")
    clean = files["hdf5", False]  # the CLI's one-line errors name the file, then the problem
    assert unknown.returncode == 1 and unknown.stderr.startswith(f"hdmf-ai audit: error: {clean}: column 'nowhere'")
    assert len(unknown.stderr.splitlines()) == 1
