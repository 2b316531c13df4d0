"""A write plan: the columns of a table to be written in parts, how each is stored, and the file's skeleton.

The batched writers (:class:`~hdmf_ai.ResultsWriter`, :func:`~hdmf_ai.io.dask.write_dask`, ``append_rows``)
share this: a :class:`WritePlan` knows each column's :class:`~hdmf_ai.coercion.ColumnSpec` (declared, or
settled by the first rows), checks and casts batches, and writes the skeleton — the same ResultsTable, columns,
links, enum elements and metadata that :func:`hdmf_ai.write` would store, each column empty and growable with
the storage policy's chunks and codecs — through hdmf. A :class:`~.backend.Sink` then fills the rows.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from hdmf.common import DynamicTable

from .. import coercion
from ..coercion import ColumnSpec
from ..errors import ColumnError
from ..results_table import ResultsTable
from ..typemap import get_type_map
from . import policy
from .backend import Backend, Sink
from .build import ExportingManager, root_container
from .files import move_into_place, temporary_sibling
from .incomplete import COMPLETE_ROWS, TARGET_ROWS, FoundTable

__all__ = ["WritePlan", "add_declared", "batch_length"]

# rows per chunk when the row count is unknown: large, so the policy's own chunk size decides
NOMINAL_ROWS = 2**40


def add_declared(table: ResultsTable, spec: ColumnSpec, values: Any, *, source: DynamicTable | None) -> Any:
    """Add ``values`` as column ``spec.name`` to ``table`` through the column's own ``add_*`` method."""
    name = spec.name
    described = {"description": spec.description} if spec.description else {}
    if name == "samples":
        if source is None:
            raise ColumnError(name, "the source table: ResultsWriter(..., source=<table>)", "no source table")
        return table.add_samples(values, table=source, **described)
    if name == "true_label":
        return table.add_true_label(values, classes=spec.classes, **described)
    if name == "cv_split":
        return table.add_cv_split(values, n_splits=spec.n_splits, **described)
    if name == "predicted_probability":
        return table.add_predicted_probability(values, check_sum=spec.check_sum, **described)
    if name in coercion.PREDEFINED:
        return getattr(table, f"add_{name}")(values, **described)
    if spec.attribution is not None:
        return table.add_feature_attribution(values, name=name, **spec.attribution, **described)
    arr = coercion.user_numbers(name, values)
    return table.add_column(name, spec.description or f"the column '{name}'", data=arr)


@dataclass
class WritePlan:
    """What a batched write knows before and after its first rows: columns, storage, target, source.

    Parameters are those of :class:`~hdmf_ai.ResultsWriter` of the same names; ``specs`` holds the columns'
    declarations, completed by :meth:`settle`.
    """

    path: Path
    backend: Backend
    specs: dict[str, ColumnSpec]
    metadata: dict[str, Any] = field(default_factory=dict)
    source: DynamicTable | None = None
    n_source: int | None = None
    n_samples: int | None = None
    preset: str | policy.Preset = policy.DEFAULT_PRESET
    storage: Mapping[str, policy.Setting] | None = None
    table: str = "results"
    #: each column's storage, decided when the skeleton is made
    settings: dict[str, policy.Setting] = field(default_factory=dict)

    @classmethod
    def declared(
        cls,
        path: Path,
        backend: Backend,
        *,
        columns: Mapping[str, Any] | None,
        metadata: Mapping[str, Any] | None,
        source: DynamicTable | None,
        n_samples: int | None,
        preset: str | policy.Preset,
        storage: Mapping[str, policy.Setting] | None,
    ) -> WritePlan:
        """A plan from a batched writer's arguments: column declarations parsed, the table named by metadata."""
        return cls(
            path=path,
            backend=backend,
            specs={name: ColumnSpec.parse(name, declared) for name, declared in (columns or {}).items()},
            metadata=dict(metadata or {}),
            source=source,
            n_source=None if source is None else len(source),
            n_samples=n_samples,
            preset=preset,
            storage=storage,
            table=str((metadata or {}).get("name", "results")),
        )

    # -- batches ---------------------------------------------------------------------------------------------

    def check_names(self, columns: Mapping[str, Any], *, started: bool) -> None:
        """A batch holds every column of the table and no other (the first may add undeclared ones)."""
        known = sorted(set(self.specs) - {"id"})  # ids are the writer's: row numbers
        unknown = sorted(set(columns) - set(known))
        if "id" in columns:
            raise ColumnError("id", "no 'id' column: the writer numbers the rows", "an 'id' column")
        if unknown and started:
            raise ColumnError(unknown[0], f"one of the table's columns {known}", f"unknown columns {unknown}")
        missing = sorted(set(known) - set(columns))
        if missing:
            raise ColumnError(missing[0], f"every column in each batch: {known}", f"a batch without {missing}")

    def coerce(self, name: str, values: Any) -> np.ndarray:
        """One batch of column ``name`` checked and coerced by the column's rule (not yet cast)."""
        spec = self.specs[name]
        return coercion.coerce(spec, values, n_source=self.n_source, n_classes=self.n_classes(name))

    def n_classes(self, name: str) -> int | None:
        """The number of classes a class-index column ``name`` is bounded by, when the plan knows it."""
        if name not in coercion.CLASS_COLUMNS:
            return None
        return coercion.bound(self.specs[name], self.specs, self.n_source)

    def fit(self, name: str, values: Any) -> np.ndarray:
        """One batch of column ``name``, checked and cast to its stored dtype."""
        return coercion.fit(self.specs[name], self.coerce(name, values))

    def settle(self, columns: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Complete the declarations from the first batch (row shapes, stored dtypes); the batch, cast."""
        for name in columns:
            self.specs.setdefault(name, ColumnSpec(name))
        coerced = {name: self._coerce_shape(name, values) for name, values in columns.items()}
        for name, arr in coerced.items():
            spec = self.specs[name]
            limit = coercion.bound(spec, self.specs, self.n_source)
            values = columns[name]
            given = values.dtype if isinstance(values, np.ndarray) else np.asarray(values).dtype
            self.specs[name] = replace(spec, dtype=coercion.stored_dtype(spec, arr, given, limit))
        return {name: self.fit(name, columns[name]) for name in columns}

    def _coerce_shape(self, name: str, values: Any) -> np.ndarray:
        arr = coercion.coerce(self.specs[name], values, n_source=self.n_source)
        spec = self.specs[name]
        if spec.row_shape is None:
            self.specs[name] = replace(spec, row_shape=tuple(int(n) for n in arr.shape[1:]))
        elif arr.shape[1:] != spec.row_shape:
            raise ColumnError(name, f"rows of shape {spec.row_shape}, as declared", f"an array of shape {arr.shape}")
        return arr

    def stored(self, name: str, arr: np.ndarray) -> np.ndarray:
        """A cast batch as the column's setting stores it (on-disk dtype, lossy rounding)."""
        setting = self.settings.get(name)
        if setting is None or (setting.lossy is None and setting.dtype is None):
            return arr
        return policy.stored_data(policy.Planned(None, f"{self.table}/{name}", arr, setting))

    # -- the file --------------------------------------------------------------------------------------------

    def create(self) -> None:
        """Write the skeleton through hdmf to a temporary sibling, then move it into place."""
        skeleton, planned = self.skeleton()
        with temporary_sibling(self.path) as tmp:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*compression may not be available", category=UserWarning)
                self.backend.write_skeleton(tmp, root_container([skeleton]), ExportingManager(get_type_map()))
            lossy = {p.path: {policy.LOSSY_ATTRIBUTE: p.setting.lossy.describe()} for p in planned if p.setting.lossy}
            self.backend.write_attributes(tmp, lossy)
            move_into_place(tmp, self.path)

    def skeleton(self) -> tuple[ResultsTable, list[policy.Planned]]:
        """The table with every column empty, each wrapped in its growable storage; and the storage chosen."""
        table = ResultsTable(**self.metadata)
        for spec in self.specs.values():
            assert spec.dtype is not None and spec.row_shape is not None
            add_declared(table, spec, np.empty((0, *spec.row_shape), dtype=spec.dtype), source=self.source)
        self.specs["id"] = ColumnSpec("id", row_shape=(), dtype=np.dtype(np.int64))
        policy.check_storage(self.storage, set(self.specs))
        planned = []
        for column in (*table.columns, table.id):
            if column.name not in self.specs:
                continue  # an enum's elements: text, written as hdmf writes it
            spec = self.specs[column.name]
            assert spec.dtype is not None and spec.row_shape is not None
            nominal = np.broadcast_to(np.zeros((), spec.dtype), (self.n_samples or NOMINAL_ROWS, *spec.row_shape))
            kind = policy.column_kind(column, nominal)
            setting = policy.resolve(
                self.preset, backend=self.backend.name, column=spec.name, kind=kind, storage=self.storage
            )
            disk = np.dtype(setting.dtype) if setting.dtype else spec.dtype
            nominal = np.broadcast_to(np.zeros((), disk), nominal.shape)
            path = f"{table.name}/{spec.name}"
            io_class, kwargs = self.backend.data_io(nominal, setting, path, growable=True)
            empty = np.empty((0, *spec.row_shape), dtype=disk)
            column.transform(lambda _, value=empty: value)
            with warnings.catch_warnings():  # hdmf recommends gzip for any plugin filter: the preset chose it
                warnings.filterwarnings("ignore", message=".*compression may not be available", category=UserWarning)
                column.set_data_io(io_class, kwargs)
            self.settings[spec.name] = setting
            planned.append(policy.Planned(column, path, empty, setting))
        return table, planned

    def open_sink(self, complete: int) -> Sink:
        """A sink on the table's datasets, ids last (a row counts once all its cells are in)."""
        names = [n for n in self.specs if n != "id"] + ["id"]
        target = -1 if self.n_samples is None else self.n_samples
        return self.backend.open_sink(self.path, self.table, names, {COMPLETE_ROWS: complete, TARGET_ROWS: target})

    def adopt(self, found: FoundTable) -> None:
        """Take the columns of a table in the file (to resume it, or add rows), refusing other declarations."""
        for name, spec in self.specs.items():  # the same declarations as the first run are fine; others are not
            stored = found.specs.get(name)
            if stored is None or any(
                mine is not None and mine != theirs
                for mine, theirs in ((spec.row_shape, stored.row_shape), (spec.dtype, stored.dtype))
            ):
                stored_text = "no such column" if stored is None else f"rows {stored.row_shape} of {stored.dtype}"
                raise ColumnError(name, f"the column as the file has it ({stored_text})", f"the declaration {spec}")
        self.table = found.name
        self.specs = {**found.specs, "id": ColumnSpec("id", row_shape=(), dtype=np.dtype(np.int64))}
        self.n_source = found.n_source

    def final_attributes(self, sink: Sink) -> dict[str, dict[str, Any]]:
        """Attributes known only at the end: ``n_splits`` of a cv_split column whose folds were not declared."""
        if "cv_split" not in self.specs:
            return {}
        folds = sink.datasets["cv_split"]
        top = -1
        step = max(1, sink.unit("cv_split"))
        for start in range(0, int(folds.shape[0]), step * 64):
            part = np.asarray(folds[start : start + step * 64])
            top = max(top, int(part.max())) if part.size else top
        declared = self.specs["cv_split"].n_splits
        return {"cv_split": {"n_splits": max(declared or 0, top + 1)}}


def batch_length(batch: Mapping[str, np.ndarray]) -> int:
    """The rows of a batch, refusing columns of different lengths."""
    lengths = {name: len(arr) for name, arr in batch.items()}
    first = next(iter(lengths))
    for name, n in lengths.items():
        if n != lengths[first]:
            raise ColumnError(name, f"{lengths[first]} rows, as '{first}' has in this batch", f"{n} rows")
    return lengths[first]
