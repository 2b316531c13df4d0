"""
Where does the model fail? Metrics, confusion, error breakdown
==============================================================

A results file answers questions beyond a single accuracy: which classes are confused, whether the
probabilities can be trusted, and whether the errors depend on how a sample was acquired (the site,
scanner, session or subject), which is a column of the *source* table reached through ``samples``.
:mod:`hdmf_ai.analysis` computes these as small pandas tables and :mod:`hdmf_ai.plot` draws them
(``pip install 'hdmf-ai[analysis,plot]'``). They work on a table in memory, read, or opened lazily.

The data are scikit-learn's digits, with a synthetic acquisition site: the images from site "C" are
degraded, as if that scanner were worse, and the question is whether the analysis finds it.
"""

# %%
# Results with a nuisance variable
# --------------------------------
# :func:`hdmf_ai.sklearn.from_cross_val_predict` runs a cross-validation and stores, for every sample, the
# prediction of the model that did not see it, with the sample's fold in ``cv_split``.
import tempfile
from pathlib import Path

import numpy as np
from hdmf.common import DynamicTable, VectorData
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

import hdmf_ai
from hdmf_ai import analysis, plot
from hdmf_ai.sklearn import from_cross_val_predict

X, y = load_digits(return_X_y=True)
rng = np.random.default_rng(0)
site = rng.choice(["A", "B", "C"], size=len(y))
age = rng.uniform(20, 80, size=len(y)).round()  # an unrelated numeric covariate
X = X / 16
X[site == "C"] = np.clip(X[site == "C"] + rng.normal(0, 0.35, X[site == "C"].shape), 0, 1)
images = DynamicTable(
    name="images",
    description="one row per digit image",
    columns=[
        VectorData(name="site", description="acquisition site", data=site),
        VectorData(name="age", description="age of the writer", data=age),
    ],
)

rt = from_cross_val_predict(
    LogisticRegression(C=0.5, max_iter=500),
    X,
    y,
    cv=5,
    source=images,
    name="digits_cv",
    classes=[str(d) for d in range(10)],
    k=3,
)
path = hdmf_ai.write(rt, Path(tempfile.mkdtemp()) / "digits-cv.h5")
print(rt.colnames)

# %%
# Metrics per fold
# ----------------
# :func:`~hdmf_ai.analysis.metrics` gives every metric the columns allow, one row per fold (or split) and
# one for all rows. The values equal scikit-learn's for the same metric. Here it runs on the file, opened
# lazily: each column is read once.
with hdmf_ai.open(path) as lazy:
    per_fold = analysis.metrics(lazy, by="cv_split")
per_fold[["n", "accuracy", "f1_macro", "top_3_accuracy", "log_loss", "ece"]].round(3)

# %%
# Per class, and the confusion matrix
# -----------------------------------
analysis.class_metrics(rt, by=None).round(2)

# %%
fig = plot.confusion_matrix(rt, title="digits, cross-validated")

# %%
# Can the probabilities be trusted?
# ---------------------------------
# A reliability diagram compares the confidence of each prediction with how often such predictions are
# right; the expected calibration error (``ece`` above) summarises the gap.
fig = plot.reliability_diagram(rt)

# %%
# Do the errors depend on the site?
# ---------------------------------
# :func:`~hdmf_ai.analysis.error_breakdown` follows ``samples`` to the source table, groups the samples by
# one of its columns, and gives each group's error rate with a Wilson interval, and a test of whether the
# error rate depends on the column (chi-square, or Fisher's exact test for small 2x2 tables).
by_site = analysis.error_breakdown(rt, "site")
print(by_site.test, f"p = {by_site.p_value:.2g}", "depends:", by_site.depends())
by_site.groups.round(3)

# %%
fig = plot.error_rate(by_site)

# %%
# A numeric column is cut into quantile bins. The age of the writer was drawn independently of everything,
# and the test finds no dependence:
by_age = analysis.error_breakdown(rt, "age", bins=4)
print(by_age.test, f"p = {by_age.p_value:.2g}", "depends:", by_age.depends())
by_age.groups.round(3)

# %%
# The embedding, coloured by correctness
# --------------------------------------
# ``from_cross_val_predict`` does not add an embedding; a 2-D PCA of the pixels, stored as ``viz_embedding``,
# shows where the errors lie. ``color_by`` takes ``"correct"``, a column of the table, or of the source.
from sklearn.decomposition import PCA

rt.add_viz_embedding(PCA(2, random_state=0).fit_transform(X))
fig = plot.embedding(rt, color_by="correct")

# %%
fig = plot.embedding(rt, color_by="site")

# %%
# How sure are these numbers? Confidence intervals
# ------------------------------------------------
# Every metric can carry an interval: :func:`~hdmf_ai.analysis.evaluate` gives accuracy (a fraction of rows)
# Wilson's interval (``proportion="exact"`` for Clopper-Pearson), and every other metric a BCa bootstrap
# interval over the rows (``bootstrap="percentile"`` too), seeded: the same seed gives the same numbers. Its
# ``to_frame()`` has one row per number, with the split or fold, method, n and seed: the rows to store.
# ``analysis.metrics(rt, ci=0.95)`` gives the same bounds as ``<metric>_low`` / ``<metric>_high`` columns.
evaluation = analysis.evaluate(rt, metrics=["accuracy", "f1_macro"], n_resamples=1000, seed=0)
evaluation.to_frame()[["metric", "split", "value", "ci_low", "ci_high", "method", "n"]].round(3)

# %%
# Is another model better? A paired comparison
# --------------------------------------------
# A second model, cross-validated on the same samples. :func:`~hdmf_ai.analysis.compare` matches the two
# tables' rows through ``samples`` (they may come from one file or several), then gives, per pair of models,
# the difference of each metric with a paired-bootstrap interval (both models on the same resampled rows),
# McNemar's exact and mid-p tests of their accuracies, and DeLong's test of their ROC AUCs (here the macro
# average of one-vs-rest AUCs); with three models or more, Cochran's Q as well.
from sklearn.neighbors import KNeighborsClassifier

knn = from_cross_val_predict(
    KNeighborsClassifier(5), X, y, cv=5, source=images, name="knn", classes=[str(d) for d in range(10)], k=3
)
comparison = analysis.compare([rt, knn], metric=["accuracy", "f1_macro"], n_resamples=1000, seed=0)
print(comparison)

# %%
# ``summary()`` puts the pairs in a frame; ``to_frame()`` gives every number with its provenance (the columns
# of :data:`~hdmf_ai.analysis.EVALUATION_COLUMNS`).
comparison.summary().round(4)

# %%
# Where do they disagree? The rows where the models predict different classes, joined to the source table:
comparison.disagreements.head(8)

# %%
# The command line does the same for files: ``hdmf-ai compare digits-cv.h5 knn.zarr --metric accuracy``
# (see :ref:`cli`).

# %%
# Everything as a data frame
# --------------------------
# For analyses of your own, ``to_dataframe`` joins the columns you ask for with columns of the source table.
frame = rt.to_dataframe(columns=["cv_split", "true_label", "predicted_class"], join_source=["site", "age"])
frame["wrong"] = frame.true_label != frame.predicted_class
frame.groupby("site").wrong.mean().round(3)

# %%
# The command line gives the same for any file: ``hdmf-ai report digits-cv.h5 --out report --by site``
# writes these tables as CSV and the figures as PNG, with an ``index.html`` showing them (see :ref:`cli`).
