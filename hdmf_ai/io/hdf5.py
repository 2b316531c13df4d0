"""The HDF5 backend, through hdmf's ``HDF5IO`` (h5py)."""

from __future__ import annotations

import warnings
from pathlib import Path

from hdmf.backends.hdf5 import HDF5IO
from hdmf.build import BuildManager, TypeMap

from .backend import Backend, register_backend

__all__ = ["HDF5Backend"]


class HDF5Backend(Backend):
    name = "hdf5"
    suffixes = (".h5", ".hdf5", ".nwb")

    def open_io(self, path: Path, mode: str, manager: BuildManager) -> HDF5IO:
        return HDF5IO(path=str(path), mode=mode, manager=manager)

    def load_cached_namespaces(self, path: Path, type_map: TypeMap) -> None:
        with warnings.catch_warnings():
            # only hdmf-common, hdmf-experimental and hdmf-ai are loaded before: the versions we know
            # (files of older versions of these read with the newer schema by design)
            warnings.filterwarnings("ignore", message="Ignoring (the following )?cached namespace")
            HDF5IO.load_namespaces(type_map, str(path))


register_backend(HDF5Backend())
