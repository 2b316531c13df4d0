"""The backends by name, and the one a path's suffix names."""

from __future__ import annotations

from pathlib import Path

from ..errors import UnknownFormatError
from .backend import Backend
from .hdf5 import HDF5Backend
from .zarr import ZarrBackend

__all__ = ["BACKENDS", "backend_for", "register_backend"]

BACKENDS: dict[str, Backend] = {b.name: b for b in (HDF5Backend(), ZarrBackend())}


def register_backend(backend: Backend) -> Backend:
    """Add (or replace) a backend, found by its name and suffixes from then on."""
    BACKENDS[backend.name] = backend
    return backend


def backend_for(path: str | Path, backend: str | None = None) -> Backend:
    """The backend named ``backend``, or the one whose suffix ``path`` has."""
    if backend is not None:
        try:
            return BACKENDS[backend]
        except KeyError:
            raise ValueError(f"unknown backend {backend!r}; choose one of {sorted(BACKENDS)}") from None
    suffix = Path(str(path).rstrip("/")).suffix.lower()
    for candidate in BACKENDS.values():
        if suffix in candidate.suffixes:
            return candidate
    known = sorted(s for b in BACKENDS.values() for s in b.suffixes)
    raise UnknownFormatError(path, suffix, known)
