"""Shared dumper for the reader scripts: turn every ResultsTable in a file into JSON.

Runs inside the reference venv.  It never imports ``hdmf_ai`` itself, so the
generic reader stays free of it; ``read_with_reference.py`` imports the
reference package before calling in here.  Everything is wrapped per column /
per attribute so one incompatibility shows up as a recorded error instead of
hiding the rest of the file.

Output document (top-level keys)::

    reader, path, backend, versions, hdmf_ai_module, table_filter,
    open_error, read_error, cached_namespaces, root, results_tables,
    other_tables, table_error, warnings

``open_error``: the file could not be opened/read at all.  ``read_error``: the
whole container tree could not be constructed (hdmf builds all-or-nothing); the
tables are then dumped from the raw builders, each table constructed on its own
and, if that fails too, column by column (``constructed: false``).

Each entry of ``results_tables`` / ``other_tables``::

    name, class, constructed, neurodata_type, namespace, description,
    colnames, id, columns{name: column}, column_errors{name: text},
    metadata{source_code, parameters, model_description, pre_trained_model},
    metadata_errors{name: text}, builder_attributes{...}, [table_error]

Each column::

    neurodata_type, class, dtype, shape, values,
    [elements, decoded]   (EnumData: integer values + the elements list)
    [target_table]        (DynamicTableRegion: values are the row indices)
    [index]               (ragged column: the VectorIndex data; values nested)
    attributes{n_splits?, probabilities?, training_labels?}
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# hdmf_zarr imports pynwb, which pickles its type map to a shared user cache;
# that pickle breaks once hdmf_ai classes are registered (see tests/refenv.py).
os.environ.setdefault("PYNWB_NO_CACHE_DIR", "1")

import numpy as np

METADATA_ATTRS = ("source_code", "parameters", "model_description", "pre_trained_model")
COLUMN_ATTRS = ("n_splits", "probabilities", "training_labels")
VERSION_DISTS = ("hdmf-ai", "hdmf", "hdmf-zarr", "zarr", "h5py", "numpy")

ManagerFactory = Callable[[str, Any], Any]


# --------------------------------------------------------------------------- json


def jsonable(value: Any) -> Any:
    """Convert numpy/h5py/zarr/hdmf values into plain JSON types, recursively."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.generic):
        return jsonable(value.item())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if hasattr(value, "data_type") and hasattr(value, "name"):  # an hdmf container
        return {"ref": value.name, "neurodata_type": value.data_type}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()] if value.ndim else jsonable(value.item())
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # h5py / zarr array
        return jsonable(np.asarray(value[()]))
    return repr(value)


def error_text(exc: BaseException) -> str:
    """Short, stable description of an exception for the JSON output."""
    return f"{type(exc).__name__}: {exc}"


def mro_names(obj: Any) -> list[str]:
    """Class names along the MRO; works for generated and hand-written classes alike."""
    return [cls.__name__ for cls in type(obj).__mro__]


# --------------------------------------------------------------------------- columns


def _dtype_shape(data: Any) -> tuple[str, list[int]]:
    """Stored dtype and shape, without loading the data when the backend exposes them."""
    if hasattr(data, "dtype") and hasattr(data, "shape"):
        return str(data.dtype), [int(n) for n in data.shape]
    arr = np.asarray(data)
    return str(arr.dtype), list(arr.shape)


def _read_all(data: Any) -> Any:
    """Materialise a (possibly lazy) dataset."""
    if isinstance(data, (list, tuple)):
        return list(data)
    return data[()] if hasattr(data, "shape") and data.shape != () else np.asarray(data)


def _column_attributes(col: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for name in COLUMN_ATTRS:
        try:
            value = getattr(col, name, None)
        except Exception as exc:
            attrs[name] = {"error": error_text(exc)}
            continue
        if value is not None:
            attrs[name] = jsonable(value)
    return attrs


def _ragged(col: Any, out: dict[str, Any]) -> dict[str, Any]:
    """A VectorIndex stands in for a ragged column: report nested values and the index."""
    target = col.target
    out["neurodata_type"] = target.data_type
    out["class"] = type(target).__name__
    out["dtype"], out["shape"] = _dtype_shape(target.data)
    out["index"] = jsonable(_read_all(col.data))
    out["values"] = jsonable([col[i] for i in range(len(col))])
    out["attributes"] = _column_attributes(target)
    return out


def dump_column(table: Any, name: str) -> dict[str, Any]:
    """Everything a test needs to compare one column, straight from the read objects."""
    return dump_column_obj(table[name])


def dump_column_obj(col: Any) -> dict[str, Any]:
    """Describe one column object (VectorData subtype, or VectorIndex for ragged columns)."""
    out: dict[str, Any] = {"neurodata_type": col.data_type, "class": type(col).__name__}
    if "VectorIndex" in mro_names(col):
        return _ragged(col, out)
    out["dtype"], out["shape"] = _dtype_shape(col.data)
    out["values"] = jsonable(_read_all(col.data))
    elements = getattr(col, "elements", None)
    if elements is not None:
        out["elements"] = jsonable(_read_all(elements.data))
        try:
            out["decoded"] = jsonable(col[:])
        except Exception as exc:
            out["decoded_error"] = error_text(exc)
    target = getattr(col, "table", None)
    if target is not None and "DynamicTableRegion" in mro_names(col):
        out["target_table"] = target.name
    out["attributes"] = _column_attributes(col)
    return out


# --------------------------------------------------------------------------- tables


def _builder_attributes(manager: Any, table: Any) -> dict[str, Any]:
    """Attributes exactly as stored in the file (independent of the Python class)."""
    try:
        builder = manager.get_builder(table)
    except Exception as exc:
        return {"error": error_text(exc)}
    if builder is None:
        return {"error": "no builder recorded for this container"}
    return {k: jsonable(v) for k, v in builder.attributes.items()}


def dump_table(table: Any, manager: Any) -> dict[str, Any]:
    """One DynamicTable (ResultsTable or not) as JSON, with per-column error capture.

    ``metadata`` holds the four ResultsTable attributes as the Python object exposes
    them (the reference returns None); ``builder_attributes`` shows what the file holds.
    """
    out: dict[str, Any] = {
        "name": table.name,
        "class": type(table).__name__,
        "constructed": True,
        "neurodata_type": table.data_type,
        "description": jsonable(getattr(table, "description", None)),
        "colnames": jsonable(list(table.colnames)),
        "columns": {},
        "column_errors": {},
        "metadata": {},
        "metadata_errors": {},
    }
    builder_attrs = _builder_attributes(manager, table)
    out["namespace"] = builder_attrs.get("namespace")
    out["builder_attributes"] = builder_attrs
    try:
        out["id"] = jsonable(_read_all(table.id.data))
    except Exception as exc:
        out["column_errors"]["id"] = error_text(exc)
    for name in table.colnames:
        try:
            out["columns"][name] = dump_column(table, name)
        except Exception as exc:
            out["column_errors"][name] = error_text(exc)
            traceback.print_exc(file=sys.stderr)
    is_results = "ResultsTable" in mro_names(table)
    for attr in METADATA_ATTRS if is_results else ():
        try:
            out["metadata"][attr] = jsonable(getattr(table, attr))
        except Exception as exc:
            out["metadata"][attr] = None
            out["metadata_errors"][attr] = error_text(exc)
    return out


def iter_containers(root: Any) -> Iterator[Any]:
    """Depth-first walk over a container and all of its descendants."""
    yield root
    for child in getattr(root, "children", ()) or ():
        yield from iter_containers(child)


def split_tables(root: Any) -> tuple[list[Any], list[Any]]:
    """(ResultsTables, other DynamicTables) anywhere under root, root included."""
    results, others = [], []
    for obj in iter_containers(root):
        names = mro_names(obj)
        if "ResultsTable" in names:
            results.append(obj)
        elif "DynamicTable" in names:
            others.append(obj)
    return results, others


# --------------------------------------------------------------------------- files


def backend_of(path: str) -> str:
    """'zarr' for ``*.zarr`` or any directory, else 'hdf5'."""
    return "zarr" if path.rstrip("/").endswith(".zarr") or Path(path).is_dir() else "hdf5"


def io_class(backend: str) -> type:
    if backend == "zarr":
        from hdmf_zarr import ZarrIO

        return ZarrIO
    from hdmf.backends.hdf5 import HDF5IO

    return HDF5IO


def cached_namespaces(path: str, backend: str) -> dict[str, list[str]]:
    """Namespace versions cached in the file, read with the raw storage library."""
    if backend == "zarr":
        import zarr

        group = zarr.open_group(path, mode="r")
        spec = zarr.open_group(path, mode="r", path=str(group.attrs.get(".specloc", "specifications")).lstrip("/"))
        return {ns: sorted(spec[ns].group_keys()) for ns in spec.group_keys()}  # type: ignore[union-attr]
    import h5py

    with h5py.File(path, "r") as f:
        spec = f[f.attrs[".specloc"]]
        return {ns: sorted(spec[ns].keys()) for ns in spec}


def versions() -> dict[str, str | None]:
    def version(name: str) -> str | None:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None

    return {n: version(n) for n in VERSION_DISTS} | {"python": sys.version.split()[0]}


def _filter(doc: dict[str, Any], tables: list[Any], table_filter: str | None) -> list[Any]:
    """Apply ``--table``; record a table_error if nothing matches."""
    if table_filter is None:
        return tables
    kept = [t for t in tables if t.name == table_filter]
    if not kept:
        doc["table_error"] = f"no ResultsTable named {table_filter!r} in the file"
    return kept


def _dump_open_file(doc: dict[str, Any], io: Any, table_filter: str | None) -> None:
    """Normal path: construct the whole tree; on failure fall back to per-column reads."""
    try:
        root = io.read()
    except Exception as exc:
        # hdmf constructs all-or-nothing, so one bad column would hide every other one.
        doc["read_error"] = error_text(exc)
        traceback.print_exc(file=sys.stderr)
        _dump_from_builders(doc, io, table_filter)
        return
    doc["root"] = {"name": root.name, "class": type(root).__name__, "neurodata_type": root.data_type}
    results, others = split_tables(root)
    doc["results_tables"] = [dump_table(t, io.manager) for t in _filter(doc, results, table_filter)]
    doc["other_tables"] = [dump_table(t, io.manager) for t in others]


# --------------------------------------------------------------------------- fallback


def _hierarchy(manager: Any, builder: Any) -> list[str]:
    """Data type names from the builder's own type up to its base types."""
    dt = builder.attributes.get("data_type")
    ns = builder.attributes.get("namespace")
    if dt is None:
        return []
    try:
        return [str(t) for t in manager.namespace_catalog.get_hierarchy(ns, dt)]
    except Exception:
        return [str(dt)]


def _iter_group_builders(builder: Any) -> Iterator[Any]:
    yield builder
    for child in builder.groups.values():
        yield from _iter_group_builders(child)


def _construct_column(manager: Any, group: Any, name: str) -> Any:
    """Construct only one column (its index if ragged), so errors stay per column."""
    index = group.datasets.get(f"{name}_index")
    target = index if index is not None else group.datasets.get(name)
    if target is None:
        raise KeyError(f"column {name!r} listed in colnames but not stored")
    return manager.construct(target)


def dump_table_builder(group: Any, manager: Any) -> dict[str, Any]:
    """Degraded dump of a table whose container could not be constructed."""
    attrs = {k: jsonable(v) for k, v in group.attributes.items()}
    out: dict[str, Any] = {
        "name": group.name,
        "class": None,
        "constructed": False,
        "neurodata_type": attrs.get("data_type"),
        "namespace": attrs.get("namespace"),
        "description": attrs.get("description"),
        "colnames": attrs.get("colnames") or [],
        "columns": {},
        "column_errors": {},
        "builder_attributes": attrs,
        "metadata": {},
        "metadata_errors": {},
    }
    if "ResultsTable" in _hierarchy(manager, group):
        out["metadata"] = {a: None for a in METADATA_ATTRS}
        out["metadata_errors"] = {a: "table could not be constructed" for a in METADATA_ATTRS}
    if "id" in group.datasets:
        out["id"] = jsonable(_read_all(group.datasets["id"].data))
    for name in out["colnames"]:
        try:
            out["columns"][name] = dump_column_obj(_construct_column(manager, group, name))
        except Exception as exc:
            out["column_errors"][name] = error_text(exc)
    return out


def _dump_table_any(group: Any, manager: Any) -> dict[str, Any]:
    """Try the full table first; only if that fails go column by column."""
    try:
        table = manager.construct(group)
    except Exception as exc:
        out = dump_table_builder(group, manager)
        out["table_error"] = error_text(exc)
        return out
    return dump_table(table, manager)


def _dump_from_builders(doc: dict[str, Any], io: Any, table_filter: str | None) -> None:
    root = io.read_builder()
    doc["root"] = {"name": root.name, "class": None, "neurodata_type": root.attributes.get("data_type")}
    results, others = [], []
    for group in _iter_group_builders(root):
        kinds = _hierarchy(io.manager, group)
        if "ResultsTable" in kinds:
            results.append(group)
        elif "DynamicTable" in kinds:
            others.append(group)
    results = _filter(doc, results, table_filter)
    doc["results_tables"] = [_dump_table_any(g, io.manager) for g in results]
    doc["other_tables"] = [_dump_table_any(g, io.manager) for g in others]


def dump_file(path: str, reader: str, make_manager: ManagerFactory, table_filter: str | None = None) -> dict[str, Any]:
    """Open ``path`` with a manager from ``make_manager(path, io_cls)`` and describe it."""
    backend = backend_of(path)
    doc: dict[str, Any] = {
        "reader": reader,
        "path": path,
        "backend": backend,
        "versions": versions(),
        "hdmf_ai_module": None,
        "table_filter": table_filter,
        "open_error": None,
        "read_error": None,
        "cached_namespaces": None,
        "root": None,
        "results_tables": [],
        "other_tables": [],
        "table_error": None,
        "warnings": [],
    }
    try:
        doc["cached_namespaces"] = cached_namespaces(path, backend)
    except Exception as exc:
        doc["cached_namespaces"] = {"error": error_text(exc)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            cls = io_class(backend)
            with cls(path, mode="r", manager=make_manager(path, cls)) as io:
                _dump_open_file(doc, io, table_filter)
        except Exception as exc:
            doc["open_error"] = error_text(exc)
            traceback.print_exc(file=sys.stderr)
    doc["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    module = sys.modules.get("hdmf_ai")
    doc["hdmf_ai_module"] = getattr(module, "__file__", None) if module else None
    return doc


def parse_args(argv: list[str], usage: str) -> tuple[str, str | None]:
    """``PATH [--table NAME]`` -> (path, name)."""
    import argparse

    parser = argparse.ArgumentParser(description=usage)
    parser.add_argument("path")
    parser.add_argument("--table", default=None, help="only dump the ResultsTable with this name")
    args = parser.parse_args(argv[1:])
    return args.path, args.table


def emit(doc: dict[str, Any]) -> int:
    """Print the one JSON document on stdout; exit code 0 because JSON was printed."""
    sys.stdout.write(json.dumps(doc, indent=1) + "\n")
    sys.stdout.flush()
    return 0
