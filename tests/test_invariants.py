"""A file whose values break the rules the writer enforces reads as an error naming the column, never as other
numbers; ``validate`` lists every broken rule. Each case edits one field of a good file with plain h5py or
zarr (checksums stay consistent: this is a semantic edit, as a buggy tool or a careless hand would make)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import zarr
from attack.semantic import Edit as SemanticEdit
from attack.semantic import Ref
from builders import N_CLASSES, full_table

import hdmf_ai
from hdmf_ai import invariants
from hdmf_ai.io import guarded

N = 12


class Edit:
    """Set values or attributes of one dataset of the table, in either format."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def values(self, dataset: str, change: Callable[[np.ndarray], np.ndarray]) -> None:
        if self.path.suffix == ".h5":
            with h5py.File(self.path, "r+") as f:
                node = f[f"results/{dataset}"]
                node[...] = change(node[...])
            return
        node = zarr.open_array(str(self.path), path=f"results/{dataset}", mode="r+")
        node[...] = change(node[...])

    def attribute(self, dataset: str, key: str, value: Any) -> None:
        if self.path.suffix == ".h5":
            with h5py.File(self.path, "r+") as f:
                f[f"results/{dataset}"].attrs[key] = value
            return
        zarr.open_array(str(self.path), path=f"results/{dataset}", mode="r+").attrs[key] = value
        with pytest.warns(UserWarning, match="Consolidated metadata"):
            zarr.consolidate_metadata(str(self.path))

    def table_attribute(self, key: str, value: Any) -> None:
        if self.path.suffix == ".h5":
            with h5py.File(self.path, "r+") as f:
                f["results"].attrs[key] = value
            return
        zarr.open_group(str(self.path), path="results", mode="r+", use_consolidated=False).attrs[key] = value
        with pytest.warns(UserWarning, match="Consolidated metadata"):
            zarr.consolidate_metadata(str(self.path))


def first(value: Any) -> Callable[[np.ndarray], np.ndarray]:
    def change(arr: np.ndarray) -> np.ndarray:
        arr = arr.copy()
        arr.flat[0] = value
        return arr

    return change


def repeat_first_id(ids: np.ndarray) -> np.ndarray:
    ids = ids.copy()
    ids[1] = ids[0]
    return ids


DAMAGE: dict[str, tuple[Callable[[Edit], None], str]] = {
    "a class index beyond the classes": (
        lambda e: e.values("predicted_class", first(N_CLASSES)), "predicted_class"),
    "a top-k class beyond the classes": (lambda e: e.values("topk_classes", first(N_CLASSES + 3)), "topk_classes"),
    "a tvt_split code 7": (lambda e: e.values("tvt_split", first(7)), "tvt_split"),
    "a true_label code beyond its enum": (lambda e: e.values("true_label", first(40)), "true_label"),
    "a NaN probability": (lambda e: e.values("predicted_probability", first(np.nan)), "predicted_probability"),
    "a probability of 2": (lambda e: e.values("predicted_probability", first(2.0)), "predicted_probability"),
    "top-k probabilities out of order": (
        lambda e: e.values("topk_probabilities", lambda a: a[:, ::-1].copy()), "topk_probabilities"),
    "a fold beyond n_splits": (lambda e: e.values("cv_split", first(5)), "cv_split"),
    "a negative fold": (lambda e: e.values("cv_split", first(-1)), "cv_split"),
    "n_splits lowered": (lambda e: e.attribute("cv_split", "n_splits", 2), "cv_split"),
    "duplicate ids": (lambda e: e.values("id", repeat_first_id), "id"),
    "a source row beyond the source table": (lambda e: e.values("samples", first(N + 5)), "results/samples"),
    "an infinite regression output": (lambda e: e.values("predicted_value", first(np.inf)), "predicted_value"),
    "parameters that are not JSON": (
        lambda e: e.table_attribute("parameters", ["{not json", "{}"]), "parameters"),
}  # fmt: skip


@pytest.fixture
def written(path: Path) -> Path:
    return hdmf_ai.write(full_table(N), path)


def test_an_intact_file_keeps_every_rule(written: Path) -> None:
    assert hdmf_ai.validate(written) == []
    np.testing.assert_array_equal(hdmf_ai.read(written).predicted_class.data, full_table(N).predicted_class.data)


@pytest.mark.parametrize("damage", DAMAGE)
def test_read_refuses_a_broken_rule_naming_the_column(written: Path, damage: str) -> None:
    edit, column = DAMAGE[damage]
    edit(Edit(written))
    # a region outside its table is refused by hdmf itself as the container is built; the message names it
    expected = "'root/results/samples': .* out of bounds" if column == "results/samples" else f"column '{column}'"
    with pytest.raises(
        hdmf_ai.ResultsFileError, match=rf"(breaks the hdmf-ai rules|do not fit the hdmf-ai schema): {expected}"
    ):
        hdmf_ai.read(written)


@pytest.mark.parametrize("damage", DAMAGE)
def test_validate_lists_the_broken_rule(written: Path, damage: str) -> None:
    edit, column = DAMAGE[damage]
    edit(Edit(written))
    found = hdmf_ai.validate(written)
    expected = "'root/results/samples': " if column == "results/samples" else f"table 'results': column '{column}'"
    assert any(expected in problem for problem in found), found


def test_a_ragged_index_that_goes_back_or_past_its_values_is_refused(path: Path) -> None:
    rt = full_table(3)
    rt.add_column("tokens", "tokens per sample", data=[[1.0, 2.0], [3.0], [4.0, 5.0, 6.0]], index=True)
    hdmf_ai.write(rt, path)
    Edit(path).values("tokens_index", lambda ends: np.array([2, 1, 6], dtype=ends.dtype))
    with pytest.raises(hdmf_ai.ResultsFileError, match="column 'tokens_index': expected row ends that never decrease"):
        hdmf_ai.read(path)
    Edit(path).values("tokens_index", lambda ends: np.array([2, 3, 9], dtype=ends.dtype))
    with pytest.raises(hdmf_ai.ResultsFileError, match="column 'tokens_index': expected a last row end at the 6"):
        hdmf_ai.read(path)


def test_enum_elements_shortened_under_their_codes_are_refused(path: Path) -> None:
    rt = hdmf_ai.ResultsTable(name="results")
    rt.add_true_label(["cat", "dog", "bird", "dog"])  # codes 0..2 into ['bird', 'cat', 'dog']
    hdmf_ai.write(rt, path)
    if path.suffix == ".h5":
        with h5py.File(path, "r+") as f:
            del f["results/true_label_elements"]
            f["results"].create_dataset("true_label_elements", data=np.array(["bird", "cat"], dtype=object),
                                        dtype=h5py.string_dtype())  # fmt: skip
            f["results/true_label"].attrs["elements"] = f["results/true_label_elements"].ref
            f["results/true_label_elements"].attrs.update({"namespace": "hdmf-common", "data_type": "VectorData",
                                                           "description": "labels", "object_id": "x"})  # fmt: skip
        with pytest.raises(hdmf_ai.ResultsFileError, match="column 'true_label': expected values below 2"):
            hdmf_ai.read(path)
        return
    elements = zarr.open_array(str(path), path="results/true_label_elements", mode="r+")
    assert list(elements[...]) == ["bird", "cat", "dog"]
    elements.resize((2,))
    with pytest.warns(UserWarning, match="Consolidated metadata"):
        zarr.consolidate_metadata(str(path))
    with pytest.raises(hdmf_ai.ResultsFileError, match="column 'true_label': expected values below 2"):
        hdmf_ai.read(path)


def test_the_error_counts_the_other_broken_rules(written: Path) -> None:
    Edit(written).values("predicted_class", first(N_CLASSES))
    Edit(written).values("tvt_split", first(9))
    with pytest.raises(hdmf_ai.ResultsFileError, match=r"\(and 1 more: hdmf_ai.validate lists them\)"):
        hdmf_ai.read(written)
    assert len([p for p in hdmf_ai.validate(written) if p.startswith("table 'results'")]) == 2


def test_parameters_text_survives_as_json(written: Path) -> None:
    assert json.loads(hdmf_ai.read(written).parameters[0]) == {"C": 1.0, "penalty": "l2"}


# -- what a lazy open holds in memory: names, attributes, links (tests/attack/semantic.py edits them the same way) ---


def colnames_edit(how: Callable[[list[str]], list[str] | None]) -> Callable[[SemanticEdit], None]:
    def change(edit: SemanticEdit) -> None:
        if edit.hdf5:
            with h5py.File(edit.path, "r") as f:
                stored = [n.decode() if isinstance(n, bytes) else str(n) for n in f["results"].attrs["colnames"]]
        else:
            stored = list(zarr.open_group(str(edit.path), path="results", mode="r").attrs["colnames"])
        edit.attrs("results", colnames=how(stored))

    return change


STRUCTURE: dict[str, tuple[Callable[[SemanticEdit], None], str]] = {
    "colnames deleted": (
        colnames_edit(lambda names: None), r"colnames: expected the names of the table's columns \(it holds"),
    "colnames naming a column twice": (
        colnames_edit(lambda names: [*names, "loss"]), r"colnames: expected each column named once; got \['loss'\]"),
    "colnames leaving a column out": (
        colnames_edit(lambda names: [n for n in names if n != "predicted_class"]),
        r"colnames: expected every column listed; got the datasets \['predicted_class'\] not listed"),
}  # fmt: skip


@pytest.mark.parametrize("damage", STRUCTURE)
def test_colnames_that_do_not_match_the_columns_are_refused_by_every_reader(written: Path, damage: str) -> None:
    change, message = STRUCTURE[damage]
    change(SemanticEdit(written))
    SemanticEdit(written).strip_digests()  # as another writer's file (colnames are text: digested too)
    for call in (hdmf_ai.read, hdmf_ai.list_tables):
        with pytest.raises(hdmf_ai.ResultsFileError, match=rf"{written.name}: .*results': {message}"):
            call(written)
    with pytest.raises(hdmf_ai.ResultsFileError, match=message), hdmf_ai.open(written):
        pass
    assert any(re.search(message, problem) for problem in hdmf_ai.validate(written))


LINKS: dict[str, tuple[dict[str, Any], str]] = {
    "probabilities pointed at the top-k probabilities": (
        {"probabilities": Ref("results/topk_probabilities")},
        "column 'predicted_class': expected 'probabilities' pointing at the column 'predicted_probability' of the "
        "same table; got 'topk_probabilities' of table 'results'"),
    "training labels pointed at the split": (
        {"training_labels": Ref("results/tvt_split")},
        "column 'predicted_class': expected 'training_labels' pointing at the column 'true_label' of the same "
        "table; got 'tvt_split' of table 'results'"),
}  # fmt: skip


@pytest.mark.parametrize("damage", LINKS)
def test_a_link_pointed_at_another_column_is_refused_on_read_and_open(written: Path, damage: str) -> None:
    attrs, message = LINKS[damage]
    SemanticEdit(written).attrs("results/predicted_class", **attrs)
    with pytest.raises(hdmf_ai.ResultsFileError, match=re.escape(message)):
        hdmf_ai.read(written)
    with pytest.raises(hdmf_ai.ResultsFileError, match=re.escape(message)), hdmf_ai.open(written):
        pass
    assert f"table 'results': {message}" in hdmf_ai.validate(written)


def test_open_refuses_what_breaks_a_rule_without_reading_a_value(written: Path) -> None:
    edit = SemanticEdit(written)
    edit.attrs("results", parameters=["{not json"])
    edit.attrs("results/cv_split", n_splits=0)
    edit.strip_digests()  # as another writer's file: the text digest would refuse the parameters first
    expected = r"breaks the hdmf-ai rules: column 'cv_split': expected n_splits >= 1; got n_splits=0 \(and 1 more"
    with pytest.raises(hdmf_ai.ResultsFileError, match=expected), hdmf_ai.open(written):
        pass


def test_a_negative_fold_is_refused(written: Path) -> None:
    Edit(written).values("cv_split", first(-1))
    with pytest.raises(
        hdmf_ai.ResultsFileError, match="column 'cv_split': expected folds counted from 0; got the fold -1"
    ):
        hdmf_ai.read(written)
    assert "table 'results': column 'cv_split': expected folds counted from 0; got the fold -1" in hdmf_ai.validate(
        written
    )


def test_validate_names_a_region_pointed_at_a_group_the_schema_validator_cannot_check(tmp_path: Path) -> None:
    written = hdmf_ai.write(full_table(N), tmp_path / "results.h5")
    SemanticEdit(written).attrs("results/samples", table=Ref("specifications"))
    found = hdmf_ai.validate(written)  # hdmf's validator raises a TypeError on it: a problem, not a crash
    assert any(": the schema validator cannot check it (TypeError: " in p for p in found), found


# -- check_slice: the cheap rules on rows read lazily (what io/guarded.py calls on each read) --------------------------


@pytest.mark.parametrize("damage", [d for d in DAMAGE if d not in ("n_splits lowered", "parameters that are not JSON")])
def test_check_slice_finds_on_the_opened_column_what_read_refuses(written: Path, damage: str) -> None:
    edit, column = DAMAGE[damage]
    edit(Edit(written))
    name = "samples" if column == "results/samples" else column
    SemanticEdit(written).strip_digests()  # as another writer's file: only the rules can tell
    with hdmf_ai.open(written) as rt:
        lazy = rt.id if name == "id" else rt[name]
        # every read of an opened column is held to its rules (io/guarded.py calls check_slice)
        expected = f"{written.name}: table '[^']+': column '{name}': expected "
        with pytest.raises(hdmf_ai.ResultsFileError, match=expected):
            lazy.data[:]
        values = np.asarray(guarded.stored(lazy.data)[:])  # the stored values, read past the guard
        with pytest.raises(hdmf_ai.ColumnError, match=f"column '{name}': expected "):
            invariants.check_slice(lazy, values, whole=True)
        assert invariants.check_slice(lazy, values[:0]) is None  # no rows: nothing to break


def test_check_slice_keeps_every_column_of_an_intact_file(written: Path) -> None:
    with hdmf_ai.open(written) as rt:
        for lazy in [rt.id, *rt.columns]:
            invariants.check_slice(lazy, np.asarray(lazy.data[:]), whole=True)
            invariants.check_slice(lazy, np.asarray(lazy.data[2:5]))
