"""
Results larger than memory
==========================

A model running over millions of samples produces its outputs batch by batch. Keeping them all in memory to
write them at the end is wasteful, and a crash near the end loses everything. :class:`hdmf_ai.ResultsWriter`
writes each batch as it comes, with memory bounded by a batch and a few chunks, records after every batch how
many rows are complete, and can resume an interrupted file. The finished file is the same as
:func:`hdmf_ai.write` of the whole table would make.

Here the "model" is a logistic regression and the "dataset" a stream of noisy digits, small enough to run
in a few seconds; the pattern is the one of a PyTorch ``DataLoader`` loop.
"""

# %%
# A model and a stream of batches
# -------------------------------
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

import hdmf_ai

X, y = load_digits(return_X_y=True)
model = LogisticRegression(C=0.5, max_iter=500).fit(X / 16, y)
N, BATCH = 60_000, 4_096


def batches(start=0, seed=0):
    """Noisy copies of the digits, BATCH at a time, from row `start` (as a DataLoader would give them)."""
    for first in range(start, N, BATCH):
        rng = np.random.default_rng([seed, first])
        rows = rng.integers(0, len(y), min(BATCH, N - first))
        yield np.clip(X[rows] + rng.normal(0, 3, (len(rows), 64)), 0, 16) / 16, y[rows]


# %%
# Writing batch by batch
# ----------------------
# Declare the columns by name: a per-row shape, or options such as the class names. Each batch goes through
# the same checks as the ``add_*`` methods; a bad batch raises a :class:`~hdmf_ai.ColumnError` and writes
# nothing.
workdir = Path(tempfile.mkdtemp())
classes = [str(c) for c in range(10)]
columns = {"predicted_probability": (10,), "true_label": {"classes": classes}}
metadata = {
    "name": "stream",
    "description": "logistic regression on a stream of noisy digits",
    "parameters": {"C": 0.5, "noise": 3},
}

with hdmf_ai.ResultsWriter(
    workdir / "stream.h5", n_samples=N, columns=columns, metadata=metadata, progress=False
) as writer:
    for xb, yb in batches():
        p = model.predict_proba(xb).astype(np.float32)
        writer.append(predicted_probability=p, predicted_class=p.argmax(1), true_label=yb)
print(writer.rows_written, "rows written")

# %%
# Reading a large file lazily
# ---------------------------
# ``rt.column(name)`` reads rows block by block, whole stored chunks at a time, and only those asked for.
with hdmf_ai.open(workdir / "stream.h5") as rt:
    column = rt.column("predicted_probability")
    print(len(rt), column.shape, column.dtype)
    first = column.read(slice(0, 5), progress=False)
    print(first.round(2))
    confidence = column.read(progress=False).max(axis=1)

fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
ax.hist(confidence, bins=40)
ax.set_xlabel("highest class probability")
ax.set_ylabel("samples")
ax.set_title(f"{N:,} predictions, read from disk")
plt.show()

# %%
# When the loop dies
# ------------------
# An error (or a killed process) in the middle of the loop leaves a file whose table records how many rows
# are complete. Here the loop fails after five batches.
path = workdir / "interrupted.zarr"
try:
    with hdmf_ai.ResultsWriter(path, n_samples=N, columns=columns, metadata=metadata, progress=False) as writer:
        for i, (xb, yb) in enumerate(batches()):
            if i == 5:
                raise RuntimeError("out of GPU memory (simulated)")
            p = model.predict_proba(xb).astype(np.float32)
            writer.append(predicted_probability=p, predicted_class=p.argmax(1), true_label=yb)
except RuntimeError as err:
    print("the loop stopped:", err)

# %%
# Reading the unfinished file gives its complete rows, with an :class:`~hdmf_ai.IncompleteTableWarning`:
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    partial = hdmf_ai.read(path)
print(
    len(partial),
    "complete rows;",
    caught[0].category.__name__ + ":",
    str(caught[0].message).replace(str(workdir), "..."),
)

# %%
# ``resume=True`` continues from the first missing row, ``rows_written``; the loop skips what is done.
with hdmf_ai.ResultsWriter(path, resume=True, progress=False) as writer:
    print("resuming at row", writer.rows_written)
    for xb, yb in batches(start=writer.rows_written):
        p = model.predict_proba(xb).astype(np.float32)
        writer.append(predicted_probability=p, predicted_class=p.argmax(1), true_label=yb)

resumed, straight = hdmf_ai.read(path), hdmf_ai.read(workdir / "stream.h5")
print(len(resumed), np.array_equal(resumed.predicted_probability[:], straight.predicted_probability[:]))

# %%
# What makes this safe: after every batch the table's group records ``hdmf_ai_complete_rows`` (and
# ``hdmf_ai_n_samples``, -1 when the total is unknown); both are removed on a normal close. HDF5 files are
# written in SWMR mode (HDF5 >= 1.10 file format), so a killed writer leaves a consistent file; Zarr writes
# every object atomically. A resumed run loses at most the batch in flight. ``durable=False`` writes whole
# chunks only, which is faster on Zarr, and a crash may then lose up to a chunk of rows. Resume a run only
# once its writer process has ended.
#
# Known ``n_samples`` allocates the columns once; unknown (``None``) grows them and trims on close. Bounded
# integer columns (classes, splits, folds, source rows) get the smallest type that holds their bound and
# that the schema allows; other integers keep the type they arrive in (declare ``{"dtype": "int8"}`` to
# narrow a column of your own). Progress bars (``pip install hdmf-ai[progress]``) show on a terminal, not
# in logs; ``progress=True/False`` forces them.

# %%
# More rows and more columns later
# --------------------------------
# :func:`hdmf_ai.append_rows` adds rows to a finished table; :func:`hdmf_ai.add_column` adds a column.
xb, yb = next(batches(seed=1))
p = model.predict_proba(xb).astype(np.float32)
hdmf_ai.append_rows(path, predicted_probability=p, predicted_class=p.argmax(1), true_label=yb)
hdmf_ai.add_column(path, name="batch", description="which batch each row came in", data=np.arange(N + len(yb)) // BATCH)
print([(t.name, t.n_rows, t.colnames) for t in hdmf_ai.list_tables(path)])

# %%
# Zarr's consolidated metadata is refreshed after an append, and a reader opened before keeps its old,
# consistent view. HDF5 files written by :func:`hdmf_ai.write` have the older file format without SWMR: rows
# appended to them are safe once the writer closes, not during a crash.

# %%
# Many workers: Dask
# ------------------
# With the outputs as Dask arrays, :func:`hdmf_ai.io.dask.write_dask` writes the metadata once and lets the
# workers write whole shards of a Zarr store in parallel, without locks. Here Dask's threaded scheduler
# runs on this machine. On a cluster, connect first (``dask.distributed.Client("tcp://scheduler:8786")``)
# and put the store on storage every worker sees; the call is the same.
import dask.array as da

from hdmf_ai.io.dask import write_dask

pixels = da.from_array(np.clip(X + np.random.default_rng(2).normal(0, 3, X.shape), 0, 16) / 16, chunks=(512, 64))
proba = pixels.map_blocks(
    lambda b: model.predict_proba(b).astype(np.float32), chunks=(pixels.chunks[0], (10,)), dtype=np.float32
)
stored = write_dask(
    workdir / "dask.zarr",
    {
        "predicted_probability": proba,
        "predicted_class": proba.argmax(axis=1),
        "true_label": da.from_array(y, chunks=512),
    },
    declarations={"true_label": {"classes": classes}},
    metadata={"name": "dask"},
    progress=False,
)
with hdmf_ai.open(stored) as rt:
    print(len(rt), rt["predicted_class"].data[:10], rt["true_label"].data[:10])
