"""hdmf_ai.analysis.leakage: no group reported for splits made with scikit-learn's GroupKFold and
GroupShuffleSplit, and every planted overlap reported with its row counts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hdmf.common import DynamicTable, VectorData

import hdmf_ai
from hdmf_ai import analysis

pd = pytest.importorskip("pandas", reason="leakage returns pandas DataFrames")
model_selection = pytest.importorskip("sklearn.model_selection", reason="scikit-learn (test extra) makes the splits")

N = 900


def _subjects(seed: int) -> tuple[DynamicTable, np.ndarray]:
    """A source table of scans from 60 subjects (uneven numbers of scans), and the results' permuted rows."""
    rng = np.random.default_rng(seed)
    subject = np.array([f"sub-{i:02d}" for i in rng.integers(0, 60, N)])
    source = DynamicTable(
        name="scans",
        description="scans",
        columns=[
            VectorData(name="subject", description="subject id", data=subject),
            VectorData(name="session", description="session number", data=rng.integers(0, 4, N)),
        ],
    )
    return source, rng.permutation(N)


def _table(
    source: DynamicTable, rows: np.ndarray, tvt: np.ndarray | None, folds: np.ndarray | None
) -> hdmf_ai.ResultsTable:
    rt = hdmf_ai.ResultsTable(name="grouped")
    rt.add_samples(rows, table=source)
    if tvt is not None:
        rt.add_tvt_split(tvt)
    if folds is not None:
        rt.add_cv_split(folds)
    return rt


def _group_splits(subject: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """train/validate/test by two GroupShuffleSplits, and 5 GroupKFold folds of the same rows."""
    x = np.zeros((len(subject), 1))
    tvt = np.zeros(len(subject), dtype=np.int64)
    outer = model_selection.GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=seed)
    rest, test = next(outer.split(x, groups=subject))
    tvt[test] = 2
    inner = model_selection.GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=seed + 1)
    _, validate = next(inner.split(x[rest], groups=subject[rest]))
    tvt[rest[validate]] = 1
    folds = np.empty(len(subject), dtype=np.int64)
    for i, (_, held) in enumerate(model_selection.GroupKFold(5).split(x, groups=subject)):
        folds[held] = i
    return tvt, folds


@pytest.mark.parametrize("seed", range(5))
def test_no_leak_is_reported_for_grouped_splits(seed: int) -> None:
    source, rows = _subjects(seed)
    subject = np.asarray(source["subject"].data)[rows]
    tvt, folds = _group_splits(subject, seed)
    assert len(set(tvt)) == 3 and len(set(folds)) == 5
    found = analysis.leakage(_table(source, rows, tvt, folds), "subject")
    assert set(found.overlaps) == {"tvt_split", "cv_split"}
    assert not found.found, str(found)
    assert "no 'subject' in more than one split" in found.summary()


@pytest.mark.parametrize("seed", range(3))
def test_every_planted_overlap_is_reported_with_row_counts(seed: int) -> None:
    source, rows = _subjects(seed)
    subject = np.asarray(source["subject"].data)[rows]
    tvt, folds = _group_splits(subject, seed)
    rng = np.random.default_rng(seed)
    moved = rng.choice(np.flatnonzero(tvt == 0), 4, replace=False)  # 4 training scans moved to test
    tvt[moved] = 2
    folds[moved[:2]] = (folds[moved[:2]] + 1) % 5  # and 2 of them into another fold
    found = analysis.leakage(_table(source, rows, tvt, folds), "subject")
    want = pd.crosstab(subject, tvt)
    want = want[(want > 0).sum(axis=1) > 1]
    got = found.overlaps["tvt_split"]
    assert set(got.index) == set(subject[moved]) == set(want.index)
    for name in got.index:
        for code, split in enumerate(("train", "validate", "test")):
            assert got.loc[name, split] == ((subject == name) & (tvt == code)).sum()
    assert set(found.overlaps["cv_split"].index) == set(subject[moved[:2]])
    assert found.found and "leakage" in found.summary()


def test_a_results_table_without_splits_has_nothing_to_leak() -> None:
    source, rows = _subjects(0)
    found = analysis.leakage(_table(source, rows, None, None), "subject")
    assert not found.found and found.overlaps == {}


def test_integer_groups_in_folds() -> None:
    source, rows = _subjects(1)
    session = np.asarray(source["session"].data)[rows]
    folds = session % 2
    found = analysis.leakage(_table(source, rows, None, folds), "session", partitions=("cv_split",))
    assert not found.found and list(found.overlaps) == ["cv_split"]
    folds[np.flatnonzero(session == 0)[0]] = 1
    got = analysis.leakage(_table(source, rows, None, folds), "session").overlaps["cv_split"]
    assert list(got.index) == [0] and got.loc[0, "fold 1"] == 1 and got.loc[0, "sides"] == 2
    assert got.loc[0, "fold 0"] == (session == 0).sum() - 1


def test_leakage_through_a_file(path: Path) -> None:
    source, rows = _subjects(2)
    subject = np.asarray(source["subject"].data)[rows]
    tvt, folds = _group_splits(subject, 2)
    tvt[np.flatnonzero(tvt == 0)[:3]] = 1
    rt = _table(source, rows, tvt, folds)
    hdmf_ai.write(rt, path)
    with hdmf_ai.open(path) as lazy:
        got = analysis.leakage(lazy, "subject")
    pd.testing.assert_frame_equal(got.overlaps["tvt_split"], analysis.leakage(rt, "subject").overlaps["tvt_split"])
    assert got.found
