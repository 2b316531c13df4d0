"""hdmf_ai.analysis: metrics equal scikit-learn's, per split and fold, on tables in memory, read and open;
error_breakdown finds a planted dependence of errors on a source column and none in a null."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hdmf.common import DynamicTable, VectorData

import hdmf_ai
from hdmf_ai import analysis
from hdmf_ai._tableview import require
from hdmf_ai.analysis import stats as analysis_stats
from hdmf_ai.errors import ColumnError, MissingDependencyError

skm = pytest.importorskip("sklearn.metrics", reason="scikit-learn (test extra) is the reference for the metrics")
stats = pytest.importorskip("scipy.stats", reason="scipy (installed with scikit-learn) checks the statistics")
pd = pytest.importorskip("pandas", reason="the table functions return pandas DataFrames")

N_CLASSES = 5
NAMES = ["ant", "bee", "cat", "dog", "eel"]


def _labels(rng: np.random.Generator, n: int, *, missing: tuple[int, ...] = ()) -> tuple[np.ndarray, np.ndarray]:
    """True and predicted classes, right about 60% of the time, with some classes absent from the truth."""
    present = np.setdiff1d(np.arange(N_CLASSES), missing)
    y_true = rng.choice(present, n)
    y_pred = np.where(rng.random(n) < 0.6, y_true, rng.integers(0, N_CLASSES, n))
    return y_true, y_pred


def _probabilities(rng: np.random.Generator, y_true: np.ndarray) -> np.ndarray:
    logits = rng.normal(size=(len(y_true), N_CLASSES))
    logits[np.arange(len(y_true)), y_true] += 1.5
    probs = np.exp(logits)
    return probs / probs.sum(axis=1, keepdims=True)


# -- array functions against scikit-learn --------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("average", ["macro", "micro", "weighted", None])
@pytest.mark.parametrize("zero_division", [0.0, 1.0, np.nan])
@pytest.mark.parametrize("all_labels", [False, True])
def test_precision_recall_f1_equal_sklearn_with_missing_classes(
    seed: int, average: str | None, zero_division: float, all_labels: bool
) -> None:
    y_true, y_pred = _labels(np.random.default_rng(seed), 40, missing=(1, 4))
    labels = np.arange(N_CLASSES) if all_labels else None
    ours = analysis.precision_recall_f1(y_true, y_pred, average=average, labels=labels, zero_division=zero_division)
    p, r, f, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, average=average, labels=labels, zero_division=zero_division
    )
    for got, want in zip(ours, (p, r, f), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accuracy_balanced_accuracy_and_confusion_equal_sklearn(seed: int) -> None:
    y_true, y_pred = _labels(np.random.default_rng(seed), 50, missing=(2,))
    assert analysis.accuracy(y_true, y_pred) == pytest.approx(skm.accuracy_score(y_true, y_pred))
    with warnings.catch_warnings():  # sklearn warns that y_pred has classes y_true lacks; that is the point
        warnings.simplefilter("ignore", UserWarning)
        want = skm.balanced_accuracy_score(y_true, y_pred)
    assert analysis.balanced_accuracy(y_true, y_pred) == pytest.approx(want, rel=1e-12)
    np.testing.assert_array_equal(
        analysis.confusion_counts(y_true, y_pred, n_classes=N_CLASSES),
        skm.confusion_matrix(y_true, y_pred, labels=np.arange(N_CLASSES)),
    )


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_top_k_log_loss_and_calibration_equal_sklearn(dtype: type) -> None:
    rng = np.random.default_rng(3)
    y_true, _ = _labels(rng, 200, missing=(0,))
    probs = _probabilities(rng, y_true).astype(dtype)
    topk = np.argsort(-probs, axis=1, kind="stable")[:, :3]
    labels = np.arange(N_CLASSES)
    for k in (1, 2, 3):
        want = skm.top_k_accuracy_score(y_true, probs, k=k, labels=labels)
        assert analysis.top_k_accuracy(y_true, topk, k=k) == pytest.approx(want)
    assert analysis.log_loss(y_true, probs) == pytest.approx(skm.log_loss(y_true, probs, labels=labels), rel=1e-6)
    bins = analysis.calibration_bins(y_true, probs, n_bins=10)
    confidence, correct = probs.max(axis=1), (probs.argmax(axis=1) == y_true)
    from sklearn.calibration import calibration_curve

    prob_true, prob_pred = calibration_curve(correct, confidence, n_bins=10)
    used = bins["count"] > 0
    np.testing.assert_allclose(bins["accuracy"][used], prob_true, rtol=1e-6)
    np.testing.assert_allclose(bins["confidence"][used], prob_pred, rtol=1e-6)
    assert bins["count"].sum() == len(y_true)
    ece = np.sum(bins["count"][used] * np.abs(prob_true - prob_pred)) / len(y_true)
    assert analysis.expected_calibration_error(y_true, probs) == pytest.approx(ece, rel=1e-6)


def test_log_loss_clips_a_zero_probability_as_sklearn_does() -> None:
    probs = np.array([[1.0, 0.0], [0.5, 0.5]])
    assert analysis.log_loss([1, 0], probs) == pytest.approx(skm.log_loss([1, 0], probs, labels=[0, 1]))


@pytest.mark.parametrize("outputs", [1, 3])
def test_regression_metrics_equal_sklearn(outputs: int) -> None:
    rng = np.random.default_rng(4)
    y = rng.normal(size=(60, outputs)).squeeze()
    pred = y + rng.normal(scale=0.3, size=y.shape)
    assert analysis.mean_absolute_error(y, pred) == pytest.approx(skm.mean_absolute_error(y, pred))
    assert analysis.root_mean_squared_error(y, pred) == pytest.approx(skm.root_mean_squared_error(y, pred))
    assert analysis.r2_score(y, pred) == pytest.approx(skm.r2_score(y, pred))


def test_r2_of_a_constant_truth_follows_sklearn() -> None:
    constant = np.ones(5)
    assert analysis.r2_score(constant, constant) == skm.r2_score(constant, constant) == 1.0
    assert analysis.r2_score(constant, constant + 1) == skm.r2_score(constant, constant + 1) == 0.0


@pytest.mark.parametrize(
    "labels_true, labels_pred",
    [
        pytest.param(*_labels(np.random.default_rng(5), 80), id="random"),
        pytest.param([0, 0, 1, 1], [1, 1, 0, 0], id="relabelled"),
        pytest.param([0, 0, 1, 1], [0, 1, 0, 1], id="discordant"),
        pytest.param([0, 0, 0, 0], [0, 1, 2, 3], id="one-class"),
        pytest.param([0, 0, 0, 0], [5, 5, 5, 5], id="one-block"),
        pytest.param([0, 1, 2, 3], [0, 1, 2, 3], id="singletons"),
        pytest.param([0, 0, 1, 1, 2], [-1, 3, 3, -1, 7], id="noise"),
    ],
)
def test_clustering_scores_equal_sklearn(labels_true: np.ndarray, labels_pred: np.ndarray) -> None:
    ari = skm.adjusted_rand_score(labels_true, labels_pred)
    nmi = skm.normalized_mutual_info_score(labels_true, labels_pred)
    assert analysis.adjusted_rand_index(labels_true, labels_pred) == pytest.approx(ari, rel=1e-10, abs=1e-12)
    assert analysis.normalized_mutual_information(labels_true, labels_pred) == pytest.approx(nmi, rel=1e-10, abs=1e-12)


def test_mismatched_lengths_name_the_argument() -> None:
    with pytest.raises(ColumnError, match=r"y_pred.*one entry per sample"):
        analysis.accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ColumnError, match=r"y_true.*below 2"):
        analysis.log_loss([0, 2], [[0.5, 0.5], [0.5, 0.5]])


# -- statistics against scipy --------------------------------------------------------------------------------


@pytest.mark.parametrize("dof", [1, 2, 3, 4, 7, 40, 501])
def test_chi_square_tail_equals_scipy(dof: int) -> None:
    for x in (0.01, 0.5, 1.0, 3.84, 10.0, dof, 2.0 * dof, 50.0, 300.0):
        assert analysis_stats.chi2_sf(x, dof) == pytest.approx(stats.chi2.sf(x, dof), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(
    "table", [[[3, 1], [1, 3]], [[0, 5], [4, 2]], [[10, 2], [3, 15]], [[1, 0], [0, 0]], [[7, 7], [7, 7]]]
)
def test_fisher_exact_equals_scipy(table: list[list[int]]) -> None:
    want = stats.fisher_exact(table).pvalue
    assert analysis_stats.fisher_exact(np.array(table)) == pytest.approx(want, rel=1e-9)


def test_chi_square_test_equals_scipy() -> None:
    observed = np.array([[12, 30, 8], [88, 70, 92]])
    statistic, dof, p, _ = analysis_stats.chi_square(observed)
    want = stats.chi2_contingency(observed, correction=False)
    assert (statistic, dof) == (pytest.approx(want.statistic), want.dof)
    assert p == pytest.approx(want.pvalue, rel=1e-9)


def test_wilson_interval_known_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17:857, Table I: 0/10 -> 0 to 0.2775; 5/10 -> 0.2366 to 0.7634
    low, high = analysis.wilson_interval([0, 5, 0], [10, 10, 0])
    np.testing.assert_allclose(low[:2], [0.0, 0.2366], atol=5e-5)
    np.testing.assert_allclose(high[:2], [0.2775, 0.7634], atol=5e-5)
    assert np.isnan(low[2]) and np.isnan(high[2])


# -- tables ----------------------------------------------------------------------------------------------------

N = 400
SITES = np.array(["north", "south", "east"])


def _source(n: int, rng: np.random.Generator) -> DynamicTable:
    return DynamicTable(
        name="scans",
        description="the scans, one row per sample",
        columns=[
            VectorData(name="site", description="scanner site", data=rng.choice(SITES, n)),
            VectorData(name="age", description="subject age", data=rng.uniform(20, 80, n)),
        ],
    )


def _classifier_table(seed: int = 0) -> hdmf_ai.ResultsTable:
    """Probabilities, top-3, clusters; the validate split has no samples of class 4, the source is permuted."""
    rng = np.random.default_rng(seed)
    source = _source(N, rng)
    tvt = rng.integers(0, 3, N)
    y_true, _ = _labels(rng, N)
    y_true[(tvt == 1) & (y_true == 4)] = 0
    probs = _probabilities(rng, y_true)
    topk = np.argsort(-probs, axis=1, kind="stable")[:, :3]
    rt = hdmf_ai.ResultsTable(name="clf", description="a classifier")
    rt.add_samples(rng.permutation(N), table=source)
    rt.add_tvt_split(tvt)
    rt.add_cv_split(np.arange(N) % 4)
    rt.add_true_label(np.array(NAMES)[y_true], classes=NAMES)
    rt.add_predicted_probability(probs)
    rt.add_predicted_class(probs.argmax(axis=1))
    rt.add_topk_probabilities(np.take_along_axis(probs, topk, axis=1))
    rt.add_topk_classes(topk)
    rt.add_cluster_label(np.where(rng.random(N) < 0.7, y_true, rng.integers(-1, 6, N)))
    return rt


def _arrays(rt: hdmf_ai.ResultsTable) -> dict[str, np.ndarray]:
    return {
        name: np.asarray(rt[name].data)
        for name in ("tvt_split", "cv_split", "true_label", "predicted_probability", "predicted_class", "cluster_label")
    }


def _sklearn_row(a: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, float]:
    t, p, probs = a["true_label"][mask], a["predicted_class"][mask], a["predicted_probability"][mask]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        balanced = skm.balanced_accuracy_score(t, p)
    row = {"n": mask.sum(), "accuracy": skm.accuracy_score(t, p), "balanced_accuracy": balanced}
    for avg in ("macro", "micro", "weighted"):
        pr, rc, f1, _ = skm.precision_recall_fscore_support(t, p, average=avg, zero_division=0.0)
        row.update({f"precision_{avg}": pr, f"recall_{avg}": rc, f"f1_{avg}": f1})
    for k in (1, 2, 3):
        row[f"top_{k}_accuracy"] = skm.top_k_accuracy_score(t, probs, k=k, labels=np.arange(N_CLASSES))
    row["log_loss"] = skm.log_loss(t, probs, labels=np.arange(N_CLASSES))
    row["ari"] = skm.adjusted_rand_score(t, a["cluster_label"][mask])
    row["nmi"] = skm.normalized_mutual_info_score(t, a["cluster_label"][mask])
    return row


def _check_metrics(frame: pd.DataFrame, rt: hdmf_ai.ResultsTable, by: str, names: dict[object, int]) -> None:
    a = _arrays(rt)
    assert list(frame.index) == [*names, "all"]
    for label, code in [*names.items(), ("all", None)]:
        mask = np.ones(N, bool) if code is None else a[by] == code
        want = _sklearn_row(a, mask)
        got = frame.loc[label]
        for metric, value in want.items():
            assert got[metric] == pytest.approx(value, rel=1e-9), (label, metric)
        assert got["ece"] == pytest.approx(_expected_calibration_error(a, mask), rel=1e-9, abs=1e-12), label


def _expected_calibration_error(a: dict[str, np.ndarray], mask: np.ndarray, n_bins: int = 10) -> float:
    """ECE written out bin by bin: right-closed equal-width bins of the top probability, the first from 0."""
    probs, truth = a["predicted_probability"][mask], a["true_label"][mask]
    confidence, correct = probs.max(axis=1), probs.argmax(axis=1) == truth
    total = 0.0
    for i in range(n_bins):
        low, high = i / n_bins, (i + 1) / n_bins
        inside = (confidence <= high) & ((confidence > low) | (i == 0))
        if inside.any():
            total += inside.sum() / len(confidence) * abs(correct[inside].mean() - confidence[inside].mean())
    return total


@pytest.fixture(scope="module")
def classifier() -> hdmf_ai.ResultsTable:
    return _classifier_table()


def test_metrics_per_split_equal_sklearn(classifier: hdmf_ai.ResultsTable) -> None:
    frame = analysis.metrics(classifier, by="tvt_split")
    assert frame.index.name == "tvt_split"
    assert frame["n"].dtype == np.int64
    _check_metrics(frame, classifier, "tvt_split", {"train": 0, "validate": 1, "test": 2})


def test_metrics_per_fold_equal_sklearn(classifier: hdmf_ai.ResultsTable) -> None:
    frame = analysis.metrics(classifier, by="cv_split")
    _check_metrics(frame, classifier, "cv_split", {0: 0, 1: 1, 2: 2, 3: 3})


@pytest.mark.parametrize("how", ["read", "open"])
def test_metrics_of_a_file_equal_those_in_memory(classifier: hdmf_ai.ResultsTable, path: Path, how: str) -> None:
    hdmf_ai.write(classifier, path)
    want = analysis.metrics(classifier)
    if how == "read":
        got = analysis.metrics(hdmf_ai.read(path))
    else:
        with hdmf_ai.open(path) as lazy:
            got = analysis.metrics(lazy)
    pd.testing.assert_frame_equal(got, want)


def test_metrics_of_one_split_by_site(classifier: hdmf_ai.ResultsTable) -> None:
    frame = analysis.metrics(classifier, by="site", split="test")
    a = _arrays(classifier)
    site = np.asarray(classifier.samples.table["site"].data)[np.asarray(classifier.samples.data)]
    assert list(frame.index) == ["east", "north", "south", "all"]
    for label in ("east", "north"):
        mask = (a["tvt_split"] == 2) & (site == label)
        assert frame.loc[label, "n"] == mask.sum()
        assert frame.loc[label, "accuracy"] == pytest.approx(
            skm.accuracy_score(a["true_label"][mask], a["predicted_class"][mask])
        )
    assert frame.loc["all", "n"] == (a["tvt_split"] == 2).sum()


def test_class_metrics_name_every_class_with_missing_ones(classifier: hdmf_ai.ResultsTable) -> None:
    frame = analysis.class_metrics(classifier, by="tvt_split")
    a = _arrays(classifier)
    validate = frame[frame["tvt_split"] == "validate"].set_index("class")
    assert list(validate.index) == NAMES
    assert validate.loc["eel", "support"] == 0  # class 4 was removed from the validate split
    mask = a["tvt_split"] == 1
    p, r, f, s = skm.precision_recall_fscore_support(
        a["true_label"][mask], a["predicted_class"][mask], labels=np.arange(N_CLASSES), zero_division=0.0
    )
    np.testing.assert_allclose(validate[["precision", "recall", "f1"]].to_numpy().T, [p, r, f], rtol=1e-12)
    np.testing.assert_array_equal(validate["support"], s)


@pytest.mark.parametrize("normalize", [None, "true", "pred", "all"])
def test_confusion_matrix_names_classes_and_equals_sklearn(
    classifier: hdmf_ai.ResultsTable, normalize: str | None
) -> None:
    frame = analysis.confusion_matrix(classifier, split="validate", normalize=normalize)
    a = _arrays(classifier)
    mask = a["tvt_split"] == 1
    want = skm.confusion_matrix(
        a["true_label"][mask], a["predicted_class"][mask], labels=np.arange(N_CLASSES), normalize=normalize
    )
    assert list(frame.index) == list(frame.columns) == NAMES
    assert (frame.index.name, frame.columns.name) == ("true", "predicted")
    np.testing.assert_allclose(frame.to_numpy(), want, rtol=1e-12)


def test_reliability_curve_has_one_row_per_bin(classifier: hdmf_ai.ResultsTable) -> None:
    frame = analysis.reliability_curve(classifier, split="test", n_bins=5)
    assert list(frame.columns) == ["lower", "upper", "count", "confidence", "accuracy"]
    assert len(frame) == 5 and frame["count"].sum() == (_arrays(classifier)["tvt_split"] == 2).sum()


def test_metrics_of_a_regression_table() -> None:
    rng = np.random.default_rng(6)
    y = rng.normal(size=50)
    rt = hdmf_ai.ResultsTable(name="reg")
    rt.add_column("true_label", "the true value", data=y)
    rt.add_predicted_value(y + rng.normal(scale=0.5, size=50))
    frame = analysis.metrics(rt, by=None)
    pred = np.asarray(rt.predicted_value.data)
    assert list(frame.columns) == ["n", "mae", "rmse", "r2"]
    assert frame.loc["all", "r2"] == pytest.approx(skm.r2_score(y, pred))
    assert frame.loc["all", "rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred))


def test_metrics_name_a_missing_group_column(classifier: hdmf_ai.ResultsTable) -> None:
    with pytest.raises(KeyError, match=r"'scanner' is neither a column of table 'clf'.*source table 'scans'"):
        analysis.metrics(classifier, by="scanner")


def test_a_missing_optional_dependency_names_the_extra() -> None:
    with pytest.raises(MissingDependencyError, match=r"pip install 'hdmf-ai\[analysis\]'"):
        require("hdmf_ai_no_such_module", "analysis", "a test")


# -- error_breakdown ----------------------------------------------------------------------------------------


def _site_table(rates: dict[str, float], seed: int, n: int = 600) -> hdmf_ai.ResultsTable:
    """A classifier whose error rate on each site of the (permuted) source table is ``rates[site]``."""
    rng = np.random.default_rng(seed)
    source = _source(n, rng)
    rows = rng.permutation(n)
    site = np.asarray(source["site"].data)[rows]
    wrong = rng.random(n) < np.vectorize(rates.get)(site)
    y_true = rng.integers(0, 3, n)
    rt = hdmf_ai.ResultsTable(name="sites")
    rt.add_samples(rows, table=source)
    rt.add_tvt_split(np.full(n, 2))
    rt.add_true_label(y_true)
    rt.add_predicted_class(np.where(wrong, (y_true + 1) % 3, y_true))
    return rt


def test_error_breakdown_detects_errors_concentrated_on_one_site() -> None:
    result = analysis.error_breakdown(_site_table({"north": 0.1, "south": 0.1, "east": 0.35}, seed=0), "site")
    assert result.test == "chi-square" and result.dof == 2
    assert result.p_value < 0.01 and result.depends()
    groups = result.groups
    assert list(groups.index) == ["east", "north", "south"]
    assert groups["error_rate"].idxmax() == "east"
    assert (groups["ci_low"] <= groups["error_rate"]).all() and (groups["error_rate"] <= groups["ci_high"]).all()
    assert "depends on 'site'" in result.summary()


def test_error_breakdown_finds_no_dependence_in_a_null() -> None:
    result = analysis.error_breakdown(_site_table({"north": 0.2, "south": 0.2, "east": 0.2}, seed=1), "site")
    assert result.p_value > 0.05 and not result.depends()
    assert "shows no dependence" in result.summary()


def test_error_breakdown_counts_and_intervals(classifier: hdmf_ai.ResultsTable) -> None:
    result = analysis.error_breakdown(classifier, "site", split="test")
    a = _arrays(classifier)
    site = np.asarray(classifier.samples.table["site"].data)[np.asarray(classifier.samples.data)]
    mask = (a["tvt_split"] == 2) & (site == "north")
    wrong = a["predicted_class"] != a["true_label"]
    row = result.groups.loc["north"]
    assert (row["count"], row["errors"]) == (mask.sum(), wrong[mask].sum())
    low, high = analysis.wilson_interval(wrong[mask].sum(), mask.sum())
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low), pytest.approx(high))
    observed = result.groups[["errors"]].assign(right=result.groups["count"] - result.groups["errors"])
    assert result.p_value == pytest.approx(stats.chi2_contingency(observed.to_numpy(), correction=False).pvalue)


def test_error_breakdown_bins_a_numeric_covariate_into_quantiles() -> None:
    rng = np.random.default_rng(7)
    rt = _site_table({"north": 0.15, "south": 0.15, "east": 0.15}, seed=2)
    age = np.asarray(rt.samples.table["age"].data)[np.asarray(rt.samples.data)]
    wrong = rng.random(len(age)) < np.where(age > 65, 0.5, 0.1)  # the old are misclassified
    result = analysis.error_breakdown(rt, "age", error=wrong, bins=4)
    assert len(result.groups) == 4 and result.bin_edges is not None and len(result.bin_edges) == 5
    assert result.groups["count"].sum() == len(age)
    assert result.groups.index[-1].endswith("]") and result.groups.index[0].startswith("[")
    assert result.groups["error_rate"].iloc[-1] == result.groups["error_rate"].max()
    assert result.p_value < 0.01
    # quartile bins as pandas cuts them: the same edges, and each bin's rows and errors counted independently
    np.testing.assert_allclose(result.bin_edges, np.quantile(age, np.linspace(0, 1, 5)))
    quartile = pd.qcut(age, 4, labels=False)
    np.testing.assert_array_equal(result.groups["count"], np.bincount(quartile, minlength=4))
    np.testing.assert_array_equal(result.groups["errors"], np.bincount(quartile[wrong], minlength=4))


@pytest.mark.parametrize(
    "rates", [{"north": 0.1, "south": 0.1, "east": 0.35}, {"north": 0.2, "south": 0.25, "east": 0.2}]
)
def test_error_breakdown_cramers_v_equals_scipy(rates: dict[str, float]) -> None:
    result = analysis.error_breakdown(_site_table(rates, seed=4), "site")
    observed = result.groups[["errors"]].assign(right=result.groups["count"] - result.groups["errors"]).to_numpy()
    want = stats.contingency.association(observed, method="cramer", correction=False)
    assert 0 < want < 1  # where V and V squared differ
    assert result.cramers_v == pytest.approx(want, rel=1e-12)


def test_error_breakdown_flags_small_expected_counts_with_many_groups() -> None:
    rt = _site_table({"north": 0.3, "south": 0.05, "east": 0.3}, seed=3, n=30)
    result = analysis.error_breakdown(rt, "site")
    assert result.test == "chi-square" and result.approximate
    assert "approximate" in result.summary()


def test_error_breakdown_uses_fisher_for_two_small_groups() -> None:
    rt = hdmf_ai.ResultsTable(name="two")
    rt.add_true_label([0] * 12)
    rt.add_predicted_class([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    rt.add_column("batch", "processing batch", data=np.array(["a"] * 6 + ["b"] * 6))
    result = analysis.error_breakdown(rt, "batch")
    assert result.test == "fisher-exact"
    assert result.p_value == pytest.approx(stats.fisher_exact([[3, 3], [1, 5]]).pvalue)


@pytest.mark.parametrize("how", ["read", "open"])
def test_error_breakdown_through_a_file(path: Path, how: str) -> None:
    rt = _site_table({"north": 0.1, "south": 0.1, "east": 0.35}, seed=0)
    want = analysis.error_breakdown(rt, "site")
    hdmf_ai.write(rt, path)
    if how == "read":
        got = analysis.error_breakdown(hdmf_ai.read(path), "site")
    else:
        with hdmf_ai.open(path) as lazy:
            got = analysis.error_breakdown(lazy, "site")
    pd.testing.assert_frame_equal(got.groups, want.groups)
    assert got.p_value == pytest.approx(want.p_value)


def test_error_breakdown_with_a_source_passed_in() -> None:
    rng = np.random.default_rng(8)
    source = _source(50, rng)
    rt = hdmf_ai.ResultsTable(name="no_link")  # rows are the source's rows, no samples column
    rt.add_true_label(rng.integers(0, 2, 50))
    rt.add_predicted_class(rng.integers(0, 2, 50))
    result = analysis.error_breakdown(rt, "site", source=source)
    site = np.asarray(source["site"].data)
    assert result.groups.loc["north", "count"] == (site == "north").sum()
    with pytest.raises(KeyError, match="pass source="):
        analysis.error_breakdown(rt, "site")
    with pytest.raises(ColumnError, match="samples"):
        analysis.error_breakdown(rt, "site", source=_source(49, rng))


def test_error_breakdown_refuses_a_non_boolean_error() -> None:
    rt = _site_table({"north": 0.1, "south": 0.1, "east": 0.1}, seed=0, n=20)
    with pytest.raises(ColumnError, match="column 'error': expected 20 booleans"):
        analysis.error_breakdown(rt, "site", error=np.arange(20))


def test_no_errors_means_no_test() -> None:
    rt = hdmf_ai.ResultsTable(name="perfect")
    rt.add_true_label([0, 1, 0, 1])
    rt.add_predicted_class([0, 1, 0, 1])
    rt.add_column("site", "site", data=np.array(["a", "a", "b", "b"]))
    result = analysis.error_breakdown(rt, "site")
    assert (result.test, result.p_value, result.dof) == ("none", 1.0, 0)
    assert math.isclose(result.error_rate, 0.0)


# -- metrics on any table: by split, else by fold, else overall ---------------------------------------------


def _labelled(n: int, *, split: bool, folds: bool) -> tuple[hdmf_ai.ResultsTable, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    truth = rng.integers(0, 3, n)
    predicted = np.where(rng.random(n) < 0.7, truth, rng.integers(0, 3, n))
    rt = hdmf_ai.ResultsTable(name="any")
    if split:
        rt.add_tvt_split(np.arange(n) % 3)
    if folds:
        rt.add_cv_split(np.arange(n) % 4, n_splits=4)
    rt.add_true_label(truth)
    rt.add_predicted_class(predicted)
    return rt, truth, predicted


def test_metrics_of_a_cross_validation_table_are_per_fold_and_pooled() -> None:
    from sklearn.metrics import accuracy_score

    rt, truth, predicted = _labelled(200, split=False, folds=True)
    got = analysis.metrics(rt)
    assert got.index.name == "cv_split" and list(got.index) == [0, 1, 2, 3, "all"]
    fold = np.arange(200) % 4
    for k in range(4):
        assert got.loc[k, "accuracy"] == pytest.approx(accuracy_score(truth[fold == k], predicted[fold == k]))
    assert got.loc["all", "accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    per_class = analysis.class_metrics(rt)
    assert set(per_class["cv_split"]) == {0, 1, 2, 3, "all"}


def test_metrics_prefer_the_split_when_there_are_both() -> None:
    rt, *_ = _labelled(120, split=True, folds=True)
    assert analysis.metrics(rt).index.name == "tvt_split"


def test_metrics_of_a_table_without_split_or_fold_are_one_overall_row() -> None:
    from sklearn.metrics import accuracy_score

    rt, truth, predicted = _labelled(90, split=False, folds=False)
    got = analysis.metrics(rt)
    assert list(got.index) == ["all"] and got.loc["all", "n"] == 90
    assert got.loc["all", "accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    assert list(analysis.class_metrics(rt)["group"].unique()) == ["all"]


def test_asking_for_a_split_the_table_does_not_have_is_still_an_error() -> None:
    rt, *_ = _labelled(30, split=False, folds=True)
    with pytest.raises(KeyError, match="tvt_split"):
        analysis.metrics(rt, by="tvt_split")


@pytest.mark.parametrize("method", ["wilson", "exact"])
def test_class_metrics_with_ci_bound_precision_and_recall_as_proportions(method: str) -> None:
    """Precision is true positives over predicted positives, recall over actual ones: binomial intervals,
    equal to statsmodels' for those counts."""
    confint = pytest.importorskip("statsmodels.stats.proportion", reason="statsmodels (test extra)").proportion_confint
    rt, truth, predicted = _labelled(150, split=True, folds=False)
    got = analysis.class_metrics(rt, ci=0.9, proportion=method, n_resamples=50)
    assert list(got.columns) == [
        "tvt_split",
        "class",
        *(f"{m}{s}" for m in ("precision", "recall", "f1") for s in ("", "_low", "_high")),
        "support",
    ]
    oracle = {"wilson": "wilson", "exact": "beta"}[method]
    split = np.asarray(["train", "validate", "test"], dtype=object)[np.arange(150) % 3]
    for row in got.itertuples():
        rows = np.ones(150, dtype=bool) if row.tvt_split == "all" else split == row.tvt_split
        c = int(row._2)  # the class column
        hits = int(np.sum((truth == c) & (predicted == c) & rows))
        for name, total in (("precision", np.sum((predicted == c) & rows)), ("recall", np.sum((truth == c) & rows))):
            want = confint(hits, int(total), alpha=0.1, method=oracle)
            got_bounds = [getattr(row, f"{name}_low"), getattr(row, f"{name}_high")]
            np.testing.assert_allclose(got_bounds, want, atol=1e-12, err_msg=f"{name} of {c} in {row.tvt_split}")


def test_class_metrics_f1_interval_equals_scipy_bootstrap_of_sklearn_f1() -> None:
    from sklearn.metrics import f1_score

    rt, truth, predicted = _labelled(120, split=False, folds=False)
    got = analysis.class_metrics(rt, ci=0.95, bootstrap="percentile", n_resamples=300, seed=4)

    def per_class(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        flat = idx.reshape(-1, idx.shape[-1])
        f1 = [f1_score(truth[r], predicted[r], average=None, labels=[0, 1, 2], zero_division=0.0) for r in flat]
        return np.moveaxis(np.array(f1), -1, 0).reshape(3, *idx.shape[:-1])

    want = stats.bootstrap(
        (np.arange(120),),
        per_class,
        vectorized=True,
        n_resamples=300,
        method="percentile",
        rng=np.random.default_rng(4),
    ).confidence_interval
    np.testing.assert_allclose(got["f1_low"], want.low, rtol=1e-12)
    np.testing.assert_allclose(got["f1_high"], want.high, rtol=1e-12)


def test_class_metrics_without_ci_keep_their_columns() -> None:
    rt, *_ = _labelled(60, split=False, folds=False)
    assert list(analysis.class_metrics(rt).columns) == ["group", "class", "precision", "recall", "f1", "support"]
