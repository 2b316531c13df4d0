"""Each column's rule at its edges: the coercions, bounds, stored types and casts ``make mutate`` found untested.

The rules of :mod:`hdmf_ai.coercion` decide what a batch of the writer (and a whole column) turns into; a wrong
dtype or a lost bound writes other numbers without an error. Expectations here come from the schema (``int`` and
``uint`` are 32 bits at least) and from the values themselves, never from running the rule first.
"""

from __future__ import annotations

import numpy as np
import pytest

from hdmf_ai import ColumnError, ProbabilityWarning, coercion
from hdmf_ai.coercion import ColumnSpec


def error(call: object, *args: object, **kwargs: object) -> ColumnError:
    assert callable(call)
    with pytest.raises(ColumnError) as info:
        call(*args, **kwargs)
    return info.value


# -- schema widths ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "given", "stored"),
    [
        ("predicted_class", "u1", "u4"),
        ("predicted_class", "i1", "u4"),  # never negative: the unsigned twin
        ("predicted_class", "i8", "u8"),
        ("topk_classes", "u2", "u4"),
        ("cv_split", "i1", "i4"),
        ("cv_split", "u1", "i4"),
        ("cv_split", "i8", "i8"),
        ("cluster_label", "i2", "i4"),
        ("predicted_class", "f4", "f4"),  # not an integer: no schema minimum applies
        ("loss", "u1", "u1"),  # not a column of the schema
        ("true_label", "u1", "u1"),  # an enum's codes have their own rule
    ],
)
def test_integer_columns_are_widened_to_the_schemas_type(name: str, given: str, stored: str) -> None:
    assert coercion.schema_width(name, np.dtype(given)) == np.dtype(stored)


# -- one rule per column -----------------------------------------------------------------------------------------


def test_samples_are_bounded_by_the_source_table_when_its_length_is_known() -> None:
    np.testing.assert_array_equal(coercion.samples([0, 9, 3], n_source=None), [0, 9, 3])
    np.testing.assert_array_equal(coercion.samples([0, 9, 3], n_source=10), [0, 9, 3])
    err = error(coercion.samples, [0, 10], n_source=10)
    assert (err.expected, err.given) == ("values below 10 (the 10 rows of the source table)", "the value 10")
    err = error(coercion.samples, [0, 10], n_source=10, what="the rows of 'src'")
    assert err.expected == "values below 10 (the rows of 'src')"


def test_a_split_given_by_name_or_code_is_stored_as_its_code() -> None:
    np.testing.assert_array_equal(coercion.tvt_split(["validate", "test", "train"]), [1, 2, 0])
    assert "at index 1" in error(coercion.tvt_split, ["train", None]).given


def test_folds_take_their_count_from_the_largest_fold_unless_given() -> None:
    folds, n = coercion.cv_split([0, 4, 1], n_splits=None)
    assert n == 5
    assert folds.dtype == np.int32
    np.testing.assert_array_equal(folds, [0, 4, 1])
    folds, n = coercion.cv_split(np.zeros(0, dtype=int), n_splits=None)
    assert (n, folds.size) == (0, 0)
    assert coercion.cv_split([0, 1], n_splits=1 + 1)[1] == 2


@pytest.mark.parametrize("n_splits", [0, -3])
def test_fewer_than_one_fold_is_refused(n_splits: int) -> None:
    err = error(coercion.cv_split, [0, 0], n_splits=n_splits)
    assert (err.expected, err.given) == ("n_splits >= 1", f"n_splits={n_splits}")


def test_a_fold_equal_to_n_splits_is_refused() -> None:
    coercion.cv_split([0, 1], n_splits=2)
    assert error(coercion.cv_split, [0, 2], n_splits=2).given == "the value 2"


def test_text_labels_are_coded_in_the_order_of_the_given_classes() -> None:
    codes, names = coercion.true_label(["dog", "cat", "dog", "emu"], classes=["emu", "dog", "cat"])
    assert names == ["emu", "dog", "cat"]
    np.testing.assert_array_equal(codes, [1, 2, 1, 0])
    assert codes.dtype == np.uint8
    codes, names = coercion.true_label(["dog", "cat"], classes=None)
    assert names == ["cat", "dog"]
    np.testing.assert_array_equal(codes, [1, 0])


def test_unknown_text_labels_are_listed() -> None:
    err = error(coercion.true_label, ["cat", "yak", "gnu"], classes=["cat"])
    assert (err.expected, err.given) == ("labels among classes ['cat']", "unknown labels ['gnu', 'yak']")


def test_text_labels_must_be_one_dimensional() -> None:
    assert "1-D" in error(coercion.true_label, [["cat"], ["dog"]], classes=None).expected


def test_integer_labels_are_bounded_by_the_given_classes() -> None:
    codes, names = coercion.true_label([0, 2, 1], classes=["a", "b", "c"])
    assert names == ["a", "b", "c"]
    np.testing.assert_array_equal(codes, [0, 2, 1])
    codes, names = coercion.true_label([0, 7], classes=None)
    assert names is None
    np.testing.assert_array_equal(codes, [0, 7])
    err = error(coercion.true_label, [0, 3], classes=["a", "b", "c"])
    assert (err.expected, err.given) == ("values below 3 (the 3 classes given)", "the value 3")


def test_probability_sums_are_checked_only_when_asked() -> None:
    with pytest.warns(ProbabilityWarning, match="row 0 sums to 0.4"):
        coercion.predicted_probability([[0.2, 0.2]], check_sum=True)
    probs = coercion.predicted_probability([[0.2, 0.2]], check_sum=False)
    assert probs.dtype == np.float64
    assert error(coercion.predicted_probability, [[0.2, 1.2]], check_sum=False).column == "predicted_probability"
    assert "2-D" in error(coercion.predicted_probability, [0.5, 0.5], check_sum=False).expected


def test_class_indices_are_bounded_only_by_a_known_number_of_classes() -> None:
    classes = coercion.predicted_class([0, 300], n_classes=None)
    assert classes.dtype == np.uint32
    np.testing.assert_array_equal(classes, [0, 300])
    np.testing.assert_array_equal(coercion.predicted_class([0, 2], n_classes=3), [0, 2])
    err = error(coercion.predicted_class, [0, 3], n_classes=3)
    assert (err.column, err.expected) == ("predicted_class", "values below 3 (the number of classes)")


def test_top_k_classes_are_bounded_and_stored_as_the_schemas_uint() -> None:
    top = coercion.topk_classes([[1, 0], [2, 1]], n_classes=3)
    assert top.dtype == np.uint32
    np.testing.assert_array_equal(top, [[1, 0], [2, 1]])
    assert coercion.topk_classes([[5, 9]], n_classes=None).shape == (1, 2)
    err = error(coercion.topk_classes, [[1, 0], [3, 1]], n_classes=3)
    assert (err.column, err.given) == ("topk_classes", "the value 3")
    assert "2-D" in error(coercion.topk_classes, [1, 0], n_classes=None).expected


def test_top_k_probabilities_are_in_zero_one_descending_and_need_not_sum_to_one() -> None:
    top = coercion.topk_probabilities(np.array([[0.5, 0.2]], dtype=np.float32))
    assert top.dtype == np.float32
    assert "descending" in error(coercion.topk_probabilities, [[0.2, 0.5]]).expected
    assert error(coercion.topk_probabilities, [[1.5, 0.2]]).expected == "probabilities in [0, 1]"


def test_regression_outputs_and_embeddings_are_finite_floats_of_one_or_two_dimensions() -> None:
    for rule in (coercion.predicted_value, lambda v: coercion.embedding("viz_embedding", v)):
        assert rule([1, 2]).dtype == np.float64
        assert rule([[1.0, 2.0]]).shape == (1, 2)
        assert "finite" in error(rule, [1.0, np.nan]).expected
        assert "1-D or 2-D" in error(rule, np.zeros((1, 1, 1))).expected
    assert error(coercion.embedding, "viz_embedding", [np.inf]).column == "viz_embedding"


def test_cluster_labels_keep_noise_as_negative_values() -> None:
    labels = coercion.cluster_label([-1, 0, 5])
    assert labels.dtype == np.int32
    np.testing.assert_array_equal(labels, [-1, 0, 5])


@pytest.mark.parametrize("values", [[1, 2], [0.5], [True], np.array([1], dtype=np.uint64)])
def test_user_columns_of_the_writer_take_numbers_and_booleans(values: object) -> None:
    np.testing.assert_array_equal(coercion.user_numbers("loss", values), values)


@pytest.mark.parametrize("values", [["a"], [b"a"], np.array([1j]), np.array([None], dtype=object)])
def test_user_columns_of_the_writer_refuse_text_and_other_values(values: object) -> None:
    err = error(coercion.user_numbers, "loss", values)
    assert (err.column, err.expected) == ("loss", "numbers or booleans (the writer stores no text columns)")
    assert err.given == f"dtype {np.asarray(values).dtype}"


# -- declarations ------------------------------------------------------------------------------------------------


def test_a_declaration_is_a_row_shape_a_dtype_or_a_mapping() -> None:
    assert ColumnSpec.parse("x", None) == ColumnSpec("x")
    assert ColumnSpec.parse("x", (3, np.int64(2))) == ColumnSpec("x", row_shape=(3, 2))
    assert ColumnSpec.parse("x", ()) == ColumnSpec("x", row_shape=())
    assert ColumnSpec.parse("predicted_class", "uint8") == ColumnSpec("predicted_class", dtype=np.dtype("u4"))
    assert ColumnSpec.parse("loss", np.float32) == ColumnSpec("loss", dtype=np.dtype("f4"))
    assert ColumnSpec.parse("y", ColumnSpec("other", n_splits=4)) == ColumnSpec("y", n_splits=4)


def test_a_mapping_declares_every_option() -> None:
    declared = {
        "shape": [4],
        "dtype": "int8",
        "classes": ["a", b"b"],
        "n_splits": 5,
        "check_sum": False,
        "description": "d",
    }
    spec = ColumnSpec.parse("cv_split", declared)
    assert spec == ColumnSpec(
        "cv_split", row_shape=(4,), dtype=np.dtype("i4"), classes=("a", "b"), n_splits=5, check_sum=False,
        description="d",
    )  # fmt: skip
    assert ColumnSpec.parse("x", {}) == ColumnSpec("x", check_sum=True)


def test_a_declaration_with_unknown_keys_or_of_no_kind_is_refused() -> None:
    err = error(ColumnSpec.parse, "x", {"shape": (2,), "dtpye": "f4", "clases": []})
    assert err.given == "unknown keys ['clases', 'dtpye']"
    err = error(ColumnSpec.parse, "x", [1.5])
    assert (err.expected, err.given) == ("a row shape such as (1000,), a dtype, or a mapping", "[1.5]")


@pytest.mark.parametrize(
    ("name", "values", "options", "expected", "dtype"),
    [
        ("samples", [0, 3], {"n_source": 4}, [0, 3], "u1"),
        ("tvt_split", ["test", "train"], {}, [2, 0], "u1"),
        ("cv_split", [0, 2], {}, [0, 2], "i4"),
        ("true_label", ["b", "a"], {}, [1, 0], "u1"),
        ("predicted_probability", [[0.25, 0.75]], {}, [[0.25, 0.75]], "f8"),
        ("predicted_class", [1, 0], {"n_classes": 2}, [1, 0], "u4"),
        ("topk_probabilities", [[0.75, 0.25]], {}, [[0.75, 0.25]], "f8"),
        ("topk_classes", [[1, 0]], {"n_classes": 2}, [[1, 0]], "u4"),
        ("predicted_value", [1], {}, [1.0], "f8"),
        ("cluster_label", [-1, 2], {}, [-1, 2], "i4"),
        ("embedding", [[1, 2]], {}, [[1.0, 2.0]], "f8"),
        ("viz_embedding", [[1, 2]], {}, [[1.0, 2.0]], "f8"),
        ("loss", [True], {}, [True], "?"),
    ],
)
def test_a_batch_goes_through_its_columns_rule(
    name: str, values: object, options: dict[str, int], expected: object, dtype: str
) -> None:
    n_source, n_classes = options.get("n_source"), options.get("n_classes")
    coerced = coercion.coerce(ColumnSpec(name), values, n_source=n_source, n_classes=n_classes)
    np.testing.assert_array_equal(coerced, expected)
    assert coerced.dtype == np.dtype(dtype)


@pytest.mark.parametrize(
    ("name", "bad", "options", "given"),
    [
        ("samples", [0, 4], {"n_source": 4}, "the value 4"),
        ("cv_split", [0, 3], {}, "the value 3"),  # the declared n_splits=3 bounds each batch
        ("true_label", ["a", "z"], {}, "unknown labels ['z']"),
        ("predicted_class", [0, 2], {"n_classes": 2}, "the value 2"),
        ("topk_classes", [[2, 0]], {"n_classes": 2}, "the value 2"),
        ("tvt_split", [0, 3], {}, "the value 3"),
        ("topk_probabilities", [[0.25, 0.75]], {}, "row 0 = [0.25, 0.75]"),
        ("viz_embedding", [np.nan], {}, "nan at index 0"),
        ("loss", ["a"], {}, "dtype <U1"),
    ],
)
def test_a_batch_is_bounded_as_its_declaration_says(
    name: str, bad: object, options: dict[str, int], given: str
) -> None:
    spec = ColumnSpec(name, classes=("a", "b"), n_splits=3)
    err = error(coercion.coerce, spec, bad, n_source=options.get("n_source"), n_classes=options.get("n_classes"))
    assert (err.column, err.given) == (name, given)


def test_a_batch_of_unnormalised_probabilities_warns_unless_declared() -> None:
    with pytest.warns(ProbabilityWarning):
        coercion.coerce(ColumnSpec("predicted_probability"), [[0.2, 0.2]], n_source=None)
    coercion.coerce(ColumnSpec("predicted_probability", check_sum=False), [[0.2, 0.2]], n_source=None)


# -- bounds and stored types -------------------------------------------------------------------------------------


def test_the_bound_of_each_integer_column() -> None:
    specs = {"predicted_probability": ColumnSpec("predicted_probability", row_shape=(6,))}
    assert coercion.bound(ColumnSpec("predicted_class"), specs, None) == 6
    assert coercion.bound(ColumnSpec("topk_classes"), specs, None) == 6
    assert coercion.bound(ColumnSpec("true_label"), specs, None) == 6
    assert coercion.bound(ColumnSpec("true_label", classes=("a", "b")), specs, None) == 2
    assert coercion.bound(ColumnSpec("cv_split", n_splits=4), specs, None) == 4
    assert coercion.bound(ColumnSpec("cv_split"), specs, None) is None
    assert coercion.bound(ColumnSpec("tvt_split"), specs, None) == 3
    assert coercion.bound(ColumnSpec("samples"), specs, 17) == 17
    assert coercion.bound(ColumnSpec("cluster_label"), specs, 17) is None
    assert coercion.bound(ColumnSpec("loss"), specs, 17) is None


def test_without_a_probability_width_class_columns_have_no_bound() -> None:
    assert coercion.bound(ColumnSpec("predicted_class"), {}, None) is None
    unshaped = {"predicted_probability": ColumnSpec("predicted_probability")}
    assert coercion.bound(ColumnSpec("predicted_class"), unshaped, None) is None
    assert coercion.bound(ColumnSpec("true_label"), unshaped, None) is None


@pytest.mark.parametrize(
    ("spec", "limit", "stored"),
    [
        (ColumnSpec("predicted_class"), 6, "u4"),
        (ColumnSpec("predicted_class"), 2**32 + 1, "u8"),
        (ColumnSpec("true_label"), 256, "u1"),  # codes 0..255
        (ColumnSpec("true_label"), 257, "u2"),
        (ColumnSpec("tvt_split"), 3, "u1"),
        (ColumnSpec("cv_split"), 5, "i4"),
        (ColumnSpec("cv_split"), 2**31, "i4"),  # folds 0 .. 2**31 - 1: a signed 32-bit type holds them
        (ColumnSpec("cv_split"), 2**31 + 1, "i8"),
        (ColumnSpec("samples"), 2**31, "i4"),
        (ColumnSpec("samples"), 2**31 + 1, "i8"),
        (ColumnSpec("samples"), None, "i4"),
        (ColumnSpec("true_label"), 0, "u1"),
    ],
)
def test_a_bounded_column_is_stored_in_the_smallest_type_its_bound_and_schema_allow(
    spec: ColumnSpec, limit: int | None, stored: str
) -> None:
    first = np.array([0, 1], dtype=np.uint8)
    assert coercion.stored_dtype(spec, first, np.dtype("i8"), limit) == np.dtype(stored)


def test_an_unbounded_integer_column_keeps_the_type_it_arrives_in() -> None:
    first = np.array([0, 1], dtype=np.uint8)  # as coerced: narrowed to the first batch's values
    assert coercion.stored_dtype(ColumnSpec("loss"), first, np.dtype("i8"), None) == np.dtype("i8")
    assert coercion.stored_dtype(ColumnSpec("predicted_class"), first, np.dtype("i2"), None) == np.dtype("u4")
    assert coercion.stored_dtype(ColumnSpec("loss"), first, np.dtype("f8"), None) == np.dtype("u1")  # given as floats


def test_a_declared_dtype_wins_and_floats_keep_theirs() -> None:
    first = np.array([0, 1], dtype=np.uint8)
    declared = ColumnSpec("predicted_class", dtype=np.dtype("u2"))
    assert coercion.stored_dtype(declared, first, np.dtype("i8"), 6) == np.dtype("u4")
    floats = np.array([0.5], dtype=np.float32)
    assert coercion.stored_dtype(ColumnSpec("loss"), floats, np.dtype("f4"), 3) == np.dtype("f4")


# -- fitting a batch to its column ---------------------------------------------------------------------------------


def spec(dtype: str, row_shape: tuple[int, ...] = ()) -> ColumnSpec:
    return ColumnSpec("x", row_shape=row_shape, dtype=np.dtype(dtype))


def test_a_batch_of_another_row_shape_is_refused() -> None:
    err = error(coercion.fit, spec("f4", (3,)), np.zeros((2, 4), dtype=np.float32))
    assert err.expected == "rows of shape (3,) (declared or from the first batch)"
    assert err.given == "an array of shape (2, 4)"


def test_a_batch_of_the_stored_dtype_is_kept_as_it_is() -> None:
    batch = np.zeros((2, 3), dtype=np.float32)
    assert coercion.fit(spec("f4", (3,)), batch) is batch


@pytest.mark.parametrize(("dtype", "lo", "hi"), [("u1", 0, 255), ("i1", -128, 127), ("u4", 0, 2**32 - 1)])
def test_integers_that_fit_the_stored_type_are_cast_and_one_beyond_is_refused(dtype: str, lo: int, hi: int) -> None:
    fitted = coercion.fit(spec(dtype), np.array([lo, hi], dtype=np.int64))
    assert fitted.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(fitted, [lo, hi])
    for bad in (lo - 1, hi + 1):
        err = error(coercion.fit, spec(dtype), np.array([0, bad], dtype=np.int64))
        assert (
            err.expected
            == f"values that fit the column's dtype {np.dtype(dtype)} ({lo} to {hi}); declare a wider dtype"
        )
        assert err.given == f"values from {min(0, bad)} to {max(0, bad)}"


def test_booleans_and_empty_batches_fit_an_integer_column() -> None:
    fitted = coercion.fit(spec("u1"), np.array([True, False]))
    assert fitted.dtype == np.uint8
    np.testing.assert_array_equal(fitted, [1, 0])
    assert coercion.fit(spec("i1"), np.zeros(0, dtype=np.int64)).dtype == np.int8


def test_floats_widen_but_never_narrow_and_integers_become_floats() -> None:
    fitted = coercion.fit(spec("f8"), np.array([0.1], dtype=np.float32))
    assert fitted.dtype == np.float64 and fitted[0] == np.float64(np.float32(0.1))
    assert coercion.fit(spec("f4"), np.array([3], dtype=np.int64)).dtype == np.float32
    assert coercion.fit(spec("f4"), np.array([True])).dtype == np.float32
    assert coercion.fit(spec("f8"), np.array([0.5], dtype=np.float16)).dtype == np.float64
    err = error(coercion.fit, spec("f4"), np.array([0.1], dtype=np.float64))
    assert (err.expected, err.given) == ("values of dtype float32 (declared or from the first batch)", "dtype float64")


def test_booleans_fit_a_boolean_column_and_nothing_else_does() -> None:
    batch = np.array([True, False])
    assert coercion.fit(spec("?"), batch).dtype == np.bool_
    assert error(coercion.fit, spec("?"), np.array([1, 0])).given == "dtype int64"
    assert error(coercion.fit, spec("u1"), np.array([0.5])).given == "dtype float64"


# -- survivors of the first run (tests/MUTATION.md): each pins what one surviving mutant changed ------------------


def test_every_rules_errors_name_its_own_column() -> None:
    cases = {
        "samples": [lambda: coercion.samples([-1], n_source=None)],
        "cv_split": [lambda: coercion.cv_split([-1], n_splits=None), lambda: coercion.cv_split([0], n_splits=0)],
        "cluster_label": [lambda: coercion.cluster_label([0.5])],
        "predicted_value": [lambda: coercion.predicted_value(["a"])],
        "topk_classes": [lambda: coercion.topk_classes([[0.5]], n_classes=None)],
        "topk_probabilities": [
            lambda: coercion.topk_probabilities(["a"]),
            lambda: coercion.topk_probabilities([[1.5, 0.2]]),
        ],
        "true_label": [
            lambda: coercion.true_label([["a"], ["b", "c"]], classes=None),  # ragged
            lambda: coercion.true_label([["a"], ["b"]], classes=None),  # two-dimensional text
            lambda: coercion.true_label(["a"], classes=[1, 2]),  # class names that are not text
            lambda: coercion.true_label([-1], classes=None),
            lambda: coercion.true_label([0], classes=[1, 2]),
            lambda: coercion.true_label([0, 2], classes=["a", "b"]),
        ],
        "loss": [lambda: coercion.user_numbers("loss", [[1.0], [2.0, 3.0]])],
    }
    for column, calls in cases.items():
        for call in calls:
            assert error(call).column == column


def test_a_single_fold_is_allowed() -> None:
    folds, n = coercion.cv_split([0, 0, 0], n_splits=1)
    assert n == 1
    np.testing.assert_array_equal(folds, [0, 0, 0])
    assert error(coercion.cv_split, [0, 2], n_splits=2).expected == "values below 2 (n_splits=2)"


def test_a_top_k_class_beyond_the_classes_says_what_bounds_it() -> None:
    err = error(coercion.topk_classes, [[0, 3]], n_classes=3)
    assert err.expected == "values below 3 (the number of classes)"


def test_the_unknown_labels_error_lists_ten_classes_and_five_unknown_labels() -> None:
    classes = [f"c{i:02d}" for i in range(12)]
    err = error(coercion.true_label, ["c00", "u1", "u2", "u3", "u4", "u5", "u6"], classes=classes)
    assert err.expected == f"labels among classes {classes[:10]}"
    assert err.given == "unknown labels ['u1', 'u2', 'u3', 'u4', 'u5']"


def test_a_batch_of_another_byte_order_is_cast_to_the_columns_type() -> None:
    fitted = coercion.fit(spec("<f4"), np.array([0.5, -1.25], dtype=">f4"))  # as h5py may hand back a dataset
    assert fitted.dtype == np.dtype("<f4")
    np.testing.assert_array_equal(fitted, [0.5, -1.25])


def test_a_batch_beyond_the_stored_integer_type_names_its_column() -> None:
    assert error(coercion.fit, ColumnSpec("cls", row_shape=(), dtype=np.dtype("u1")), np.array([256])).column == "cls"


def test_declaration_errors_name_the_column() -> None:
    err = error(ColumnSpec.parse, "loss", {"shapes": (2,)})
    assert (err.column, err.expected) == (
        "loss",
        "a declaration with attribution, check_sum, classes, description, dtype, n_splits, shape",
    )
    assert error(ColumnSpec.parse, "loss", [1.5]).column == "loss"
    assert error(ColumnSpec.parse, "true_label", {"classes": [1, 2]}).column == "true_label"


# -- survivors of the run after the fork fix: the attribution rules (issue 14) ----------------------------------


def attrs(row_shape: tuple[int, ...], output: str = "predicted_value", **kwargs: object) -> dict[str, object]:
    return coercion.attribution_attributes("shap", row_shape, method="tree_shap", output=output, **kwargs)


def attrs_error(row_shape: tuple[int, ...], output: str = "predicted_value", **kwargs: object) -> ColumnError:
    err = error(attrs, row_shape, output, **kwargs)
    assert err.column == "shap"
    return err


def test_an_attribution_of_the_wrong_rank_says_which_axes_its_output_needs() -> None:
    err = error(coercion.feature_attribution, "shap", np.zeros((3, 2)), output="each_class")
    assert (err.column, err.given) == ("shap", "an array of shape (3, 2)")
    assert err.expected == "a 3-D/4-D/5-D array (rows, features[, ...], outputs) for output 'each_class'"
    err = error(coercion.feature_attribution, "shap", np.zeros(3), output="predicted_class")
    assert err.expected == (
        "a 2-D/3-D/4-D array (rows, features) or (rows, height, width[, channels]) for output 'predicted_class'"
    )


def test_an_attribution_method_that_is_not_text_is_refused_showing_what_was_given() -> None:
    methods = "['tree_shap', 'kernel_shap', 'linear_shap', 'deep_shap', 'permutation', 'integrated_gradients', "
    for given in (3, "  "):
        err = error(coercion.attribution_method, "shap", given)
        assert (err.column, err.given) == ("shap", repr(given))
        assert err.expected.startswith(f"a method: one of {methods}")
        assert err.expected.endswith("] or a description of another")


def test_attribution_errors_about_the_output_name_the_column() -> None:
    assert attrs_error((4,), "each_feature").expected.startswith("output one of ['predicted_class', ")
    err = attrs_error((4,), "positive_class", n_classes=3)
    assert err.expected == "output 'positive_class' for a binary classifier (2 classes)"
    assert err.given == "3 classes in predicted_probability; use 'each_class' or 'predicted_class'"


def test_per_output_image_attributions_take_their_outputs_from_the_last_axis() -> None:
    # rows of (height 5, width 6, 3 classes): the classes are the last axis, the features the two before it
    got = attrs((5, 6, 3), "each_class", n_classes=3, base_values=[0.1, 0.2, 0.7])
    np.testing.assert_array_equal(got["base_values"], [0.1, 0.2, 0.7])
    assert attrs_error((5, 6, 3), "each_class", n_classes=6).given == "3 outputs in rows of shape (5, 6, 3)"
    err = attrs_error((5, 6, 3), "each_class", feature_names=[f"f{i}" for i in range(5)])
    assert err.expected == "feature_names only with one feature axis (tabular data)"
    assert err.given == "feature names for features of shape (5, 6)"


def test_feature_names_are_refused_naming_what_is_wrong_with_them() -> None:
    err = attrs_error((3,), feature_names=["a", 3, "c"])
    assert (err.expected, err.given) == ("feature_names: one text name per feature", "int 3")
    assert "not UTF-8" in attrs_error((2,), feature_names=[b"a", b"\xff"]).given
    err = attrs_error((3,), feature_names=["a", " ", "c"])
    assert (err.expected, err.given) == ("a non-empty name for every feature", "an empty name at feature 1")
    err = attrs_error((3,), feature_names=["a", "b", "a"])
    assert (err.expected, err.given) == ("unique feature_names", "'a' more than once")
    assert attrs((1,), feature_names="only")["feature_names"] == ["only"]  # a lone name is one feature


def test_a_feature_table_must_be_a_table_holding_every_named_feature() -> None:
    from hdmf.common import DynamicTable

    for not_a_table in ({"age": [1]}, [1, 2]):
        err = attrs_error((1,), feature_names=["age"], feature_table=not_a_table)
        assert (err.expected, err.given) == ("feature_table: a DynamicTable", type(not_a_table).__name__)
    table = DynamicTable(name="src", description="features")
    for i in range(12):
        table.add_column(f"c{i:02d}", "a feature")
    err = attrs_error((2,), feature_table=table)
    assert err.expected == "feature_names naming the columns of feature_table"
    assert err.given == "feature_table without them"
    names = ["c00", *(f"x{i}" for i in range(6))]
    err = attrs_error((7,), feature_names=names, feature_table=table)
    assert err.expected == f"feature_names among the columns of table 'src' ({[f'c{i:02d}' for i in range(10)]})"
    assert err.given == str(names[1:6])
    assert attrs((2,), feature_names=["c00", "c11"], feature_table=table)["feature_table"] is table


def test_base_values_are_one_float_per_output() -> None:
    for given, output, row_shape in ((0.5, "predicted_value", (4,)), ([1, 2], "each_output", (4, 2))):
        stored = attrs(row_shape, output, base_values=given)["base_values"]
        assert isinstance(stored, np.ndarray) and stored.dtype == np.float64  # integers become floats
        np.testing.assert_array_equal(stored, np.ravel(given))
    for given in ([[1.0, 2.0]], []):
        err = attrs_error((4, 2), "each_output", base_values=given)
        assert err.expected == "base_values: a number or a 1-D array, one per output"
        assert err.given == f"shape {np.shape(given)}"
    assert attrs_error((4,), base_values=[[1.0], [2.0, 3.0]]).expected == "a rectangular array"  # ragged
    err = attrs_error((4,), "predicted_class", n_classes=3, base_values=[0.0, 1.0])
    assert (err.expected, err.given) == ("3 base_values (per class, for output 'predicted_class')", "2 values")
    err = attrs_error((4, 3), "each_output", base_values=[0.0, 1.0])
    assert (err.expected, err.given) == ("3 base_values (per output, for output 'each_output')", "2 values")
    err = attrs_error((4, 7), "each_output", base_values=[1, np.nan, np.inf, 2, 3, 4, 5])
    assert (err.expected, err.given) == ("finite base_values", "[1.0, nan, inf, 2.0, 3.0]")


def test_a_declared_attribution_takes_every_keyword_and_names_its_column_when_refused() -> None:
    declared = {"method": "tree_shap", "output": "each_class", "output_space": "raw", "feature_table": None}
    assert ColumnSpec.parse("shap", {"attribution": declared}).attribution == declared
    for bad in ({"method": "tree_shap"}, {**declared, "colour": "red"}, ["tree_shap", "each_class"]):
        err = error(ColumnSpec.parse, "shap", {"attribution": bad})
        assert (err.column, err.given) == ("shap", repr(bad))
        assert err.expected == (
            "attribution: a mapping with method, output and any of "
            "['base_values', 'feature_names', 'feature_table', 'output_space']"
        )
    assert error(ColumnSpec.parse, "shap", {"attribution": {**declared, "output": "each"}}).column == "shap"


def test_folds_beyond_the_int64_range_are_a_column_error() -> None:
    err = error(coercion.cv_split, np.array([0, 2**63], dtype=np.uint64), n_splits=None)
    assert (err.column, err.expected, err.given) == ("cv_split", "folds within the int64 range", f"the value {2**63}")
    folds, n = coercion.cv_split(np.array([0, 2**63 - 1], dtype=np.uint64), n_splits=2**63)
    assert (folds.dtype, n, int(folds[1])) == (np.dtype(np.int64), 2**63, 2**63 - 1)
    err = error(coercion.cv_split, [0, 1], n_splits=2**63 + 1)
    assert (err.column, err.expected) == ("cv_split", "n_splits <= 2**63 (folds are int64)")
    assert err.given == f"n_splits={2**63 + 1}"
