"""
Results next to the units they describe (NWB)
=============================================

Neurophysiology data are often shared as `NWB <https://nwb.org>`_ files, which are HDF5 (or Zarr) files
following HDMF schemas, as hdmf-ai files do. A ResultsTable therefore fits inside an NWB file, in its
``analysis`` section or in a processing module, with ``samples`` pointing at the rows of the ``units``,
``trials`` or ``electrodes`` table it describes. Install with ``pip install 'hdmf-ai[nwb]'``.

This tutorial makes a small NWB session (synthetic spike trains, no download), classifies its units into
two putative cell types, and stores the result in a copy of the file.
"""

# %%
# A session from elsewhere
# ------------------------
# First a stand-in for a file recorded by someone else: 60 units, each with spike times and the
# trough-to-peak width of its mean waveform. Narrow, fast-firing units stand for interneurons.
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from pynwb import NWBHDF5IO, NWBFile
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

import hdmf_ai
from hdmf_ai import nwb

rng = np.random.default_rng(0)
workdir = Path(tempfile.mkdtemp())
session = NWBFile(
    session_description="a synthetic recording",
    identifier="tutorial-4",
    session_start_time=datetime(2026, 1, 1, tzinfo=UTC),
)
session.add_unit_column(name="trough_to_peak", description="width of the mean waveform (ms)")
narrow = rng.random(60) < 0.3
for is_narrow in narrow:
    rate = rng.gamma(8, 2.5) if is_narrow else rng.gamma(3, 1.2)  # spikes per second
    spikes = np.sort(rng.uniform(0, 300, rng.poisson(rate * 300)))
    width = rng.normal(0.25, 0.05) if is_narrow else rng.normal(0.6, 0.1)
    session.add_unit(spike_times=spikes, trough_to_peak=width)
with NWBHDF5IO(workdir / "session.nwb", "w") as io:
    io.write(session)
print(len(session.units), "units written to session.nwb")

# %%
# Classify the units and keep the result in the file
# --------------------------------------------------
# :func:`hdmf_ai.nwb.open_nwb` opens the file read-only. The features come from the units table; the
# ResultsTable's ``samples`` column links row *i* of the results to row *i* of ``units``.
# :func:`~hdmf_ai.nwb.add_to_nwbfile` places the table in ``analysis`` and :func:`~hdmf_ai.nwb.write_nwb`
# exports everything to a new file: the original is not touched.
with nwb.open_nwb(workdir / "session.nwb") as nwbfile:
    units = nwbfile.units
    rates = np.array([len(units["spike_times"][i]) / 300 for i in range(len(units))])
    widths = units["trough_to_peak"].data[:]
    features = StandardScaler().fit_transform(np.column_stack([np.log(rates), widths]))
    kmeans = KMeans(n_clusters=2, n_init=10, random_state=0).fit(features)

    rt = hdmf_ai.ResultsTable(
        name="cell_types",
        description="putative cell type of each unit (k-means)",
        parameters={"n_clusters": 2, "features": ["log rate", "trough_to_peak"]},
        model_description=repr(kmeans),
    )
    rt.add_samples(np.arange(len(units)), table=units)
    rt.add_cluster_label(kmeans.labels_)
    rt.add_viz_embedding(features)
    nwb.add_to_nwbfile(nwbfile, rt)
    nwb.write_nwb(nwbfile, workdir / "session-with-results.nwb")

# %%
# Reading it back
# ---------------
# :func:`hdmf_ai.read` finds the ResultsTables of an NWB file and loads them with the tables they link to.
# ``samples.table`` is the file's own ``units`` table.
print([t.name for t in hdmf_ai.list_tables(workdir / "session-with-results.nwb")])
results = hdmf_ai.read(workdir / "session-with-results.nwb")
print(results.samples.table.name, results.samples.table.parent.name)
agreement = np.mean((results.cluster_label[:] == results.cluster_label[np.argmax(narrow)]) == narrow)
print(f"clusters agree with the simulated cell types for {agreement:.0%} of the units")

fig, ax = plt.subplots(figsize=(5, 3.6), layout="constrained")
for label in np.unique(results.cluster_label[:]):
    chosen = results.cluster_label[:] == label
    ax.scatter(rates[chosen], widths[chosen], label=f"cluster {label}", s=18)
ax.set_xscale("log")
ax.set_xlabel("firing rate (Hz)")
ax.set_ylabel("trough to peak (ms)")
ax.legend()
plt.show()

# %%
# pynwb reads the new file as well, given hdmf-ai's manager, and :func:`hdmf_ai.validate` checks the file
# against the schemas cached inside it (an empty list of problems means valid):
with NWBHDF5IO(workdir / "session-with-results.nwb", "r", manager=nwb.get_manager()) as io:
    print(type(io.read().analysis["cell_types"]).__name__)
print(hdmf_ai.validate(workdir / "session-with-results.nwb") or "valid")

# %%
# A few things worth knowing:
#
# * :func:`hdmf_ai.nwb.get_type_map` builds a fresh map of NWB ``core`` and ``hdmf-ai`` on every call, so the
#   import order of pynwb and hdmf_ai and the state of pynwb's type-map cache do not matter.
# * The files also cache a namespace ``hdmf-ai-nwb`` that includes both (it has no types of its own): with
#   it ``pynwb.validate`` and nwbinspector check the whole file.
# * :func:`hdmf_ai.read` loads only the ResultsTables and the tables they link to, not the whole session.
# * Known upstream limits: nwbinspector 0.7 cannot open Zarr NWB files, and its ``check_col_not_nan``
#   crashes on a ``samples`` column pointing at an all-float table such as ``trials``.
#
# To put results in a processing module instead of ``analysis``, pass
# ``location=nwbfile.create_processing_module(name="ml", description="...")`` to ``add_to_nwbfile``.
# ``write_nwb`` writes Zarr when the name ends in ``.zarr`` (with hdmf-zarr installed).
