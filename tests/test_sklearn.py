"""hdmf_ai.sklearn builds ResultsTables from fitted estimators and cross-validation; hdmf_ai.outputs turns
logits into probabilities and top-k. Every table written is read back and compared, on both backends."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from builders import assert_tables_equal, column_values, source_table

import hdmf_ai
from hdmf_ai.errors import ColumnError
from hdmf_ai.outputs import from_logits, sigmoid, softmax

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is the optional dependency under test")
from sklearn.cluster import DBSCAN, KMeans  # noqa: E402
from sklearn.datasets import make_blobs, make_classification, make_regression  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer, StandardScaler  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from hdmf_ai.sklearn import estimator_parameters, from_cross_val_predict, from_estimator  # noqa: E402

N = 120
NAMES = ["ant", "bee", "cat", "dog"]


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    return make_classification(n_samples=N, n_features=6, n_informative=4, n_classes=4, random_state=0)


def _round_trip(rt: hdmf_ai.ResultsTable, path: Path) -> hdmf_ai.ResultsTable:
    hdmf_ai.write(rt, path)
    back = hdmf_ai.read(path)
    assert_tables_equal(back, rt)
    assert hdmf_ai.validate(path) == []
    return back


def test_classifier_round_trip(data: tuple[np.ndarray, np.ndarray], path: Path) -> None:
    X, y = data
    clf = LogisticRegression(max_iter=500).fit(X, y)
    source = source_table(N)
    split = np.repeat([0, 1, 2], N // 3)
    rt = from_estimator(clf, X, y, split=split, classes=NAMES, source=source, k=3, name="logreg")
    back = _round_trip(rt, path)
    assert back.colnames == (
        "samples",
        "tvt_split",
        "true_label",
        "predicted_probability",
        "predicted_class",
        "topk_probabilities",
        "topk_classes",
    )
    probs = clf.predict_proba(X)
    np.testing.assert_array_equal(column_values(back["predicted_probability"]), probs)
    np.testing.assert_array_equal(column_values(back["predicted_class"]), clf.predict(X))
    np.testing.assert_array_equal(back["true_label"][:], np.array(NAMES)[y])
    np.testing.assert_array_equal(column_values(back["topk_classes"]), np.argsort(-probs, axis=1)[:, :3])
    np.testing.assert_array_equal(column_values(back["samples"]), np.arange(N))
    assert back.samples.table.name == "source"
    assert back.get_parameters() == json.loads(json.dumps(clf.get_params()))
    assert back.model_description == ["LogisticRegression(max_iter=500)"]
    assert back.source_code == [f"pkg:pypi/scikit-learn@{sklearn.__version__}"]


def test_string_labels_name_the_classes(path: Path) -> None:
    X, y = make_classification(n_samples=60, n_features=4, n_classes=3, n_informative=3, n_redundant=0, random_state=1)
    words = np.array(["north", "east", "south"])[y]
    clf = LogisticRegression(max_iter=500).fit(X, words)
    back = _round_trip(from_estimator(clf, X, words, k=None), path)
    assert list(column_values(back.true_label.elements)) == ["east", "north", "south"]  # classes_ order
    np.testing.assert_array_equal(back.true_label[:], words)
    predicted = np.asarray(clf.classes_)[column_values(back["predicted_class"]).astype(int)]
    np.testing.assert_array_equal(predicted, clf.predict(X))
    assert "topk_classes" not in back.colnames


def test_a_classifier_without_probabilities_ranks_by_decision_function(
    data: tuple[np.ndarray, np.ndarray], path: Path
) -> None:
    X, y = data
    svm = LinearSVC().fit(X, y)
    back = _round_trip(from_estimator(svm, X, y, k=2), path)
    assert "predicted_probability" not in back.colnames and "topk_probabilities" not in back.colnames
    want = np.argsort(-svm.decision_function(X), axis=1, kind="stable")[:, :2]
    np.testing.assert_array_equal(column_values(back["topk_classes"]), want)


@pytest.mark.parametrize("outputs", [1, 2])
def test_regressor_round_trip(path: Path, outputs: int) -> None:
    X, y = make_regression(n_samples=50, n_features=3, n_targets=outputs, noise=0.5, random_state=2)
    reg = Ridge().fit(X, y)
    back = _round_trip(from_estimator(reg, X, y, split=np.zeros(50, int)), path)
    np.testing.assert_allclose(column_values(back["predicted_value"]), reg.predict(X))
    np.testing.assert_array_equal(column_values(back["true_label"]), y)
    assert back["predicted_value"].training_labels.name == "true_label"
    from hdmf_ai import analysis

    assert analysis.metrics(back, by=None).loc["all", "r2"] == pytest.approx(reg.score(X, y))


def test_clusterer_round_trip(path: Path) -> None:
    X, y = make_blobs(n_samples=90, centers=3, random_state=3)
    km = KMeans(n_clusters=3, n_init=3, random_state=0).fit(X)
    back = _round_trip(from_estimator(km, X, y), path)
    np.testing.assert_array_equal(column_values(back["cluster_label"]), km.predict(X))
    np.testing.assert_allclose(column_values(back["embedding"]), km.transform(X))  # distances to the centres
    assert back["cluster_label"].training_labels.name == "true_label"


def test_a_fit_predict_clusterer_keeps_its_noise_label(path: Path) -> None:
    X, _ = make_blobs(n_samples=60, centers=2, random_state=4)
    X[0] = [100.0, 100.0]  # an outlier DBSCAN calls noise
    db = DBSCAN(eps=1.5).fit(X)
    back = _round_trip(from_estimator(db, X), path)
    labels = column_values(back["cluster_label"])
    np.testing.assert_array_equal(labels, db.labels_)
    assert labels[0] == -1
    with pytest.raises(ValueError, match=r"no predict.*60 samples it was fitted on, not these 10"):
        from_estimator(db, X[:10])


def test_transformer_round_trip(data: tuple[np.ndarray, np.ndarray], path: Path) -> None:
    X, _ = data
    pca = PCA(n_components=2).fit(X)
    back = _round_trip(from_estimator(pca, X, source=source_table(N)), path)
    assert back.colnames == ("samples", "embedding")
    np.testing.assert_allclose(column_values(back["embedding"]), pca.transform(X))


def test_parameters_are_deterministic_json(data: tuple[np.ndarray, np.ndarray]) -> None:
    def build() -> object:
        return make_pipeline(
            FunctionTransformer(np.log1p, inv_kw_args={"fill": float("nan")}),
            StandardScaler(),
            LogisticRegression(C=np.float64(0.5), max_iter=500),
        )

    text = estimator_parameters(build())
    assert text == estimator_parameters(build())  # no memory addresses or object identities
    params = json.loads(text)
    assert params["functiontransformer__func"] == "numpy.log1p"
    assert params["logisticregression__C"] == 0.5
    assert params["functiontransformer__inv_kw_args"] == {"fill": "nan"}  # JSON has no NaN
    assert params["steps"][2] == ["logisticregression", "LogisticRegression(C=np.float64(0.5), max_iter=500)"]
    X, y = data
    rt = from_estimator(build().fit(np.abs(X), y), np.abs(X), y)
    assert json.loads(rt.parameters[0]) == params


def test_bad_input_is_refused_with_the_column_named(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    with pytest.raises(NotFittedError):
        from_estimator(LogisticRegression(), X, y)
    clf = LogisticRegression(max_iter=500).fit(X, y)
    with pytest.raises(ColumnError, match=r"column 'true_label': expected labels among the estimator's classes_"):
        from_estimator(clf, X, y + 10)
    with pytest.raises(ColumnError, match="expected 4 class names"):
        from_estimator(clf, X, y, classes=["a", "b"])
    with pytest.raises(ColumnError, match="samples"):
        from_estimator(clf, X, y, source=source_table(N - 1))


# -- cross-validation ----------------------------------------------------------------------------------------


def test_cross_val_predict_classifier_records_folds(data: tuple[np.ndarray, np.ndarray], path: Path) -> None:
    X, y = data
    cv = StratifiedKFold(n_splits=4, shuffle=True, random_state=0)
    est = LogisticRegression(max_iter=500)
    back = _round_trip(from_cross_val_predict(est, X, y, cv=cv, classes=NAMES, k=2), path)
    want = cross_val_predict(est, X, y, cv=cv, method="predict_proba")
    np.testing.assert_allclose(column_values(back["predicted_probability"]), want)
    np.testing.assert_array_equal(column_values(back["predicted_class"]), want.argmax(axis=1))
    folds = column_values(back["cv_split"])
    assert back["cv_split"].n_splits == 4
    for i, (_, test) in enumerate(cv.split(X, y)):
        assert (folds[test] == i).all()
    from hdmf_ai import analysis

    frame = analysis.metrics(back, by="cv_split")
    assert list(frame.index) == [0, 1, 2, 3, "all"]
    assert frame.loc["all", "accuracy"] == pytest.approx(np.mean(want.argmax(axis=1) == y))


def test_cross_val_predict_regressor(path: Path) -> None:
    X, y = make_regression(n_samples=40, n_features=3, noise=1.0, random_state=5)
    back = _round_trip(from_cross_val_predict(Ridge(), X, y, cv=KFold(5)), path)
    np.testing.assert_allclose(column_values(back["predicted_value"]), cross_val_predict(Ridge(), X, y, cv=KFold(5)))
    np.testing.assert_array_equal(column_values(back["cv_split"]), np.repeat(np.arange(5), 8))


def test_cross_val_predict_refuses_a_clusterer_and_overlapping_folds(data: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = data
    with pytest.raises(TypeError, match="KMeans is a clusterer"):
        from_cross_val_predict(KMeans(n_clusters=2), X, y)
    overlapping = [(np.arange(60, N), np.arange(0, 70)), (np.arange(0, 60), np.arange(60, N))]
    with pytest.raises(ColumnError, match="exactly one test fold"):
        from_cross_val_predict(LogisticRegression(), X, y, cv=overlapping)


# -- the plain-numpy path: logits ------------------------------------------------------------------------------


def test_from_logits_matches_a_direct_softmax() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=5, size=(30, 6))
    out = from_logits(logits, k=3)
    want = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(out.probabilities, want, rtol=1e-12)
    np.testing.assert_array_equal(out.predicted_class, logits.argmax(axis=1))
    np.testing.assert_array_equal(out.topk_classes, np.argsort(-logits, axis=1)[:, :3])
    np.testing.assert_allclose(out.topk_probabilities, np.sort(want, axis=1)[:, ::-1][:, :3], rtol=1e-12)


def test_softmax_and_sigmoid_are_stable_for_extreme_logits() -> None:
    probs = softmax(np.array([[1000.0, 0.0, -1000.0]], dtype=np.float32))
    assert probs.dtype == np.float32
    np.testing.assert_array_equal(probs, [[1.0, 0.0, 0.0]])
    np.testing.assert_array_equal(sigmoid(np.array([-1000.0, 0.0, 1000.0])), [0.0, 0.5, 1.0])


def test_binary_logits_give_two_columns_and_no_top_k() -> None:
    out = from_logits(np.array([-2.0, 0.5, 3.0]))
    np.testing.assert_allclose(out.probabilities[:, 1], 1 / (1 + np.exp([2.0, -0.5, -3.0])))
    np.testing.assert_array_equal(out.predicted_class, [0, 1, 1])
    assert out.topk_classes is None


def test_from_logits_fills_a_table_that_round_trips(path: Path) -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(20, 5)).astype(np.float32)
    rt = hdmf_ai.ResultsTable(name="net")
    rt.add_true_label(rng.integers(0, 5, 20))
    from_logits(logits, k=2).add_to(rt)
    back = _round_trip(rt, path)
    assert column_values(back["predicted_probability"]).dtype == np.float32
    assert back["topk_classes"].probabilities.name == "topk_probabilities"


def test_from_logits_refuses_bad_input() -> None:
    with pytest.raises(ColumnError, match="column 'logits': expected finite values"):
        from_logits([[0.0, np.nan]])
    with pytest.raises(ColumnError, match=r"column 'logits': expected shape \(n_samples, n_classes\)"):
        from_logits(np.zeros((2, 2, 2)))
