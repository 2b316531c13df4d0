"""Doctest set-up for README.md and the package's docstrings: a fresh directory as ``tmp_path``."""

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _doctest_tmp_path(doctest_namespace: dict[str, Any], tmp_path: Path) -> None:
    doctest_namespace["tmp_path"] = tmp_path
