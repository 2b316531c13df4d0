"""An optional dependency missing where it is needed is a MissingDependencyError naming the extra that brings it,
not a ModuleNotFoundError from deep inside; tested by hiding the installed module (``sys.modules[name] = None``
makes ``import name`` fail as if it were not installed). The URLs are never fetched: the check comes first."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest

import hdmf_ai
from hdmf_ai.errors import MissingDependencyError

EXTRA = "pip install 'hdmf-ai[remote]'"
ANON = {"anon": True}  # no credential lookup: the case is about the missing package, not boto's chain


def hide(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    """Make ``package`` and its submodules unimportable for the rest of the test."""
    pytest.importorskip(package, reason=f"{package} must be installed to be hidden")
    for name in [n for n in sys.modules if n == package or n.startswith(f"{package}.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, package, None)


Call = Callable[[], Any]

CASES: list[tuple[str, str, Call]] = [
    ("requests", "an HDF5 file over https", lambda: hdmf_ai.read("https://example.invalid/results.h5")),
    ("remfile", "an HDF5 file over https", lambda: hdmf_ai.read("https://example.invalid/results.h5")),
    ("botocore", "an HDF5 file on S3", lambda: hdmf_ai.list_tables("s3://bucket/results.h5")),
    (
        "botocore",
        "an HDF5 file on S3, anonymously",
        lambda: hdmf_ai.read("s3://bucket/results.h5", storage_options=ANON),
    ),
    ("fsspec", "a Zarr store over https", lambda: hdmf_ai.list_tables("https://example.invalid/results.zarr")),
    ("aiohttp", "a Zarr store over https", lambda: hdmf_ai.read("https://example.invalid/results.zarr")),
    (
        "s3fs",
        "a Zarr store on S3",
        lambda: hdmf_ai.list_tables("s3://bucket/results.zarr", storage_options=ANON),
    ),
]


@pytest.mark.parametrize(("package", "what", "call"), CASES, ids=[f"{p}: {w}" for p, w, _ in CASES])
def test_a_missing_remote_package_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, package: str, what: str, call: Call
) -> None:
    hide(monkeypatch, package)
    with pytest.raises(MissingDependencyError) as caught:
        call()
    message = str(caught.value)
    assert EXTRA in message, message
    assert package in message, message
    assert isinstance(caught.value, ImportError), "existing `except ImportError` still catches it"
