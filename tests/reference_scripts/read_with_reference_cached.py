"""Read a file with the *reference* package, loading the specifications cached in the file first.

Usage: ``python read_with_reference_cached.py PATH [--table NAME]`` (inside the reference venv).

What a reference 0.2.0 user does to see types newer than their package: import the reference (which registers
``hdmf-ai`` 0.2.0 in hdmf's global type map), copy that map, load the file's cached namespaces into the copy
(hdmf keeps the reference's ``hdmf-ai`` 0.2.0 and adds namespaces it does not have, e.g.
``hdmf-ai-extensions``), and read with it. Prints one JSON document (see ``_dump.py``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

os.environ.setdefault("PYNWB_NO_CACHE_DIR", "1")

import _dump
import hdmf_zarr  # noqa: F401  (import pynwb before hdmf_ai registers classes)
from hdmf.build import BuildManager
from hdmf.common import get_type_map

import hdmf_ai  # noqa: F401  (registers the reference ResultsTable & column classes)


def cached_manager(path: str, io_cls: Any) -> Any:
    """The reference's global type map, plus the namespaces cached in the file that it lacks."""
    type_map = get_type_map()
    io_cls.load_namespaces(type_map, path)
    return BuildManager(type_map)


def main(argv: list[str]) -> int:
    path, table = _dump.parse_args(argv, __doc__ or "")
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the JSON only
        doc = _dump.dump_file(path, "reference-cached", cached_manager, table)
    return _dump.emit(doc)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
