"""``ResultsWriter``: write results larger than memory, batch by batch, crash-safe and resumable.

The writer buffers batches and flushes them over two parts: a :class:`~.plan.WritePlan` (the columns, their
checks and storage, and the file's skeleton, made through hdmf with the same ResultsTable, columns, links,
enum elements and metadata that :func:`hdmf_ai.write` would store) and the backend's :class:`~.backend.Sink`,
which fills row ranges with h5py or zarr directly and records the progress (:mod:`.incomplete`).

The progress attributes are removed when the writer closes normally, so a finished file is the same as one
written by :func:`hdmf_ai.write` (same values, same validation). A file that still has them was interrupted (or
is being written): :func:`hdmf_ai.open` and :func:`hdmf_ai.read` give its complete rows with an
:class:`~hdmf_ai.errors.IncompleteTableWarning`, and ``ResultsWriter(path, resume=True)`` continues it.
Crash safety comes from the backends: SWMR mode on HDF5, write-then-rename of every object on Zarr.

Example
-------
>>> import numpy as np, hdmf_ai
>>> with hdmf_ai.ResultsWriter(tmp_path / "big.zarr", columns={"predicted_probability": (3,)}) as w:
...     for start in range(0, 10, 4):
...         p = np.full((min(4, 10 - start), 3), 1 / 3, dtype=np.float32)
...         w.append(predicted_probability=p, predicted_class=np.zeros(len(p), dtype=int))
>>> hdmf_ai.read(tmp_path / "big.zarr").predicted_class.data.shape
(10,)
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
from hdmf.common import DynamicTable

from ..coercion import ColumnSpec
from ..errors import ColumnError, ResultsFileError
from ..progress import progress_bar
from . import digest, policy
from .backend import Sink
from .files import check_replaceable, check_room, move_into_place, out_of_room_typed, remove
from .incomplete import describe_table
from .plan import WritePlan, batch_length
from .registry import backend_for

__all__ = ["ColumnSpec", "ResultsWriter", "side_path"]


class ResultsWriter:
    """Write a ResultsTable batch by batch, with bounded memory, to HDF5 or Zarr.

    Parameters
    ----------
    path
        The file to write (``.h5``/``.hdf5`` or ``.zarr``, or ``backend=``).
    n_samples
        The total number of rows, when known: the columns are allocated once and ``close`` checks that all came.
        Unknown (None): the columns grow as batches come and are trimmed on close.
    columns
        Column declarations by name (see :class:`~hdmf_ai.coercion.ColumnSpec`); undeclared properties come
        from the first batch. Every batch must hold exactly the declared columns (with no declarations: the
        first batch's).
    metadata
        The ResultsTable's ``name``, ``description``, ``source_code``, ``parameters``, ``model_description``
        and ``pre_trained_model``, as for :class:`~hdmf_ai.ResultsTable`.
    source
        The source data table that the ``samples`` column indexes; it is written into the file.
    preset, storage
        The storage preset and per-column overrides, as for :func:`hdmf_ai.write`.
    backend
        ``"hdf5"`` or ``"zarr"``, when the suffix does not tell.
    mode
        ``"w"``: a new file (``overwrite=True`` replaces an existing one). ``"a"``: add rows to the table of an
        existing, complete file (``table=`` picks it when there are several).
    resume
        Continue a file whose writer was interrupted, from its first missing row (see :attr:`rows_written`);
        also a replacement that ``overwrite=True`` left unfinished beside the old file.
    overwrite
        Replace an existing file. The new file is written beside it (``.<name>.writing``, see
        ``hdmf_ai.io.writer.side_path``) and replaces it only when :meth:`close` completes: an interrupted run
        leaves the old file as it was, and ``resume=True`` continues the new one.
    durable
        True (default): every batch is on disk and counted when :meth:`append` returns, so a crash loses at
        most the batch in flight. False: rows are written in whole chunks (shards on Zarr) only, each chunk once;
        faster on Zarr, and a crash loses up to a chunk of rows per column.
    progress
        Show a progress bar: default when attached to a terminal; True/False force it on or off.

    Example
    -------
    ``with ResultsWriter("out.h5", n_samples=len(ds), columns={"predicted_probability": (10,)}) as w:``
    ``for x in loader: w.append(predicted_probability=model(x), predicted_class=...)``
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        n_samples: int | None = None,
        columns: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
        source: DynamicTable | None = None,
        preset: str | policy.Preset = policy.DEFAULT_PRESET,
        storage: Mapping[str, policy.Setting] | None = None,
        backend: str | None = None,
        mode: str = "w",
        resume: bool = False,
        overwrite: bool = False,
        table: str | None = None,
        durable: bool = True,
        progress: bool | None = None,
    ) -> None:
        self.path = Path(path)
        # with overwrite, the new file is written beside the old one and replaces it when closed (see side_path)
        self.destination: Path | None = None
        if mode not in ("w", "a"):
            raise ValueError(f"mode: expected 'w' (a new file) or 'a' (add rows); got {mode!r}")
        if n_samples is not None and n_samples < 0:
            raise ColumnError("n_samples", "a row count >= 0, or None when unknown", str(n_samples), kind="parameter")
        side = side_path(self.path)
        replacing = mode == "w" and not resume and overwrite and self.path.exists()
        if replacing or (resume and (side.exists() or side.is_symlink())):
            check_replaceable(self.path)  # overwrite replaces results files only
            if replacing:
                check_replaceable(side)
                remove(side)  # an earlier interrupted replacement is given up: this run starts anew
            self.destination, self.path = self.path, side
        self.plan = WritePlan.declared(
            self.path, backend_for(self.destination or self.path, backend), columns=columns, metadata=metadata,
            source=source, n_samples=n_samples, preset=preset, storage=storage,
        )  # fmt: skip
        self._durable, self._progress_choice = durable, progress
        self._sink: Sink | None = None
        self._written: dict[str, int] = {}  # rows on disk, per dataset
        self._pending: dict[str, list[np.ndarray]] = {}  # rows buffered, per dataset
        self._digests: dict[str, digest.Streaming] = {}  # content digests of the rows written, per dataset
        self._appended = 0
        self._recorded = 0
        self._closed = False
        self._bar: Any = None
        if resume or mode == "a":
            self._reopen(table, resume=resume)
        elif self.path.exists() and not overwrite:
            raise FileExistsError(f"{self.path} exists; pass overwrite=True to replace it, or mode='a' to add rows")
        else:
            check_replaceable(self.path)

    # -- public --------------------------------------------------------------------------------------------

    @property
    def rows_written(self) -> int:
        """Rows appended so far (after ``resume``: the rows the file already had); the next batch starts here."""
        return self._appended

    @property
    def rows_complete(self) -> int:
        """Rows on disk in every column and recorded as complete in the file."""
        return self._recorded

    def append(self, **columns: Any) -> None:
        """Add one batch of rows: one array per column, all of the same length (any length, 0 included)."""
        if self._closed:
            raise ValueError(f"the writer of {self.path} is closed")
        if not columns:
            raise ColumnError("batch", "one array per column", "no columns", kind="argument")
        self.plan.check_names(columns, started=self._sink is not None)
        bar = self._progress()  # made before the count moves: it starts at the rows already written
        if self._sink is None:
            batch = self.plan.settle(columns)
            self._start()
        else:
            batch = {name: self.plan.fit(name, values) for name, values in columns.items()}
        n = batch_length(batch)
        target = self.plan.n_samples
        if target is not None and self._appended + n > target:
            raise ColumnError(
                "batch", f"at most {target} rows in all (n_samples)", f"{self._appended + n} rows", kind="argument"
            )
        batch["id"] = np.arange(self._appended, self._appended + n, dtype=np.int64)
        for name, arr in batch.items():
            self._pending[name].append(self.plan.stored(name, arr))
        self._ensure_capacity(self._appended + n)
        self._appended += n
        self._flush(final=False)
        bar.update(n)

    def close(self) -> Path:
        """Write what is buffered, trim unused rows, and finish the file: complete, valid, without progress marks."""
        if self._closed:
            return self.path
        if self._sink is None:
            self._start_empty()
        assert self._sink is not None
        target = self.plan.n_samples
        if target is not None and self._appended != target:
            self._stop()
            raise ColumnError(
                "n_samples", f"{target} rows, as declared", f"{self._appended} rows; the file is incomplete "
                "and ResultsWriter(path, resume=True) continues it", kind="parameter"
            )  # fmt: skip
        self._flush(final=True)
        if self._sink.capacity() != self._appended:
            self._sink.resize(self._appended)
        self._sink.commit(self._appended)
        self._sink.finish(self.plan.final_attributes(self._sink))
        # content digests (io/digest.py): the streamed columns' from their rows, the rest read from the file
        table = self.plan.table.strip("/")
        known = {f"{table}/{name}": stream.attributes() for name, stream in self._digests.items()}
        digest.record(self.path, self.plan.backend, known)
        if self.destination is not None:  # the new file is complete: now it replaces the old one
            move_into_place(self.path, self.destination)
            self.path, self.destination = self.destination, None
        self._closed = True
        self._progress().close()
        return self.path

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self._stop()

    # -- batches ---------------------------------------------------------------------------------------------

    def _start_empty(self) -> None:
        """close() before any batch: write the declared columns with no rows."""
        empty = {}
        for name, spec in self.plan.specs.items():
            empty[name] = np.empty((0, *(spec.row_shape or ())), dtype=spec.dtype or np.float64)
        if empty:
            self.append(**empty)
        else:
            self._start()

    # -- the file ----------------------------------------------------------------------------------------------

    def _start(self) -> None:
        """Write the skeleton (through hdmf, to a temporary sibling moved into place), then open it for rows."""
        self.plan.create()
        self._open_sink()

    def _open_sink(self) -> None:
        if self._appended:  # content digests (io/digest.py): those of the old rows go before rows are added
            digest.clear(self.path, self.plan.backend, self.plan.table)
        self._sink = self.plan.open_sink(self._appended)
        self._digests = digest.streams(self._sink.datasets, self._appended)  # fed the rows in the file
        names = list(self._sink.datasets)
        self._written = dict.fromkeys(names, self._appended)
        self._pending = {name: [] for name in names}
        self._recorded = self._appended

    def _ensure_capacity(self, needed: int) -> None:
        assert self._sink is not None
        capacity = self._sink.capacity()
        if needed <= capacity:
            return
        if self.plan.n_samples is not None:
            self._sink.resize(self.plan.n_samples)
            return
        # doubling keeps resizes (and, on Zarr, metadata rewrites) to a few; close() trims what is unused
        unit = max(self._sink.unit(name) for name in self._sink.datasets)
        rows = max(needed, 2 * capacity, unit)
        self._sink.resize(math.ceil(rows / unit) * unit)

    def _flush(self, *, final: bool) -> None:
        assert self._sink is not None
        if self.plan.backend.room_checked:  # HDF5 cannot survive a write that runs out of space: ask first
            pending = sum(part.nbytes for parts in self._pending.values() for part in parts)
            check_room(self.path, pending + 2**20, grows=True)
        for name, parts in self._pending.items():
            if not parts:
                continue
            data = parts[0] if len(parts) == 1 else np.concatenate(parts)
            start = self._written[name]
            end = start + len(data)
            unit = self._sink.unit(name)
            stop = end if (self._durable or final) else max(start, (end // unit) * unit)
            if stop > start:
                with out_of_room_typed(self.destination or self.path, self._kept()):
                    self._sink.write(name, start, data[: stop - start])
                if name in self._digests:  # content digests (io/digest.py): rows in order, as written
                    self._digests[name].update(data[: stop - start])
                self._written[name] = stop
            self._pending[name] = [data[stop - start :]] if stop < end else []
        complete = min(self._written.values())
        if complete > self._recorded or final:
            self._sink.commit(complete)
            self._recorded = complete

    def _kept(self) -> str:
        """What a run stopped midway leaves, for its error message."""
        where = f" in {self.path}, beside the old file (which is as it was)" if self.destination else ""
        return f"the rows written before are kept{where}: ResultsWriter(..., resume=True) continues the run"

    def _stop(self) -> None:
        """Leave the file resumable: what was appended is written and counted; the progress marks stay."""
        if self._closed:
            return
        self._closed = True
        if self._sink is not None:
            with contextlib.suppress(Exception):  # the original error matters more than a second one
                self._flush(final=True)
            self._sink.close()
        self._progress().close()

    def _progress(self) -> Any:
        if self._bar is None:
            self._bar = progress_bar(
                total=self.plan.n_samples, desc=f"writing {self.path.name}", progress=self._progress_choice,
                initial=self._appended,
            )  # fmt: skip
        return self._bar

    # -- resume and append ---------------------------------------------------------------------------------

    def _reopen(self, table: str | None, *, resume: bool) -> None:
        if not self.path.exists():
            raise FileNotFoundError(f"no results file at {self.path} to {'resume' if resume else 'add rows to'}")
        found = describe_table(self.plan.backend, self.path, table)
        interrupted = found.complete is not None
        if resume and not interrupted:
            raise ResultsFileError(self.path, f"table '{found.name}' is complete; add rows with mode='a'")
        if not resume and interrupted:
            raise ResultsFileError(self.path, f"table '{found.name}' was interrupted; continue it with resume=True")
        self.plan.adopt(found)
        self._appended = found.complete if found.complete is not None else found.rows
        target = self.plan.n_samples
        if resume:
            if target is not None and target != found.target:
                raise ColumnError(
                    "n_samples", f"{found.target}, as the interrupted run declared", str(target), kind="parameter"
                )
            self.plan.n_samples = found.target
        elif target is not None:
            self.plan.n_samples = target + self._appended  # n_samples counts the rows added
        self._open_sink()


def side_path(path: Path) -> Path:
    """Where ``ResultsWriter(path, overwrite=True)`` writes while the old file at ``path`` stays in place."""
    return path.with_name(f".{path.name}.writing")
