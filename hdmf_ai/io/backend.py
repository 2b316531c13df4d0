"""What every storage backend provides, and the registry that picks one for a path."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from hdmf.backends.io import HDMFIO
from hdmf.build import BuildManager, TypeMap
from hdmf.container import Container

__all__ = ["Backend", "backend_for", "register_backend"]


class Backend(ABC):
    """One storage format: how to open it with hdmf, and which path suffixes name it."""

    name: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]]

    @abstractmethod
    def open_io(self, path: Path, mode: str, manager: BuildManager) -> HDMFIO:
        """An hdmf IO object on ``path`` in ``mode`` ('r' or 'w')."""

    def write(self, io: HDMFIO, root: Container) -> None:
        """Write ``root`` with its namespaces cached; data read from other files are copied, not linked."""
        io.write(root, cache_spec=True, link_data=False)

    @abstractmethod
    def load_cached_namespaces(self, path: Path, type_map: TypeMap) -> None:
        """Load the namespaces cached in the file that ``type_map`` does not know yet (extensions)."""


_BACKENDS: dict[str, Backend] = {}


def register_backend(backend: Backend) -> Backend:
    _BACKENDS[backend.name] = backend
    return backend


def backend_for(path: str | Path, backend: str | None = None) -> Backend:
    """The backend named ``backend``, or the one whose suffix ``path`` has."""
    if backend is not None:
        try:
            return _BACKENDS[backend]
        except KeyError:
            raise ValueError(f"unknown backend {backend!r}; choose one of {sorted(_BACKENDS)}") from None
    suffix = Path(str(path).rstrip("/")).suffix.lower()
    for candidate in _BACKENDS.values():
        if suffix in candidate.suffixes:
            return candidate
    known = sorted(s for b in _BACKENDS.values() for s in b.suffixes)
    raise ValueError(
        f"cannot tell the format of {str(path)!r} from its suffix {suffix!r}: use one of {known} "
        "or pass backend='hdf5' or backend='zarr'"
    )
