"""NWB files written by pynwb with the *reference* hdmf-ai 0.2.0, read with this library.

``reference_scripts/write_legacy_nwb.py`` runs in the legacy venv of ``test_legacy_zarr.py``
(``refenv.LEGACY_ZARR_REQUIREMENTS``: pynwb 3.1, hdmf 4.3, hdmf-zarr 0.13 on zarr 2, built once under
``.cache/legacy-zarr-env``) and writes an NWBFile whose ``units`` carry spike times and a ``location``, with a
reference ResultsTable whose ``samples`` point into ``units``: in ``nwbfile.analysis`` and in a processing module,
each as HDF5 (``.nwb``) and as a Zarr **v2** store (``.zarr``). Its ``expected.json`` holds the values written.
Every test below runs on each of the four files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from expected import assert_table_matches
from refenv import (
    LEGACY_ZARR_REQUIREMENTS,
    ReferenceEnvUnavailable,
    ensure_reference_venv,
    reference_versions,
    run_reference,
)

import hdmf_ai
import hdmf_ai.nwb

pytestmark = pytest.mark.interop

REPO = Path(__file__).resolve().parents[1]
LEGACY_ENV = REPO / ".cache" / "legacy-zarr-env"  # the venv of test_legacy_zarr.py, built once for both
FILES = ("analysis.nwb", "analysis.zarr", "processing.nwb", "processing.zarr")

Corpus = tuple[Path, dict[str, Any]]


@pytest.fixture(scope="session")
def legacy_python() -> Path:
    try:
        return ensure_reference_venv(LEGACY_ENV, requirements=LEGACY_ZARR_REQUIREMENTS)
    except ReferenceEnvUnavailable as err:  # no Python >= 3.12 or no package index: an optional dependency
        pytest.skip(f"the legacy Zarr v2 toolchain ({', '.join(LEGACY_ZARR_REQUIREMENTS)}) cannot be built here: {err}")


@pytest.fixture(scope="session")
def corpus(legacy_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    out = tmp_path_factory.mktemp("legacy-nwb")
    run_reference(legacy_python, "write_legacy_nwb.py", str(out))
    return out, json.loads((out / "expected.json").read_text())


def root_attributes(path: Path) -> dict[str, Any]:
    """The attributes of the file's root, read without hdmf."""
    if path.suffix == ".zarr":
        return dict(json.loads((path / ".zattrs").read_text()))
    with h5py.File(path, "r") as f:
        return {k: v.decode() if isinstance(v, bytes) else v for k, v in f.attrs.items()}


def stored_dtype(path: Path, dataset: str) -> str:
    """A dataset's dtype on disk, read without hdmf (numpy's notation: '<i8', '|u1', ...)."""
    if path.suffix == ".zarr":
        return str(json.loads((path / dataset / ".zarray").read_text())["dtype"])
    with h5py.File(path, "r") as f:
        return str(f[dataset].dtype.str)


def assert_samples_are_the_units(got: hdmf_ai.ResultsTable, expected: dict[str, Any]) -> None:
    """``samples`` resolves to the NWBFile's units table, with every column as written."""
    units_want = expected["units"]
    units = got["samples"].table
    assert type(units).__name__ == units_want["neurodata_type"] == "Units"
    assert units.name == "units" and type(units.parent).__name__ == "NWBFile"
    assert list(units.colnames) == units_want["colnames"]
    assert len(units) == len(units_want["id"])
    spike_times = [np.asarray(units["spike_times"][i]).tolist() for i in range(len(units))]
    assert spike_times == units_want["ragged"]["spike_times"]
    # the rows the results point at, through the region
    rows = expected["results_tables"][expected["table"]]["columns"]["samples"]["values"]
    assert list(got["samples"][:]["location"]) == [units_want["columns"]["location"][i] for i in rows]


def assert_the_table_is_where_it_was_put(got: hdmf_ai.ResultsTable, expected: dict[str, Any], name: str) -> None:
    if expected["files"][name]["location"] == "analysis":
        assert type(got.parent).__name__ == "NWBFile"
    else:
        assert type(got.parent).__name__ == "ProcessingModule" and got.parent.name == expected["module"]


# -- the corpus is what it claims to be ---------------------------------------------------------------------


def test_the_corpus_was_written_by_the_pinned_toolchain(legacy_python: Path, corpus: Corpus) -> None:
    _, expected = corpus
    pinned = dict(req.split("==") for req in LEGACY_ZARR_REQUIREMENTS)
    installed = reference_versions(legacy_python)
    for dist in ("hdmf-ai", "pynwb", "hdmf-zarr", "hdmf", "zarr"):
        assert installed[dist] == pinned[dist] == expected["versions"][dist], dist


def test_the_writer_wrote_every_file_and_column(corpus: Corpus) -> None:
    """Guards the comparisons below: nothing failed, and the old tools read their own files back."""
    _, expected = corpus
    assert expected["failures"] == {}
    assert sorted(expected["files"]) == sorted(FILES)
    assert len(expected["results_tables"][expected["table"]]["colnames"]) == 5
    for name in FILES:
        back = expected["read_back"][name]
        assert back["class"] == "hdmf_ai.results_table.ResultsTable", name  # the reference's class, not a generic
        assert back["samples_table"] == "units", name


@pytest.mark.parametrize("name", FILES)
def test_each_file_is_an_nwb_file_of_its_format(corpus: Corpus, name: str) -> None:
    out, expected = corpus
    path = out / name
    attrs = root_attributes(path)
    assert attrs["namespace"] == "core" and attrs["neurodata_type"] == "NWBFile"
    if path.suffix == ".zarr":
        assert expected["files"][name]["zarr_format"] == 2
        assert json.loads((path / ".zgroup").read_text()) == {"zarr_format": 2}
        assert not list(path.rglob("zarr.json")), "a v2 store has no zarr.json anywhere"
    else:
        assert h5py.is_hdf5(path)


# -- read by this library -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_we_read_the_reference_table_in_each_nwb_file(corpus: Corpus, name: str) -> None:
    out, expected = corpus
    got = hdmf_ai.read(out / name)
    assert_table_matches(got, expected["results_tables"][expected["table"]], expected["units"])
    assert_samples_are_the_units(got, expected)
    assert_the_table_is_where_it_was_put(got, expected, name)
    assert isinstance(got["predicted_probability"].data, np.ndarray)  # in memory


@pytest.mark.parametrize("name", FILES)
def test_we_open_each_nwb_file_lazily(corpus: Corpus, name: str) -> None:
    out, expected = corpus
    with hdmf_ai.open(out / name) as got:
        assert not isinstance(got["predicted_probability"].data, np.ndarray)  # still on disk
        assert_table_matches(got, expected["results_tables"][expected["table"]], expected["units"])
        assert_samples_are_the_units(got, expected)
        assert_the_table_is_where_it_was_put(got, expected, name)


@pytest.mark.parametrize("name", FILES)
def test_open_nwb_reads_each_file_with_its_results_table(corpus: Corpus, name: str) -> None:
    """pynwb's own reading path (NWBHDF5IO / NWBZarrV2IO on our type map), under warnings-as-errors."""
    out, expected = corpus
    with hdmf_ai.nwb.open_nwb(out / name) as nwbfile:
        found = [c for c in nwbfile.all_children() if isinstance(c, hdmf_ai.ResultsTable)]
        assert [t.name for t in found] == [expected["table"]]
        assert_table_matches(found[0], expected["results_tables"][expected["table"]], expected["units"])
        assert found[0]["samples"].table is nwbfile.units


@pytest.mark.parametrize("name", FILES)
def test_we_list_the_tables_of_each_nwb_file(corpus: Corpus, name: str) -> None:
    out, expected = corpus
    found = {t.name: t for t in hdmf_ai.list_tables(out / name)}
    table, units = expected["results_tables"][expected["table"]], expected["units"]
    assert set(found) == {table["name"], units["name"]}
    assert (found[table["name"]].data_type, found[table["name"]].n_rows) == ("ResultsTable", len(table["id"]))
    assert list(found[table["name"]].colnames) == table["colnames"]
    assert (found["units"].data_type, found["units"].n_rows) == ("Units", len(units["id"]))
    assert list(found["units"].colnames) == units["colnames"]


@pytest.mark.parametrize("name", FILES)
def test_validate_reports_only_the_enum_codes_the_old_writer_stored_as_int64(corpus: Corpus, name: str) -> None:
    """The one problem is in the files: hdmf 4.3 stores the codes of the EnumData column ``tvt_split`` in the
    integer type it is given (int64), while the schema cached in the same file (hdmf-experimental 0.5.0) says
    EnumData is uint8. hdmf 4.3's own validator does not report it; newer hdmf writes uint8 (the reference
    files of test_interop.py validate clean). Nothing else is reported: samples -> Units checks out."""
    out, expected = corpus
    path = out / name
    column = f"{expected['files'][name]['location']}/{expected['table']}/tvt_split"
    assert stored_dtype(path, column) == "<i8"
    assert hdmf_ai.validate(path) == [
        f"TrainValidateTestSplit ({column}): incorrect type - expected 'uint8', got 'int64'",
        f"ResultsTable/tvt_split ({column}): incorrect type - expected 'uint8', got 'int64'",
    ]


@pytest.mark.parametrize("name", FILES)
def test_inspect_describes_each_nwb_file(corpus: Corpus, name: str) -> None:
    """``hdmf-ai inspect`` as a user's shell runs it (warnings as errors, as in test_cli.py)."""
    out, expected = corpus
    path = out / name
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "hdmf_ai.cli", "inspect", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    backend = expected["files"][name]["backend"]
    assert done.stdout.startswith(f"{path}: {backend},")
    assert f"hdmf-ai {expected['versions']['hdmf-ai']}" in done.stdout  # the cached schemas
    n_rows = len(expected["results_tables"][expected["table"]]["id"])
    assert f"ResultsTable '{expected['table']}': {n_rows} rows" in done.stdout
    assert f"Units 'units': {len(expected['units']['id'])} rows" in done.stdout
