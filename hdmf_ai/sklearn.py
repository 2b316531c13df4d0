"""Build a ResultsTable from a scikit-learn estimator (``pip install 'hdmf-ai[sklearn]'``).

:func:`from_estimator` asks a fitted estimator for what it offers and stores it: a classifier's predicted
class, probabilities and top-k classes; a regressor's predicted values; a clusterer's labels; a
transformer's embedding (a classifier or clusterer that also transforms gets both). :func:`from_cross_val_predict`
runs scikit-learn's ``cross_val_predict`` and records each sample's fold in ``cv_split``. Both record the
estimator's ``get_params()`` as JSON in ``parameters`` and its ``repr`` in ``model_description``.

Class indices follow the estimator's ``classes_``: ``true_label`` is stored as codes into ``classes_`` (named
by ``classes=``, default the text of ``classes_``), so predicted classes, top-k classes and true labels
agree. scikit-learn is imported when a function is called, never with this module.

Example
-------
>>> from sklearn.datasets import load_iris
>>> from sklearn.linear_model import LogisticRegression
>>> from hdmf_ai.sklearn import from_estimator
>>> X, y = load_iris(return_X_y=True)
>>> clf = LogisticRegression(max_iter=500).fit(X, y)
>>> rt = from_estimator(clf, X, y, classes=["setosa", "versicolor", "virginica"], k=2, name="iris")
>>> rt.colnames
('true_label', 'predicted_probability', 'predicted_class', 'topk_probabilities', 'topk_classes')
>>> rt.get_parameters()["max_iter"], rt.model_description
(500, ['LogisticRegression(max_iter=500)'])
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from hdmf.common import DynamicTable
from numpy.typing import ArrayLike

from ._tableview import require
from .errors import ColumnError
from .outputs import as_numpy
from .results_table import ResultsTable

__all__ = ["estimator_parameters", "from_cross_val_predict", "from_estimator"]

_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _sklearn() -> Any:
    return require("sklearn", "sklearn", "hdmf_ai.sklearn")


# -- provenance ----------------------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """A JSON-ready copy of a parameter value; what JSON cannot hold becomes a stable string."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)  # 'nan', 'inf': JSON has no such numbers
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "get_params"):  # a nested estimator: its parameters appear separately under deep=True
        return describe(value)
    if isinstance(value, type) or callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', type(value).__name__)}"
    # memory addresses differ between runs; without them the text is the same for the same settings
    return _ADDRESS.sub("", repr(value))


def estimator_parameters(estimator: Any) -> str:
    """``estimator.get_params(deep=True)`` as JSON text with sorted keys, the same for the same settings."""
    return json.dumps(_jsonable(estimator.get_params(deep=True)), sort_keys=True, allow_nan=False)


def describe(estimator: Any) -> str:
    """The estimator's ``repr`` in full (scikit-learn shortens long ones with '...' by default)."""
    try:
        text = estimator.__repr__(N_CHAR_MAX=1_000_000)
    except TypeError:  # not a scikit-learn BaseEstimator
        text = repr(estimator)
    return _ADDRESS.sub("", text)


def _new_table(estimator: Any, n: int, **options: Any) -> ResultsTable:
    sk = _sklearn()
    kind = type(estimator).__name__
    return ResultsTable(
        name=options["name"] or kind,
        description=options["description"] or f"Outputs of scikit-learn's {kind} for {n} samples.",
        source_code=options["source_code"] or f"pkg:pypi/scikit-learn@{sk.__version__}",
        parameters=[estimator_parameters(estimator)],
        model_description=[describe(estimator)],
        pre_trained_model=options["pre_trained_model"],
    )


def _link(rt: ResultsTable, n: int, source: DynamicTable | None, samples: ArrayLike | None) -> None:
    if samples is not None and source is None:
        raise ColumnError("samples", "a source table as well (source=<table>) for the indices to point into", "none")
    if source is None:
        return
    if samples is None:
        if len(source) != n:
            raise ColumnError("samples", f"indices into source '{source.name}' ({len(source)} rows)", f"{n} samples")
        samples = np.arange(n)
    rt.add_samples(samples, table=source)


# -- what an estimator offers ---------------------------------------------------------------------------------


def _kind(estimator: Any) -> str:
    _sklearn()
    from sklearn import base

    if base.is_classifier(estimator):
        return "classifier"
    if base.is_regressor(estimator):
        return "regressor"
    is_clusterer = getattr(base, "is_clusterer", None)  # scikit-learn >= 1.6
    clusterer = is_clusterer(estimator) if is_clusterer else getattr(estimator, "_estimator_type", "") == "clusterer"
    if clusterer:
        return "clusterer"
    if hasattr(estimator, "transform"):
        return "transformer"
    raise TypeError(f"{type(estimator).__name__} is not a scikit-learn classifier, regressor, clusterer or transformer")


def _class_codes(values: Any, classes: np.ndarray, column: str) -> np.ndarray:
    """Positions in the estimator's sorted ``classes_`` of each label."""
    labels = as_numpy(values)
    at = np.clip(np.searchsorted(classes, labels), 0, len(classes) - 1)
    unknown = labels[classes[at] != labels]
    if unknown.size:
        found = sorted({str(u) for u in unknown.tolist()})
        raise ColumnError(column, f"labels among the estimator's classes_ {classes.tolist()[:10]}", f"{found[:5]}")
    return at


def _class_names(classes_: np.ndarray, classes: Sequence[str] | None) -> list[str]:
    if classes is None:
        return [str(c) for c in classes_.tolist()]
    names = [str(c) for c in classes]
    if len(names) != len(classes_):
        raise ColumnError("true_label", f"{len(classes_)} class names, one per classes_ entry", f"{len(names)}")
    return names


def _add_classes(
    rt: ResultsTable,
    *,
    classes_: np.ndarray,
    names: list[str],
    y: Any,
    predicted: np.ndarray | None,
    probabilities: np.ndarray | None,
    scores: np.ndarray | None,
    k: int | None,
) -> None:
    """True labels, probabilities, predicted classes and the top k (ranked by probability, else by score)."""
    if y is not None:
        rt.add_true_label(_class_codes(y, classes_, "true_label"), classes=names)
    if probabilities is not None:
        rt.add_predicted_probability(probabilities)
        scores = probabilities
    if predicted is not None:
        rt.add_predicted_class(_class_codes(predicted, classes_, "predicted_class"))
    if not k or scores is None or scores.ndim != 2 or scores.shape[1] <= 2:
        return
    ranked = np.argsort(-scores, axis=1, kind="stable")[:, : min(k, scores.shape[1])]
    if probabilities is not None:
        rt.add_topk_probabilities(np.take_along_axis(probabilities, ranked, axis=1))
    rt.add_topk_classes(ranked)


def _add_true_values(rt: ResultsTable, y: Any) -> None:
    """A regression target is stored as it is (float), not coerced into class codes."""
    values = np.asarray(as_numpy(y), dtype=np.float64)
    rt.add_column("true_label", "The true value of each sample.", data=values)


def _classifier(rt: ResultsTable, est: Any, X: Any, y: Any, classes: Sequence[str] | None, k: int | None) -> None:
    classes_ = np.asarray(est.classes_)
    if classes_.dtype == object and classes_.size and isinstance(classes_[0], np.ndarray):
        raise TypeError(f"{type(est).__name__} is a multi-output classifier; one ResultsTable holds one output")
    probabilities = as_numpy(est.predict_proba(X)) if hasattr(est, "predict_proba") else None
    scores = as_numpy(est.decision_function(X)) if probabilities is None and hasattr(est, "decision_function") else None
    _add_classes(
        rt,
        classes_=classes_,
        names=_class_names(classes_, classes),
        y=y,
        predicted=as_numpy(est.predict(X)),
        probabilities=probabilities,
        scores=scores,
        k=k,
    )


def _cluster_labels(est: Any, X: Any, n: int) -> np.ndarray:
    if hasattr(est, "predict"):
        return as_numpy(est.predict(X))
    labels = as_numpy(est.labels_)  # fit_predict-only clusterers (DBSCAN, agglomerative) label their fit data
    if len(labels) != n:
        raise ValueError(
            f"{type(est).__name__} cannot label new data (no predict); its labels_ describe the {len(labels)} "
            f"samples it was fitted on, not these {n}"
        )
    return labels


def _dense(values: Any) -> np.ndarray:
    return as_numpy(values.toarray() if hasattr(values, "toarray") else values)


# -- public -------------------------------------------------------------------------------------------------


def from_estimator(
    estimator: Any,
    X: Any,
    y: ArrayLike | None = None,
    *,
    split: ArrayLike | None = None,
    classes: Sequence[str] | None = None,
    name: str | None = None,
    description: str | None = None,
    source: DynamicTable | None = None,
    samples: ArrayLike | None = None,
    k: int | None = 5,
    embed: bool = True,
    source_code: str | Sequence[str] | None = None,
    pre_trained_model: str | Sequence[str] | None = None,
    attributions: str | None = None,
    feature_names: Sequence[str] | None = None,
) -> ResultsTable:
    """A ResultsTable of what a fitted estimator says about ``X``.

    Parameters
    ----------
    estimator
        A fitted scikit-learn estimator (or Pipeline).
    X
        The samples, one row each.
    y
        The truth: class labels (for a classifier, among ``classes_``; for a clusterer, any labels), or
        target values (a regressor).
    split
        Train/validate/test use of each sample: 0/1/2 or ``"train"``/``"validate"``/``"test"``.
    classes
        Names of the classifier's ``classes_``, in their order; default their text.
    name, description
        The table's name (default the estimator's class name) and description.
    source, samples
        The source table the samples come from, and the row of each sample in it (default ``0..n-1``).
    k
        How many top classes to store (capped at the number of classes; none for two classes, or k=None).
    embed
        Store ``transform(X)`` as ``embedding`` when the estimator can transform.
    source_code, pre_trained_model
        Provenance; ``source_code`` defaults to scikit-learn's package URL and version.
    attributions
        ``'tree'``: add tree SHAP attributions of a tree ensemble (``shap.TreeExplainer``, exact, in the model's
        raw output: log-odds for gradient boosting) as ``feature_attribution`` (needs ``shap``).
    feature_names
        The names of ``X``'s columns for the attributions (default: a DataFrame's columns).
    """
    _sklearn()
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    n = len(X)
    rt = _new_table(
        estimator,
        n,
        name=name,
        description=description,
        source_code=source_code,
        pre_trained_model=pre_trained_model,
    )
    _link(rt, n, source, samples)
    if split is not None:
        rt.add_tvt_split(split)
    kind = _kind(estimator)
    if kind == "classifier":
        _classifier(rt, estimator, X, y, classes, k)
    elif kind == "regressor":
        if y is not None:
            _add_true_values(rt, y)
        rt.add_predicted_value(as_numpy(estimator.predict(X)))
    elif kind == "clusterer":
        if y is not None:
            rt.add_true_label(as_numpy(y), classes=classes)
        rt.add_cluster_label(_cluster_labels(estimator, X, n))
    if embed and hasattr(estimator, "transform"):
        rt.add_embedding(_dense(estimator.transform(X)))
    if attributions is not None:
        _add_attributions(rt, estimator, X, attributions, feature_names)
    return rt


_TREE_OUTPUT_SPACE = {"log_odds": "raw", "raw_value": "raw", "probability": "probability"}


def _add_attributions(rt: ResultsTable, estimator: Any, X: Any, kind: str, feature_names: Sequence[str] | None) -> None:
    if kind != "tree":
        raise ColumnError("attributions", "'tree' (tree SHAP) or None", repr(kind), kind="argument")
    from .shap import from_explanation

    shap = require("shap", "shap", "from_estimator(..., attributions='tree')")
    explainer = shap.TreeExplainer(estimator)
    space = _TREE_OUTPUT_SPACE.get(str(getattr(explainer.model, "tree_output", "")))
    if _kind(estimator) == "regressor":
        space = "value"
    from_explanation(explainer(X), table=rt, method="tree_shap", output_space=space, feature_names=feature_names)


def from_cross_val_predict(
    estimator: Any,
    X: Any,
    y: ArrayLike,
    *,
    cv: Any = 5,
    groups: ArrayLike | None = None,
    classes: Sequence[str] | None = None,
    name: str | None = None,
    description: str | None = None,
    source: DynamicTable | None = None,
    samples: ArrayLike | None = None,
    k: int | None = 5,
    n_jobs: int | None = None,
    params: Mapping[str, Any] | None = None,
    source_code: str | Sequence[str] | None = None,
    pre_trained_model: str | Sequence[str] | None = None,
) -> ResultsTable:
    """Out-of-fold predictions of ``estimator`` for every sample, with each sample's fold in ``cv_split``.

    Runs ``sklearn.model_selection.cross_val_predict`` (``predict_proba`` for a classifier that has it, whose
    most probable class is then the predicted class; ``predict`` otherwise) on the folds of ``cv``, which
    must put every sample in exactly one test fold. ``estimator`` is cloned per fold and not fitted here.

    Parameters
    ----------
    estimator
        An unfitted classifier or regressor.
    X, y, groups, n_jobs, params
        As for ``cross_val_predict``.
    cv
        A number of folds, a splitter, or an iterable of (train, test) index arrays.
    classes, name, description, source, samples, k, source_code, pre_trained_model
        As for :func:`from_estimator`.
    """
    _sklearn()
    from sklearn.model_selection import check_cv, cross_val_predict

    kind = _kind(estimator)
    if kind not in ("classifier", "regressor"):
        raise TypeError(
            f"cross-validated predictions need a classifier or regressor; {type(estimator).__name__} is a {kind}"
        )
    y_arr = as_numpy(y)
    folds = list(check_cv(cv, y_arr, classifier=kind == "classifier").split(X, y_arr, groups))
    fold_of = _fold_of_each_sample(folds, len(y_arr))
    proba = kind == "classifier" and hasattr(estimator, "predict_proba")
    extra = {} if params is None else {"params": dict(params)}
    out = as_numpy(
        cross_val_predict(
            estimator, X, y_arr, cv=folds, method="predict_proba" if proba else "predict", n_jobs=n_jobs, **extra
        )
    )
    rt = _new_table(
        estimator,
        len(y_arr),
        name=name,
        description=description,
        source_code=source_code,
        pre_trained_model=pre_trained_model,
    )
    _link(rt, len(y_arr), source, samples)
    rt.add_cv_split(fold_of, n_splits=len(folds))
    if kind == "regressor":
        _add_true_values(rt, y_arr)
        rt.add_predicted_value(out)
        return rt
    classes_ = np.unique(y_arr)  # the columns of cross_val_predict's probabilities, as its label encoder sorts them
    _add_classes(
        rt,
        classes_=classes_,
        names=_class_names(classes_, classes),
        y=y_arr,
        predicted=classes_[out.argmax(axis=1)] if proba else out,
        probabilities=out if proba else None,
        scores=None,
        k=k,
    )
    return rt


def _fold_of_each_sample(folds: list[tuple[np.ndarray, np.ndarray]], n: int) -> np.ndarray:
    fold_of = np.full(n, -1, dtype=np.int64)
    for i, (_, test) in enumerate(folds):
        if (fold_of[test] >= 0).any():
            raise ColumnError(
                "cv_split", "each sample in exactly one test fold", f"a sample in folds {fold_of[test].max()} and {i}"
            )
        fold_of[test] = i
    if (fold_of < 0).any():
        raise ColumnError("cv_split", "each sample in exactly one test fold", f"{(fold_of < 0).sum()} samples in none")
    return fold_of
