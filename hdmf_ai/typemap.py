"""hdmf-ai's own TypeMap: hdmf-common, hdmf-experimental and hdmf-ai, with our classes and mappers.

hdmf keeps one global, mutable TypeMap that every package importing it may change (the reference
hdmf-ai loads its namespace into it at import). We never change that map: :func:`get_type_map` builds a
fresh namespace catalog with our schema, copies the global map's registrations (hdmf's own types, and
whatever other packages added), then registers ours from :data:`REGISTRY` over them, so neither the
import order of pynwb or the reference package nor anything they register changes what we read and
write.

Reading shares maps instead: :func:`schema_type_map` keeps, per process, one map for each distinct schema a
file caches (keyed by a digest of the cached spec text), so that opening many files of one schema loads their
namespaces once. Only hdmf's reading machinery uses those maps (the classes it generates for a schema's types are
then made once, the same for every file of that schema); no public function hands them out.
"""

from __future__ import annotations

import copy
import re
import threading
import warnings
from collections.abc import Callable
from functools import cache
from importlib.resources import files

import hdmf.common
from hdmf.build import BuildManager, ObjectMapper, TypeMap
from hdmf.common import CORE_NAMESPACE, EXP_NAMESPACE, DynamicTableRegion
from hdmf.spec import NamespaceCatalog
from hdmf.utils import is_newer_version

from . import columns
from .errors import SchemaVersionWarning
from .evaluation import EvaluationTable
from .io import mappers
from .results_table import ResultsTable

__all__ = [
    "EXTENSIONS",
    "EXTENSIONS_PATH",
    "NAMESPACE",
    "NAMESPACE_PATH",
    "OURS",
    "REGISTRY",
    "adopt",
    "clear_schema_cache",
    "get_manager",
    "get_type_map",
    "load_cached",
    "schema_type_map",
]

NAMESPACE = "hdmf-ai"
NAMESPACE_PATH = str(files("hdmf_ai") / "schema" / "namespace.yaml")
#: the types added after 0.2.0, in a namespace of their own: hdmf ignores a cached namespace whose name a reader
#: already has, so a reader holding hdmf-ai 0.2.0 (the reference package) loads these from the file's cache only
#: because the name is new to it (schema/CHANGELOG.md)
EXTENSIONS = "hdmf-ai-extensions"
EXTENSIONS_PATH = str(files("hdmf_ai") / "schema" / "extensions.namespace.yaml")
#: the namespaces this package defines
OURS = (NAMESPACE, EXTENSIONS)

# (namespace, data type, container class, mapper class): the one place a type meets its class and mapper
REGISTRY: tuple[tuple[str, str, type, type[ObjectMapper]], ...] = (
    (NAMESPACE, "ResultsTable", ResultsTable, mappers.ResultsTableMap),
    (NAMESPACE, "SupervisedOutput", columns.SupervisedOutput, mappers.ColumnMap),
    (NAMESPACE, "ClassProbability", columns.ClassProbability, mappers.ColumnMap),
    (NAMESPACE, "ClassLabel", columns.ClassLabel, mappers.ColumnMap),
    (NAMESPACE, "TopKProbabilities", columns.TopKProbabilities, mappers.ColumnMap),
    (NAMESPACE, "TopKClasses", columns.TopKClasses, mappers.ColumnMap),
    (NAMESPACE, "RegressionOutput", columns.RegressionOutput, mappers.ColumnMap),
    (NAMESPACE, "ClusterLabel", columns.ClusterLabel, mappers.ColumnMap),
    (NAMESPACE, "EmbeddedValues", columns.EmbeddedValues, mappers.ColumnMap),
    (NAMESPACE, "CrossValidationSplit", columns.CrossValidationSplit, mappers.CrossValidationSplitMap),
    (NAMESPACE, "TrainValidateTestSplit", columns.TrainValidateTestSplit, mappers.EnumColumnMap),
    # hdmf's EnumData warns "experimental" on every instance; ours reads string labels quietly
    (EXP_NAMESPACE, "EnumData", columns.EnumColumn, mappers.EnumColumnMap),
    # hdmf's own class, with a mapper that skips re-reading a whole region column to check it on lazy opens
    (CORE_NAMESPACE, "DynamicTableRegion", DynamicTableRegion, mappers.RegionMap),
    (EXTENSIONS, "EvaluationTable", EvaluationTable, mappers.EvaluationTableMap),
    (EXTENSIONS, "FeatureAttribution", columns.FeatureAttribution, mappers.FeatureAttributionMap),
)


def adopt(type_map: TypeMap, other: TypeMap) -> None:
    """Merge ``other``'s namespaces that ``type_map`` lacks, and its classes, mappers and class generators,
    then register ours over them: whatever ``other`` says of the ``hdmf-ai`` namespace is ignored.

    hdmf's ``TypeMap.merge`` refuses namespaces already present, and registering a class needs its
    namespace in the catalog first: hence the namespaces are copied one by one, only where missing.
    """
    catalog = type_map.namespace_catalog
    for name in other.namespace_catalog.namespaces:
        if name not in catalog.namespaces:
            catalog.add_namespace(name, other.namespace_catalog.get_namespace(name))
    type_map.merge(other)
    for namespace, data_type, cls, mapper in REGISTRY:
        type_map.register_container_type(namespace, data_type, cls)
        type_map.register_map(cls, mapper)


@cache
def _template() -> TypeMap:
    # hdmf has no public accessor for the path of its hdmf-common namespace file
    common_path = hdmf.common._get_resources()["namespace_path"]  # noqa: SLF001
    type_map = TypeMap(NamespaceCatalog(core_namespaces=[CORE_NAMESPACE, EXP_NAMESPACE]))
    type_map.load_namespaces(common_path)
    type_map.load_namespaces(NAMESPACE_PATH)
    type_map.load_namespaces(EXTENSIONS_PATH)
    # hdmf's own classes, mappers and generators live in its global map; other packages may have loaded
    # namespaces there too (the reference hdmf-ai loads 'hdmf-ai' 0.2.0), which adopt() keeps from ours
    adopt(type_map, hdmf.common.get_type_map(copy=False))
    return type_map


def get_type_map(extra: TypeMap | None = None) -> TypeMap:
    """A new TypeMap with hdmf-common, hdmf-experimental, hdmf-ai and hdmf-ai-extensions, ours alone to change.

    Parameters
    ----------
    extra
        Another TypeMap to merge in, namespaces included (e.g. ``pynwb.get_type_map()``); our classes win.
    """
    type_map = copy.deepcopy(_template())
    if extra is not None:
        adopt(type_map, extra)
    return type_map


def get_manager(extra: TypeMap | None = None) -> BuildManager:
    """A BuildManager on a fresh :func:`get_type_map` (one per file: reading may load cached namespaces)."""
    return BuildManager(get_type_map(extra))


_IGNORED = re.compile(r"^(?P<name>\S+) - cached version: (?P<cached>\S+), loaded version: (?P<loaded>\S+)$", re.M)


def load_cached(load: Callable[[], object], *, source: object) -> None:
    """Run ``load`` (an hdmf ``load_namespaces`` call on a file), then say if the file's hdmf-ai is newer.

    The namespaces a type map already has (hdmf-common, hdmf-experimental, hdmf-ai) win over the versions a file
    caches: files of older versions read with our schema by design, and hdmf's warning about the ones it
    ignored is dropped. A file written with a *newer* hdmf-ai schema still reads (types and fields keep their
    names across versions), with a :class:`~hdmf_ai.errors.SchemaVersionWarning` naming both versions: fields
    added after ours are not shown. Any other warning passes through.
    """
    _report(_recorded(load), source)


def _recorded(load: Callable[[], object]) -> list[warnings.WarningMessage]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load()
    return list(caught)


def _report(caught: list[warnings.WarningMessage], source: object) -> None:
    for message in caught:
        text = str(message.message)
        if not text.startswith("Ignoring the following cached namespace"):
            warnings.warn_explicit(message.message, message.category, message.filename, message.lineno)
            continue
        for found in _IGNORED.finditer(text):
            if found["name"] in OURS and is_newer_version(found["cached"], found["loaded"]):
                warnings.warn(
                    f"{source}: written with the {found['name']} schema {found['cached']}, newer than this library's "
                    f"{found['loaded']}; read with {found['loaded']}: fields added since are not shown "
                    "(upgrade hdmf-ai to see them)",
                    SchemaVersionWarning,
                    stacklevel=3,
                )


# cached schema (digest of every cached spec text) -> our TypeMap with that schema's namespaces loaded, and the
# warnings loading them gave; see schema_type_map
_SCHEMAS: dict[str, tuple[TypeMap, list[warnings.WarningMessage]]] = {}
_SCHEMAS_LOCK = threading.Lock()


def schema_type_map(digest: str, load: Callable[[TypeMap], object], *, source: object) -> TypeMap:
    """Our TypeMap with a file's cached namespaces loaded (by ``load``), built once per process and schema.

    ``digest`` identifies the cached schema: a hash of the namespaces, versions and the text of every cached
    spec (see ``spec_digest`` of the HDF5 backend), never a name alone, so a file whose cached spec differs in
    a single byte gets a map of its own. Files of one schema share one map (hdmf's mappers and generated
    classes are then made once): it is only read while containers are constructed, never handed to users.
    The warnings the first load gave (e.g. a :class:`~hdmf_ai.errors.SchemaVersionWarning`) are given again
    for every file, naming it, as :func:`load_cached` does.
    """
    with _SCHEMAS_LOCK:
        entry = _SCHEMAS.get(digest)
        if entry is None:
            type_map = get_type_map()
            caught = _recorded(lambda: load(type_map))  # an error leaves nothing cached
            entry = _SCHEMAS[digest] = (type_map, caught)
    _report(entry[1], source)
    return entry[0]


def clear_schema_cache() -> None:
    """Forget the TypeMaps :func:`schema_type_map` built (the next open of each schema loads it again)."""
    with _SCHEMAS_LOCK:
        _SCHEMAS.clear()
