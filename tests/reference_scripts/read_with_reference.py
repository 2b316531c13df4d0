"""Read a file written by another hdmf-ai implementation with the *reference* package.

Usage: ``python read_with_reference.py PATH [--table NAME]`` (inside the reference venv).

Answers "can hdmf-ai 0.2.0 users open our files?": the reference's classes are
registered by importing ``hdmf_ai`` and the file is read with the global
``hdmf.common.get_manager()``, i.e. with the reference's own 0.2.0 schema, not the
one cached in the file.  Prints one JSON document (see ``_dump.py``) on stdout and
exits 0 whenever it did; per-column problems are recorded, not raised.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any

os.environ.setdefault("PYNWB_NO_CACHE_DIR", "1")

import _dump
import hdmf_zarr  # noqa: F401  (import pynwb before hdmf_ai registers classes)
from hdmf.common import get_manager

import hdmf_ai  # noqa: F401  (registers the reference ResultsTable & column classes)


def reference_manager(path: str, io_cls: Any) -> Any:
    """The reference's global type map: classes and schema come from hdmf_ai 0.2.0."""
    return get_manager()


def main(argv: list[str]) -> int:
    path, table = _dump.parse_args(argv, __doc__ or "")
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the JSON only
        doc = _dump.dump_file(path, "reference", reference_manager, table)
    return _dump.emit(doc)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
