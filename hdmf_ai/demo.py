"""A worked example, end to end: scikit-learn's digits, a classifier, a file, and the file read back.

``hdmf-ai demo`` runs :func:`run_demo`. It builds the situation hdmf-ai is made for: a source table of
samples (one row per 8x8 image, with acquisition metadata such as ``site`` and ``session``), a model
trained on some of them, and a :class:`~hdmf_ai.ResultsTable` that keeps, for every sample, what the model
said, which split the sample was in and what the truth was, linked to its source row through ``samples``.
It writes the result to HDF5 and to Zarr, reads both back and checks every value, and ends with the report
of ``hdmf-ai report`` (metrics, figures and ``report/index.html``) in the output directory.

A second, smaller example asks what a model relies on: scans from three sites, where one feature
(``intensity_offset``, a scanner calibration) secretly encodes the site and the share of positive cases differs
by site. A logistic regression learns the site through that feature; its per-sample attributions (exact linear
SHAP values) are stored as a ``FeatureAttribution`` column in ``attribution.h5`` / ``attribution.zarr``, and
:func:`hdmf_ai.analysis.nuisance_features` ranks ``intensity_offset`` first among the features the model relies
on that encode the site (report in ``report_attribution/``).

scikit-learn, pandas and matplotlib are optional extras (``pip install 'hdmf-ai[demo]'``), imported where
used: importing this module never needs them. The digits data ship inside scikit-learn: nothing is downloaded.

Example (takes a few seconds)::

    from hdmf_ai.demo import run_demo
    summary = run_demo(Path("demo-out"), seed=0)
    summary.accuracy["test"]   # about 0.97
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, EnumData, VectorData

from . import __version__
from .errors import DemoRoundTripError, MissingDependencyError
from .io import read, write
from .report import write_report
from .results_table import ResultsTable

__all__ = ["DemoSummary", "DemoRoundTripError", "MissingDependencyError", "run_demo"]

# a package URL (purl) with the module as subpath: it names the code that made the results, by version
SOURCE_CODE = f"pkg:pypi/hdmf-ai@{__version__}#hdmf_ai/demo.py"
FILES = {"hdf5": "demo.h5", "zarr": "demo.zarr"}
REPORT_DIR = "report"
ATTRIBUTION_FILES = {"hdf5": "attribution.h5", "zarr": "attribution.zarr"}
ATTRIBUTION_REPORT_DIR = "report_attribution"
#: the features of the attribution example; the one named LEAK encodes the acquisition site
SCAN_FEATURES = ("lesion_size", "texture", "edge_sharpness", "intensity_offset", "noise_level", "age")
LEAK = "intensity_offset"
N_SCANS = 900
SPLITS = ("train", "validate", "test")
TOP_K = 3
N_FOLDS = 5
SITES = ("A", "B", "C")
N_SESSIONS = 4
PROVENANCE = ("source_code", "parameters", "model_description", "pre_trained_model")


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`run_demo` made, for printing or for tests.

    Attributes
    ----------
    rows
        The number of samples (rows of the source table and of the results table).
    columns
        The results table's column names, in order.
    accuracy
        The classifier's accuracy on each split: ``{"train": ..., "validate": ..., "test": ...}``.
    file_sizes
        Bytes on disk per backend (``"hdf5"``, ``"zarr"``); a Zarr store counts all its files.
    paths
        The file written per backend.
    report
        The ``index.html`` of the report on the HDF5 file.
    seconds
        Wall-clock time of the whole run.
    nuisance_ranking
        The attribution example's features, most suspicious first (:func:`hdmf_ai.analysis.nuisance_features`
        by site): ``intensity_offset`` comes first.
    attribution_paths, attribution_report
        The attribution example's files per backend and the ``index.html`` of its report.
    """

    rows: int
    columns: tuple[str, ...]
    accuracy: Mapping[str, float]
    file_sizes: Mapping[str, int]
    paths: Mapping[str, Path]
    report: Path
    seconds: float
    nuisance_ranking: tuple[str, ...] = ()
    attribution_paths: Mapping[str, Path] | None = None
    attribution_report: Path | None = None

    def lines(self) -> list[str]:
        """The human summary that :func:`run_demo` logs, one string per line."""
        accuracy = ", ".join(f"{split} {acc:.3f}" for split, acc in self.accuracy.items())
        return [
            f"rows: {self.rows} digit images, each linked to its row of the source table 'digits'",
            f"columns ({len(self.columns)}): {', '.join(self.columns)}",
            f"accuracy: {accuracy}",
            *(f"{backend}: {self.paths[backend]} ({size:,} bytes)" for backend, size in self.file_sizes.items()),
            "both files read back equal to the table written",
            f"report (metrics, figures, error rate by site and session): {self.report}",
            *(
                [
                    f"attribution example: {self.attribution_paths['hdf5']}; features the model relies on that "
                    f"encode the site, most suspicious first: {', '.join(self.nuisance_ranking[:3])}",
                    f"attribution report: {self.attribution_report}",
                ]
                if self.attribution_paths and self.attribution_report
                else []
            ),
            f"done in {self.seconds:.1f} s",
        ]


def run_demo(out_dir: Path, *, seed: int = 0, log: Callable[[str], None] = print) -> DemoSummary:
    """Train on scikit-learn's digits, store the per-sample results in HDF5 and Zarr, and check them.

    Parameters
    ----------
    out_dir
        Directory for ``demo.h5``, ``demo.zarr`` and ``report/``; created if missing. Existing demo files are
        replaced.
    seed
        Seeds the synthetic metadata, the splits and k-means: equal seeds give equal results (the files
        still differ in hdmf's random object ids).
    log
        Receives the summary, one line per call.

    Returns
    -------
    DemoSummary
        Rows, columns, accuracy per split, file sizes and paths.

    Raises
    ------
    MissingDependencyError
        scikit-learn, pandas or matplotlib is not installed.
    DemoRoundTripError
        A column read back from a file differs from the one written (names the file and column).
    """
    _require_extras()
    start = time.perf_counter()
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():  # mkdir's own message ("File exists") misleads here
        raise NotADirectoryError(f"{out_dir} is a file, not a directory for the demo's output")
    out_dir.mkdir(parents=True, exist_ok=True)  # before the training, so a bad --out fails at once
    from sklearn.datasets import load_digits

    digits = load_digits()
    source = _source_table(digits.data, np.random.default_rng(seed))
    results = _results_table(digits.data, digits.target, source, seed=seed)
    paths = {backend: write(results, out_dir / name, overwrite=True) for backend, name in FILES.items()}
    for path in paths.values():
        _check_tables_equal(read(path), results, where=str(path))
    report = write_report(paths["hdf5"], out_dir / REPORT_DIR, by=["site", "session"])
    scans = _attribution_table(np.random.default_rng(seed))
    attribution_paths = {b: write(scans, out_dir / name, overwrite=True) for b, name in ATTRIBUTION_FILES.items()}
    for path in attribution_paths.values():
        _check_tables_equal(read(path), scans, where=str(path))
    from .analysis import nuisance_features

    ranking = tuple(nuisance_features(read(attribution_paths["hdf5"]), by="site", split="test")["feature"])
    attribution_report = write_report(attribution_paths["hdf5"], out_dir / ATTRIBUTION_REPORT_DIR, by=["site"])
    summary = DemoSummary(
        rows=len(results),
        columns=tuple(results.colnames),
        accuracy=_accuracy_per_split(results),
        file_sizes={backend: _size_on_disk(path) for backend, path in paths.items()},
        paths=paths,
        report=report,
        seconds=time.perf_counter() - start,
        nuisance_ranking=ranking,
        attribution_paths=attribution_paths,
        attribution_report=attribution_report,
    )
    for line in summary.lines():
        log(line)
    return summary


def _require_extras() -> None:
    """Fail before any work when a package of the ``demo`` extra is missing (the report needs the last two)."""
    for module in ("sklearn", "pandas", "matplotlib"):
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise MissingDependencyError(
                f"the demo needs {module}, which is not installed: pip install 'hdmf-ai[demo]'", name=module
            ) from err


# -- the source data -------------------------------------------------------------------------------------


def _source_table(pixels: np.ndarray, rng: np.random.Generator) -> DynamicTable:
    """One row per image, with made-up acquisition metadata: the nuisance variables a user would check."""
    n = len(pixels)
    columns = [
        # the grey levels are whole numbers 0-16, so uint8 stores them losslessly in an eighth of the space
        VectorData(
            name="pixels", description="The 8x8 image, row by row, grey levels 0-16.", data=pixels.astype(np.uint8)
        ),
        VectorData(name="site", description="Acquisition site (synthetic).", data=rng.choice(SITES, size=n).tolist()),
        VectorData(
            name="session",
            description="Acquisition session at the site (synthetic).",
            data=rng.integers(1, N_SESSIONS + 1, size=n),
        ),
    ]
    return DynamicTable(
        name="digits", description="scikit-learn's digits: one row per handwritten digit image.", columns=columns
    )


# -- the models ------------------------------------------------------------------------------------------


def _tvt_split(y: np.ndarray, seed: int) -> np.ndarray:
    """60/20/20 train/validate/test codes (0/1/2), stratified by class."""
    from sklearn.model_selection import train_test_split

    rest, test = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=seed)
    train, validate = train_test_split(rest, test_size=0.25, stratify=y[rest], random_state=seed)
    codes = np.empty(len(y), dtype=np.uint8)
    for code, rows in enumerate((train, validate, test)):
        codes[rows] = code
    return codes


def _cv_folds(y: np.ndarray, seed: int) -> np.ndarray:
    """The fold in which each sample is held out by a stratified 5-fold cross-validation."""
    from sklearn.model_selection import StratifiedKFold

    folds = np.empty(len(y), dtype=np.uint8)
    splitter = StratifiedKFold(n_splits=N_FOLDS, shuffle=True, random_state=seed)
    for fold, (_, held_out) in enumerate(splitter.split(np.zeros((len(y), 1)), y)):
        folds[held_out] = fold
    return folds


def _results_table(pixels: np.ndarray, y: np.ndarray, source: DynamicTable, *, seed: int) -> ResultsTable:
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression

    # grey levels 0-16 scaled to [0, 1]: a fixed range, so no scaler needs fitting (or recording)
    x = pixels / 16.0
    tvt = _tvt_split(y, seed)
    # lbfgs needs about 80 iterations here: the default limit of 100 leaves too little margin across seeds
    classifier = LogisticRegression(max_iter=1000).fit(x[tvt == 0], y[tvt == 0])
    # clustering and embeddings use no labels, so fitting them on every sample leaks nothing into the test
    kmeans = KMeans(n_clusters=10, n_init=10, random_state=seed).fit(x)
    pca = PCA(n_components=16, random_state=seed).fit(x)
    pca_2d = PCA(n_components=2, random_state=seed).fit(x)
    steps = (classifier, kmeans, pca, pca_2d)

    rt = ResultsTable(
        name="digits_logreg",
        description="Logistic regression on scikit-learn's digits (pixels / 16), with k-means clusters and PCA "
        "embeddings. Provenance has one entry per model: classifier, k-means, PCA-16, PCA-2.",
        source_code=[SOURCE_CODE] * len(steps),
        parameters=[step.get_params() for step in steps],
        model_description=[repr(step) for step in steps],
        pre_trained_model=["none: trained from scratch by the demo"] * len(steps),
    )
    rt.add_samples(np.arange(len(y)), table=source)
    rt.add_tvt_split(tvt)
    rt.add_cv_split(_cv_folds(y, seed), n_splits=N_FOLDS)
    _add_classifier_output(rt, classifier, x, y)
    rt.add_cluster_label(kmeans.labels_)
    rt.add_embedding(pca.transform(x), description="PCA of the scaled pixels to 16 dimensions.")
    rt.add_viz_embedding(pca_2d.transform(x), description="PCA of the scaled pixels to 2 dimensions, for plots.")
    return rt


def _add_classifier_output(rt: ResultsTable, classifier: Any, x: np.ndarray, y: np.ndarray) -> None:
    # every class index below is a position in classifier.classes_, so labels, classes and top-k agree
    truth = np.searchsorted(classifier.classes_, y)
    probs = classifier.predict_proba(x)
    topk = np.argsort(-probs, axis=1, kind="stable")[:, :TOP_K]
    rt.add_true_label(truth, classes=[f"digit_{c}" for c in classifier.classes_])
    rt.add_predicted_probability(probs)
    rt.add_predicted_class(probs.argmax(axis=1))
    rt.add_topk_probabilities(np.take_along_axis(probs, topk, axis=1))
    rt.add_topk_classes(topk)
    # the probability of the true class can underflow to 0; the smallest float keeps the loss finite
    true_prob = probs[np.arange(len(truth)), truth]
    loss = -np.log(np.maximum(true_prob, np.finfo(probs.dtype).tiny))
    rt.add_column("loss", "Cross-entropy of each sample's predicted probabilities (natural log).", data=loss)


# -- the attribution example ---------------------------------------------------------------------------------


def _scans(rng: np.random.Generator) -> tuple[DynamicTable, np.ndarray]:
    """Scans from three sites; the share of positives differs by site, and ``intensity_offset`` (a scanner
    calibration, not biology) is all but the site itself: the shortcut a model can learn."""
    site = rng.integers(0, len(SITES), N_SCANS)
    y = (rng.random(N_SCANS) < np.array([0.15, 0.5, 0.85])[site]).astype(np.int64)
    features = {
        "lesion_size": rng.normal(size=N_SCANS) + 0.8 * y,
        "texture": rng.normal(size=N_SCANS) + 0.5 * y,
        "edge_sharpness": rng.normal(size=N_SCANS),
        LEAK: 2.0 * site + rng.normal(scale=0.4, size=N_SCANS),
        "noise_level": rng.normal(size=N_SCANS),
        "age": rng.normal(60, 10, size=N_SCANS),
    }
    columns = [VectorData(name=n, description=f"{n} (synthetic).", data=features[n]) for n in SCAN_FEATURES]
    columns += [
        VectorData(name="site", description="Acquisition site (synthetic).", data=[SITES[s] for s in site]),
        VectorData(name="diagnosis", description="1: lesion is malignant (synthetic).", data=y.astype(np.int64)),
    ]
    return DynamicTable(name="scans", description="Synthetic scans from three sites.", columns=columns), y


def _attribution_table(rng: np.random.Generator) -> ResultsTable:
    """A logistic regression on the scans, with exact linear SHAP values of its log-odds."""
    from sklearn.linear_model import LogisticRegression

    source, y = _scans(rng)
    x = np.column_stack([np.asarray(source[n].data) for n in SCAN_FEATURES])
    tvt = np.where(rng.random(len(y)) < 0.7, 0, 2)
    train = tvt == 0
    mean, scale = x[train].mean(axis=0), x[train].std(axis=0)
    model = LogisticRegression(max_iter=1000).fit((x[train] - mean) / scale, y[train])
    weights = model.coef_[0] / scale  # per unit of each raw feature
    # linear SHAP (features independent): feature j contributes w_j (x_j - E[x_j]); the base is the margin at
    # the mean, so base + the row's contributions = decision_function, exactly
    shap_values = weights * (x - mean)
    base = float(model.intercept_[0])
    rt = ResultsTable(
        name="scans_logreg",
        description="Logistic regression on synthetic scans from three sites, with per-sample linear SHAP values.",
        source_code=SOURCE_CODE,
        parameters=model.get_params(),
        model_description=f"{model!r} on features standardised with the training rows' mean and std",
        pre_trained_model="none: trained from scratch by the demo",
    )
    rt.add_samples(np.arange(len(y)), table=source)
    rt.add_tvt_split(tvt)
    rt.add_true_label(y, classes=["benign", "malignant"])
    rt.add_predicted_probability(model.predict_proba((x - mean) / scale))
    rt.add_predicted_class(model.predict((x - mean) / scale))
    rt.add_feature_attribution(
        shap_values,
        method="linear_shap",
        output="positive_class",
        feature_names=list(SCAN_FEATURES),
        base_values=[base],
        output_space="raw",
        feature_table=source,
    )
    return rt


# -- the summary -----------------------------------------------------------------------------------------


def _accuracy_per_split(rt: ResultsTable) -> dict[str, float]:
    correct = np.asarray(rt.predicted_class.data) == np.asarray(rt.true_label.data)
    split = np.asarray(rt.tvt_split.data)
    return {name: float(correct[split == code].mean()) for code, name in enumerate(SPLITS)}


def _size_on_disk(path: Path) -> int:
    if path.is_dir():
        return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return path.stat().st_size


# -- the round-trip check --------------------------------------------------------------------------------


def _check_tables_equal(got: DynamicTable, expected: DynamicTable, *, where: str) -> None:
    """Raise :class:`DemoRoundTripError` naming the first attribute or column of ``got`` that differs."""
    where = f"{where}: table '{expected.name}'"
    if got.name != expected.name or not np.array_equal(np.asarray(got.id.data), np.asarray(expected.id.data)):
        raise DemoRoundTripError(f"{where}: read back as '{got.name}' with {len(got)} rows, not {len(expected)} rows")
    for field in PROVENANCE if isinstance(expected, ResultsTable) else ():
        if _as_list(getattr(got, field)) != _as_list(getattr(expected, field)):
            raise DemoRoundTripError(f"{where}: attribute '{field}' differs")
    # .columns, not .colnames: it also holds the elements of enum columns (e.g. tvt_split_elements)
    got_columns = {c.name: c for c in got.columns}
    if list(got_columns) != [c.name for c in expected.columns]:
        raise DemoRoundTripError(f"{where}: columns {list(got_columns)}, not {[c.name for c in expected.columns]}")
    for column in expected.columns:
        _check_column_equal(got_columns[column.name], column, where=where)


def _check_column_equal(got: VectorData, expected: VectorData, *, where: str) -> None:
    where = f"{where}, column '{expected.name}'"
    old, new = _values(expected), _values(got)
    if old.shape != new.shape or not np.array_equal(old, new):
        raise DemoRoundTripError(f"{where}: values differ (wrote {_describe(old)}, read {_describe(new)})")
    # numbers must come back in the type written (the smallest lossless type), not silently widened
    if old.dtype.kind in "biuf" and old.dtype != new.dtype:
        raise DemoRoundTripError(f"{where}: wrote dtype {old.dtype}, read {new.dtype}")
    for link in ("training_labels", "probabilities"):
        if _name(getattr(got, link, None)) != _name(getattr(expected, link, None)):
            raise DemoRoundTripError(f"{where}: '{link}' points at a different column")
    if isinstance(expected, DynamicTableRegion):
        _check_tables_equal(got.table, expected.table, where=where)


def _values(column: VectorData) -> np.ndarray:
    if isinstance(column, EnumData):  # compare what the codes mean, not the codes
        return np.asarray(column[:])
    return np.asarray(column.data)  # a region's data are row indices; its target table is checked apart


def _as_list(value: Any) -> list[Any] | None:
    return None if value is None else list(np.asarray(value, dtype=object).ravel())


def _name(column: VectorData | None) -> str | None:
    return None if column is None else column.name


def _describe(arr: np.ndarray) -> str:
    return f"shape {arr.shape}, dtype {arr.dtype}"
