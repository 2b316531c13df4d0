"""Write reference files with the *reference* hdmf-ai (run inside the reference venv).

Usage: ``python write_reference.py OUT_DIR``

Produces in OUT_DIR:

* ``ref.h5``   -- written with ``hdmf.backends.hdf5.HDF5IO``
* ``ref.zarr`` -- written with ``hdmf_zarr.ZarrIO``: a Zarr v3 store under
  zarr 3 (hdmf-zarr >= 0.14, the reference venv), a Zarr v2 store under zarr 2
  (hdmf-zarr <= 0.13, the legacy venv of ``refenv.LEGACY_ZARR_REQUIREMENTS``);
  ``"zarr_format"`` in expected.json says which one is on disk
* ``expected.json`` -- the exact values written plus every operation the
  reference could not perform (``"failures"``), so the tests of the new library
  know what to expect instead of guessing.

Both files hold one ``SimpleMultiContainer`` named ``root`` containing a source
``DynamicTable`` and two ``ResultsTable`` objects (integer labels and string
labels, since one table can only hold one ``true_label`` column).  Every value
is deterministic.  Each reference call is wrapped so one reference bug does not
hide the rest; it is recorded instead.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

# hdmf_zarr imports pynwb, which pickles its type map to a shared user cache; with
# hdmf_ai classes already registered that pickle fails half-written (see refenv.py).
os.environ.setdefault("PYNWB_NO_CACHE_DIR", "1")

import numpy as np
from hdmf.backends.hdf5 import HDF5IO
from hdmf.common import DynamicTable, SimpleMultiContainer, get_manager
from hdmf_zarr import ZarrIO

import hdmf_ai  # noqa: F401  (registers the reference classes)
from hdmf_ai import ResultsTable

SEED = 20240401
N_SOURCE = 20
N_RESULTS = 12
N_CLASSES = 3
TOP_K = 2
EMBED_DIMS = 2
ROOT_NAME = "root"
SOURCE_NAME = "source_data"
INT_TABLE = "results"
STR_TABLE = "results_str"
STRING_LABELS = ["cat", "dog", "bird"]

METADATA_INT: dict[str, list[str]] = {
    "source_code": ["https://example.org/hdmf-ai-interop/train.py"],
    "parameters": [json.dumps({"lr": 0.01, "epochs": 5, "seed": SEED}, sort_keys=True)],
    "model_description": ["LogisticRegression(C=1.0)"],
    "pre_trained_model": ["none"],
}
METADATA_STR: dict[str, list[str]] = {
    "source_code": ["https://example.org/prep.py", "https://example.org/fit.py"],
    "parameters": [json.dumps({"step": 1}), json.dumps({"step": 2, "k": TOP_K})],
    "model_description": ["StandardScaler()", "KNeighborsClassifier(n_neighbors=3)"],
    "pre_trained_model": ["none", "none"],
}


class Recorder:
    """Collects failures and fallbacks so they end up in expected.json."""

    def __init__(self) -> None:
        self.failures: dict[str, str] = {}
        self.fallbacks: dict[str, str] = {}

    def attempt(self, label: str, func: Callable[[], Any]) -> Any:
        """Run ``func``; on error remember ``label -> exception text`` and return None."""
        try:
            return func()
        except Exception as exc:
            self.failures[label] = f"{type(exc).__name__}: {exc}"
            traceback.print_exc(file=sys.stderr)
            return None


# --------------------------------------------------------------------------- data


def make_values() -> dict[str, Any]:
    """Deterministic column values (numpy arrays) shared by both tables."""
    rng = np.random.default_rng(SEED)
    logits = rng.normal(size=(N_RESULTS, N_CLASSES))
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    order = np.argsort(-proba, axis=1)[:, :TOP_K]
    return {
        "source_feature": np.round(rng.normal(size=N_SOURCE), 6),
        "source_count": rng.integers(0, 100, size=N_SOURCE),
        "samples": np.sort(rng.choice(N_SOURCE, size=N_RESULTS, replace=False)),
        "tvt_split": np.array([0] * 6 + [1] * 3 + [2] * 3),
        "cv_split": np.arange(N_RESULTS) % 3,
        "true_label_int": rng.integers(0, N_CLASSES, size=N_RESULTS),
        "true_label_str": [STRING_LABELS[i] for i in rng.integers(0, N_CLASSES, size=N_RESULTS)],
        "predicted_probability": proba,
        "predicted_class": np.argmax(proba, axis=1),
        "topk_probabilities": np.take_along_axis(proba, order, axis=1),
        "topk_classes": order,
        "predicted_value": np.round(rng.normal(size=N_RESULTS), 6),
        "cluster_label": rng.integers(0, 4, size=N_RESULTS),
        "embedding": np.round(rng.normal(size=(N_RESULTS, EMBED_DIMS)), 6),
        "sample_weight": np.linspace(0.5, 1.6, N_RESULTS),
        "note": [f"row {i}" for i in range(N_RESULTS)],
    }


def make_source(values: dict[str, Any]) -> DynamicTable:
    """The input table that the ``samples`` DynamicTableRegion points into."""
    table = DynamicTable(name=SOURCE_NAME, description="input samples for the model")
    table.add_column(name="subject", description="subject id")
    table.add_column(name="feature", description="a float feature")
    table.add_column(name="count", description="an integer feature")
    for i in range(N_SOURCE):
        table.add_row(
            subject=f"subj{i % 5}",
            feature=float(values["source_feature"][i]),
            count=int(values["source_count"][i]),
        )
    return table


# --------------------------------------------------------------------------- tables


def _add_embedding(table: ResultsTable, values: dict[str, Any], rec: Recorder) -> None:
    """2-D embedding is the natural use; fall back to 1-D if the reference rejects it."""
    ok = rec.attempt("add_embedding_2d", lambda: table.add_embedding(data=values["embedding"]))
    if ok is None:
        rec.fallbacks["embedding"] = "2-D add_embedding failed; wrote the first component as 1-D"
        rec.attempt("add_embedding_1d", lambda: table.add_embedding(data=values["embedding"][:, 0]))


def _link_attributes(table: ResultsTable, rec: Recorder) -> None:
    """Set the optional object-reference attributes the schema defines on columns."""
    links = [
        ("predicted_class", "probabilities", "predicted_probability"),
        ("predicted_class", "training_labels", "true_label"),
        ("topk_classes", "probabilities", "topk_probabilities"),
        ("cluster_label", "training_labels", "true_label"),
    ]
    for col, attr, target in links:
        if col in table and target in table:
            rec.attempt(f"set_attr:{col}.{attr}", partial(_set_link, table, col, attr, target))


def _set_link(table: ResultsTable, col: str, attr: str, target: str) -> None:
    setattr(table[col], attr, table[target])


def make_int_table(source: DynamicTable, values: dict[str, Any], rec: Recorder) -> ResultsTable:
    """ResultsTable with integer labels and every column the reference API offers."""
    table = ResultsTable(name=INT_TABLE, description="integer-label results", **METADATA_INT)
    # tvt_split first: add_samples as the very first column is a known suspect (probed separately).
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("add_tvt_split", lambda: table.add_tvt_split(data=values["tvt_split"])),
        ("add_samples", lambda: table.add_samples(data=values["samples"], table=source)),
        ("add_cv_split", lambda: table.add_cv_split(data=values["cv_split"])),
        ("add_true_label_int", lambda: table.add_true_label(data=values["true_label_int"])),
        ("add_predicted_probability", lambda: table.add_predicted_probability(data=values["predicted_probability"])),
        ("add_predicted_class", lambda: table.add_predicted_class(data=values["predicted_class"])),
        ("add_topk_probabilities", lambda: table.add_topk_probabilities(data=values["topk_probabilities"])),
        ("add_topk_classes", lambda: table.add_topk_classes(data=values["topk_classes"])),
        ("add_predicted_value", lambda: table.add_predicted_value(data=values["predicted_value"])),
        ("add_cluster_label", lambda: table.add_cluster_label(data=values["cluster_label"])),
    ]
    for label, step in steps:
        rec.attempt(label, step)
    _add_embedding(table, values, rec)
    rec.attempt(
        "add_column:sample_weight",
        lambda: table.add_column(name="sample_weight", description="user column (float)", data=values["sample_weight"]),
    )
    rec.attempt(
        "add_column:note", lambda: table.add_column(name="note", description="user column (text)", data=values["note"])
    )
    _link_attributes(table, rec)
    return table


def make_str_table(source: DynamicTable, values: dict[str, Any], rec: Recorder) -> ResultsTable:
    """ResultsTable whose true_label is given as strings (becomes EnumData)."""
    table = ResultsTable(name=STR_TABLE, description="string-label results", **METADATA_STR)
    rec.attempt("str:add_predicted_class", lambda: table.add_predicted_class(data=values["predicted_class"]))
    rec.attempt("str:add_samples", lambda: table.add_samples(data=values["samples"], table=source))
    rec.attempt("str:add_true_label_str", lambda: table.add_true_label(data=values["true_label_str"]))
    return table


# --------------------------------------------------------------------------- probes


def probe_known_suspects(source: DynamicTable, values: dict[str, Any], rec: Recorder) -> None:
    """Try the operations suspected to be broken on throw-away tables (never written)."""
    rec.attempt(
        "probe:add_samples_first_column",
        lambda: ResultsTable(name="p").add_samples(data=values["samples"], table=source),
    )
    prealloc: dict[str, dict[str, int]] = {
        "add_tvt_split": {},
        "add_cv_split": {"n_splits": 3},
        "add_true_label": {},
        "add_predicted_probability": {"n_classes": N_CLASSES},
        "add_predicted_class": {},
        "add_topk_probabilities": {"k": TOP_K},
        "add_topk_classes": {"k": TOP_K},
        "add_predicted_value": {},
        "add_cluster_label": {},
        "add_embedding": {"n_dims": EMBED_DIMS},
    }
    for method, extra in prealloc.items():
        rec.attempt(f"probe:n_samples_prealloc:{method}", partial(_prealloc, method, extra))


def _prealloc(method: str, extra: dict[str, int]) -> Any:
    """Call an add_* method with data=None on a table that only knows n_samples."""
    return getattr(ResultsTable(name="p", n_samples=N_RESULTS), method)(**extra)


# --------------------------------------------------------------------------- expected


def _col_expected(table: ResultsTable, name: str) -> dict[str, Any]:
    """What a reader should find for one column, taken from the in-memory objects."""
    col = table[name]
    out: dict[str, Any] = {
        "neurodata_type": col.data_type,
        "values": np.asarray(col.data).tolist(),
    }
    if hasattr(col, "elements") and col.elements is not None:
        elements = [str(e) for e in np.asarray(col.elements.data).tolist()]
        out["elements"] = elements
        out["decoded"] = [elements[i] for i in out["values"]]
    if hasattr(col, "table") and getattr(col, "table", None) is not None:
        out["target_table"] = col.table.name
    if hasattr(col, "n_splits") and col.n_splits is not None:
        out["n_splits"] = int(col.n_splits)
    refs = {a: getattr(col, a).name for a in ("probabilities", "training_labels") if getattr(col, a, None) is not None}
    if refs:
        out["references"] = refs
    return out


def table_expected(table: ResultsTable, metadata: dict[str, list[str]]) -> dict[str, Any]:
    """Expected content of one ResultsTable."""
    return {
        "name": table.name,
        "description": table.description,
        "colnames": list(table.colnames),
        "id": np.asarray(table.id.data).tolist(),
        "columns": {c: _col_expected(table, c) for c in table.colnames},
        "metadata": metadata,
    }


def source_expected(table: DynamicTable) -> dict[str, Any]:
    """Expected content of the source DynamicTable."""
    return {
        "name": table.name,
        "description": table.description,
        "colnames": list(table.colnames),
        "id": np.asarray(table.id.data).tolist(),
        "columns": {c: np.asarray(table[c].data).tolist() for c in table.colnames},
    }


def _versions() -> dict[str, str | None]:
    """Versions in this (reference) environment, for the record."""
    import importlib.metadata as md

    def version(name: str) -> str | None:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None

    names = ["hdmf-ai", "hdmf", "hdmf-zarr", "zarr", "numcodecs", "pynwb", "h5py", "numpy", "scikit-learn"]
    return {n: version(n) for n in names} | {"python": sys.version.split()[0]}


# --------------------------------------------------------------------------- write


def build_root(rec: Recorder) -> tuple[SimpleMultiContainer, dict[str, Any]]:
    """Build a fresh container tree (each IO needs its own, unwritten objects)."""
    values = make_values()
    source = make_source(values)
    int_table = make_int_table(source, values, rec)
    str_table = make_str_table(source, values, rec)
    root = SimpleMultiContainer(name=ROOT_NAME, containers=[source, int_table, str_table])
    expected = {
        "source_table": source_expected(source),
        "results_tables": {
            INT_TABLE: table_expected(int_table, METADATA_INT),
            STR_TABLE: table_expected(str_table, METADATA_STR),
        },
        "inputs": {
            "true_label_str": values["true_label_str"],
            "embedding_2d": values["embedding"].tolist(),
        },
    }
    return root, expected


def write_hdf5(path: Path, rec: Recorder) -> dict[str, Any]:
    """Write ref.h5; this pass is the one whose add_* failures get recorded."""
    root, expected = build_root(rec)
    with HDF5IO(str(path), mode="w", manager=get_manager()) as io:
        io.write(root, cache_spec=True)
    return expected


def write_zarr(path: Path) -> dict[str, Any]:
    """Write ref.zarr (the installed zarr's format) from a fresh tree; its add_* failures repeat the HDF5 pass."""
    root, expected = build_root(Recorder())
    with ZarrIO(str(path), mode="w", manager=get_manager()) as io:
        io.write(root, cache_spec=True)
    return expected


def _stored_hdf5(path: Path) -> dict[str, dict[str, Any]]:
    """dtype/shape of every dataset as HDF5 stores it (the build step may convert dtypes)."""
    import h5py

    found: dict[str, dict[str, Any]] = {}

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset) and not name.startswith("specifications"):
            found[name] = {"dtype": str(obj.dtype), "shape": list(obj.shape)}

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


def _zarr_format(path: Path) -> int | None:
    """The format of the store on disk: 2 (``.zgroup``) or 3 (``zarr.json``), from its root metadata file."""
    if (path / "zarr.json").is_file():
        return 3
    if (path / ".zgroup").is_file():
        return 2
    return None


def _zarr_members(group: Any) -> list[tuple[str, Any]]:
    """``(name, member)`` pairs of a group under zarr 3 (``members()``) and zarr 2 (``items()``)."""
    # zarr 2 resolves unknown attributes as member names and raises AttributeError, so hasattr is safe
    return list(group.members()) if hasattr(group, "members") else list(group.items())


def _stored_zarr(path: Path) -> dict[str, dict[str, Any]]:
    """dtype/shape of every array as Zarr stores it (plus hdmf-zarr's ``_DTYPE`` attribute)."""
    import zarr

    found: dict[str, dict[str, Any]] = {}
    group = zarr.open_group(path, mode="r")

    def walk(g: Any, prefix: str) -> None:
        for key, member in _zarr_members(g):
            if key == "specifications" and not prefix:
                continue
            if isinstance(member, zarr.Array):
                found[prefix + key] = {
                    "dtype": str(member.dtype),
                    "shape": list(member.shape),
                    "_DTYPE": member.attrs.get("_DTYPE"),
                }
            else:
                walk(member, prefix + key + "/")

    walk(group, "")
    return found


def stored_layout(out: Path, rec: Recorder) -> dict[str, Any]:
    """How each backend actually stored every dataset, keyed by path inside the file."""
    return {
        "hdf5": rec.attempt("inspect_hdf5", lambda: _stored_hdf5(out / "ref.h5")),
        "zarr": rec.attempt("inspect_zarr", lambda: _stored_zarr(out / "ref.zarr")),
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    rec = Recorder()
    expected = rec.attempt("write_hdf5", lambda: write_hdf5(out / "ref.h5", rec))
    zarr_expected = rec.attempt("write_zarr", lambda: write_zarr(out / "ref.zarr"))
    values = make_values()
    probe_known_suspects(make_source(values), values, rec)
    doc = {
        "seed": SEED,
        "versions": _versions(),
        "files": {"hdf5": "ref.h5" if expected else None, "zarr": "ref.zarr" if zarr_expected else None},
        "zarr_format": _zarr_format(out / "ref.zarr") if zarr_expected else None,
        "root": {"name": ROOT_NAME, "neurodata_type": "SimpleMultiContainer"},
        **(expected or zarr_expected or {}),
        "stored": stored_layout(out, rec),
        "failures": rec.failures,
        "fallbacks": rec.fallbacks,
    }
    (out / "expected.json").write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return 0 if expected and zarr_expected else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
