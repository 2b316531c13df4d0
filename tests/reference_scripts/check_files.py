"""Check many files against the *reference* hdmf-ai 0.2.0 in one run: its schema, its reader, a generic reader.

Usage: ``python check_files.py FILE...`` (inside the reference venv).

For every file, three independent checks, each recorded rather than raised:

``validation``
    hdmf's validator with the ``hdmf-ai`` namespace exactly as the reference package loads it into
    hdmf's global type map on import (version 0.2.0), never the spec cached in the file. Plain files
    are validated from the root. In an NWB file the root is an NWB type the reference's namespace does not
    know, so only the ResultsTable groups are validated, against a namespace that includes pynwb's
    ``core`` and the reference's ``hdmf-ai`` (so that ``samples`` may point at NWB's Units).
``reference``
    The file read with the reference's classes (``read_with_reference.py``'s manager; for NWB files,
    pynwb's type map merged with hdmf's global one, where the reference registered its namespace and
    classes), dumped by ``_dump.py``.
``generic``
    The file read by a process that never imports ``hdmf_ai``: the namespaces cached in the file are
    loaded into a fresh type map (``read_generic.py``'s manager, pynwb's for NWB files). This runs in a
    child process (``--generic``), since this one imports the reference package.

``hdf5plugin`` is imported first when installed: files written with Blosc or Zstd filters need it in any
HDF5 reader; ``hdf5plugin`` in the output says whether it was there.

Prints one JSON document on stdout: ``{"versions", "hdf5plugin", "reference_module", "files": {path:
{"nwb", "validation", "reference", "generic"}}}``; exits 0 whenever it did.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("PYNWB_NO_CACHE_DIR", "1")

import _dump

try:
    import hdf5plugin  # noqa: F401  (registers the Blosc/Zstd/LZ4 HDF5 filters with h5py)

    HDF5PLUGIN = True
except ImportError:
    HDF5PLUGIN = False

NAMESPACE = "hdmf-ai"
#: a namespace of no types that includes NWB core and the reference's hdmf-ai, written to a temporary file
JOINED_NAMESPACE = "check-files-nwb"
JOINED_YAML = f"""namespaces:
- name: {JOINED_NAMESPACE}
  version: 0.0.0
  doc: NWB core and the reference hdmf-ai namespace together, to validate ResultsTables inside NWB files.
  author: [check_files.py]
  contact: [none]
  schema:
  - namespace: core
  - namespace: {NAMESPACE}
"""


def is_nwb(path: str, backend: str) -> bool:
    """Whether the root group says it is an NWB ``core`` type (read with the storage library only)."""
    if backend == "zarr":
        import zarr

        attrs = dict(zarr.open_group(path, mode="r").attrs)
    else:
        import h5py

        with h5py.File(path, "r") as f:
            attrs = dict(f.attrs)
    namespace = attrs.get("namespace")
    return (namespace.decode() if isinstance(namespace, bytes) else namespace) == "core"


def nwb_io_class(backend: str) -> type:
    if backend == "zarr":
        from hdmf_zarr.nwb import NWBZarrIO

        return NWBZarrIO
    from pynwb import NWBHDF5IO

    return NWBHDF5IO


# --------------------------------------------------------------------------- generic (child process)


def generic_manager(nwb: bool) -> _dump.ManagerFactory:
    def make(path: str, io_cls: Any) -> Any:
        from hdmf.build import BuildManager

        if nwb:
            import pynwb

            type_map = pynwb.get_type_map()  # a copy: core and hdmf-common, no hdmf-ai
        else:
            from hdmf.common import get_type_map

            type_map = get_type_map()  # a copy of hdmf-common's
        io_cls.load_namespaces(type_map, path=path)
        return BuildManager(type_map)

    return make


def run_generic(paths: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in paths:
        backend = _dump.backend_of(path)
        nwb = is_nwb(path, backend)
        doc = _dump.dump_file(path, "generic", generic_manager(nwb))
        if "hdmf_ai" in sys.modules:  # would invalidate the "generic" claim
            doc["open_error"] = doc["open_error"] or "hdmf_ai was imported by the generic reader"
        out[path] = doc
    return out


def generic_in_child(paths: list[str]) -> dict[str, Any]:
    """The generic checks, in a fresh interpreter of this venv that never imports hdmf_ai."""
    proc = subprocess.run(
        [sys.executable, "-E", "-s", __file__, "--generic", *paths],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if proc.returncode != 0:
        error = f"generic reader exited {proc.returncode}: {proc.stderr[-3000:]}"
        return {path: {"open_error": error} for path in paths}
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


# --------------------------------------------------------------------------- reference


def reference_type_map(nwb: bool) -> Any:
    """hdmf's global type map (the reference's namespace and classes), with pynwb's merged in for NWB."""
    from hdmf.common import get_type_map

    if not nwb:
        return get_type_map()
    import pynwb

    reference = get_type_map()
    type_map = pynwb.get_type_map()  # core, hdmf-common and hdmf-experimental: only hdmf-ai is missing
    type_map.namespace_catalog.add_namespace(NAMESPACE, reference.namespace_catalog.get_namespace(NAMESPACE))
    type_map.merge(reference)  # the reference's classes and mappers
    return type_map


def joined_namespace(type_map: Any) -> Any:
    if JOINED_NAMESPACE not in type_map.namespace_catalog.namespaces:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{JOINED_NAMESPACE}.namespace.yaml"
            path.write_text(JOINED_YAML)
            type_map.load_namespaces(str(path))
    return type_map.namespace_catalog.get_namespace(JOINED_NAMESPACE)


def results_builders(builder: Any, type_map: Any) -> list[Any]:
    """Every group under ``builder`` whose type is the reference's ResultsTable."""
    found = []
    if type_map.get_builder_dt(builder) == "ResultsTable" and type_map.get_builder_ns(builder) == NAMESPACE:
        found.append(builder)  # (the type attribute is 'neurodata_type' in NWB files, 'data_type' elsewhere)
    for child in builder.groups.values():
        found.extend(results_builders(child, type_map))
    return found


def validate(path: str, backend: str, nwb: bool) -> dict[str, Any]:
    from hdmf.build import BuildManager
    from hdmf.validate import ValidatorMap

    out: dict[str, Any] = {"namespace_version": None, "validated": None, "problems": None, "error": None}
    try:
        type_map = reference_type_map(nwb)
        spec = type_map.namespace_catalog.get_namespace(NAMESPACE)
        out["namespace_version"] = spec.get("version")
        validator = ValidatorMap(joined_namespace(type_map) if nwb else spec)
        with _dump.io_class(backend)(path, mode="r", manager=BuildManager(type_map)) as io:
            root = io.read_builder()
            parts = results_builders(root, type_map) if nwb else [root]
            out["validated"] = [part.name for part in parts]
            out["problems"] = [str(problem) for part in parts for problem in validator.validate(part)]
        # the file's own cached spec must not have replaced the reference's
        out["namespace_version_after"] = type_map.namespace_catalog.get_namespace(NAMESPACE).get("version")
    except Exception as exc:
        out["error"] = _dump.error_text(exc)
        traceback.print_exc(file=sys.stderr)
    return out


def reference_manager(nwb: bool) -> _dump.ManagerFactory:
    def make(path: str, io_cls: Any) -> Any:
        from hdmf.build import BuildManager

        return BuildManager(reference_type_map(nwb))

    return make


def check(path: str) -> dict[str, Any]:
    backend = _dump.backend_of(path)
    nwb = is_nwb(path, backend)
    return {
        "backend": backend,
        "nwb": nwb,
        "validation": validate(path, backend, nwb),
        "reference": _dump.dump_file(path, "reference", reference_manager(nwb)),
    }


def installed(distribution: str) -> str | None:
    import importlib.metadata as md

    try:
        return md.version(distribution)
    except md.PackageNotFoundError:
        return None


def main(argv: list[str]) -> int:
    args = argv[1:]
    if args[:1] == ["--generic"]:
        with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the JSON only
            doc = run_generic(args[1:])
        sys.stdout.write(json.dumps(doc) + "\n")
        return 0
    generic = generic_in_child(args)
    with contextlib.redirect_stdout(sys.stderr):
        import hdmf_zarr  # noqa: F401  (imports pynwb before hdmf_ai registers classes)

        import hdmf_ai  # the reference: loads its namespace into hdmf's global type map, registers classes

        files = {}
        for path in args:
            files[path] = check(path)
            files[path]["generic"] = generic.get(path)
    doc = {
        "versions": _dump.versions() | {name: installed(name) for name in ("pynwb", "hdf5plugin")},
        "hdf5plugin": HDF5PLUGIN,
        "reference_module": hdmf_ai.__file__,
        "files": files,
    }
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
