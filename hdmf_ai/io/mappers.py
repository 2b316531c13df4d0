"""Explicit ObjectMappers for the ``hdmf-ai`` types.

Writing uses hdmf's own mapping from container attributes to spec fields unchanged. Reading needs more:
hdmf's ``ObjectMapper.construct`` collects constructor arguments from the builder, then passes only
those a docval argument list names. Our containers have plain signatures, so :class:`SignatureMapper`
overrides ``construct`` to gather the values of every spec field (attributes, data, sub-datasets and
sub-groups) and pass those the constructor's real signature accepts. Methods named ``<field>_carg``
translate one field where the stored form differs from what the constructor wants.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Iterable
from typing import Any, cast

import numpy as np
from hdmf.build import BuildManager, DatasetBuilder, GroupBuilder, ObjectMapper, ReferenceBuilder
from hdmf.build.errors import ConstructError
from hdmf.common.io.table import DynamicTableMap
from hdmf.container import AbstractContainer
from hdmf.query import ReferenceResolver
from hdmf.spec import GroupSpec
from hdmf.spec.spec import BaseStorageSpec
from hdmf.utils import get_docval

__all__ = [
    "ColumnMap",
    "CrossValidationSplitMap",
    "EnumColumnMap",
    "EvaluationTableMap",
    "FeatureAttributionMap",
    "RegionMap",
    "ResultsTableMap",
    "SignatureMapper",
    "colnames_problem",
]

type Builder = GroupBuilder | DatasetBuilder

#: catalog -> (namespace, data_type) -> the type's hierarchy (a catalog's types do not change once loaded)
_HIERARCHIES: weakref.WeakKeyDictionary[Any, dict[tuple[Any, Any], tuple[str, ...]]] = weakref.WeakKeyDictionary()


@functools.cache
def _accepted(cls: type) -> frozenset[str] | None:
    """The keyword arguments ``cls`` accepts; None when it takes any (a class's signature does not change)."""
    init = cast(Any, cls).__init__
    published = get_docval(init)
    if published:  # hdmf-generated subclasses (get_class) declare theirs through docval
        return frozenset(arg["name"] for arg in published)
    params = inspect.signature(init).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return frozenset(p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)) - {"self"}


class SignatureMapper(ObjectMapper):
    """Construct containers whose ``__init__`` is a plain keyword-only signature."""

    def construct(
        self, builder: Builder, manager: BuildManager, parent: AbstractContainer | None = None
    ) -> AbstractContainer:
        cls = manager.get_cls(builder)
        values = self.field_values(builder, self.spec, manager)
        values["name"] = builder.name
        if isinstance(builder, DatasetBuilder):
            data = builder.data
            values["data"] = data.invert() if isinstance(data, ReferenceResolver) else data
        for argname, override in self.constructor_args.items():
            if argname != "name":
                result = override(self, builder, manager)
                if result is not self.NO_OVERRIDE:
                    values[argname] = result
        accepted = _accepted(cls)
        kwargs = {k: v for k, v in values.items() if v is not None and (accepted is None or k in accepted)}
        object_id = builder.attributes.get(self.spec.id_key())
        try:
            return self.__new_container__(cls, builder.source, parent, object_id, **kwargs)
        except Exception as ex:
            raise ConstructError(builder, f"could not construct {cls.__name__} '{builder.name}': {ex}") from ex

    def field_values(self, builder: Builder, spec: BaseStorageSpec, manager: BuildManager) -> dict[str, Any]:
        """Map each constructor-argument name to the value its spec field holds in ``builder``."""
        values: dict[str, Any] = {}
        for attr_spec in spec.attributes:
            stored = builder.attributes.get(attr_spec.name)
            if stored is not None:
                values[self._carg_name(attr_spec)] = self._resolve(stored, manager)
        if not isinstance(spec, GroupSpec) or not isinstance(builder, GroupBuilder):
            return values
        children = self._children(builder)
        for sub in [*spec.datasets, *spec.groups]:
            if sub.data_type is None:  # a named, untyped group: its fields belong to this container
                if sub.name in builder.groups:
                    values.update(self.field_values(builder.groups[sub.name], sub, manager))
            elif sub.name is not None:
                if sub.name in children:
                    values[self._carg_name(sub)] = manager.construct(children[sub.name])
            else:
                matched = [manager.construct(b) for b in self._of_type(children.values(), sub.data_type, manager)]
                if matched:
                    values[self._carg_name(sub)] = matched if sub.is_many() else matched[0]
        return values

    def _carg_name(self, spec: Any) -> str:
        # a mapper lives as long as its TypeMap, which files of one schema share: each spec is asked once
        cache: dict[int, tuple[Any, str]] = self.__dict__.setdefault("_hdmf_ai_cargs", {})
        found = cache.get(id(spec))
        if found is None or found[0] is not spec:
            found = cache[id(spec)] = (spec, self.get_const_arg(spec) or spec.name)
        return found[1]

    @staticmethod
    def _resolve(stored: Any, manager: BuildManager) -> Any:
        if isinstance(stored, ReferenceBuilder):
            return manager.construct(stored.builder)
        if isinstance(stored, (GroupBuilder, DatasetBuilder)):
            return manager.construct(stored)
        return stored

    @staticmethod
    def _children(builder: GroupBuilder) -> dict[str, Builder]:
        children: dict[str, Builder] = {**builder.groups, **builder.datasets}
        children.update({name: link.builder for name, link in builder.links.items()})
        return children

    @staticmethod
    def _of_type(builders: Iterable[Builder], data_type: str, manager: BuildManager) -> list[Builder]:
        catalog = manager.namespace_catalog
        found = []
        # a table's columns repeat a few types, and files of one schema share a catalog: asked once per catalog
        hierarchies = _HIERARCHIES.setdefault(catalog, {})
        for b in builders:
            dt, ns = manager.get_builder_dt(b), manager.get_builder_ns(b)
            if dt is None or ns is None:
                continue
            if (ns, dt) not in hierarchies:
                hierarchies[ns, dt] = tuple(catalog.get_hierarchy(ns, dt))
            if data_type in hierarchies[ns, dt]:
                found.append(b)
        return found


class ColumnMap(SignatureMapper):
    """Mapper of the plain column types (``SupervisedOutput`` and subtypes, ``ClusterLabel``,
    ``EmbeddedValues``): name, description, data and reference attributes map one to one."""


class CrossValidationSplitMap(ColumnMap):
    """``CrossValidationSplit``: ``n_splits`` is stored as a numpy scalar, passed on as an int."""

    @ObjectMapper.constructor_arg("n_splits")
    def n_splits_carg(self, builder: DatasetBuilder, manager: BuildManager) -> Any:
        stored = builder.attributes.get("n_splits")
        return self.NO_OVERRIDE if stored is None else int(np.asarray(stored).reshape(-1)[0])


class EnumColumnMap(ColumnMap):
    """``EnumData`` and ``TrainValidateTestSplit``: ``elements`` is a reference to a VectorData."""


def _text(stored: Any) -> list[str] | None:
    """A text attribute as a list of str, whatever the backend returned (str, bytes, array)."""
    if stored is None:
        return None
    items = [stored] if isinstance(stored, (str, bytes)) else np.asarray(stored, dtype=object).reshape(-1).tolist()
    return [s.decode("utf-8") if isinstance(s, bytes) else str(s) for s in items]


class FeatureAttributionMap(ColumnMap):
    """``FeatureAttribution``: text attributes come back as str, bytes or arrays of them, ``base_values`` as
    a list or an array, depending on the backend; the container gets str, a list of str and a float64 array."""

    def _one_text(self, builder: DatasetBuilder, name: str) -> Any:
        texts = _text(builder.attributes.get(name))
        return self.NO_OVERRIDE if not texts else texts[0]

    @ObjectMapper.constructor_arg("method")
    def method_carg(self, builder: DatasetBuilder, manager: BuildManager) -> Any:
        return self._one_text(builder, "method")

    @ObjectMapper.constructor_arg("output")
    def output_carg(self, builder: DatasetBuilder, manager: BuildManager) -> Any:
        return self._one_text(builder, "output")

    @ObjectMapper.constructor_arg("output_space")
    def output_space_carg(self, builder: DatasetBuilder, manager: BuildManager) -> Any:
        return self._one_text(builder, "output_space")

    @ObjectMapper.constructor_arg("feature_names")
    def feature_names_carg(self, builder: DatasetBuilder, manager: BuildManager) -> Any:
        return _text(builder.attributes.get("feature_names")) or self.NO_OVERRIDE

    @ObjectMapper.constructor_arg("base_values")
    def base_values_carg(self, builder: DatasetBuilder, manager: BuildManager) -> Any:
        stored = builder.attributes.get("base_values")
        return self.NO_OVERRIDE if stored is None else np.asarray(stored, dtype=np.float64).reshape(-1)


class ResultsTableMap(SignatureMapper, DynamicTableMap):
    """``ResultsTable``: a DynamicTable (hdmf's mapping of columns on write) plus four text attributes
    that every backend returns in its own form (a str, bytes, or an array of either).

    ``colnames`` is checked against the datasets before anything is built: hdmf makes up the names of a table
    without them (in another order) and leaves out a column they do not list, silently.
    """

    def construct(
        self, builder: Builder, manager: BuildManager, parent: AbstractContainer | None = None
    ) -> AbstractContainer:
        if isinstance(builder, GroupBuilder):
            problem = colnames_problem(builder)
            if problem is not None:
                raise ConstructError(builder, problem)
        return super().construct(builder, manager, parent)

    def _text_attribute(self, builder: GroupBuilder, name: str) -> Any:
        stored = builder.attributes.get(name)
        return self.NO_OVERRIDE if stored is None else _text(stored)

    @ObjectMapper.constructor_arg("source_code")
    def source_code_carg(self, builder: GroupBuilder, manager: BuildManager) -> Any:
        return self._text_attribute(builder, "source_code")

    @ObjectMapper.constructor_arg("parameters")
    def parameters_carg(self, builder: GroupBuilder, manager: BuildManager) -> Any:
        return self._text_attribute(builder, "parameters")

    @ObjectMapper.constructor_arg("model_description")
    def model_description_carg(self, builder: GroupBuilder, manager: BuildManager) -> Any:
        return self._text_attribute(builder, "model_description")

    @ObjectMapper.constructor_arg("pre_trained_model")
    def pre_trained_model_carg(self, builder: GroupBuilder, manager: BuildManager) -> Any:
        return self._text_attribute(builder, "pre_trained_model")

    @ObjectMapper.constructor_arg("colnames")
    def colnames_carg(self, builder: GroupBuilder, manager: BuildManager) -> Any:
        return _text(builder.attributes.get("colnames")) or self.NO_OVERRIDE


def colnames_problem(builder: GroupBuilder) -> str | None:
    """What is wrong with a table's ``colnames`` attribute, given its datasets; None when nothing is.

    Every typed dataset but ``id`` must be a column ``colnames`` lists once, or hang off one: its index (a
    VectorIndex whose ``target`` is a column or an index of one) or its enum's ``elements``.
    """
    stored = builder.attributes.get("colnames")
    names = _text(stored) or []
    columns = {name: b for name, b in builder.datasets.items() if name != "id" and "data_type" in b.attributes}
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        return f"colnames: expected each column named once; got {repeated} more than once"
    if stored is None and columns:
        return (
            f"colnames: expected the names of the table's columns (it holds the datasets {sorted(columns)}); got none"
        )
    reached = {name for name in names if name in columns}
    grown = True
    while grown:
        found = {n for n, b in columns.items() if n not in reached and _points_into(b, columns, reached)}
        reached |= found
        grown = bool(found)
    unlisted = sorted(set(columns) - reached)
    if unlisted:
        return f"colnames: expected every column listed; got the datasets {unlisted} not listed nor indexing one"
    return None


def _points_into(dataset: DatasetBuilder, columns: dict[str, DatasetBuilder], reached: set[str]) -> bool:
    """Whether ``dataset`` is the index of a reached column, or the elements of one."""
    target = _referenced(dataset.attributes.get("target"))
    return any(target is columns[n] or _referenced(columns[n].attributes.get("elements")) is dataset for n in reached)


def _referenced(stored: Any) -> Any:
    """The builder a reference attribute points at (backends give a ReferenceBuilder or the builder itself)."""
    return stored.builder if isinstance(stored, ReferenceBuilder) else stored


class EvaluationTableMap(SignatureMapper, DynamicTableMap):
    """``EvaluationTable`` (namespace ``hdmf-ai-extensions``): a DynamicTable whose columns hdmf maps; only
    ``colnames``, which backends return as str, bytes or an array of either, is translated."""

    @ObjectMapper.constructor_arg("colnames")
    def colnames_carg(self, builder: GroupBuilder, manager: BuildManager) -> Any:
        return _text(builder.attributes.get("colnames")) or self.NO_OVERRIDE


class RegionMap(ObjectMapper):
    """hdmf's ``DynamicTableRegion``: on a lazy read, its indices are not re-checked against the table.

    hdmf checks every index of a region when it constructs one, which reads the whole ``samples`` column
    whenever a file is opened: over S3 that was most of the bytes of an ``inspect`` (benchmarks/REMOTE.md).
    The indices were checked when written; a region loaded into memory (``hdmf_ai.read``) is still checked,
    where it costs nothing extra.
    """

    @ObjectMapper.constructor_arg("validate_data")
    def validate_data_carg(self, builder: DatasetBuilder, manager: BuildManager) -> bool:
        return isinstance(builder.data, np.ndarray | list)
