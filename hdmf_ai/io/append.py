"""Add rows or a column to a table in an existing file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .writer import ResultsWriter

__all__ = ["add_column", "append_rows"]


def append_rows(
    path: str | os.PathLike[str], *, table: str | None = None, progress: bool | None = False, **columns: Any
) -> Path:
    """Add rows to a ResultsTable of an existing file: one array per column, every column of the table.

    Example: ``hdmf_ai.append_rows("results.zarr", predicted_class=more_classes, predicted_probability=more_p)``.
    For many batches use ``ResultsWriter(path, mode="a")`` and call ``append`` per batch.
    """
    with ResultsWriter(path, mode="a", table=table, progress=progress) as writer:
        writer.append(**columns)
    return Path(path)


def add_column(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError
