"""Semantic damage: one field of a good file edited with plain h5py or zarr so that it breaks a rule the writer
enforces (every checksum stays consistent: the bytes are well formed, the values are not).

Each edit comes in two variants: ``~digests`` keeps the file's content digests (``hdmf_ai_digest``) as they
were, so a changed value must be caught by its digest (or a rule); ``~bare`` removes every digest attribute, as
in a file from another writer, so the read-side rules (``hdmf_ai.invariants``) alone must catch it. An edit that
does not apply to a file (the batched writer's files hold no ragged column) makes no variant of it.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import zarr

from .core import Family, damaged_copy

__all__ = ["FAMILIES", "Edit"]

#: each digest attribute -> the name it is renamed to: no reader knows it, and its length is the same, so that
#: the sizes ``inspect`` shows (a Zarr array's size counts its ``zarr.json``) stay those of the pristine file
DIGESTS = {
    "hdmf_ai_digest": "other_writer_x",
    "hdmf_ai_digest_blocks": "other_writer_blocks_x",
    "hdmf_ai_text_digest": "other_writer_text_x",
}
TABLE = "results"


class Edit:
    """Edits of a file or store of either format, by the path of an object inside it (``results/cv_split``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.hdf5 = not path.is_dir()

    def exists(self, name: str) -> bool:
        if self.hdf5:
            with h5py.File(self.path, "r") as f:
                return name in f
        return (self.path / name / "zarr.json").is_file()

    def rows(self, name: str) -> int:
        if self.hdf5:
            with h5py.File(self.path, "r") as f:
                return len(f[name])
        return int(zarr.open_array(str(self.path), path=name, mode="r").shape[0])

    def values(self, name: str, change: Callable[[np.ndarray], np.ndarray]) -> None:
        """Replace a dataset's values (same shape and dtype) by ``change(values)``."""
        if self.hdf5:
            with h5py.File(self.path, "r+") as f:
                node = f[name]
                node[...] = change(node[...])
            return
        array = zarr.open_array(str(self.path), path=name, mode="r+")
        array[...] = change(array[...])

    def resize(self, name: str, rows: int) -> None:
        """Give a dataset ``rows`` rows (the values kept where they fit; new rows hold the last value)."""
        if self.hdf5:
            with h5py.File(self.path, "r+") as f:
                old = f[name]
                values, attrs, dtype = old[...], dict(old.attrs), old.dtype
                pointing = _references_to(f, name)
                del f[name]
                new = np.concatenate([values, np.repeat(values[-1:], max(0, rows - len(values)), axis=0)])[:rows]
                node = f.create_dataset(name, data=new, dtype=dtype)
                node.attrs.update(attrs)
                for holder, key in pointing:  # the references to the old dataset, to the new one
                    f[holder].attrs[key] = node.ref
            return
        array = zarr.open_array(str(self.path), path=name, mode="r+")
        values = array[...]
        array.resize((rows, *values.shape[1:]))
        if rows > len(values):
            array[len(values) :] = np.repeat(values[-1:], rows - len(values), axis=0)
        self._consolidate()

    def attrs(self, name: str, **changes: Any) -> None:
        """Set attributes of an object (a value of None deletes the attribute)."""
        if self.hdf5:
            with h5py.File(self.path, "r+") as f:
                for key, value in changes.items():
                    self._set_h5(f, f[name].attrs, key, value)
            return
        node = zarr.open(str(self.path), path=name, mode="r+", use_consolidated=False)
        for key, value in changes.items():
            if value is None:
                node.attrs.pop(key, None)
            elif isinstance(value, Ref):
                node.attrs[key] = {"_REFERENCE": {"source": ".", "path": "/" + value.target}}
            else:
                node.attrs[key] = value.tolist() if isinstance(value, np.ndarray) else value
        self._consolidate()

    @staticmethod
    def _set_h5(f: h5py.File, attrs: Any, key: str, value: Any) -> None:
        if value is None:
            if key in attrs:
                del attrs[key]
        elif isinstance(value, Ref):
            attrs[key] = f[value.target].ref
        elif isinstance(value, list) and value and isinstance(value[0], str):
            attrs.create(key, np.array(value, dtype=object), dtype=h5py.string_dtype())
        else:
            attrs[key] = value

    def strip_digests(self) -> None:
        """Remove every content digest, as in a file written by another writer (see :data:`DIGESTS`)."""
        if self.hdf5:
            with h5py.File(self.path, "r+") as f:

                def visit(_: str, obj: Any) -> None:
                    for key, other in DIGESTS.items():
                        if key in obj.attrs:
                            obj.attrs[other] = obj.attrs[key]
                            del obj.attrs[key]

                f.visititems(visit)
            return
        root = zarr.open_group(str(self.path), mode="r+", use_consolidated=False)
        for _, node in root.members(max_depth=None):
            attrs = node.attrs.asdict()
            if any(key in attrs for key in DIGESTS):
                node.attrs.put({DIGESTS.get(key, key): value for key, value in attrs.items()})
        self._consolidate()

    def _consolidate(self) -> None:
        with warnings.catch_warnings():  # "Consolidated metadata is currently not part in the Zarr format 3 ..."
            warnings.simplefilter("ignore", UserWarning)
            zarr.consolidate_metadata(str(self.path))


def _references_to(f: h5py.File, name: str) -> list[tuple[str, str]]:
    """(object, attribute) of every attribute of the file that is a reference to the object ``name``."""
    target = f[name]
    found: list[tuple[str, str]] = []

    def visit(path: str, obj: Any) -> None:
        for key, value in obj.attrs.items():
            if isinstance(value, h5py.Reference) and value and f[value] == target:
                found.append((path, key))

    f.visititems(visit)
    return found


class Ref:
    """An object reference to ``target`` (a path inside the file), as an attribute's value."""

    def __init__(self, target: str) -> None:
        self.target = target


#: an edit: changes a copy of the file; returns False where it does not apply (the object is not in the file)
Change = Callable[[Edit], bool]


def at(name: str, index: Any, value: Any) -> Change:
    """Set one value of a dataset of the results table."""

    def change(edit: Edit) -> bool:
        if not edit.exists(f"{TABLE}/{name}"):
            return False

        def put(values: np.ndarray) -> np.ndarray:
            values = values.copy()
            values[index] = value
            return values

        edit.values(f"{TABLE}/{name}", put)
        return True

    return change


def transform(name: str, how: Callable[[np.ndarray], np.ndarray]) -> Change:
    """Replace the values of the dataset ``name`` by ``how(values)``."""

    def change(edit: Edit) -> bool:
        if not edit.exists(name):
            return False
        edit.values(name, how)
        return True

    return change


def attribute(name: str, **changes: Any) -> Change:
    """Set (or, with None, delete) attributes of the object ``name``."""

    def change(edit: Edit) -> bool:
        if not edit.exists(name):
            return False
        edit.attrs(name, **changes)
        return True

    return change


def resized(name: str, rows: Callable[[int], int]) -> Change:
    """Give the dataset ``name`` ``rows(its rows)`` rows."""

    def change(edit: Edit) -> bool:
        if not edit.exists(name):
            return False
        edit.resize(name, rows(edit.rows(name)))
        return True

    return change


def both(*changes: Change) -> Change:
    """Every one of ``changes`` (each made, even after one that does not apply)."""

    def change(edit: Edit) -> bool:
        return all([c(edit) for c in changes])

    return change


def colnames(how: Callable[[list[str]], list[str]]) -> Change:
    """Replace the results table's ``colnames`` by ``how(colnames)``."""

    def change(edit: Edit) -> bool:
        if edit.hdf5:
            with h5py.File(edit.path, "r") as f:
                names = [n.decode() if isinstance(n, bytes) else str(n) for n in f[TABLE].attrs["colnames"]]
        else:
            names = list(
                zarr.open_group(str(edit.path), path=TABLE, mode="r", use_consolidated=False).attrs["colnames"]
            )
        edit.attrs(TABLE, colnames=how(names))
        return True

    return change


def _repeat_first(ids: np.ndarray) -> np.ndarray:
    ids = ids.copy()
    ids[1] = ids[0]
    return ids


def _fall(ends: np.ndarray) -> np.ndarray:
    ends = ends.copy()
    ends[1], ends[2] = ends[2], ends[1]  # the second and third row ends swapped: not monotonic
    if ends[1] == ends[2]:
        ends[1] = ends[2] + 1
    return ends


def _past(ends: np.ndarray) -> np.ndarray:
    ends = ends.copy()
    ends[-1] = ends[-1] + 5  # the last row ends past the values
    return ends


#: edits of what a table holds in memory even when opened lazily (names, attributes, links, lengths):
#: refused by every call that builds the table (the colnames check of the ResultsTable mapper,
#: ``invariants.metadata_problems`` in ``open``, the lengths in ``io.safety``)
STRUCTURE: dict[str, Change] = {
    "colnames-deleted": attribute(TABLE, colnames=None),
    "colnames-repeated": colnames(lambda names: [*names, names[0]]),
    "colnames-dropped": colnames(lambda names: [n for n in names if n != "predicted_class"]),
    "parameters-not-json": attribute(TABLE, parameters=["{not json", "{}"]),
    "n_splits-deleted": attribute(f"{TABLE}/cv_split", n_splits=None),
    "elements-deleted": attribute(f"{TABLE}/true_label", elements=None),
    "column-shorter": resized(f"{TABLE}/loss", lambda n: n - 1),
    "samples-pointed-at-results": attribute(f"{TABLE}/samples", table=Ref(TABLE)),
    "elements-retargeted": attribute(f"{TABLE}/true_label", elements=Ref(f"{TABLE}/tvt_split_elements")),
    "probabilities-retargeted": attribute(f"{TABLE}/predicted_class", probabilities=Ref(f"{TABLE}/topk_probabilities")),
    "training_labels-retargeted": attribute(f"{TABLE}/predicted_class", training_labels=Ref(f"{TABLE}/tvt_split")),
}
#: edits of values (and of the bounds they are checked against) that break a rule: ``read`` and ``validate``
#: refuse them (``invariants.problems``); ``open`` and ``inspect`` only through ``invariants.check_slice`` on
#: every lazy read, which this branch does not wire (``io/lazy.py`` is helper A's)
VALUES: dict[str, Change] = {
    "predicted_class-beyond-classes": at("predicted_class", 0, 4),
    "topk_classes-beyond-classes": at("topk_classes", (0, 1), 9),
    "true_label-beyond-elements": at("true_label", 0, 40),
    "enum-elements-shortened": resized(f"{TABLE}/true_label_elements", lambda n: n - 2),
    "tvt_split-7": at("tvt_split", 0, 7),
    "cv_split-at-n_splits": at("cv_split", 0, 3),
    "cv_split-negative": at("cv_split", 0, -1),
    "n_splits-lowered": attribute(f"{TABLE}/cv_split", n_splits=2),
    "predicted_probability-nan": at("predicted_probability", (0, 1), np.nan),
    "predicted_probability-2": at("predicted_probability", (0, 1), 2.0),
    "topk_probabilities-nan": at("topk_probabilities", (0, 0), np.nan),
    "topk_probabilities-out-of-order": transform(f"{TABLE}/topk_probabilities", lambda p: p[:, ::-1].copy()),
    "predicted_value-inf": at("predicted_value", 0, np.inf),
    "ids-duplicate": transform(f"{TABLE}/id", _repeat_first),
    "ragged-index-falls": transform(f"{TABLE}/tokens_index", _fall),
    "ragged-index-past-values": transform(f"{TABLE}/tokens_index", _past),
    "samples-beyond-source": at("samples", 0, 60),
}
#: edits no rule can tell from a file another writer made that way: a shrunk source table (``list_tables``
#: reports its true length, and only reading ``samples`` shows rows beyond it), links the writer sets but the
#: schema does not require, ``n_splits`` raised above every fold. With digests kept, the table's text digest
#: catches them (it covers number attributes, the presence of links and every dataset's row count); without
#: any digest (``~bare``) the file is what another writer could have written: no reader can tell
UNGUARDED: dict[str, Change] = {
    "samples-beyond-shrunk-source": both(
        resized("source/id", lambda n: n // 2),
        resized("source/site", lambda n: n // 2),
        resized("source/age", lambda n: n // 2),
    ),
    "probabilities-deleted": attribute(f"{TABLE}/predicted_class", probabilities=None),
    "training_labels-deleted": attribute(f"{TABLE}/predicted_class", training_labels=None),
    "n_splits-raised": attribute(f"{TABLE}/cv_split", n_splits=9),
}


def family_of(edits: dict[str, Change], modes: tuple[str, ...] = ("digests", "bare")) -> Family:
    """The family of ``edits``: each in two variants (``modes``), digests kept and digests removed."""

    def family(good: Path, scratch: Path) -> Iterator[tuple[str, Path]]:
        for name, change in edits.items():
            for mode in modes:
                path = damaged_copy(good, scratch / f"{name}~{mode}" / good.name)
                edit = Edit(path)
                if mode == "bare":
                    edit.strip_digests()
                if change(edit):
                    yield f"{name}~{mode}", path

    return family


FAMILIES: dict[str, Family] = {
    "any/semantic-structure": family_of(STRUCTURE),
    "any/semantic-values": family_of(VALUES),
    "any/semantic-digests-only": family_of(UNGUARDED, ("digests",)),
}
#: families the library does not handle (see the module docstring of attack): the report runs them. These
#: cannot be: without digests, each variant is a valid file of another writer (see UNGUARDED)
UNFIXED: dict[str, Family] = {"any/semantic-unguarded": family_of(UNGUARDED, ("bare",))}
