"""Exceptions and warnings raised by hdmf-ai.

Every error about a column names the column, what was expected and what was given, so that a user
who passes the wrong array finds the mistake from the message alone.
"""

from __future__ import annotations

__all__ = [
    "ColumnError",
    "DemoRoundTripError",
    "DiskSpaceError",
    "HdmfAiError",
    "InSampleError",
    "InSampleWarning",
    "IncompleteTableWarning",
    "MissingDependencyError",
    "ProbabilityWarning",
    "ResultsFileError",
    "SchemaVersionWarning",
    "StorageError",
    "UnknownFormatError",
]


class HdmfAiError(Exception):
    """Base class of every error hdmf-ai raises on purpose."""


class ColumnError(HdmfAiError, ValueError):
    """A column's data do not fit its type: wrong shape, dtype, values or length.

    Parameters
    ----------
    column
        The name of the column (or table attribute, or parameter) at fault.
    expected
        What the column needs, in words.
    given
        What was passed, in words.
    kind
        What ``column`` names, as the message says it: ``"column"``, or e.g. ``"parameter"`` for an argument
        (``n_samples``, ``batch``) that is not a column of the table.
    """

    def __init__(self, column: str, expected: str, given: str, *, kind: str = "column") -> None:
        self.column = column
        self.expected = expected
        self.given = given
        self.kind = kind
        super().__init__(f"{kind} '{column}': expected {expected}; got {given}")


class ResultsFileError(HdmfAiError, OSError):
    """A results file cannot be read: it is corrupt, truncated, or holds no ResultsTable."""

    def __init__(self, path: object, problem: str) -> None:
        self.path = path
        super().__init__(f"{path}: {problem}")


class DiskSpaceError(HdmfAiError, OSError):
    """Not enough room for a file about to be written (free space, or the process's file-size limit).

    Raised before HDF5 writes anything: HDF5 cannot recover from a write that runs out of space (it crashes the
    process as the file is closed; h5py issue 914), so the room is checked first, against the most the file can
    take (its data uncompressed).
    """

    def __init__(self, code: int, path: object, problem: str) -> None:
        super().__init__(code, f"{path}: {problem}")
        self.path = path


class StorageError(HdmfAiError, ValueError):
    """A storage setting that cannot be used: unknown preset, or a codec the backend lacks."""


class UnknownFormatError(HdmfAiError, ValueError):
    """A path whose format (HDF5 or Zarr) its suffix does not tell, and no backend was named."""

    def __init__(self, path: object, suffix: str, known: list[str]) -> None:
        self.path = path
        self.suffix = suffix
        self.known = known
        super().__init__(
            f"cannot tell the format of {str(path)!r} from its suffix {suffix!r}: use one of {known} "
            "or pass backend='hdf5' or backend='zarr'"
        )


class MissingDependencyError(HdmfAiError, ImportError):
    """An optional dependency is not installed; the message names the extra that brings it."""


class DemoRoundTripError(HdmfAiError, RuntimeError):
    """A table read back from a demo file differs from the table written."""


class ProbabilityWarning(UserWarning):
    """Probabilities whose rows do not sum to 1 (e.g. a model's raw scores stored by mistake)."""


class IncompleteTableWarning(UserWarning):
    """A table holds fewer complete rows than it was declared with.

    ``table``, ``complete`` and ``target`` (the declared rows, None when the table grows) say which and how far,
    for programs that report the state themselves (``hdmf-ai inspect`` and ``validate``).
    """

    def __init__(self, message: str = "", *, table: str = "", complete: int = 0, target: int | None = None) -> None:
        super().__init__(message)
        self.table, self.complete, self.target = table, complete, target


class SchemaVersionWarning(UserWarning):
    """A file was written with a newer version of the hdmf-ai schema than this library's; it is read with ours."""


class InSampleError(HdmfAiError, ValueError):
    """Probabilities a model made for rows it was trained on, where out-of-sample ones are needed."""


class InSampleWarning(UserWarning):
    """In-sample probabilities used anyway (``strict=False``): the label issues found are not to be trusted."""
