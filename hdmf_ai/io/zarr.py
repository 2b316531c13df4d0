"""The Zarr backend, through hdmf-zarr: Zarr v3 stores are written; v2 stores are read too."""

from __future__ import annotations

import warnings
from pathlib import Path

from hdmf.backends.io import HDMFIO
from hdmf.build import BuildManager, TypeMap
from hdmf.container import Container
from hdmf_zarr import ZarrIO, ZarrV2IO, is_zarr_v2_file

from .backend import Backend, register_backend

__all__ = ["ZarrBackend"]


class ZarrBackend(Backend):
    name = "zarr"
    suffixes = (".zarr",)

    def open_io(self, path: Path, mode: str, manager: BuildManager) -> HDMFIO:
        if mode == "r" and is_zarr_v2_file(str(path)):  # written by hdmf-zarr < 0.14 / zarr 2
            return ZarrV2IO(path=str(path), mode=mode, manager=manager)
        return ZarrIO(path=str(path), mode=mode, manager=manager)

    def write(self, io: HDMFIO, root: Container) -> None:
        with warnings.catch_warnings():
            # zarr 3 flags consolidated metadata as outside the v3 spec; hdmf-zarr relies on it by design
            warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
            super().write(io, root)

    def load_cached_namespaces(self, path: Path, type_map: TypeMap) -> None:
        io_cls = ZarrV2IO if is_zarr_v2_file(str(path)) else ZarrIO
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Ignoring (the following )?cached namespace")
            # every v2 store hdmf-zarr <= 0.13 wrote keeps its specs in json2 object arrays that zarr 3 cannot
            # open; ZarrV2IO decodes them from the raw chunks and warns that it does, which is not news here
            warnings.filterwarnings("ignore", message="Could not read spec dataset .* Falling back to raw chunk read")
            io_cls.load_namespaces(type_map, str(path))


register_backend(ZarrBackend())
