"""Shared fixtures: a source table, a fully populated ResultsTable, and both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

BACKENDS = {"hdf5": ".h5", "zarr": ".zarr"}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def path(tmp_path: Path, backend: str) -> Path:
    """A not-yet-existing file path of the backend under test."""
    return tmp_path / f"results{BACKENDS[backend]}"
