"""hdmf_ai.analysis.label_issues: confident learning from stored out-of-sample probabilities flags the same rows
as cleanlab's default find_label_issues on digits with 5% of labels flipped, finds most flipped rows, and refuses
probabilities made for the rows a model was trained on."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import hdmf_ai
from hdmf_ai import analysis
from hdmf_ai.errors import InSampleError, InSampleWarning

pytest.importorskip("pandas", reason="label_issues returns a pandas DataFrame")
datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn (test extra) gives the digits and the model")

from sklearn.discriminant_analysis import LinearDiscriminantAnalysis  # noqa: E402
from sklearn.model_selection import KFold, cross_val_predict  # noqa: E402


@pytest.fixture(scope="module", params=[0, 1])
def noisy_digits(request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Digits with 5% of labels flipped to another class, and 5-fold out-of-fold probabilities of a model
    trained on the noisy labels: (noisy labels, probabilities, flipped mask, fold of each row)."""
    x, y = datasets.load_digits(return_X_y=True)
    rng = np.random.default_rng(request.param)
    flipped = rng.random(len(y)) < 0.05
    noisy = np.where(flipped, (y + rng.integers(1, 10, len(y))) % 10, y)
    folds = KFold(5, shuffle=True, random_state=request.param)
    fold = np.empty(len(y), dtype=np.int64)
    for i, (_, test) in enumerate(folds.split(x)):
        fold[test] = i
    with warnings.catch_warnings():  # collinear pixels (always 0) make LDA warn; not what is tested
        warnings.simplefilter("ignore")
        probs = cross_val_predict(LinearDiscriminantAnalysis(), x / 16, noisy, cv=folds, method="predict_proba")
    return noisy, probs, flipped, fold


def _table(noisy: np.ndarray, probs: np.ndarray, *, fold: np.ndarray | None) -> hdmf_ai.ResultsTable:
    rt = hdmf_ai.ResultsTable(name="digits")
    rt.add_tvt_split(np.zeros(len(noisy), dtype=np.int64))  # every row trained on (in some fold)
    if fold is not None:
        rt.add_cv_split(fold)
    rt.add_true_label(noisy)
    rt.add_predicted_probability(probs)
    return rt


def test_the_mask_equals_cleanlabs_default(noisy_digits: tuple[np.ndarray, ...]) -> None:
    cleanlab_filter = pytest.importorskip("cleanlab.filter", reason="cleanlab (test extra) is the oracle")
    noisy, probs, _, _ = noisy_digits
    # n_jobs only changes cleanlab's speed (its documentation); 1 avoids forking inside pytest
    want = cleanlab_filter.find_label_issues(noisy, probs, n_jobs=1)
    got = analysis.confident_learning(noisy, probs)
    assert want.sum() > 50
    np.testing.assert_array_equal(got, want)


def test_most_flipped_labels_are_found_through_a_table(noisy_digits: tuple[np.ndarray, ...]) -> None:
    noisy, probs, flipped, fold = noisy_digits
    found = analysis.label_issues(_table(noisy, probs, fold=fold))
    assert (found.mask & flipped).sum() / flipped.sum() >= 0.8
    assert len(found) == found.mask.sum() == len(found.issues)
    issues = found.issues
    assert issues["score"].is_monotonic_increasing
    np.testing.assert_allclose(issues["score"], probs[issues["row"], noisy[issues["row"]]])
    assert (issues["label"] == noisy[issues["row"]].astype(str)).all()
    assert (issues["suggested"] != issues["label"]).all()


def test_in_sample_probabilities_are_refused(noisy_digits: tuple[np.ndarray, ...]) -> None:
    noisy, probs, _, _ = noisy_digits
    rt = _table(noisy, probs, fold=None)
    with pytest.raises(InSampleError, match=r"train split and the table has no cv_split.*strict=False"):
        analysis.label_issues(rt)
    with pytest.warns(InSampleWarning, match="in-sample"):
        loose = analysis.label_issues(rt, strict=False)
    np.testing.assert_array_equal(loose.mask, analysis.confident_learning(noisy, probs))


def test_a_test_split_alone_is_out_of_sample(noisy_digits: tuple[np.ndarray, ...]) -> None:
    noisy, probs, _, _ = noisy_digits
    rt = hdmf_ai.ResultsTable(name="held_out")
    split = np.where(np.arange(len(noisy)) % 3 == 0, 2, 0)
    rt.add_tvt_split(split)
    rt.add_true_label(noisy)
    rt.add_predicted_probability(probs)
    found = analysis.label_issues(rt, split="test")
    test = split == 2
    assert not found.mask[~test].any() and np.isnan(found.score[~test]).all()
    np.testing.assert_array_equal(found.mask[test], analysis.confident_learning(noisy[test], probs[test]))


def test_issues_name_the_source_row_through_a_file(path: Path, noisy_digits: tuple[np.ndarray, ...]) -> None:
    from hdmf.common import DynamicTable, VectorData

    noisy, probs, _, fold = noisy_digits
    n = len(noisy)
    rows = np.random.default_rng(9).permutation(n)
    source = DynamicTable(
        name="images", description="digits", columns=[VectorData(name="scan", description="scan id", data=np.arange(n))]
    )
    rt = _table(noisy, probs, fold=fold)
    rt.add_samples(rows, table=source)
    want = analysis.label_issues(rt)
    hdmf_ai.write(rt, path)
    with hdmf_ai.open(path) as lazy:
        got = analysis.label_issues(lazy)
    np.testing.assert_array_equal(got.mask, want.mask)
    np.testing.assert_array_equal(got.issues["source_row"], rows[got.issues["row"]])
