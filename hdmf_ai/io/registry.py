"""The backends by name, and the one a path's suffix names.

A backend's module is imported when its format is first asked for: ``import hdmf_ai`` and reading an HDF5 file
never import zarr or hdmf-zarr. Each entry says its suffixes up front, so a path is matched without importing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import UnknownFormatError
from .backend import Backend

__all__ = ["backend_for", "backend_names", "register_backend"]


@dataclass
class _Entry:
    """A backend, or the function that imports and makes it when first asked for."""

    suffixes: tuple[str, ...]
    load: Callable[[], Backend] | None = None
    loaded: Backend | None = None

    def get(self) -> Backend:
        if self.loaded is None:
            assert self.load is not None  # an entry has one or the other
            self.loaded = self.load()
        return self.loaded


def _hdf5() -> Backend:
    from .hdf5 import HDF5Backend

    return HDF5Backend()


def _zarr() -> Backend:
    from .zarr import ZarrBackend  # zarr and hdmf-zarr load here, on the first Zarr store

    return ZarrBackend()


_BACKENDS: dict[str, _Entry] = {
    "hdf5": _Entry((".h5", ".hdf5", ".nwb"), _hdf5),
    "zarr": _Entry((".zarr",), _zarr),
}


def register_backend(backend: Backend) -> Backend:
    """Add (or replace) a backend, found by its name and suffixes from then on."""
    _BACKENDS[backend.name] = _Entry(tuple(backend.suffixes), loaded=backend)
    return backend


def backend_names() -> list[str]:
    """The names of the known backends, sorted."""
    return sorted(_BACKENDS)


def backend_for(path: str | Path, backend: str | None = None) -> Backend:
    """The backend named ``backend``, or the one whose suffix ``path`` has."""
    if backend is not None:
        try:
            return _BACKENDS[backend].get()
        except KeyError:
            raise ValueError(f"unknown backend {backend!r}; choose one of {backend_names()}") from None
    suffix = Path(str(path).rstrip("/")).suffix.lower()
    for entry in _BACKENDS.values():
        if suffix in entry.suffixes:
            return entry.get()
    known = sorted(s for entry in _BACKENDS.values() for s in entry.suffixes)
    raise UnknownFormatError(path, suffix, known)
