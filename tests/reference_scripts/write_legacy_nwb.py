"""Write NWB files holding a *reference* ResultsTable with pynwb (run inside the legacy venv).

Usage: ``python write_legacy_nwb.py OUT_DIR``

Runs in the venv of ``refenv.LEGACY_ZARR_REQUIREMENTS`` (hdmf-ai 0.2.0, pynwb 3.1, hdmf 4.3, hdmf-zarr 0.13 on
zarr 2). Each file holds one ``NWBFile`` whose ``units`` table has a few units with spike times and a ``location``
column, and a reference ``ResultsTable`` named ``unit_types`` whose ``samples`` column points into ``units``:

* ``analysis.nwb``    -- HDF5 (``pynwb.NWBHDF5IO``), the table in ``nwbfile.analysis``
* ``analysis.zarr``   -- a Zarr **v2** store (hdmf-zarr 0.13's ``NWBZarrIO``), the table in ``nwbfile.analysis``
* ``processing.nwb``  -- HDF5, the table in the processing module ``ml``
* ``processing.zarr`` -- Zarr v2, the table in the processing module ``ml``
* ``expected.json``   -- the values written, in the format of ``write_reference.py`` (``results_tables``
  as its ``table_expected``; ``units`` as its ``source_table``, the ragged ``spike_times`` apart), what the
  old tools read back from each file, and every operation that failed (``"failures"``).

pynwb keeps its own TypeMap, copied from hdmf's global one when pynwb is imported -- here by ``hdmf_zarr``,
before the reference loads ``hdmf-ai`` into hdmf's map at its own import. So pynwb's map is taught the reference
explicitly: ``pynwb.load_namespaces`` with the reference's ``namespace.yaml``, then ``pynwb.register_class`` for
the reference's classes (without that, the MRO lookup would write its columns as plain ``VectorData``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

# pynwb pickles its type map to a shared user cache; with hdmf_ai classes registered that breaks (see refenv.py).
os.environ.setdefault("PYNWB_NO_CACHE_DIR", "1")

import numpy as np
import pynwb
from hdmf_zarr.nwb import NWBZarrIO
from pynwb import NWBHDF5IO, NWBFile
from write_reference import Recorder, _link_attributes, _versions, _zarr_format, table_expected

import hdmf_ai
from hdmf_ai import results_table as reference

SEED = 20240402
N_UNITS = 8
N_CLASSES = 3
TABLE = "unit_types"
MODULE = "ml"
LOCATIONS = ["CA1", "CA3", "DG"]
START = datetime(2024, 4, 2, 9, 30, tzinfo=UTC)
METADATA: dict[str, list[str]] = {
    "source_code": ["https://example.org/hdmf-ai-interop/unit_types.py"],
    "parameters": [json.dumps({"C": 0.5, "seed": SEED}, sort_keys=True)],
    "model_description": ["LogisticRegression(C=0.5) on waveform features"],
    "pre_trained_model": ["none"],
}
# file name -> (writer, where the ResultsTable goes)
FILES: dict[str, tuple[str, str]] = {
    "analysis.nwb": ("hdf5", "analysis"),
    "analysis.zarr": ("zarr", "analysis"),
    "processing.nwb": ("hdf5", f"processing/{MODULE}"),
    "processing.zarr": ("zarr", f"processing/{MODULE}"),
}
# every data type the reference defines, each with the class the reference uses for it
REFERENCE_TYPES = (
    "ResultsTable",
    "SupervisedOutput",
    "TrainValidateTestSplit",
    "CrossValidationSplit",
    "ClassProbability",
    "ClassLabel",
    "TopKProbabilities",
    "TopKClasses",
    "RegressionOutput",
    "ClusterLabel",
    "EmbeddedValues",
)


def teach_pynwb_the_reference() -> str:
    """Load the reference's namespace into pynwb's global TypeMap and register its classes there."""
    namespace_path = str(files("hdmf_ai") / "schema" / "namespace.yaml")
    pynwb.load_namespaces(namespace_path)
    for data_type in REFERENCE_TYPES:
        pynwb.register_class(data_type, "hdmf-ai", getattr(reference, data_type))
    return namespace_path


# --------------------------------------------------------------------------- data


def make_values() -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    n_spikes = rng.integers(2, 7, size=N_UNITS)
    spike_times = [np.round(np.sort(rng.uniform(0, 30, size=n)), 4) for n in n_spikes]
    samples = np.sort(rng.choice(N_UNITS, size=6, replace=False))
    logits = rng.normal(size=(len(samples), N_CLASSES))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return {
        "spike_times": spike_times,
        "location": [LOCATIONS[i] for i in rng.integers(0, len(LOCATIONS), size=N_UNITS)],
        "samples": samples,
        "tvt_split": np.array([0, 0, 0, 0, 1, 2]),
        "true_label": rng.integers(0, N_CLASSES, size=len(samples)),
        "predicted_probability": proba,
        "predicted_class": np.argmax(proba, axis=1),
    }


def make_nwbfile(name: str, values: dict[str, Any]) -> NWBFile:
    nwbfile = NWBFile(
        session_description="units classified by a model (hdmf-ai legacy corpus)",
        identifier=f"hdmf-ai-legacy-{name}",
        session_start_time=START,
    )
    nwbfile.add_unit_column(name="location", description="brain area of the unit")
    for times, location in zip(values["spike_times"], values["location"], strict=True):
        nwbfile.add_unit(spike_times=times, location=location)
    return nwbfile


def make_table(nwbfile: NWBFile, values: dict[str, Any], rec: Recorder) -> reference.ResultsTable:
    """A reference ResultsTable on ``nwbfile.units`` (tvt_split first: add_samples as first column fails)."""
    table = reference.ResultsTable(name=TABLE, description="putative cell types of the units", **METADATA)
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("add_tvt_split", lambda: table.add_tvt_split(data=values["tvt_split"])),
        ("add_samples", lambda: table.add_samples(data=values["samples"], table=nwbfile.units)),
        ("add_true_label", lambda: table.add_true_label(data=values["true_label"])),
        ("add_predicted_probability", lambda: table.add_predicted_probability(data=values["predicted_probability"])),
        ("add_predicted_class", lambda: table.add_predicted_class(data=values["predicted_class"])),
    ]
    for label, step in steps:
        rec.attempt(label, step)
    _link_attributes(table, rec)  # predicted_class.probabilities / .training_labels
    return table


def place(nwbfile: NWBFile, table: reference.ResultsTable, location: str) -> None:
    if location == "analysis":
        nwbfile.add_analysis(table)
    else:
        module = nwbfile.create_processing_module(name=MODULE, description="machine-learning results")
        module.add(table)


# --------------------------------------------------------------------------- expected


def units_expected(nwbfile: NWBFile, values: dict[str, Any]) -> dict[str, Any]:
    """``units`` as ``write_reference.source_expected`` describes a source table; ragged columns apart."""
    units = nwbfile.units
    return {
        "name": units.name,
        # pynwb's Units says 'DynamicTable' as its data_type; the type map knows what is written
        "neurodata_type": pynwb.get_type_map().get_container_cls_dt(type(units))[1],
        "description": units.description,
        "colnames": list(units.colnames),
        "id": np.asarray(units.id.data).tolist(),
        "columns": {"location": list(values["location"])},
        "ragged": {"spike_times": [t.tolist() for t in values["spike_times"]]},
    }


def read_back(path: Path, backend: str, location: str) -> dict[str, Any]:
    """What the old tools themselves find in the file they wrote."""
    io_cls = NWBHDF5IO if backend == "hdf5" else NWBZarrIO
    with io_cls(str(path), mode="r") as io:
        nwbfile = io.read()
        parent = nwbfile.analysis if location == "analysis" else nwbfile.processing[MODULE]
        table = parent[TABLE]
        return {
            "class": f"{type(table).__module__}.{type(table).__name__}",
            "colnames": list(table.colnames),
            "samples_table": table["samples"].table.name,
        }


# --------------------------------------------------------------------------- write


def write(path: Path, backend: str, location: str, rec: Recorder) -> dict[str, Any]:
    values = make_values()
    nwbfile = make_nwbfile(path.stem + "-" + backend, values)
    table = make_table(nwbfile, values, rec)
    place(nwbfile, table, location)
    io_cls = NWBHDF5IO if backend == "hdf5" else NWBZarrIO
    with io_cls(str(path), mode="w") as io:
        io.write(nwbfile)
    return {"units": units_expected(nwbfile, values), "results_tables": {TABLE: table_expected(table, METADATA)}}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rec = Recorder()
    namespace_path = teach_pynwb_the_reference()
    written: dict[str, Any] = {}
    files_doc: dict[str, Any] = {}
    readback: dict[str, Any] = {}
    for name, (backend, location) in FILES.items():
        path = out / name
        got = rec.attempt(f"write:{name}", lambda p=path, b=backend, loc=location: write(p, b, loc, rec))
        if got is None:
            continue
        written = written or got
        files_doc[name] = {
            "backend": backend,
            "location": location,
            "zarr_format": _zarr_format(path) if backend == "zarr" else None,
        }
        readback[name] = rec.attempt(f"read_back:{name}", lambda p=path, b=backend, loc=location: read_back(p, b, loc))
    doc = {
        "seed": SEED,
        "versions": _versions(),
        "reference_namespace": {"path": namespace_path, "module": hdmf_ai.__file__},
        "files": files_doc,
        "table": TABLE,
        "module": MODULE,
        **written,
        "read_back": readback,
        "failures": rec.failures,
    }
    (out / "expected.json").write_text(json.dumps(doc, indent=2) + "\n")
    return 0 if len(files_doc) == len(FILES) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
