"""Zarr **v2** stores written by the older toolchain, read with this library.

The store is written for real by the old tools in their own virtual environment (``refenv.LEGACY_ZARR_REQUIREMENTS``:
hdmf-ai 0.2.0, hdmf-zarr 0.13 -- the last release on zarr 2 --, zarr 2.18, hdmf 4, built once under
``.cache/legacy-zarr-env``) by ``reference_scripts/write_reference.py``, the same script that writes the Zarr v3
reference for ``test_interop.py``; its ``expected.json`` holds the values written. This library reads it through
hdmf-zarr's ``ZarrV2IO`` and must find every column, as for the v3 reference.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from expected import assert_table_matches
from hdmf_zarr import is_zarr_v2_file
from refenv import (
    LEGACY_ZARR_REQUIREMENTS,
    ReferenceEnvUnavailable,
    ensure_reference_venv,
    reference_versions,
    run_reference,
)

import hdmf_ai

pytestmark = pytest.mark.interop

REPO = Path(__file__).resolve().parents[1]
LEGACY_ENV = REPO / ".cache" / "legacy-zarr-env"
TABLES = ("results", "results_str")


@pytest.fixture(scope="session")
def legacy_python() -> Path:
    try:
        return ensure_reference_venv(LEGACY_ENV, requirements=LEGACY_ZARR_REQUIREMENTS)
    except ReferenceEnvUnavailable as err:  # no Python >= 3.12 or no package index: an optional dependency
        pytest.skip(f"the legacy Zarr v2 toolchain ({', '.join(LEGACY_ZARR_REQUIREMENTS)}) cannot be built here: {err}")


@pytest.fixture(scope="session")
def legacy_files(legacy_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("legacy-zarr")
    run_reference(legacy_python, "write_reference.py", str(out))
    return out, json.loads((out / "expected.json").read_text())


@pytest.fixture(scope="session")
def legacy_store(legacy_files: tuple[Path, dict[str, Any]]) -> Path:
    out, expected = legacy_files
    return out / expected["files"]["zarr"]


# -- the store is what it claims to be ----------------------------------------------------------------------


def test_the_legacy_toolchain_is_the_pinned_one(legacy_python: Path, legacy_files: tuple[Path, dict[str, Any]]) -> None:
    _, expected = legacy_files
    pinned = dict(req.split("==") for req in LEGACY_ZARR_REQUIREMENTS)
    installed = reference_versions(legacy_python)
    for dist in ("hdmf-ai", "hdmf-zarr", "hdmf", "zarr", "numcodecs"):
        assert installed[dist] == pinned[dist] == expected["versions"][dist], dist
    assert installed["zarr"].startswith("2.")


def test_the_store_is_zarr_v2(legacy_store: Path, legacy_files: tuple[Path, dict[str, Any]]) -> None:
    _, expected = legacy_files
    assert expected["zarr_format"] == 2
    assert json.loads((legacy_store / ".zgroup").read_text()) == {"zarr_format": 2}
    assert not list(legacy_store.rglob("zarr.json")), "a v2 store has no zarr.json anywhere"
    assert (legacy_store / ".zmetadata").is_file()  # hdmf-zarr consolidated the v2 metadata
    zarray = json.loads((legacy_store / "results" / "predicted_probability" / ".zarray").read_text())
    assert zarray["zarr_format"] == 2 and zarray["shape"] == [12, 3]
    assert is_zarr_v2_file(str(legacy_store))


def test_the_legacy_writer_wrote_every_column(legacy_files: tuple[Path, dict[str, Any]]) -> None:
    """Guards the comparisons below: only the throw-away probes failed, so every column is in the store."""
    _, expected = legacy_files
    assert all(key.startswith("probe:") for key in expected["failures"]), expected["failures"]
    assert not expected["fallbacks"], "hdmf 4 still accepts the 2-D embedding the reference writes"
    assert len(expected["results_tables"]["results"]["colnames"]) == 13


# -- read by this library -----------------------------------------------------------------------------------


@pytest.mark.parametrize("table", TABLES)
def test_we_read_every_column_the_legacy_toolchain_wrote(
    legacy_store: Path, legacy_files: tuple[Path, dict[str, Any]], table: str
) -> None:
    _, expected = legacy_files
    got = hdmf_ai.read(legacy_store, table=table)
    assert_table_matches(got, expected["results_tables"][table], expected["source_table"])
    assert isinstance(got["true_label" if table == "results" else "predicted_class"].data, np.ndarray)  # in memory


@pytest.mark.parametrize("table", TABLES)
def test_we_open_the_legacy_store_lazily(
    legacy_store: Path, legacy_files: tuple[Path, dict[str, Any]], table: str
) -> None:
    _, expected = legacy_files
    with hdmf_ai.open(legacy_store, table=table) as got:
        assert_table_matches(got, expected["results_tables"][table], expected["source_table"])


def test_we_list_the_tables_of_the_legacy_store(legacy_store: Path, legacy_files: tuple[Path, dict[str, Any]]) -> None:
    _, expected = legacy_files
    found = {t.name: t for t in hdmf_ai.list_tables(legacy_store)}
    assert set(found) == {expected["source_table"]["name"], *expected["results_tables"]}
    assert found[expected["source_table"]["name"]].data_type == "DynamicTable"
    for name, want in expected["results_tables"].items():
        assert found[name].data_type == "ResultsTable"
        assert found[name].n_rows == len(want["id"])
        assert list(found[name].colnames) == want["colnames"]


def test_the_hdf5_file_of_the_same_toolchain_reads_too(legacy_files: tuple[Path, dict[str, Any]]) -> None:
    """Isolates the namespace defect from Zarr v2: hdmf 4's HDF5 file has the same labels and the same failure."""
    out, expected = legacy_files
    got = hdmf_ai.read(out / expected["files"]["hdf5"], table="results")
    assert_table_matches(got, expected["results_tables"]["results"], expected["source_table"])


def test_reading_a_v2_store_is_quiet(legacy_store: Path) -> None:
    """Opening a v2 store emits no warning: the spec fallback is the normal path for every such store."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hdmf_ai.list_tables(legacy_store)
