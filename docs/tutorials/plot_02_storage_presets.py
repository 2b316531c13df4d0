"""
Storage presets and what they cost
==================================

How a column is stored — its on-disk dtype, chunks and compression — is chosen per column kind by a
*preset*. This tutorial writes the same results with every preset, in HDF5 and in Zarr, and compares the
sizes, the time to read them back, and what a reader needs installed.

The numbers here are for a small table (20,000 rows, 10 classes, a 16-dimensional embedding) on the machine
that built this page; ``benchmarks/RESULTS.md`` in the repository has them for a million rows.
"""

# %%
# Results to store
# ----------------
# The digits again, drawn with replacement and with pixel noise added to make 20,000 samples, classified
# by a logistic regression; a PCA embedding stands for a network's hidden layer.
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression

import hdmf_ai
from hdmf_ai.io import policy

X, y = load_digits(return_X_y=True)
rng = np.random.default_rng(0)
rows = rng.integers(0, len(y), 20_000)
Xn = np.clip(X[rows] + rng.normal(0, 2, (len(rows), X.shape[1])), 0, 16) / 16
yn = y[rows]
model = LogisticRegression(C=0.5, max_iter=500).fit(Xn[:5000], yn[:5000])
proba = model.predict_proba(Xn).astype(np.float32)

rt = hdmf_ai.ResultsTable(name="noisy_digits", description="logistic regression on noisy digits")
rt.add_tvt_split(np.where(np.arange(len(yn)) < 5000, "train", "test"))
rt.add_true_label(yn)
rt.add_predicted_probability(proba)
rt.add_predicted_class(proba.argmax(1))
rt.add_embedding(PCA(16, random_state=0).fit_transform(Xn).astype(np.float32))
raw = sum(np.asarray(c.data).nbytes for c in rt.columns)
print(f"{len(yn):,} rows, {raw / 2**20:.2f} MiB of column data in memory")

# %%
# The presets
# -----------
# Each preset is a value that prints: a name, a description, and a :class:`~hdmf_ai.io.policy.Setting`
# per column kind and backend.
for name, preset in policy.PRESETS.items():
    print(f"{name:14} {preset.description}")
print()
print(policy.PRESETS["portable"].setting("hdf5", "probability"))

# %%
# Every preset, both formats
# --------------------------
# Write, measure the size on disk (a Zarr store is a directory), and time a full read.
workdir = Path(tempfile.mkdtemp())


def size_on_disk(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


records = []
for name in policy.PRESETS:
    for suffix in (".h5", ".zarr"):
        path = workdir / f"{name}{suffix}"
        start = time.perf_counter()
        hdmf_ai.write(rt, path, preset=name)
        written = time.perf_counter() - start
        start = time.perf_counter()
        back = hdmf_ai.read(path)
        read = time.perf_counter() - start
        error = np.abs(back.predicted_probability[:] - proba).max()
        records.append(
            {
                "preset": name,
                "format": suffix[1:],
                "MiB": size_on_disk(path) / 2**20,
                "write s": written,
                "read s": read,
                "max prob. error": error,
            }
        )
costs = pd.DataFrame.from_records(records).set_index(["preset", "format"])
costs.style.format({"MiB": "{:.2f}", "write s": "{:.3f}", "read s": "{:.3f}", "max prob. error": "{:.1e}"})

# %%
# At this size the times are mostly fixed costs (opening the file, building the containers) and depend on
# whatever else the machine is doing; they say little about the codecs, which the benchmarks measure at a
# million rows. The sizes do carry over: probabilities of a confident model are mostly noise in their low
# bits, which no lossless codec removes, so the lossless presets differ little, and rounding helps most.
#
# The uncompressed files are larger than the arrays in memory: a file adds the row ids, the labels in 32
# bits (the narrowest the schema allows), and the schema itself, cached in every file.
#
# Only ``compact-lossy`` changes values, and by at most the bound it records. The file says so: the
# rounded datasets carry an ``hdmf_ai_lossy`` attribute.
import h5py

with h5py.File(workdir / "compact-lossy.h5") as f:
    for name, dataset in f["noisy_digits"].items():
        if "hdmf_ai_lossy" in dataset.attrs:
            print(name, "->", dataset.attrs["hdmf_ai_lossy"])

# %%
# Size against read time
# ----------------------
fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
for fmt, marker in (("h5", "o"), ("zarr", "s")):
    part = costs.xs(fmt, level="format")
    ax.scatter(part["MiB"], part["read s"], marker=marker, label=fmt)
    for preset, row in part.iterrows():
        ax.annotate(preset, (row["MiB"], row["read s"]), textcoords="offset points", xytext=(4, 3), fontsize=8)
ax.axvline(raw / 2**20, color="grey", lw=0.8, ls="--")
ax.text(raw / 2**20, ax.get_ylim()[0], " arrays in memory", va="bottom", fontsize=8, color="grey")
ax.set_xlabel("size on disk (MiB)")
ax.set_ylabel("full read (s)")
ax.legend(title="format")
plt.show()

# %%
# Choosing
# --------
# .. list-table::
#    :header-rows: 1
#
#    * - preset
#      - HDF5
#      - Zarr
#      - readers need
#    * - ``portable`` (default)
#      - gzip + shuffle
#      - Blosc-Zstd + shuffle, sharded
#      - nothing beyond h5py / zarr (MATLAB and the reference 0.2.0 too)
#    * - ``fast``
#      - Blosc-LZ4 + shuffle
#      - Blosc-LZ4 + shuffle, sharded
#      - ``hdf5plugin`` for HDF5 (``pip install hdmf-ai[fast]``)
#    * - ``compact``
#      - Blosc-Zstd, bit shuffle for labels and indices
#      - Zstd + shuffle, delta for indices
#      - ``hdf5plugin`` for HDF5
#    * - ``uncompressed``
#      - chunked, no codec
#      - chunked, no codec
#      - nothing
#    * - ``compact-lossy``
#      - ``compact``, probabilities rounded to 2**-16, embeddings to 12 mantissa bits
#      - same
#      - as ``compact``
#
# Reading an HDF5 file of ``fast`` or ``compact`` without ``hdf5plugin`` fails with a message that names the
# package. Lossy storage is never on by default; when chosen, the dtype stays (float32 stays float32) and
# the dataset's attribute ``hdmf_ai_lossy`` states the rounding and its error bound.
#
# Class indices, folds and cluster ids are stored as 32-bit integers (wider when values need it), the
# narrowest the published schema allows, so every validator of the standard accepts the file; shuffle and
# compression make the extra bytes nearly free (``benchmarks/LABEL_WIDTHS.md``).
#
# Any column can be overridden by name with a :class:`~hdmf_ai.io.policy.Setting`, e.g.
# ``Setting(codecs=(Shuffle(), Zstd(9)), chunk_kib=64)``, or :func:`~hdmf_ai.io.policy.lossy` to keep
# only 8 bits of the probabilities:
path = hdmf_ai.write(rt, workdir / "custom.zarr", storage={"predicted_probability": policy.lossy(quantize_bits=8)})
print(
    f"{size_on_disk(path) / 2**20:.2f} MiB, max error",
    np.abs(hdmf_ai.read(path).predicted_probability[:] - proba).max(),
)

# %%
# A file written with one preset can be rewritten with another, and between formats, with
# :func:`hdmf_ai.io.convert.convert` or ``hdmf-ai convert IN OUT --preset P`` (see :ref:`cli`).
from hdmf_ai.io.convert import convert

print(convert(workdir / "fast.h5", workdir / "from-fast.zarr", preset="portable").name)
