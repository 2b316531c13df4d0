"""Compatibility matrix: files we write are valid under the published hdmf-ai 0.2.0 schema.

Every writer path (``write``, ``ResultsWriter``, ``write_dask``, ``append_rows`` + ``add_column``, ``convert``,
``nwb.write_nwb``) x every storage preset x both backends writes one small table with every predefined
column and a user column, all in one session fixture. One run of ``reference_scripts/check_files.py`` in the
reference venv (hdmf-ai 0.2.0 from PyPI, see ``refenv.py``) then reports for each file: (a) the problems
hdmf's validator finds with the reference's own ``hdmf-ai`` 0.2.0 namespace (not the file's cached spec),
(b) what the reference reads, (c) what a generic hdmf reader reads from the file's cached spec alone. Each
cell's tests assert on that report: no problem under 0.2.0, every column read by both readers with the
values, types and cross-column links written. Writing a file must not warn either. A writer that fails
fails its own cell's tests and no other.

Cells not in the matrix, on purpose:

- ``write_dask`` x HDF5: ``write_dask`` writes Zarr only, by design.
- ``write_nwb`` x presets: ``write_nwb`` takes no preset; its two cells (HDF5, Zarr) use pynwb's storage.

The HDF5 files of the ``fast``, ``compact`` and ``compact-lossy`` presets use Blosc filters, which any HDF5
reader gets from ``hdf5plugin``: the reference venv has it (``REFERENCE_REQUIREMENTS``) and the script
imports it, as a reference user would have to.

The one excuse 0.2.0 allows for is a 2-D ``embedding``/``viz_embedding`` (0.2.0 declares
``EmbeddedValues`` 1-D; see ``hdmf_ai/schema/CHANGELOG.md``): the matrix's table keeps its embedding 1-D so
nothing is excused there, and a separate file per backend holds 2-D ones, whose problems must all be
about those two columns.

The reading side (files of 0.2.0 read by us) is in ``test_interop.py`` and ``test_legacy_zarr.py``; the
one reading test here is a file whose cached namespace is newer than ours.
"""

from __future__ import annotations

import importlib.util
import json
import traceback
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from builders import CLASS_NAMES, source_table
from refenv import ReferenceEnvUnavailable, ensure_reference_venv, run_reference

import hdmf_ai
from hdmf_ai.io.convert import convert
from hdmf_ai.io.policy import PRESETS

REPO = Path(__file__).resolve().parents[1]
N = 40
N_SPLITS = 3
TVT = ("train", "validate", "test")
SUFFIX = {"hdf5": ".h5", "zarr": ".zarr"}
NWB_SUFFIX = {"hdf5": ".nwb", "zarr": ".nwb.zarr"}
BACKENDS = ("hdf5", "zarr")
PRESET_NAMES = ("portable", "fast", "compact", "uncompressed", "compact-lossy")
HAVE_DASK = importlib.util.find_spec("dask") is not None
HAVE_PYNWB = importlib.util.find_spec("pynwb") is not None

METADATA = {
    "source_code": ["https://example.org/train.py@1", "https://example.org/eval.py@2"],
    "parameters": ['{"C": 1.0}', '{"k": 2}'],
    "model_description": ["LogisticRegression()", "top-k"],
    "pre_trained_model": ["none", "doi:10.0/xyz"],
}
LOSS = "per-sample loss"
#: the type every column must be read as: the name of the class the reader constructs (the reference's own
#: classes, or those hdmf generates from a spec, are named after their types; a generated class's
#: ``data_type`` says its base type under pynwb's type map, so the class name is what tells)
TYPES = {
    "samples": "DynamicTableRegion",
    "tvt_split": "TrainValidateTestSplit",
    "cv_split": "CrossValidationSplit",
    "true_label": "EnumData",
    "predicted_probability": "ClassProbability",
    "predicted_class": "ClassLabel",
    "topk_probabilities": "TopKProbabilities",
    "topk_classes": "TopKClasses",
    "predicted_value": "RegressionOutput",
    "cluster_label": "ClusterLabel",
    "embedding": "EmbeddedValues",
    "viz_embedding": "EmbeddedValues",
    "loss": "VectorData",
}
#: columns that compact-lossy rounds (probabilities to 2**-16 absolute, embeddings to 12 mantissa bits)
LOSSY_COLUMNS = ("predicted_probability", "topk_probabilities", "embedding")


@dataclass(frozen=True)
class Cell:
    writer: str
    preset: str  # "-" for write_nwb, which takes no preset
    backend: str  # the backend of the file written (for convert: the target's)

    @property
    def id(self) -> str:
        return f"{self.writer}-{self.preset}-{self.backend}"


CELLS = [
    *(
        Cell(writer, preset, backend)
        for writer in ("write", "ResultsWriter", "append_rows+add_column", "convert")
        for preset in PRESET_NAMES
        for backend in BACKENDS
    ),
    *(Cell("write_dask", preset, "zarr") for preset in PRESET_NAMES),  # Zarr only, by design
    *(Cell("write_nwb", "-", backend) for backend in BACKENDS),  # no preset argument
]
TWO_D = {backend: Cell("write", "2d-embedding", backend) for backend in BACKENDS}


# -- the table -----------------------------------------------------------------------------------------------


def matrix_columns(n: int = N, *, two_d: bool = False) -> dict[str, np.ndarray]:
    """Every predefined column and a user column, as a user passes them (labels and splits as text)."""
    rng = np.random.default_rng(11)
    probs = rng.dirichlet(np.ones(len(CLASS_NAMES)), n)
    order = np.argsort(-probs, axis=1)[:, :2]
    columns = {
        "samples": rng.permutation(n),
        "tvt_split": rng.choice(TVT, n),
        "cv_split": np.arange(n) % N_SPLITS,
        "true_label": rng.choice(CLASS_NAMES, n),
        "predicted_probability": probs,
        "predicted_class": probs.argmax(axis=1),
        "topk_probabilities": np.take_along_axis(probs, order, axis=1),
        "topk_classes": order,
        "predicted_value": rng.normal(size=n),
        "cluster_label": rng.integers(-1, 5, n),
        "embedding": rng.normal(size=(n, 8)).astype(np.float32) if two_d else rng.normal(size=n),
    }
    if two_d:
        columns["viz_embedding"] = rng.normal(size=(n, 2))
    columns["loss"] = rng.exponential(size=n)
    return columns


def build_table(columns: Mapping[str, np.ndarray], source: Any) -> hdmf_ai.ResultsTable:
    rt = hdmf_ai.ResultsTable(name="results", description="the compatibility matrix's table", **METADATA)
    rt.add_samples(columns["samples"], table=source)
    rt.add_tvt_split(columns["tvt_split"])
    rt.add_cv_split(columns["cv_split"], n_splits=N_SPLITS)
    rt.add_true_label(columns["true_label"], classes=CLASS_NAMES)
    rt.add_predicted_probability(columns["predicted_probability"])
    rt.add_predicted_class(columns["predicted_class"])
    rt.add_topk_probabilities(columns["topk_probabilities"])
    rt.add_topk_classes(columns["topk_classes"])
    rt.add_predicted_value(columns["predicted_value"])
    rt.add_cluster_label(columns["cluster_label"])
    rt.add_embedding(columns["embedding"])
    if "viz_embedding" in columns:
        rt.add_viz_embedding(columns["viz_embedding"])
    if "loss" in columns:
        rt.add_column("loss", LOSS, data=columns["loss"])
    return rt


def writer_arguments() -> dict[str, Any]:
    return {
        "metadata": {"name": "results", "description": "the compatibility matrix's table", **METADATA},
        "source": source_table(N),
    }


DECLARED = {"true_label": {"classes": CLASS_NAMES}, "cv_split": {"n_splits": N_SPLITS}, "loss": {"description": LOSS}}


# -- one function per writer path ------------------------------------------------------------------------------


def by_write(path: Path, preset: str, columns: dict[str, np.ndarray]) -> None:
    hdmf_ai.write(build_table(columns, source_table(N)), path, preset=preset)


def by_results_writer(path: Path, preset: str, columns: dict[str, np.ndarray]) -> None:
    declared = {name: DECLARED.get(name) for name in columns}
    with hdmf_ai.ResultsWriter(
        path, n_samples=N, columns=declared, preset=preset, progress=False, **writer_arguments()
    ) as writer:
        for start in range(0, N, 16):  # three batches: 16, 16, 8
            writer.append(**{name: values[start : start + 16] for name, values in columns.items()})


def by_write_dask(path: Path, preset: str, columns: dict[str, np.ndarray]) -> None:
    import dask.array as da

    from hdmf_ai.io.dask import write_dask

    arrays = {name: da.from_array(values, chunks=(16, *values.shape[1:])) for name, values in columns.items()}
    write_dask(path, arrays, declarations=DECLARED, preset=preset, progress=False, **writer_arguments())


def by_append(path: Path, preset: str, columns: dict[str, np.ndarray]) -> None:
    """30 rows without the user column, 10 rows appended, then the user column added."""
    first = {name: values[:30] for name, values in columns.items() if name != "loss"}
    hdmf_ai.write(build_table(first, source_table(N)), path, preset=preset)
    hdmf_ai.append_rows(path, **{name: values[30:] for name, values in columns.items() if name != "loss"})
    hdmf_ai.add_column(path, name="loss", data=columns["loss"], description=LOSS, preset=preset)


def by_convert(path: Path, preset: str, columns: dict[str, np.ndarray]) -> None:
    """From a default (portable) file of the other backend to ``path`` with ``preset``."""
    other = "zarr" if path.suffix == ".h5" else "hdf5"
    origin = path.with_name(f"{path.stem}-origin{SUFFIX[other]}")
    hdmf_ai.write(build_table(columns, source_table(N)), origin)
    convert(origin, path, preset=preset)


def by_write_nwb(path: Path, preset: str, columns: dict[str, np.ndarray]) -> None:
    """An NWB session with N units, and the table's samples pointing at them."""
    from datetime import UTC, datetime

    from pynwb import NWBFile
    from pynwb.misc import Units

    import hdmf_ai.nwb

    nwbfile = NWBFile(
        session_description="units classified by a model",
        identifier="hdmf-ai-compat-matrix",
        session_start_time=datetime(2024, 5, 6, 10, 30, tzinfo=UTC),
    )
    nwbfile.units = Units(name="units", description="sorted units")
    rng = np.random.default_rng(5)
    for _ in range(N):
        nwbfile.add_unit(spike_times=np.sort(rng.uniform(0, 60, 5)))
    hdmf_ai.nwb.add_to_nwbfile(nwbfile, build_table(columns, nwbfile.units))
    hdmf_ai.nwb.write_nwb(nwbfile, path)


WRITERS: dict[str, Callable[[Path, str, dict[str, np.ndarray]], None]] = {
    "write": by_write,
    "ResultsWriter": by_results_writer,
    "write_dask": by_write_dask,
    "append_rows+add_column": by_append,
    "convert": by_convert,
    "write_nwb": by_write_nwb,
}


def unavailable(cell: Cell) -> str | None:
    """Why this interpreter cannot write ``cell`` (an optional dependency is missing), or None."""
    if cell.writer == "write_dask" and not HAVE_DASK:
        return "write_dask needs the 'dask' extra"
    if cell.writer == "write_nwb" and not HAVE_PYNWB:
        return "write_nwb needs the 'nwb' extra (pynwb)"
    return None


# -- the one fixture: write every file, check them all in one reference run -----------------------------------


@dataclass(frozen=True)
class Written:
    warnings: list[str]  # recorded, so that one cell's warning fails that cell's test only
    error: str | None  # the writer's exception: that cell fails, the others still run


@dataclass(frozen=True)
class Checked:
    path: Path
    written: Written
    report: dict[str, Any]  # check_files.py's entry for the file (validation, reference, generic); {} if unwritten


def written(write: Callable[[], None]) -> Written:
    """Call ``write``; return its warnings (filtered as pyproject.toml filters them) and its error, if any."""
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"hdmf(\..*)?$")
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"hdmf_zarr(\..*)?$")
        try:
            write()
        except Exception:
            error = traceback.format_exc()
    return Written([f"{w.category.__name__}: {w.message}" for w in caught], error)


@pytest.fixture(scope="session")
def ref_python() -> Path:
    try:
        return ensure_reference_venv(REPO / ".cache" / "refenv")
    except ReferenceEnvUnavailable as err:  # no Python >= 3.12 or no package index: an optional dependency
        pytest.skip(f"the reference hdmf-ai 0.2.0 environment cannot be built here: {err}")


@pytest.fixture(scope="session")
def matrix(ref_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Checked]]:
    out = tmp_path_factory.mktemp("matrix")
    columns = matrix_columns()
    paths: dict[str, Path] = {}
    results: dict[str, Written] = {}
    for cell in CELLS:
        if unavailable(cell):
            continue
        suffix = NWB_SUFFIX if cell.writer == "write_nwb" else SUFFIX
        path = paths[cell.id] = out / f"{cell.id.replace('+', '_')}{suffix[cell.backend]}"
        results[cell.id] = written(lambda cell=cell, path=path: WRITERS[cell.writer](path, cell.preset, columns))
    for cell in TWO_D.values():
        path = paths[cell.id] = out / f"{cell.id}{SUFFIX[cell.backend]}"
        results[cell.id] = written(lambda path=path: by_write(path, "portable", matrix_columns(two_d=True)))
    files = [str(path) for cell_id, path in paths.items() if results[cell_id].error is None]
    doc = json.loads(run_reference(ref_python, "check_files.py", *files, timeout=600).stdout)
    return doc, {
        cell_id: Checked(path, results[cell_id], doc["files"].get(str(path), {})) for cell_id, path in paths.items()
    }


def checked(matrix: tuple[dict[str, Any], dict[str, Checked]], cell: Cell) -> Checked:
    """The cell's file and report; fails the test when the writer failed (skips it when it cannot run here)."""
    reason = unavailable(cell)
    if reason:
        pytest.skip(reason)
    entry = matrix[1][cell.id]
    if entry.written.error is not None:
        pytest.fail(f"writing the file failed:\n{entry.written.error}")
    return entry


# -- assertions on the JSON ------------------------------------------------------------------------------------


def expected_values(columns: Mapping[str, np.ndarray]) -> dict[str, list[Any]]:
    """What a reader must find in each column: enum codes for the text columns, the arrays otherwise."""
    codes = {
        "tvt_split": [TVT.index(v) for v in columns["tvt_split"]],
        "true_label": [CLASS_NAMES.index(v) for v in columns["true_label"]],
    }
    return {name: codes.get(name, np.asarray(values).tolist()) for name, values in columns.items()}


def assert_table_read(table: dict[str, Any], cell: Cell, columns: Mapping[str, np.ndarray], reader: str) -> None:
    """A ResultsTable of check_files.py's JSON holds every column, typed and valued as written."""
    where = f"{reader} reading {cell.id}"
    assert table["constructed"] and table["class"] == "ResultsTable", (where, table.get("table_error"))
    assert not table["column_errors"], (where, table["column_errors"])
    assert set(table["colnames"]) == set(columns), where
    assert table["id"] == list(range(N)), where
    want = expected_values(columns)
    for name in columns:
        col = table["columns"][name]
        assert col["class"] == TYPES[name], (where, name, col["class"])
        if cell.preset == "compact-lossy" and name in LOSSY_COLUMNS:
            np.testing.assert_allclose(col["values"], want[name], rtol=2**-12, atol=2**-16, err_msg=f"{where}: {name}")
        else:
            assert col["values"] == want[name], (where, name)
    assert table["columns"]["tvt_split"]["decoded"] == [str(v) for v in columns["tvt_split"]], where
    assert table["columns"]["true_label"]["decoded"] == [str(v) for v in columns["true_label"]], where
    assert table["columns"]["samples"]["target_table"] == ("units" if cell.writer == "write_nwb" else "source")
    attributes = {name: table["columns"][name]["attributes"] for name in columns}
    assert attributes["cv_split"]["n_splits"] == N_SPLITS, where
    assert attributes["predicted_class"]["probabilities"]["ref"] == "predicted_probability", where
    assert attributes["predicted_class"]["training_labels"]["ref"] == "true_label", where
    assert attributes["topk_classes"]["probabilities"]["ref"] == "topk_probabilities", where
    assert table["builder_attributes"]["source_code"] == METADATA["source_code"], where


def only_table(report: dict[str, Any], reader: str, cell: Cell) -> dict[str, Any]:
    doc = report[reader]
    assert doc["open_error"] is None, (reader, cell.id, doc["open_error"])
    assert doc["read_error"] is None, (reader, cell.id, doc["read_error"])
    [table] = doc["results_tables"]
    return dict(table)


# -- the matrix ----------------------------------------------------------------------------------------------


def test_the_matrix_covers_every_preset() -> None:
    assert set(PRESET_NAMES) == set(PRESETS)


@pytest.mark.interop
def test_the_checks_ran_with_the_reference_schema_and_the_filters(
    matrix: tuple[dict[str, Any], dict[str, Checked]],
) -> None:
    doc, files = matrix
    assert doc["versions"]["hdmf-ai"] == "0.2.0"
    assert "/.cache/refenv/" in doc["reference_module"]
    assert doc["hdf5plugin"], "the reference venv lacks hdf5plugin: add it to REFERENCE_REQUIREMENTS"
    assert doc["versions"]["pynwb"], "the reference venv lacks pynwb, which the NWB cells read with"
    for cell_id, entry in files.items():
        if entry.written.error is not None:
            continue  # no file: the cell's own tests fail with the writer's error
        validation = entry.report["validation"]
        assert validation["error"] is None, (cell_id, validation["error"])
        # the reference's 0.2.0, before and after opening the file: never the 0.3.0 spec the file caches
        assert validation["namespace_version"] == validation["namespace_version_after"] == "0.2.0", cell_id
        assert validation["validated"], cell_id


@pytest.mark.interop
@pytest.mark.parametrize("cell", CELLS, ids=lambda cell: cell.id)
def test_writing_warns_nothing(matrix: tuple[dict[str, Any], dict[str, Checked]], cell: Cell) -> None:
    reason = unavailable(cell)
    if reason:
        pytest.skip(reason)
    assert matrix[1][cell.id].written.warnings == []


@pytest.mark.interop
@pytest.mark.parametrize("cell", CELLS, ids=lambda cell: cell.id)
def test_valid_under_the_reference_schema(matrix: tuple[dict[str, Any], dict[str, Checked]], cell: Cell) -> None:
    validation = checked(matrix, cell).report["validation"]
    assert validation["error"] is None, validation["error"]
    assert validation["problems"] == []


@pytest.mark.interop
@pytest.mark.parametrize("cell", CELLS, ids=lambda cell: cell.id)
def test_the_reference_reads_every_column(matrix: tuple[dict[str, Any], dict[str, Checked]], cell: Cell) -> None:
    report = checked(matrix, cell).report
    table = only_table(report, "reference", cell)
    assert_table_read(table, cell, matrix_columns(), "the reference")
    assert report["reference"]["hdmf_ai_module"], "read with the reference package's classes"


@pytest.mark.interop
@pytest.mark.parametrize("cell", CELLS, ids=lambda cell: cell.id)
def test_a_generic_reader_reads_every_column(matrix: tuple[dict[str, Any], dict[str, Checked]], cell: Cell) -> None:
    report = checked(matrix, cell).report
    table = only_table(report, "generic", cell)
    assert_table_read(table, cell, matrix_columns(), "a generic reader")
    assert report["generic"]["hdmf_ai_module"] is None, "the generic reader must not import any hdmf_ai"
    assert table["metadata"] == METADATA, "generated from the cached spec, the class keeps the metadata"
    assert "hdmf-ai" in report["generic"]["cached_namespaces"]


@pytest.mark.interop
@pytest.mark.parametrize("backend", BACKENDS)
def test_2d_embeddings_are_the_only_problems_under_the_reference_schema(
    matrix: tuple[dict[str, Any], dict[str, Checked]], backend: str
) -> None:
    """0.2.0 declares EmbeddedValues 1-D (the documented exception); nothing else in the file may be invalid."""
    report = checked(matrix, TWO_D[backend]).report
    problems = report["validation"]["problems"]
    about = {name: [p for p in problems if f"results/{name})" in p] for name in ("embedding", "viz_embedding")}
    assert about["embedding"] and about["viz_embedding"], problems
    assert all("incorrect shape" in p for p in problems), problems
    assert sorted(problems) == sorted(about["embedding"] + about["viz_embedding"]), "problems beyond the 2-D columns"
    # the reference cannot construct them (its 1-D class), and reads every other column; a generic reader all
    columns = set(matrix_columns(two_d=True))
    [table] = report["reference"]["results_tables"]
    assert set(table["column_errors"]) == {"embedding", "viz_embedding"}
    assert set(table["columns"]) == columns - {"embedding", "viz_embedding"}
    generic = only_table(report, "generic", TWO_D[backend])
    assert not generic["column_errors"] and set(generic["columns"]) == columns


# the reading side of the matrix: tests/test_interop.py (reference files), test_legacy_zarr.py and
# test_legacy_nwb.py (hdmf 4 / hdmf-zarr 0.13 / pynwb 3 files), test_schema.py (newer schema versions)
