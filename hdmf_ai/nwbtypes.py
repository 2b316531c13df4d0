"""The type map of NWB files holding ResultsTables: NWB ``core`` (through pynwb) and ``hdmf-ai`` together.

What reading an NWB file needs, without the rest of :mod:`hdmf_ai.nwb`: :func:`get_type_map` builds a map from
pynwb's and ours, fresh on every call, so neither the import order of pynwb and hdmf_ai nor pynwb's pickled
type-map cache (which holds whatever hdmf's global map had when it was written, e.g. another ``hdmf-ai``
version) changes what is read or written.

The map also holds a namespace ``hdmf-ai-nwb`` that includes ``core`` and ``hdmf-ai`` and defines no
type. pynwb's validator (which nwbinspector runs) checks a file against each cached namespace that no
other includes; without it, it would check the NWBFile against ``hdmf-ai`` alone and fail.

pynwb is an optional extra (``pip install 'hdmf-ai[nwb]'``), imported when first needed.
"""

from __future__ import annotations

import copy
import os
from functools import cache
from pathlib import Path
from typing import Any

from hdmf.build import BuildManager, TypeMap
from hdmf.spec import NamespaceCatalog, SpecNamespace
from hdmf.spec.namespace import SpecReader

from .errors import MissingDependencyError
from .io.backend import V2_FALLBACK
from .io.registry import backend_for
from .typemap import EXTENSIONS, NAMESPACE, adopt
from .typemap import get_type_map as hdmf_ai_type_map

__all__ = [
    "CORE",
    "NWB_NAMESPACE",
    "QUIET",
    "get_manager",
    "get_type_map",
    "is_nwb_file",
    "is_nwb_root",
    "join_namespace",
    "pynwb_module",
    "spec_catalog",
]

CORE = "core"  # the NWB core namespace
NWB_NAMESPACE = "hdmf-ai-nwb"
_NWB_NAMESPACE_SPEC = {
    "name": NWB_NAMESPACE,
    "version": "0.3.0",  # moves with the hdmf-ai schema it includes
    "full_name": "hdmf-ai in NWB",
    "doc": "NWB core and hdmf-ai together: results tables of AI/ML models inside NWB files. Defines no types.",
    "author": ["hdmf-ai developers"],
    "contact": ["https://pypi.org/project/hdmf-ai/"],
    "schema": [{"namespace": CORE}, {"namespace": NAMESPACE}, {"namespace": EXTENSIONS}],
}
#: warnings that reading or writing NWB files gives by design
QUIET = (
    # the versions of core, hdmf-common and hdmf-ai we load win over the ones a file caches, by design
    "Ignoring (the following )?cached namespace",
    # zarr 3 flags consolidated metadata as outside the v3 spec; hdmf-zarr relies on it by design
    "Consolidated metadata",
    # hdmf-zarr's v2 reader decodes the datetimes of stores written by hdmf-zarr <= 0.13 by hand (io/zarr.py)
    V2_FALLBACK,
)


def pynwb_module() -> Any:
    try:
        import pynwb
    except ImportError as err:
        raise MissingDependencyError(
            "NWB files need pynwb, which is not installed: pip install 'hdmf-ai[nwb]'", name="pynwb"
        ) from err
    return pynwb


class _InMemoryNamespace(SpecReader):
    """Hands hdmf's catalog a namespace held in a dict: ``hdmf-ai-nwb`` has no files of its own."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        super().__init__(source="hdmf_ai.nwb")
        self._namespace = namespace

    def read_namespace(self, namespace_path: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(self._namespace)]

    def read_spec(self, spec_path: str) -> dict[str, Any]:
        raise FileNotFoundError(f"{NWB_NAMESPACE} has no schema files; asked for {spec_path}")


@cache
def _template() -> TypeMap:
    nwb_map = pynwb_module().get_type_map()  # a copy of pynwb's: core, and whatever extensions the user loaded
    type_map = TypeMap(spec_catalog())
    # our namespaces first, so that a foreign 'hdmf-ai' in pynwb's map (e.g. from a type-map cache written
    # after another package loaded its version into hdmf's global map) is skipped, not merged over ours
    type_map.merge(hdmf_ai_type_map(), ns_catalog=True)
    adopt(type_map, nwb_map)  # pynwb's namespaces, classes and mappers; ours win
    join_namespace(type_map)
    return type_map


def join_namespace(type_map: TypeMap) -> SpecNamespace:
    """The ``hdmf-ai-nwb`` namespace of ``type_map``, loaded first if missing (``core`` and ``hdmf-ai`` must
    be there; ``hdmf-ai-extensions`` is included when present): validators built on it know both NWB's types
    and ours, e.g. that Units is a DynamicTable."""
    if NWB_NAMESPACE not in type_map.namespace_catalog.namespaces:
        # a file written before hdmf-ai-extensions existed caches no such namespace: join what there is
        wanted = [CORE, NAMESPACE] + [EXTENSIONS] * (EXTENSIONS in type_map.namespace_catalog.namespaces)
        joined = [{"namespace": name} for name in wanted]
        spec = {**_NWB_NAMESPACE_SPEC, "schema": joined}
        type_map.load_namespaces(f"{NWB_NAMESPACE}.namespace.yaml", reader=_InMemoryNamespace(spec))
    return type_map.namespace_catalog.get_namespace(NWB_NAMESPACE)


def get_type_map() -> TypeMap:
    """A new TypeMap with NWB core (and the extensions pynwb has loaded), hdmf-common and hdmf-ai.

    Built from pynwb's map and hdmf-ai's when first needed, then copied: each call returns a map of
    its own, which reading a file may extend with the extensions cached in it.

    Raises
    ------
    MissingDependencyError
        pynwb is not installed.
    """
    pynwb_module()  # cheap once imported; says which extra to install even when the template is cached
    return copy.deepcopy(_template())


def spec_catalog() -> NamespaceCatalog:
    """An empty NamespaceCatalog with pynwb's spec classes, which NWB's cached specs need to load."""
    pynwb_module()
    from pynwb.spec import NWBDatasetSpec, NWBGroupSpec, NWBNamespace

    return NamespaceCatalog(NWBGroupSpec, NWBDatasetSpec, NWBNamespace, core_namespaces=[CORE])


def get_manager() -> BuildManager:
    """A BuildManager on a fresh :func:`get_type_map`, for ``NWBHDF5IO`` / ``NWBZarrIO`` (one per file)."""
    return BuildManager(get_type_map())


def is_nwb_file(path: str | os.PathLike[str], *, backend: str | None = None) -> bool:
    """Whether the root of the HDF5 file or Zarr store at ``path`` is an NWB ``core`` type (an NWBFile).

    Opens the file with h5py or zarr only (no pynwb); a file that cannot be opened is not NWB here,
    and the reader that tries next says why it cannot be opened.
    """
    source = Path(path)
    try:
        return is_nwb_root(backend_for(source, backend).root_attribute(source, "namespace"))
    except Exception:  # unreadable: not ours to diagnose here
        return False


def is_nwb_root(namespace: object) -> bool:
    """Whether a root group whose ``namespace`` attribute is ``namespace`` is an NWB ``core`` type."""
    return namespace == CORE
