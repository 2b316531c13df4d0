"""The stored-table rules at their edges, on tables built in memory: what ``make mutate`` found untested.

:func:`hdmf_ai.invariants.problems` is what ``read`` refuses and ``validate`` lists. Each test builds a small
table that keeps or breaks one rule by a known margin (a value equal to its bound, a row end one past its values,
ids that repeat or only fall) and checks the exact problem reported, or that none is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from builders import full_table
from hdmf.common import DynamicTable, DynamicTableRegion, VectorData, VectorIndex

from hdmf_ai import invariants
from hdmf_ai.columns import ClassLabel, CrossValidationSplit, EnumColumn, FeatureAttribution, TopKClasses
from hdmf_ai.errors import ColumnError


def table(*columns: Any, ids: Any = None, **attributes: Any) -> DynamicTable:
    rt = DynamicTable(name="results", description="results", columns=list(columns), id=ids)
    for key, value in attributes.items():
        setattr(rt, key, value)
    return rt


def column(name: str, data: Any) -> VectorData:
    return VectorData(name=name, description=name, data=data)


def probabilities(width: int, rows: int = 3) -> VectorData:
    return column("predicted_probability", np.full((rows, width), 1 / width))


def test_a_table_as_the_writer_makes_it_keeps_every_rule() -> None:
    assert invariants.problems(full_table(12)) == []


# -- row ids ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("ids", [[0, 1, 2], [2, 0, 1], [5], [], [9, 4, 1]])
def test_unique_ids_in_any_order_are_kept(ids: list[int]) -> None:
    rt = table(column("loss", np.zeros(len(ids))), ids=np.array(ids, dtype=np.int64))
    assert invariants.problems(rt) == []


@pytest.mark.parametrize(
    ("ids", "given"),
    [
        ([0, 0, 1], "1 repeated, e.g. 0"),
        ([3, 1, 3, 1, 2], "2 repeated, e.g. 1"),
        ([4, 4], "1 repeated, e.g. 4"),
        ([0, 2, 2], "1 repeated, e.g. 2"),  # every later id above the first, yet not rising
        ([5, 1, 5], "1 repeated, e.g. 5"),  # the repeated one named, not the smallest
    ],
)
def test_repeated_ids_are_counted_and_one_of_them_named(ids: list[int], given: str) -> None:
    rt = table(column("loss", np.zeros(len(ids))), ids=np.array(ids, dtype=np.int64))
    assert invariants.problems(rt) == [f"column 'id': expected unique row ids; got {given}"]


# -- probabilities and class indices ----------------------------------------------------------------------------------


def test_probabilities_of_exactly_zero_and_one_keep_the_rule() -> None:
    probs = column("predicted_probability", np.array([[0.0, 1.0], [1.0, 0.0]]))
    top = column("topk_probabilities", np.array([[1.0, 0.0], [1.0, 1.0]]))
    assert invariants.problems(table(probs, top)) == []


@pytest.mark.parametrize("name", ["predicted_probability", "topk_probabilities"])
@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (np.nan, "expected finite values (no NaN or inf); got nan at index (1, 0)"),
        (np.inf, "expected finite values (no NaN or inf); got inf at index (1, 0)"),
        (1.5, "expected probabilities in [0, 1]; got values from 0.0 to 1.5"),
        (-0.25, "expected probabilities in [0, 1]; got values from -0.25 to 0.0"),
    ],
)
def test_a_probability_that_is_not_finite_or_not_in_zero_one_is_named(name: str, bad: float, problem: str) -> None:
    values = np.zeros((2, 2))
    values[1] = [bad, min(bad, 0.0)]  # in descending order, so that top-k probabilities break only this rule
    assert invariants.problems(table(column(name, values))) == [f"column '{name}': {problem}"]


def test_an_empty_probability_column_keeps_the_rule() -> None:
    assert invariants.problems(table(column("predicted_probability", np.zeros((0, 3))))) == []


def test_top_k_probabilities_that_rise_are_named() -> None:
    top = column("topk_probabilities", np.array([[0.5, 0.5], [0.2, 0.3]]))
    assert invariants.problems(table(top)) == [
        "column 'topk_probabilities': expected each row in descending order; got row 1 = [0.2, 0.3]"
    ]


@pytest.mark.parametrize("name", ["predicted_class", "topk_classes"])
def test_class_indices_are_bounded_by_the_probability_width(name: str) -> None:
    ok = np.array([[0], [2], [1]], dtype=np.uint32) if name == "topk_classes" else np.array([0, 2, 1], np.uint32)
    assert invariants.problems(table(probabilities(3), column(name, ok))) == []
    bad = ok.copy()
    bad.flat[1] = 3
    assert invariants.problems(table(probabilities(3), column(name, bad))) == [
        f"column '{name}': expected values below 3 (the number of classes (probability width)); got the value 3"
    ]


def test_class_indices_without_two_dimensional_probabilities_have_no_bound() -> None:
    classes = column("predicted_class", np.array([0, 7, 1], dtype=np.uint32))
    assert invariants.problems(table(classes)) == []
    flat = column("predicted_probability", np.array([0.5, 0.5, 0.5]))
    assert invariants.problems(table(flat, column("predicted_class", np.array([0, 7, 1], np.uint32)))) == []


# -- splits and enums ------------------------------------------------------------------------------------------------


def test_train_validate_test_codes_stored_as_numbers_stop_at_two() -> None:
    assert invariants.problems(table(column("tvt_split", np.array([0, 1, 2], np.uint8)))) == []
    assert invariants.problems(table(column("tvt_split", np.array([0, 3, 2], np.uint8)))) == [
        "column 'tvt_split': expected values below 3 (0=train, 1=validate, 2=test); got the value 3"
    ]


def test_enum_codes_are_bounded_by_their_elements() -> None:
    ok = EnumColumn(
        name="true_label", description="labels", data=np.array([0, 2, 1], np.uint8), elements=["a", "b", "c"]
    )
    assert invariants.problems(table(ok)) == []
    bad = EnumColumn(
        name="true_label", description="labels", data=np.array([0, 3, 1], np.uint8), elements=["a", "b", "c"]
    )
    assert invariants.problems(table(bad)) == [
        "column 'true_label': expected values below 3 (the 3 enum elements); got the value 3"
    ]


def test_an_enum_split_is_bounded_by_its_elements_not_by_three() -> None:
    codes = np.array([0, 3, 1], np.uint8)
    four = EnumColumn(name="tvt_split", description="s", data=codes, elements=["train", "validate", "test", "holdout"])
    assert invariants.problems(table(four)) == []


@pytest.mark.parametrize(("folds", "n_splits"), [([0, 4, 2], 5), ([0, 0, 0], 1)])
def test_folds_below_n_splits_keep_the_rule(folds: list[int], n_splits: int) -> None:
    cv = CrossValidationSplit(data=np.array(folds, np.int32), n_splits=n_splits)
    assert invariants.problems(table(cv)) == []


def test_a_fold_equal_to_n_splits_is_named() -> None:
    cv = CrossValidationSplit(data=np.array([0, 5, 2], np.int32), n_splits=5)
    assert invariants.problems(table(cv)) == [
        "column 'cv_split': expected values below 5 (n_splits=5); got the value 5"
    ]


@pytest.mark.parametrize("n_splits", [0, -2])
def test_fewer_than_one_fold_is_named_when_the_column_has_rows(n_splits: int) -> None:
    cv = CrossValidationSplit(data=np.array([0, 0], np.int32), n_splits=n_splits)
    assert invariants.problems(table(cv)) == [f"column 'cv_split': expected n_splits >= 1; got n_splits={n_splits}"]
    empty = CrossValidationSplit(data=np.zeros(0, np.int32), n_splits=0)
    assert invariants.problems(table(empty)) == []


def test_folds_without_n_splits_are_not_bounded() -> None:
    assert invariants.problems(table(column("cv_split", np.array([0, 40], np.int32)))) == []


# -- regions and ragged columns ----------------------------------------------------------------------------------------


def source(n: int) -> DynamicTable:
    return DynamicTable(name="source", description="source", columns=[column("age", np.arange(float(n)))])


def region(rows: list[int], n_source: int = 4) -> DynamicTableRegion:
    """A region column holding ``rows`` (hdmf refuses rows out of bounds as it builds one: set after)."""
    column = DynamicTableRegion(
        name="samples", description="rows", data=np.zeros(len(rows), np.int64), table=source(n_source)
    )
    column.data[:] = rows
    return column


def test_rows_of_the_source_table_are_kept_and_one_past_its_end_is_named() -> None:
    assert invariants.problems(table(region([3, 0]))) == []
    assert invariants.problems(table(region([4, 0]))) == [
        "column 'samples': expected values below 4 (the 4 rows of table 'source'); got the value 4"
    ]


def test_a_negative_row_of_the_source_table_is_named() -> None:
    assert invariants.problems(table(region([1, -2, -1]))) == [
        "column 'samples': expected rows of table 'source' (0 or more); got the row -2"
    ]


def ragged(ends: list[int], n_values: int = 6) -> DynamicTable:
    values = column("tokens", np.arange(float(n_values)))
    index = VectorIndex(name="tokens_index", data=np.array(ends, dtype=np.int64), target=values)
    return table(values, index)


@pytest.mark.parametrize("ends", [[2, 3, 6], [0, 0, 6], [6, 6, 6]])
def test_row_ends_that_never_fall_and_end_at_the_values_keep_the_rule(ends: list[int]) -> None:
    assert invariants.problems(ragged(ends)) == []


@pytest.mark.parametrize("ends", [[3, 2, 6], [-1, 2, 6]])
def test_row_ends_that_fall_or_start_below_zero_are_named(ends: list[int]) -> None:
    assert invariants.problems(ragged(ends)) == [
        "column 'tokens_index': expected row ends that never decrease; got ends that go back"
    ]


@pytest.mark.parametrize("last", [5, 7])
def test_a_last_row_end_off_the_values_is_named(last: int) -> None:
    assert invariants.problems(ragged([2, 3, last])) == [
        f"column 'tokens_index': expected a last row end at the 6 values; got {last}"
    ]


# -- finite values, parameters, unreadable values -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["predicted_value", "embedding", "viz_embedding"])
def test_outputs_and_embeddings_must_be_finite(name: str) -> None:
    assert invariants.problems(table(column(name, np.array([1.0, -2.0])))) == []
    assert invariants.problems(table(column(name, np.array([1.0, np.inf])))) == [
        f"column '{name}': expected finite values (no NaN or inf); got inf at index 1"
    ]


def test_a_user_column_is_held_to_no_rule() -> None:
    assert invariants.problems(table(column("loss", np.array([np.nan, -np.inf])))) == []


def test_parameters_must_be_one_json_document_per_step() -> None:
    assert invariants.problems(table(column("loss", [1.0]), parameters=['{"C": 1}', "[]"])) == []
    [problem] = invariants.problems(table(column("loss", [1.0]), parameters=['{"C": 1}', "{C: 1}"]))
    assert problem.startswith("column 'parameters': expected a JSON document per workflow step; got step 1: ")


def test_values_of_a_type_no_rule_expects_are_named_as_unreadable() -> None:
    [problem] = invariants.problems(table(column("predicted_probability", np.array([["a", "b"]]))))
    assert problem.startswith("column 'predicted_probability': unreadable values (")


def test_every_broken_rule_is_listed() -> None:
    rt = table(
        probabilities(2, rows=2),
        column("predicted_class", np.array([0, 2], np.uint32)),
        column("predicted_value", np.array([np.nan, 0.0])),
        ids=np.array([1, 1]),
    )
    assert [p.split(":")[0] for p in invariants.problems(rt)] == [
        "column 'id'",
        "column 'predicted_class'",
        "column 'predicted_value'",
    ]


# -- survivors of the first run (tests/MUTATION.md): each pins what one surviving mutant changed ------------------


def test_a_column_not_in_memory_does_not_end_the_checks_of_the_columns_after_it() -> None:
    lazy = column("notes", [1.0, 2.0])  # a list, as a column not read into memory: no rule sees it
    rt = table(lazy, column("predicted_value", np.array([0.0, np.inf])))
    assert invariants.problems(rt) == [
        "column 'predicted_value': expected finite values (no NaN or inf); got inf at index 1"
    ]


def test_ids_and_parameters_of_a_type_no_rule_expects_are_named_as_unreadable() -> None:
    [problem] = invariants.problems(table(column("loss", [1.0, 2.0]), ids=np.array([2, "a"], dtype=object)))
    assert problem.startswith("column 'id': unreadable values (")
    [problem] = invariants.problems(table(column("loss", [1.0]), parameters=5))
    assert problem.startswith("column 'parameters': unreadable values (")


# -- rules added with the semantic attack (tests/attack/semantic.py) ---------------------------------------------------


def test_a_negative_fold_is_named_with_or_without_n_splits() -> None:
    with_n = CrossValidationSplit(data=np.array([0, -1, 2], np.int32), n_splits=3)
    without = column("cv_split", np.array([0, -3, 1], np.int32))
    assert invariants.problems(table(with_n)) == ["column 'cv_split': expected folds counted from 0; got the fold -1"]
    assert invariants.problems(table(without)) == ["column 'cv_split': expected folds counted from 0; got the fold -3"]


def test_a_fold_zero_with_n_splits_zero_breaks_only_the_n_splits_rule() -> None:
    cv = CrossValidationSplit(data=np.array([0, 1], np.int32), n_splits=0)
    assert invariants.problems(table(cv)) == [
        "column 'cv_split': expected n_splits >= 1; got n_splits=0",
        "column 'cv_split': expected values below 1 (n_splits=0); got the value 1",
    ]


def test_a_column_named_twice_is_named() -> None:
    rt = table(column("loss", np.zeros(2)), column("gain", np.zeros(2)))
    assert invariants.problems(rt) == []
    rt.fields["colnames"] = ("loss", "gain", "loss", "gain", "loss")
    assert invariants.problems(rt) == [
        "column 'colnames': expected each column named once; got ['gain', 'loss'] named more than once"
    ]


def test_an_enum_without_elements_is_named() -> None:
    enum = EnumColumn(name="true_label", description="labels", data=np.array([0, 1], np.uint8), elements=["a", "b"])
    rt = table(enum)
    assert invariants.metadata_problems(rt) == []
    enum.fields.pop("elements")
    assert invariants.metadata_problems(rt) == ["column 'true_label': expected an enum's elements; got no elements"]


def linked(**links: str) -> DynamicTable:
    """predicted_class and topk_classes with the columns they link to, each link set as ``links`` names it."""
    labels = ClassLabel(data=np.array([0, 1], np.uint32))
    top = TopKClasses(data=np.array([[0], [1]], np.uint32))
    columns = [
        probabilities(2, rows=2),
        column("topk_probabilities", np.array([[0.5], [0.5]])),
        column("true_label", np.array([0, 1])),
        column("tvt_split", np.array([0, 1], np.uint8)),
        labels,
        top,
    ]
    rt = table(*columns)
    by_name = {c.name: c for c in columns}
    for key, target in links.items():
        col, attribute = key.split("__")
        setattr(by_name[col], attribute, by_name[target])
    return rt


def test_links_to_the_columns_the_schema_names_keep_the_rule() -> None:
    rt = linked(
        predicted_class__probabilities="predicted_probability",
        topk_classes__probabilities="topk_probabilities",
        predicted_class__training_labels="true_label",
    )
    assert invariants.problems(rt) == []
    assert invariants.problems(linked()) == []  # links are optional (the reference package sets none)


@pytest.mark.parametrize(
    ("link", "target", "expected"),
    [
        ("predicted_class__probabilities", "topk_probabilities", "predicted_probability"),
        ("topk_classes__probabilities", "predicted_probability", "topk_probabilities"),
        ("predicted_class__training_labels", "tvt_split", "true_label"),
    ],
)
def test_a_link_to_another_column_is_named(link: str, target: str, expected: str) -> None:
    name, attribute = link.split("__")
    assert invariants.metadata_problems(linked(**{link: target})) == [
        f"column '{name}': expected '{attribute}' pointing at the column '{expected}' of the same table; "
        f"got '{target}' of table 'results'"
    ]


def test_a_link_to_the_right_name_in_another_table_is_named() -> None:
    other = table(column("true_label", np.array([0, 1])))
    rt = linked()
    rt["predicted_class"].training_labels = other["true_label"]
    rt2 = table(ClassLabel(name="predicted_class", data=np.array([0], np.uint32)))
    rt2["predicted_class"].training_labels = other["true_label"]  # a table without true_label of its own
    for broken in (rt, rt2):
        assert invariants.metadata_problems(broken) == [
            "column 'predicted_class': expected 'training_labels' pointing at the column 'true_label' of the same "
            "table; got 'true_label' of table 'results'"
        ]


def test_metadata_problems_read_no_value() -> None:
    rt = table(column("predicted_value", np.array([np.nan])), CrossValidationSplit(data=np.array([0]), n_splits=-1))
    assert invariants.metadata_problems(rt) == ["column 'cv_split': expected n_splits >= 1; got n_splits=-1"]
    assert invariants.problems(rt)[1:] == [
        "column 'predicted_value': expected finite values (no NaN or inf); got nan at index 0"
    ]


# -- check_slice: rows of one column read lazily -----------------------------------------------------------------------


def test_check_slice_bounds_class_indices_by_the_probability_width_of_the_table() -> None:
    labels = column("predicted_class", np.array([0, 1, 2], np.uint32))
    table(probabilities(3), labels)
    invariants.check_slice(labels, np.array([2, 0], np.uint32))
    with pytest.raises(ColumnError, match=r"column 'predicted_class': expected values below 3 .*; got the value 3"):
        invariants.check_slice(labels, np.array([0, 3], np.uint32))
    alone = column("predicted_class", np.array([0], np.uint32))  # no table, no width: no bound
    invariants.check_slice(alone, np.array([40], np.uint32))
    flat = column("predicted_class", np.array([0], np.uint32))
    table(column("predicted_probability", np.array([0.5])), flat)  # 1-D probabilities: no width
    invariants.check_slice(flat, np.array([40], np.uint32))


def test_check_slice_of_a_ragged_index_needs_the_last_end_only_for_the_whole_column() -> None:
    rt = ragged([2, 3, 6])
    index = rt["tokens"] if isinstance(rt["tokens"], VectorIndex) else rt.columns[1]
    invariants.check_slice(index, np.array([2, 3]))  # the first rows: ending before the values is right
    invariants.check_slice(index, np.array([6]))
    with pytest.raises(ColumnError, match="expected a last row end at the 6 values; got 3"):
        invariants.check_slice(index, np.array([2, 3]), whole=True)
    with pytest.raises(ColumnError, match="expected row ends within the 6 values; got 7"):
        invariants.check_slice(index, np.array([3, 7]))
    with pytest.raises(ColumnError, match="expected row ends that never decrease; got ends that go back"):
        invariants.check_slice(index, np.array([3, 2]))
    invariants.check_slice(index, np.int64(6))  # one end, as hdmf reads a row: index.data[i]
    with pytest.raises(ColumnError, match="expected row ends within the 6 values; got 7"):
        invariants.check_slice(index, np.int64(7))


def test_check_slice_of_ids_finds_one_repeated_within_the_rows() -> None:
    rt = table(column("loss", np.zeros(3)), ids=np.array([0, 1, 2]))
    invariants.check_slice(rt.id, np.array([2, 0]))
    with pytest.raises(ColumnError, match=r"column 'id': expected unique row ids; got 1 repeated, e\.g\. 1"):
        invariants.check_slice(rt.id, np.array([1, 1]))


def test_check_slice_of_a_region_and_of_an_enum_uses_their_targets_length() -> None:
    samples = region([3, 0])
    invariants.check_slice(samples, np.array([3]))
    with pytest.raises(ColumnError, match=r"column 'samples': expected values below 4 \(the 4 rows"):
        invariants.check_slice(samples, np.array([4]))
    enum = EnumColumn(name="true_label", description="l", data=np.array([0], np.uint8), elements=["a", "b"])
    invariants.check_slice(enum, np.array([1], np.uint8))
    with pytest.raises(ColumnError, match=r"column 'true_label': expected values below 2 \(the 2 enum elements\)"):
        invariants.check_slice(enum, np.array([2], np.uint8))


@pytest.mark.parametrize(
    ("name", "rows", "message"),
    [
        ("predicted_probability", np.array([[0.5, np.nan]]), "expected finite values"),
        ("topk_probabilities", np.array([[0.2, 0.3]]), "expected each row in descending order"),
        ("tvt_split", np.array([3], np.uint8), "expected values below 3"),
        ("cv_split", np.array([-1], np.int32), "expected folds counted from 0"),
        ("embedding", np.array([np.inf]), "expected finite values"),
    ],
)
def test_check_slice_applies_the_rule_of_the_column(name: str, rows: np.ndarray, message: str) -> None:
    col = column(name, rows[:0])
    with pytest.raises(ColumnError, match=f"column '{name}': {message}"):
        invariants.check_slice(col, rows)


def test_check_slice_names_values_no_rule_can_read() -> None:
    with pytest.raises(ColumnError, match=r"column 'predicted_probability': expected values of a type its rules "):
        invariants.check_slice(column("predicted_probability", []), np.array([["a", "b"]]))


def test_the_probabilities_link_of_a_class_column_of_another_name_is_not_held_to_the_schema_names() -> None:
    probs = probabilities(2, rows=2)
    mine = ClassLabel(name="my_class", data=np.array([0, 1], np.uint32), probabilities=probs)
    assert invariants.metadata_problems(table(probs, mine)) == []


# -- feature attributions: the attributes add_feature_attribution checks, checked again on the stored column -------


def _attributed(width: int = 3, **attributes: Any) -> DynamicTable:
    """A table of 4 rows: probabilities over 3 classes, attributions of 2 features for ``width`` classes."""
    given = {"feature_names": ["x", "y"], "base_values": [0.1, 0.2, 0.7][:width], "output_space": "probability"}
    attribution = FeatureAttribution(data=np.zeros((4, 2, width)), method="kernel_shap", output="each_class",
                                     **{**given, **attributes})  # fmt: skip
    return table(probabilities(3, rows=4), attribution, ids=list(range(4)))


def test_a_stored_attribution_as_add_feature_attribution_makes_it_keeps_the_rules() -> None:
    assert invariants.problems(_attributed()) == []


@pytest.mark.parametrize(
    ("attributes", "problem"),
    [
        ({"base_values": [0.1, np.nan, 0.7]}, "expected finite base_values; got [0.1, nan, 0.7]"),
        ({"output_space": "logits"},
         "expected output_space one of ['raw', 'probability', 'value'] or None; got 'logits'"),
        ({"feature_table": {"x": [1]}}, "expected feature_table: a DynamicTable; got dict"),
        ({"base_values": [0.1, 0.2, 0.3], "feature_names": None}, None),
    ],
    ids=["base-values", "output-space", "feature-table", "no-names"],
)  # fmt: skip
def test_a_stored_attributions_attributes_are_checked_again(attributes: dict[str, Any], problem: str | None) -> None:
    expected = [] if problem is None else [f"column 'feature_attribution': {problem}"]
    assert invariants.problems(_attributed(**attributes)) == expected


def test_a_stored_attributions_class_axis_must_be_as_wide_as_the_probabilities() -> None:
    assert invariants.problems(_attributed(width=2)) == [
        "column 'feature_attribution': expected a last axis of 3 classes (the width of predicted_probability); "
        "got 2 outputs in rows of shape (2, 2)"
    ]


# -- ragged columns' indices ------------------------------------------------------------------------------------------


def _ragged(values: list[int], ends: list[int]) -> tuple[VectorData, VectorIndex]:
    data = column("c", np.asarray(values, dtype=np.int64))
    return data, VectorIndex(name="c_index", data=np.asarray(ends, dtype=np.uint64), target=data)


def test_an_empty_ragged_column_keeps_the_rules() -> None:
    data, index = _ragged([], [])
    assert invariants.problems(table(data, index, ids=[])) == []


def test_a_slice_of_row_ends_past_the_values_is_named_by_its_index() -> None:
    _, index = _ragged([1, 2, 3], [2, 3])
    invariants.check_slice(index, np.array([3], dtype=np.uint64))  # the last value's end: allowed
    with pytest.raises(ColumnError) as info:
        invariants.check_slice(index, np.array([4], dtype=np.uint64))
    assert str(info.value) == "column 'c_index': expected row ends within the 3 values; got 4"


def test_a_link_to_something_that_is_not_a_column_is_named_as_it_is() -> None:
    rt = table(ClassLabel(name="predicted_class", data=np.array([0], np.uint32)))
    rt["predicted_class"].training_labels = "true_label"  # a name, not the column
    assert invariants.metadata_problems(rt) == [
        "column 'predicted_class': expected 'training_labels' pointing at the column 'true_label' of the same "
        "table; got 'true_label' of table 'None'"
    ]


def test_values_of_a_type_no_rule_expects_are_named_unreadable() -> None:
    with pytest.raises(ColumnError) as info:
        invariants.check_slice(probabilities(2), np.array([["a", "b"]]))
    assert (info.value.column, info.value.expected) == ("predicted_probability", "values of a type its rules check")
    assert info.value.given.startswith("unreadable values (")
