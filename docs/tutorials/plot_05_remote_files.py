"""
Files on S3 and HTTP
====================

Results of large models often live in object storage. :func:`hdmf_ai.read`, :func:`hdmf_ai.open` and
:func:`hdmf_ai.list_tables` take ``s3://bucket/key`` and ``https://...`` URLs as well as local paths
(``pip install 'hdmf-ai[remote]'``). A lazy ``open`` fetches only the file's metadata and then the chunks a
slice needs: HDF5 through byte-range requests (remfile), Zarr through fsspec.

This page builds without a network, so the remote calls are shown, and the same calls then run on a local
file. The second half measures, on that local file, how little of it a lazy read touches: the bytes a
remote read would fetch.
"""

# %%
# The calls, remotely
# -------------------
# .. code-block:: python
#
#    import hdmf_ai
#
#    # a public bucket, read anonymously when no credentials are found
#    with hdmf_ai.open("s3://lab-bucket/run7/results.zarr") as rt:       # metadata only
#        first = rt["predicted_probability"].data[:10_000]                # and the chunks of these rows
#
#    rt = hdmf_ai.read("https://example.org/results.h5")                  # everything, then closed
#
#    # an S3-compatible store (MinIO, Ceph...), with a named profile
#    hdmf_ai.list_tables("s3://bucket/results.h5",
#                        storage_options={"endpoint_url": "https://s3.example.org", "profile": "lab"})
#
# Credentials come from where boto looks (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_PROFILE``,
# the shared credentials file, the machine's role); without any, the bucket is read anonymously.
# ``storage_options`` takes s3fs's options (``endpoint_url``, ``profile``, ``key``/``secret``, ``anon``).

# %%
# The same calls on a local file
# ------------------------------
# A file of 100,000 rows: predicted probabilities of 10 classes for noisy copies of the digits.
import tempfile
from pathlib import Path

import h5py
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

import hdmf_ai

X, y = load_digits(return_X_y=True)
model = LogisticRegression(C=0.5, max_iter=500).fit(X / 16, y)
rng = np.random.default_rng(0)
rows = rng.integers(0, len(y), 100_000)
proba = model.predict_proba(np.clip(X[rows] + rng.normal(0, 3, (len(rows), 64)), 0, 16) / 16)

rt = hdmf_ai.ResultsTable(name="run7", description="logistic regression on noisy digits")
rt.add_true_label(y[rows])
rt.add_predicted_probability(proba.astype(np.float32))
rt.add_predicted_class(proba.argmax(1))
path = hdmf_ai.write(rt, Path(tempfile.mkdtemp()) / "results.h5")

print([t.name for t in hdmf_ai.list_tables(path)])
with hdmf_ai.open(path) as lazy:
    first = lazy["predicted_probability"].data[:10_000]
print(first.shape, first.dtype)

# %%
# What a lazy read costs
# ----------------------
# A remote HDF5 file is read through a file object that turns each read into a byte-range request. A file
# object that counts the bytes asked of it shows, locally, what such a reader would fetch: the metadata,
# then only the chunks holding the rows sliced.


class CountingFile:
    """A read-only file that counts the bytes and the reads asked of it."""

    def __init__(self, path):
        self.file, self.bytes, self.reads = open(path, "rb"), 0, 0  # noqa: SIM115

    def read(self, n=-1):
        data = self.file.read(n)
        self.bytes, self.reads = self.bytes + len(data), self.reads + 1
        return data

    def readinto(self, buffer):
        n = self.file.readinto(buffer)
        self.bytes, self.reads = self.bytes + n, self.reads + 1
        return n

    def seek(self, offset, whence=0):
        return self.file.seek(offset, whence)

    def tell(self):
        return self.file.tell()


size = path.stat().st_size
costs = {}
for label, rows_read in [("metadata only", 0), ("10 rows", 10), ("10,000 rows", 10_000), ("every row", None)]:
    counter = CountingFile(path)
    with h5py.File(counter, "r") as f:
        dataset = f["run7/predicted_probability"]
        if rows_read != 0:
            dataset[:rows_read]
    costs[label] = counter.bytes
    print(f"{label:14} {counter.bytes / 2**10:8.0f} KiB in {counter.reads:4d} reads ({counter.bytes / size:.1%})")

fig, ax = plt.subplots(figsize=(6, 2.8), layout="constrained")
ax.barh(list(costs), [b / 2**10 for b in costs.values()])
ax.axvline(size / 2**10, color="grey", ls="--", lw=0.8)
ax.text(size / 2**10, -0.6, " whole file", fontsize=8, color="grey")
ax.invert_yaxis()
ax.set_xlabel("KiB read to open the file and slice predicted_probability")
plt.show()

# %%
# Each read becomes a request over the network, so the number of reads matters as well as the bytes. Remote
# HDF5 readers such as remfile fetch larger blocks and cache them; a Zarr store keeps all its metadata in
# one consolidated document (the root ``zarr.json``), so opening it is one request. Measurements against
# an S3 server on loopback are in ``benchmarks/REMOTE.md`` of the repository.

# %%
# Files from elsewhere
# --------------------
# A file from another lab or an archive is read defensively: an HDF5 file with external links, external
# storage or virtual datasets mapping other files, a Zarr store with keys outside itself, references into
# other stores or a pickle codec, a table whose columns disagree in length, a damaged or missing chunk, or
# a dataset declaring more than half the machine's memory for :func:`hdmf_ai.read` (the limit is the
# environment variable ``HDMF_AI_READ_BUDGET``, in bytes), a compressed chunk declaring more than its chunk
# shape holds (a "bomb"), a FIFO, device or link in place of a file or chunk, groups nested more than 64 deep,
# or more than 10,000 objects (``HDMF_AI_MAX_OBJECTS``) are each refused with a
# :class:`~hdmf_ai.ResultsFileError` naming the file and the object. The chunks hdmf-ai writes carry
# checksums (HDF5 Fletcher-32, Zarr CRC-32C), so damage reads as an error, not as other numbers:
with open(path, "r+b") as f:  # flip one byte inside the first chunk of the probabilities
    with h5py.File(path, "r") as h5:
        offset = h5["run7/predicted_probability"].id.get_chunk_info(0).byte_offset
    f.seek(offset + 100)
    byte = f.read(1)
    f.seek(offset + 100)
    f.write(bytes([byte[0] ^ 0xFF]))
try:
    hdmf_ai.read(path)
except hdmf_ai.ResultsFileError as err:
    print(type(err).__name__, str(err).replace(str(path.parent), "..."))

# %%
# The same holds for a lazy ``open``: every read of a column (a slice, rows picked, a ragged row, the source
# table through ``samples``) checks the blocks it touches against the content digests recorded when the file
# was written, and against the column's rules (codes within their classes, probabilities in [0, 1], ...),
# before returning anything. Edits that keep HDF5's and Zarr's own checksums valid (values rewritten, a
# chunk's filter mask, a description in HDF5's global heap) are refused the same way.
with hdmf_ai.open(path) as lazy:
    try:
        lazy["predicted_probability"].data[:10]
    except hdmf_ai.ResultsFileError as err:
        print(type(err).__name__, str(err).replace(str(path.parent), "..."))
