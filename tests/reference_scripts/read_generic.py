"""Read an hdmf-ai file the way a third party without any hdmf-ai package would.

Usage: ``python read_generic.py PATH [--table NAME]`` (inside the reference venv).

No ``hdmf_ai`` import at all: the namespaces cached in the file are loaded into
``hdmf.common.get_manager()``'s type map, so hdmf generates the classes from the
file's own schema (hdmf >= 4 dropped ``HDF5IO(load_namespaces=True)``; the
classmethod ``IO.load_namespaces(type_map, path)`` is its replacement).  Output
format is identical to ``read_with_reference.py``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

os.environ.setdefault("PYNWB_NO_CACHE_DIR", "1")

import _dump
from hdmf.common import get_manager


def cached_spec_manager(path: str, io_cls: Any) -> Any:
    """A manager whose hdmf-ai classes are generated from the spec cached in ``path``."""
    manager = get_manager()
    io_cls.load_namespaces(manager.type_map, path=path)
    return manager


def main(argv: list[str]) -> int:
    path, table = _dump.parse_args(argv, __doc__ or "")
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the JSON only
        doc = _dump.dump_file(path, "generic", cached_spec_manager, table)
    if "hdmf_ai" in sys.modules:  # would invalidate the "generic" claim
        doc["open_error"] = doc["open_error"] or "hdmf_ai was imported by the generic reader"
    return _dump.emit(doc)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
