"""
Reading the files without hdmf-ai
=================================

An hdmf-ai file is a plain HDF5 file or Zarr store: any HDF5 or Zarr library, in any language, reads it
without this package or HDMF. This tutorial writes one table to both formats and then reads it back with
h5py and zarr alone, following the layout described in :doc:`/format/layout`: where the table and its
columns are, how enumerations and region indices resolve, and which attributes say what.
"""

# %%
# A small file in both formats
# ----------------------------
import json
import tempfile
from pathlib import Path

import h5py
import numpy as np
import zarr
from hdmf.common import DynamicTable, VectorData

import hdmf_ai

images = DynamicTable(
    name="images",
    description="the source data",
    columns=[VectorData(name="site", description="acquisition site", data=["A", "A", "B", "B"])],
)
rt = hdmf_ai.ResultsTable(name="logreg", description="logistic regression", parameters={"C": 1.0})
rt.add_samples([3, 2, 1, 0], table=images)
rt.add_tvt_split(["train", "train", "test", "test"])
rt.add_true_label(["cat", "dog", "cat", "dog"])
rt.add_predicted_probability([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
rt.add_predicted_class([0, 1, 0, 1])
workdir = Path(tempfile.mkdtemp())
h5_path = hdmf_ai.write(rt, workdir / "results.h5")
zarr_path = hdmf_ai.write(rt, workdir / "results.zarr")

# %%
# HDF5, with h5py
# ---------------
# Every table is a group at the root; every column a dataset in it. Attributes name the type
# (``data_type``), its namespace, and the column order (``colnames``).
f = h5py.File(h5_path, "r")
table = f["logreg"]
print(dict(table.attrs)["data_type"], dict(table.attrs)["namespace"], list(table.attrs["colnames"]))
for name, dataset in table.items():
    print(f"  {name:22} {dataset.attrs['data_type']:24} {dataset.dtype!s:8} {dataset.shape}")

# %%
# A column of strings such as ``tvt_split`` is stored as small integer codes (an ``EnumData``); its
# ``elements`` attribute is an object reference to the dataset of the strings the codes index.
codes = table["tvt_split"][:]
elements = f[table["tvt_split"].attrs["elements"]][:].astype(str)
print(codes, elements, elements[codes])

# %%
# ``samples`` holds row indices into the source table, which its ``table`` attribute references.
source = f[table["samples"].attrs["table"]]
print(source.name, source["site"][:].astype(str)[table["samples"][:]])

# %%
# ``predicted_class`` references the probabilities it came from; provenance is kept in text attributes,
# the parameters as JSON:
print(f[table["predicted_class"].attrs["probabilities"]].name)
print(json.loads(table.attrs["parameters"][0]))

# %%
# The schema is cached in the file, as JSON text under ``specifications/<namespace>/<version>``:
print(list(f["specifications"]), list(f["specifications/hdmf-ai"]))
namespace = json.loads(f["specifications/hdmf-ai/0.3.0/namespace"][()])
print(namespace["namespaces"][0]["name"], namespace["namespaces"][0]["version"])
f.close()

# %%
# Zarr, with zarr-python
# ----------------------
# The same tree: groups and arrays with the same names and attributes. References are JSON objects
# ``{"_REFERENCE": {"source": ".", "path": ...}}`` holding the path of the target inside the store.
root = zarr.open_group(zarr_path, mode="r")
ztable = root["logreg"]
print(ztable.attrs["data_type"], list(ztable.attrs["colnames"]))
reference = ztable["tvt_split"].attrs["elements"]["_REFERENCE"]
print(reference)
zelements = np.array([str(s) for s in root[reference["path"].lstrip("/")][:]])
print(zelements[ztable["tvt_split"][:]])
print(
    ztable["predicted_probability"].dtype, ztable["predicted_probability"].shape, ztable["predicted_probability"].chunks
)
