"""Read a file holding a FeatureAttribution column with the *reference* package (hdmf-ai 0.2.0).

Usage: ``python read_attribution.py PATH COLUMN`` (inside the reference venv).

Two ways a user of the reference opens such a file: with its plain global manager (the reference's own
0.2.0 schema only), and after loading the namespaces cached in the file into a copy of the global type map
(``HDF5IO.load_namespaces(get_type_map(), path)``), which brings in ``hdmf-ai-extensions``, a namespace the
reference does not have. Prints one JSON document: for each way, the error (or None) and, when the table was
constructed, the column's class, values and attributes.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import Any

os.environ.setdefault("PYNWB_NO_CACHE_DIR", "1")

import hdmf_zarr
import numpy as np
from hdmf.backends.hdf5 import HDF5IO
from hdmf.build import BuildManager
from hdmf.common import get_manager, get_type_map

import hdmf_ai  # noqa: F401  (registers the reference's classes in hdmf's global type map)

ATTRIBUTES = ("method", "output", "feature_names", "base_values", "output_space")


def plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def read(path: str, column: str, manager: Any, *, cached: bool) -> dict[str, Any]:
    io_cls = hdmf_zarr.ZarrIO if path.endswith(".zarr") else HDF5IO
    try:
        if cached:
            type_map = get_type_map()
            io_cls.load_namespaces(type_map, path)
            manager = BuildManager(type_map)
        with io_cls(path, mode="r", manager=manager) as io:
            root = io.read()
            tables = [c for c in root.all_children() if getattr(c, "data_type", None) == "ResultsTable"]
            col = tables[0][column]
            return {
                "error": None,
                "class": type(col).__name__,
                "data_type": col.data_type,
                "namespace": col.namespace,
                "values": plain(np.asarray(col.data[:])),
                "attributes": {a: plain(getattr(col, a, None)) for a in ATTRIBUTES},
            }
    except Exception as err:  # the point: record what happens
        return {"error": f"{type(err).__name__}: {err}"}


def main(argv: list[str]) -> int:
    path, column = argv[1], argv[2]
    with contextlib.redirect_stdout(sys.stderr):
        doc = {
            "plain": read(path, column, get_manager(), cached=False),
            "cached": read(path, column, None, cached=True),
        }
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
