"""Progress bars for long reads and writes (tqdm, from the ``progress`` extra), or nothing."""

from __future__ import annotations

import sys
from typing import Any

from .errors import MissingDependencyError

__all__ = ["progress_bar"]


def progress_bar(*, total: int | None, desc: str, progress: bool | None, initial: int = 0, unit: str = "rows") -> Any:
    """A tqdm progress bar when ``progress`` is True, or when None and stderr is a terminal; else a no-op.

    tqdm comes with the ``progress`` extra; ``progress=True`` without it is an error naming the extra.
    """
    enabled = sys.stderr.isatty() if progress is None else progress
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            raise MissingDependencyError("progress bars need tqdm: pip install 'hdmf-ai[progress]'") from None
        return _NoBar()
    if not enabled:
        return _NoBar()
    return tqdm(total=total, desc=desc, initial=initial, unit=unit, unit_scale=True, dynamic_ncols=True)


class _NoBar:
    def update(self, n: int = 1) -> None:
        """Nothing to show."""

    def close(self) -> None:
        """Nothing to close."""
