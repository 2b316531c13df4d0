"""``write``: tables to a new HDF5 file or Zarr store, with the storage policy's chunks and codecs.

Every file holds a root ``SimpleMultiContainer`` named ``root`` (:mod:`.build`) with the results tables and
the source tables their ``samples`` point at, so table names survive the round trip. The file is written to
a temporary sibling and moved into place when complete (:mod:`.files`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from hdmf.common import DynamicTable

from ..typemap import get_type_map
from . import digest, policy
from .append import add_tables
from .build import ExportingManager, root_container, size_bound
from .files import check_replaceable, check_room, move_into_place, temporary_sibling
from .registry import backend_for

__all__ = ["write"]


def write(
    tables: DynamicTable | Sequence[DynamicTable],
    path: str | os.PathLike[str],
    *,
    backend: str | None = None,
    overwrite: bool = False,
    mode: str = "w",
    preset: str | policy.Preset = policy.DEFAULT_PRESET,
    storage: Mapping[str, policy.Setting] | None = None,
) -> Path:
    """Write one or more tables to an HDF5 (``.h5``, ``.hdf5``, ``.nwb``) or Zarr (``.zarr``) file.

    The source tables that ``samples`` columns point at are written too, whether listed or not. The file
    is written to a temporary sibling and moved into place only when complete, so a failed write leaves
    any existing file untouched and no partial file behind.

    Parameters
    ----------
    tables
        A ResultsTable, or a list of tables (results and source tables) to store in one file.
    path
        Where to write; the suffix picks the format unless ``backend`` is given.
    backend
        ``"hdf5"`` or ``"zarr"``.
    overwrite
        Replace an existing file at ``path``; without it an existing path is an error.
    mode
        ``"w"`` (default): a new file. ``"a"``: add the tables to the file at ``path`` (created if missing),
        reusing the tables it holds already that the new ones point at; the file is replaced only when the
        addition is complete, so a failure leaves it as it was (``hdmf_ai.io.append.add_tables``).
    preset
        The storage preset (see :mod:`hdmf_ai.io.policy`): ``"portable"`` (default; gzip on HDF5),
        ``"fast"`` (Blosc-LZ4; HDF5 readers need ``hdf5plugin``), ``"compact"``, ``"compact-lossy"``
        or ``"uncompressed"``.
    storage
        Per-column overrides of the preset, by column name, e.g.
        ``{"predicted_probability": policy.lossy(quantize_bits=16)}``.

    Returns
    -------
    Path
        The path written.
    """
    target = Path(path)
    chosen = backend_for(target, backend)
    if mode not in ("w", "a"):
        raise ValueError(f"mode: 'w' (a new file) or 'a' (add to the file), not {mode!r}")
    if mode == "a" and overwrite:
        raise ValueError("mode='a' adds to the file at path: overwrite=True does not go with it")
    if mode == "a" and target.exists():
        return add_tables(tables, target, backend=chosen.name, preset=preset, storage=storage)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    check_replaceable(target)  # before any work: overwrite replaces results files only
    root = root_container([tables] if isinstance(tables, DynamicTable) else list(tables))
    planned = policy.plan(root, backend=chosen.name, preset=preset, storage=storage)
    with temporary_sibling(target) as tmp:  # first: a destination that cannot take a file is named as such
        if chosen.room_checked:
            check_room(target, size_bound(root, planned))
        with policy.applied(planned, chosen), chosen.open_io(tmp, "w", ExportingManager(get_type_map())) as io:
            chosen.write(io, root)
            values = digest.planned_values(planned)  # content digests (io/digest.py): of the arrays written
        lossy = policy.lossy_attributes(planned)
        lossy_attrs = {path: {policy.LOSSY_ATTRIBUTE: text} for path, text in lossy.items()}
        digest.record(tmp, chosen, values, extra=lossy_attrs)  # + digests of text/elements, read from tmp
        move_into_place(tmp, target, replace=overwrite)
    return target
