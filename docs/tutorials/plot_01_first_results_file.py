"""
Your first results file
=======================

A model has made a prediction for every sample of a dataset. This tutorial stores those predictions next to
the samples they describe, in one HDF5 file, reads them back, and opens the file lazily so that a column is
read only when it is needed.

The data are the 1,797 handwritten digits that ship with scikit-learn (8x8 images, classes 0 to 9).
"""

# %%
# The source table: one row per sample
# -------------------------------------
# Results point at the data they were computed from. Here the data are described by an ordinary HDMF
# ``DynamicTable`` with one row per image: which writer drew it and a made-up acquisition session. (In a
# real project this table lists files, subjects, recordings, units...)
import tempfile
from pathlib import Path

import numpy as np
from hdmf.common import DynamicTable, VectorData
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

import hdmf_ai

X, y = load_digits(return_X_y=True)
rng = np.random.default_rng(0)
session = rng.choice(["monday", "tuesday", "wednesday"], size=len(y))
digits = DynamicTable(
    name="digits",
    description="scikit-learn's handwritten digits, one row per 8x8 image",
    columns=[VectorData(name="session", description="acquisition session (synthetic)", data=session)],
)
print(len(digits), "images")

# %%
# A model and its outputs
# -----------------------
# Split the samples, fit a logistic regression on the training part and predict every sample.
split = rng.choice(["train", "validate", "test"], size=len(y), p=[0.6, 0.2, 0.2])
model = LogisticRegression(C=0.5, max_iter=500).fit(X[split == "train"] / 16, y[split == "train"])
probabilities = model.predict_proba(X / 16)

# %%
# The results table
# -----------------
# A :class:`~hdmf_ai.ResultsTable` has one row per sample. Its ``add_*`` methods add the columns the schema
# defines; each checks its input and stores it in the type the :ref:`specification <format>` prescribes.
# The provenance (where the code lives, the parameters, the model) are attributes of the table.
rt = hdmf_ai.ResultsTable(
    name="logreg",
    description="logistic regression on the pixel intensities",
    source_code="https://example.org/lab/digits@4f2c9e1",
    parameters={"C": model.C, "max_iter": model.max_iter},
    model_description=repr(model),
)
rt.add_samples(np.arange(len(y)), table=digits)  # row i describes row i of `digits`
rt.add_tvt_split(split)
rt.add_true_label([str(d) for d in y])  # strings are stored as an enumeration
rt.add_predicted_probability(probabilities)
rt.add_predicted_class(probabilities.argmax(axis=1))  # linked to the probabilities
rt.add_column("confidence", "the highest class probability", data=probabilities.max(axis=1))
print(rt.colnames)

# %%
# Bad input is refused with an error that names the column, what it expected and what it got:
try:
    hdmf_ai.ResultsTable(name="oops").add_tvt_split(["train", "tset"])
except hdmf_ai.ColumnError as err:
    print(err)

# %%
# Write, then read
# ----------------
# :func:`hdmf_ai.write` picks the format from the suffix: ``.h5`` (HDF5) or ``.zarr`` (Zarr). The source
# table is written along, because ``samples`` points at it.
workdir = Path(tempfile.mkdtemp())
path = hdmf_ai.write(rt, workdir / "digits-results.h5")
print(path.name, path.stat().st_size // 1024, "KiB")
print([(t.name, t.data_type, t.n_rows) for t in hdmf_ai.list_tables(path)])

# %%
# :func:`hdmf_ai.read` loads the table into memory and closes the file. The columns come back as they went
# in; the enum of labels comes back as strings, the parameters as the JSON text they were stored as.
back = hdmf_ai.read(path)
print(back.true_label[:5], back.predicted_class[:5])
print(back.get_parameters())
print(np.allclose(back.predicted_probability[:], probabilities))

# %%
# Lazy opening
# ------------
# :func:`hdmf_ai.open` keeps the file open and reads nothing until a column is sliced, which matters when a
# file holds millions of rows. The source table is reached through ``samples``.
with hdmf_ai.open(path) as lazy:
    print(type(lazy["predicted_probability"].data))
    print(lazy["predicted_class"].data[:3])
    print(lazy.samples.table["session"].data[:3])

# %%
# As a data frame
# ---------------
# ``to_dataframe`` gives the columns you ask for, optionally joined with columns of the source table.
frame = back.to_dataframe(columns=["tvt_split", "true_label", "predicted_class", "confidence"], join_source=["session"])
frame.head()

# %%
# Where the model is unsure
# -------------------------
# A first look at the results: the distribution of the model's confidence on the test samples, split by
# whether the prediction was right.
import matplotlib.pyplot as plt

test = frame[frame.tvt_split == "test"]
right = test.true_label == test.predicted_class
fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
bins = np.linspace(0, 1, 21)
ax.hist(test.confidence[right], bins=bins, alpha=0.7, label=f"correct ({right.sum()})")
ax.hist(test.confidence[~right], bins=bins, alpha=0.7, label=f"wrong ({(~right).sum()})")
ax.set_xlabel("highest class probability")
ax.set_ylabel("test samples")
ax.legend()
plt.show()

# %%
# The same file as Zarr is one argument away: ``hdmf_ai.write(rt, workdir / "digits-results.zarr")``.
# Next: :doc:`plot_02_storage_presets` compares how the two formats and the storage presets store it.
