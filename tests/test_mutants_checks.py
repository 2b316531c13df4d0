"""The input checks at their edges: the boundaries, types and messages ``make mutate`` found untested.

Each test pins one behaviour of :mod:`hdmf_ai.checks` with values worked out by hand (the largest value a type
holds, the tolerance of a probability sum, the first bad index), so that an off-by-one, a flipped comparison or a
lost branch fails here rather than passing into a file.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import hdmf_ai
from hdmf_ai import ColumnError, ProbabilityWarning, checks


def error(call: object, *args: object, **kwargs: object) -> ColumnError:
    assert callable(call)
    with pytest.raises(ColumnError) as info:
        call(*args, **kwargs)
    return info.value


# -- storable values and missing entries ---------------------------------------------------------------------


def test_a_python_object_among_text_is_named_with_its_type_and_index() -> None:
    err = error(checks.check_storable, "note", np.array(["a", "b", 3.5j], dtype=object))
    assert (err.column, err.expected, err.given) == ("note", "numbers, booleans or text", "a complex object at index 2")


def test_a_missing_entry_among_text_is_named_with_its_index() -> None:
    err = error(checks.check_storable, "note", np.array(["a", None, "c"], dtype=object))
    assert err.given == "None at index 1"
    assert err.expected.startswith("text in every row")


def test_text_bytes_numbers_and_empty_columns_are_storable() -> None:
    for data in (["a", "b"], [b"a", b"b"], np.array(["x", b"y"], dtype=object), [1, 2], (), np.zeros(0)):
        checks.check_storable("note", data)


def test_ragged_rows_are_checked_row_by_row() -> None:
    checks.check_storable("tags", [["a", "b"], ["c"]])
    err = error(checks.check_storable, "tags", [["a", "b"], ["c", None, "d"]])
    assert err.given == "None at index 1"  # the index within the bad row


@pytest.mark.parametrize(
    ("value", "missing"),
    [
        (None, True),
        (float("nan"), True),
        (np.float32("nan"), True),
        ("", True),
        ("  \t", True),
        (b" ", True),
        (0.0, False),
        ("x", False),
        (b"x", False),
        (0, False),
        (False, False),
    ],
)
def test_what_counts_as_a_missing_value(value: object, missing: bool) -> None:
    data = np.array(["a", value], dtype=object)
    if missing:
        err = error(checks.check_no_missing, "label", data)
        assert err.given.endswith("at index 1 (1 missing in all)")
    else:
        checks.check_no_missing("label", data)


def test_pandas_missing_values_count_as_missing() -> None:
    pd = pytest.importorskip("pandas", reason="pandas is in the test extra")
    for value in (pd.NA, pd.NaT):
        err = error(checks.check_no_missing, "label", np.array(["a", "b", value], dtype=object))
        assert "at index 2" in err.given


def test_a_blank_label_in_a_text_array_is_missing_but_a_padded_one_is_not() -> None:
    checks.check_no_missing("label", np.array([" a ", "b"]))
    err = error(checks.check_no_missing, "label", np.array(["a", "b", " "]))
    assert err.given == "' ' at index 2 (1 missing in all)"


def test_a_missing_entry_of_a_two_dimensional_column_is_named_by_row_and_column() -> None:
    err = error(checks.check_no_missing, "label", np.array([[0.0, 1.0], [2.0, np.nan]]))
    assert err.given == "nan at index (1, 1) (1 missing in all)"


def test_a_masked_entry_is_named_as_masked() -> None:
    err = error(checks.check_no_missing, "label", np.ma.masked_array([1, 2, 3], mask=[False, False, True]))
    assert err.given == "a masked entry at index 2 (1 missing in all)"


def test_integer_and_boolean_labels_are_never_missing() -> None:
    checks.check_no_missing("label", np.array([0, 1, 2]))
    checks.check_no_missing("label", [True, False])


# -- shape, kind and finiteness -------------------------------------------------------------------------------


def test_the_allowed_ranks_are_listed_in_the_error() -> None:
    err = error(checks.check_ndim, "embedding", np.zeros((2, 2, 2)), (1, 2))
    assert err.expected == "a 1-D or 2-D array with one row per sample"
    assert err.given == "an array of shape (2, 2, 2) and dtype float64"


def test_booleans_are_numbers_but_complex_numbers_and_text_are_not() -> None:
    checks.check_numeric("x", np.array([True, False]))
    checks.check_numeric("x", np.array([1, 2], dtype=np.uint8))
    for bad in (np.array([1 + 2j]), np.array(["1"]), np.array([object()])):
        assert error(checks.check_numeric, "x", bad).expected == "real numbers"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_value_is_named_with_its_index(bad: float) -> None:
    err = error(checks.check_finite, "x", np.array([1.0, 2.0, bad, 4.0], dtype=np.float32))
    assert err.given == f"{np.float32(bad)} at index 2"
    err = error(checks.check_finite, "x", np.array([[1.0, 2.0], [bad, 4.0]]))
    assert err.given.endswith("at index (1, 0)")


def test_finite_and_empty_columns_pass_the_finiteness_check() -> None:
    checks.check_finite("x", np.array([np.finfo(np.float64).max, -1.0]))
    checks.check_finite("x", np.zeros(0))


@pytest.mark.parametrize("name", ["", "  ", "a/b", ".", "..", 3, None])
def test_a_table_name_that_cannot_be_a_group_is_refused(name: object) -> None:
    err = error(checks.check_table_name, name)
    assert (err.column, err.kind, err.given) == ("name", "argument", repr(name))


@pytest.mark.parametrize("name", ["results", "a.b", "...", " x"])
def test_a_table_name_that_can_be_a_group_is_kept(name: str) -> None:
    assert checks.check_table_name(name) == name


def test_a_column_of_another_length_is_refused_and_of_any_length_when_the_table_is_empty() -> None:
    checks.check_length("x", None, 7)
    checks.check_length("x", 3, 3)
    err = error(checks.check_length, "x", 3, 4)
    assert (err.expected, err.given) == ("3 rows, as the table has", "4 rows")


def test_floats_keep_float32_and_other_numbers_become_float64() -> None:
    assert checks.as_float("x", np.ones(3, dtype=np.float32), (1,)).dtype == np.float32
    assert checks.as_float("x", np.ones(3, dtype=np.float16), (1,)).dtype == np.float16
    as_float = checks.as_float("x", [1, 2, 3], (1,))
    assert as_float.dtype == np.float64
    np.testing.assert_array_equal(as_float, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(checks.as_float("x", [True, False], (1,)), [1.0, 0.0])


def test_ragged_input_is_refused_as_not_rectangular() -> None:
    err = error(checks.as_array, "x", [[1, 2], [3]])
    assert err.expected == "a rectangular array"
    assert err.given.startswith("ragged data (")
    arr = np.arange(3)
    assert checks.as_array("x", arr) is arr  # an array is taken as it is, not copied


# -- integers ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("top", "dtype"), [(0, np.uint8), (255, np.uint8), (256, np.uint16), (65535, np.uint16), (65536, np.uint32)]
)
def test_the_smallest_unsigned_type_holds_the_largest_value(top: int, dtype: type) -> None:
    stored = checks.smallest_uint(np.array([0, top], dtype=np.int64))
    assert stored.dtype == dtype
    np.testing.assert_array_equal(stored, [0, top])


def test_an_empty_column_is_stored_in_the_narrowest_types() -> None:
    assert checks.smallest_uint(np.zeros(0, dtype=np.int64)).dtype == np.uint8
    assert checks.smallest_int(np.zeros(0, dtype=np.int64)).dtype == np.int8


@pytest.mark.parametrize(
    ("lo", "hi", "dtype"),
    [
        (-128, 127, np.int8),
        (-129, 0, np.int16),
        (0, 128, np.int16),
        (-32768, 32767, np.int16),
        (-32769, 0, np.int32),
        (0, 2**31 - 1, np.int32),
        (0, 2**31, np.int64),
        (-(2**31) - 1, 0, np.int64),
    ],
)
def test_the_smallest_signed_type_holds_both_extremes(lo: int, hi: int, dtype: type) -> None:
    stored = checks.smallest_int(np.array([lo, hi], dtype=np.int64))
    assert stored.dtype == dtype
    np.testing.assert_array_equal(stored, [lo, hi])


def test_booleans_become_unsigned_codes() -> None:
    codes = checks.as_integers("x", [True, False, True])
    assert codes.dtype == np.uint8
    np.testing.assert_array_equal(codes, [1, 0, 1])


def test_whole_floats_become_integers_and_the_first_fraction_is_named() -> None:
    np.testing.assert_array_equal(checks.as_integers("x", [0.0, 3.0, 300.0]), [0, 3, 300])
    assert checks.as_integers("x", [0.0, 3.0, 300.0]).dtype == np.uint16
    err = error(checks.as_integers, "x", [1.0, 2.5, 3.25])
    assert (err.expected, err.given) == ("whole numbers", "fractional values such as 2.5")
    assert "finite" in error(checks.as_integers, "x", [1.0, np.inf]).expected


def test_the_most_negative_value_is_named_and_signed_columns_keep_it() -> None:
    err = error(checks.as_integers, "x", [3, -2, -7, 1])
    assert (err.expected, err.given) == ("non-negative integers", "negative values such as -7")
    signed = checks.as_integers("x", [3, -2, -7, 1], signed=True)
    assert signed.dtype == np.int8
    np.testing.assert_array_equal(signed, [3, -2, -7, 1])
    assert checks.as_integers("x", [0, 0]).dtype == np.uint8  # zero is not negative


def test_an_empty_integer_column_is_accepted() -> None:
    assert checks.as_integers("x", np.zeros(0, dtype=np.int64)).size == 0
    assert checks.as_integers("x", np.zeros(0)).size == 0


def test_text_is_not_integers() -> None:
    err = error(checks.as_integers, "x", ["1", "2"])
    assert err.expected == "integers"


# -- probabilities, orders and bounds ----------------------------------------------------------------------------


def test_probabilities_of_exactly_zero_and_one_are_accepted() -> None:
    checks.check_probabilities("p", np.array([[0.0, 1.0], [1.0, 0.0]]), check_sum=True)


@pytest.mark.parametrize("bad", [-1e-9, 1 + 1e-9])
def test_a_probability_just_outside_zero_one_is_refused_with_the_range(bad: float) -> None:
    err = error(checks.check_probabilities, "p", np.array([[0.5, 0.5], [bad, 0.5]]), check_sum=False)
    assert err.expected == "probabilities in [0, 1]"
    assert err.given == f"values from {min(bad, 0.5)} to {max(bad, 0.5)}"


def test_a_row_sum_within_the_tolerance_does_not_warn() -> None:
    inside = np.array([[0.5, 0.5 - 0.9e-3], [0.5, 0.5 + 0.9e-3]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checks.check_probabilities("p", inside, check_sum=True)


@pytest.mark.parametrize("drift", [-1.1e-3, 1.1e-3])
def test_a_row_sum_beyond_the_tolerance_warns_naming_the_worst_row(drift: float) -> None:
    probs = np.array([[0.5, 0.5], [0.5, 0.5 + drift / 2], [0.5, 0.5 + drift]])
    with pytest.warns(ProbabilityWarning) as caught:
        checks.check_probabilities("p", probs, check_sum=True)
    [warning] = caught
    assert str(warning.message).startswith(f"column 'p': rows should sum to 1 but row 2 sums to {1 + drift:.6g};")


def test_sums_are_not_checked_when_told_not_to_or_on_an_empty_column() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        checks.check_probabilities("p", np.array([[0.2, 0.2]]), check_sum=False)
        checks.check_probabilities("p", np.zeros((0, 3)), check_sum=True)


def test_the_sum_warning_points_at_the_callers_line() -> None:
    with pytest.warns(ProbabilityWarning) as caught:
        hdmf_ai.ResultsTable().add_predicted_probability([[0.2, 0.2]])
    assert caught[0].filename == __file__  # stacklevel: the user's add_* call, not the library


def test_equal_top_k_probabilities_are_in_order_and_the_first_rise_is_named() -> None:
    checks.check_descending("top", np.array([[0.4, 0.4, 0.2]]))
    checks.check_descending("top", np.array([[0.1], [0.9]]))  # k = 1: nothing to order
    err = error(checks.check_descending, "top", np.array([[0.5, 0.3], [0.4, 0.1], [0.2, 0.3]]))
    assert err.given == "row 2 = [0.2, 0.3]"


def test_top_k_widths_must_match_and_a_missing_partner_is_no_constraint() -> None:
    checks.check_same_k("a", np.zeros((2, 3)), "b", None)
    checks.check_same_k("a", np.zeros((2, 3)), "b", (2, 3))
    checks.check_same_k("a", np.zeros((2, 3)), "b", (5,))  # a partner that is not 2-D has no k
    err = error(checks.check_same_k, "a", np.zeros((2, 3)), "b", (2, 4))
    assert (err.expected, err.given) == ("k=4 columns, as 'b' has", "k=3")


def test_the_largest_value_below_the_bound_is_accepted_and_the_bound_itself_refused() -> None:
    checks.check_below("x", np.array([0, 4]), 5, "five things")
    checks.check_below("x", np.zeros(0, dtype=int), 0, "nothing")
    err = error(checks.check_below, "x", np.array([5, 0, 2]), 5, "five things")
    assert (err.expected, err.given) == ("values below 5 (five things)", "the value 5")


# -- train / validate / test --------------------------------------------------------------------------------------


def test_split_names_as_text_or_bytes_become_their_codes() -> None:
    codes = checks.as_tvt_codes("tvt", ["test", "train", "validate", "train"])
    assert codes.dtype == np.uint8
    np.testing.assert_array_equal(codes, [2, 0, 1, 0])
    np.testing.assert_array_equal(checks.as_tvt_codes("tvt", [b"validate", b"test"]), [1, 2])
    np.testing.assert_array_equal(checks.as_tvt_codes("tvt", np.array([b"train", b"test"], dtype=object)), [0, 2])


def test_split_codes_are_kept_and_three_is_refused() -> None:
    codes = checks.as_tvt_codes("tvt", [2, 0, 1])
    assert codes.dtype == np.uint8
    np.testing.assert_array_equal(codes, [2, 0, 1])
    err = error(checks.as_tvt_codes, "tvt", [0, 3])
    assert err.given == "the value 3"


def test_unknown_split_names_are_listed_up_to_five() -> None:
    err = error(checks.as_tvt_codes, "tvt", ["a", "b", "c", "d", "e", "f", "g", "train"])
    assert err.given == "['a', 'b', 'c', 'd', 'e']"


def test_split_names_must_be_one_dimensional() -> None:
    assert "1-D" in error(checks.as_tvt_codes, "tvt", [["train"], ["test"]]).expected


def test_labels_are_coded_into_their_sorted_names_in_the_smallest_type() -> None:
    codes, names = checks.encode_labels("y", np.array([b"owl", b"cat", b"owl"]))
    assert names == ["cat", "owl"]
    assert codes.dtype == np.uint8
    np.testing.assert_array_equal(codes, [1, 0, 1])
    codes, names = checks.encode_labels("y", np.array([f"c{i:03d}" for i in range(300)][::-1]))
    assert codes.dtype == np.uint16 and names[0] == "c000"
    np.testing.assert_array_equal(codes, np.arange(300)[::-1])


# -- metadata text and JSON -------------------------------------------------------------------------------------


def test_metadata_text_becomes_one_string_per_step() -> None:
    assert checks.text_list("x", None) is None
    assert checks.text_list("x", "one") == ["one"]
    assert checks.text_list("x", b"one") == ["one"]
    assert checks.text_list("x", ["a", b"b"]) == ["a", "b"]
    err = error(checks.text_list, "x", ["a", 2.5])
    assert (err.expected, err.given) == ("a string or a list of strings, one per step", "float 2.5")


@pytest.mark.parametrize("to_list", [checks.text_list, checks.json_list])
def test_metadata_bytes_that_are_not_utf8_are_refused_naming_the_column(to_list: object) -> None:
    err = error(to_list, "source_code", ["{}", b"{}", b'"caf\xe9"'])  # Latin-1, not UTF-8
    assert (err.column, err.expected) == ("source_code", "text: strings, or bytes in UTF-8")
    assert err.given == "bytes that are not UTF-8 (invalid continuation byte at byte 4 of b'\"caf\\xe9\"')"
    long = b"\xff" + bytes(range(65, 65 + 49))  # 50 bytes: the message shows the first 40
    assert error(to_list, "source_code", long).given.endswith(f"at byte 0 of {long[:40]!r})")


def test_parameters_become_one_json_text_per_step() -> None:
    assert checks.json_list("p", None) is None
    assert checks.json_list("p", {"C": 1}) == ['{"C": 1}']
    assert checks.json_list("p", '{"C": 1}') == ['{"C": 1}']
    assert checks.json_list("p", b'{"C": 1}') == ['{"C": 1}']
    steps = checks.json_list("p", [{"a": np.int64(2)}, "[1, 2]", {"b": np.float32(0.5), "c": np.bool_(True)}])
    assert steps is not None
    assert [json.loads(s) for s in steps] == [{"a": 2}, [1, 2], {"b": 0.5, "c": True}]


@pytest.mark.parametrize("value", [np.float64("nan"), np.float32("inf"), float("nan")])
def test_a_non_finite_parameter_is_refused(value: object) -> None:
    err = error(checks.json_list, "p", {"x": value})
    assert err.expected == "JSON text or a JSON-serialisable dict"


def test_an_object_without_a_json_form_is_named() -> None:
    err = error(checks.json_list, "p", {"x": {1, 2}})
    assert err.given == "set {1, 2} is not JSON-serialisable"
    err = error(checks.json_list, "p", ["{bad"])
    assert err.given.startswith("invalid JSON (")


# -- survivors of the first run (tests/MUTATION.md): each pins what one surviving mutant changed ------------------


def test_whole_half_and_single_precision_floats_are_integers_too() -> None:
    for dtype in (np.float16, np.float32):
        codes = checks.as_integers("x", np.array([0.0, 2.0], dtype=dtype))
        np.testing.assert_array_equal(codes, [0, 2])
        assert codes.dtype == np.uint8


def test_every_refusal_of_an_integer_column_names_that_column() -> None:
    for bad in ([[0, 1]], [0.0, np.nan], [[0], [1, 2]], ["a", "b"], [-1]):
        assert error(checks.as_integers, "classes", bad).column == "classes"
    assert error(checks.as_integers, "classes", ["a", "b"]).given == "an array of shape (2,) and dtype <U1"


def test_every_refusal_of_a_float_column_names_that_column() -> None:
    for bad in (["a"], [[1.0], [2.0, 3.0]], [[[1.0]]], [np.inf]):
        assert error(checks.as_float, "embedding", bad, (1, 2)).column == "embedding"
    err = error(checks.check_numeric, "embedding", np.array(["1"]))
    assert (err.column, err.given) == ("embedding", "an array of shape (1,) and dtype <U1")


def test_every_refusal_of_a_split_column_names_that_column_and_the_codes() -> None:
    for bad in ([["train"], ["test"]], [["train"], ["test", "train"]], [0, 3]):
        assert error(checks.as_tvt_codes, "tvt", bad).column == "tvt"
    assert error(checks.as_tvt_codes, "tvt", [0, 3]).expected == "values below 3 (0=train, 1=validate, 2=test)"


def test_a_tie_does_not_hide_the_row_that_rises() -> None:
    err = error(checks.check_descending, "top", np.array([[0.5, 0.5], [0.2, 0.3]]))
    assert (err.expected, err.given) == ("each row in descending order", "row 1 = [0.2, 0.3]")


def test_the_finiteness_error_says_what_is_expected() -> None:
    assert error(checks.check_finite, "x", np.array([np.nan])).expected == "finite values (no NaN or inf)"


def test_columns_that_hold_no_floats_are_not_checked_for_finiteness() -> None:
    checks.check_finite("x", np.array(["nan", "inf"]))  # text, not a float NaN: another rule's business
    checks.check_finite("x", np.array([np.datetime64("NaT", "ns")]))


def test_a_blank_or_numpy_nat_entry_of_a_pandas_column_is_missing() -> None:
    pd = pytest.importorskip("pandas", reason="pandas is in the test extra")
    assert (
        error(checks.check_no_missing, "label", pd.Series(["cat", " ", "dog"])).given
        == "' ' at index 1 (1 missing in all)"
    )
    nat = pd.Series(["cat", "dog", np.datetime64("NaT", "ns")], dtype=object)  # pandas counts it missing, numpy's NaT
    assert "at index 2 (1 missing in all)" in error(checks.check_no_missing, "label", nat).given


def test_the_sum_warning_says_how_to_allow_unnormalised_rows() -> None:
    with pytest.warns(ProbabilityWarning) as caught:
        checks.check_probabilities("p", np.array([[0.2, 0.2]]), check_sum=True)
    assert str(caught[0].message) == (
        "column 'p': rows should sum to 1 but row 0 sums to 0.4; "
        "pass check_sum=False if these are not normalised probabilities"
    )


def test_half_precision_rows_are_summed_in_double_precision() -> None:
    # 0.5 + 0.5 + 0.0011 (as float16) is 1.0011: over the tolerance; a float16 sum would round it to 1.00098
    with pytest.warns(ProbabilityWarning, match="row 0 sums to 1.0011"):
        checks.check_probabilities("p", np.array([[0.5, 0.5, 0.0011]], dtype=np.float16), check_sum=True)


def test_iterators_and_lazy_data_are_left_to_the_backend_and_not_consumed() -> None:
    rows = iter([object(), object()])
    checks.check_storable("x", rows)
    assert len(list(rows)) == 2


def test_a_single_row_of_a_python_object_is_refused() -> None:
    err = error(checks.check_storable, "x", [object()])
    assert err.given == "a object object at index 0"
    err = error(checks.check_storable, "x", [None])
    assert err.expected == "text in every row (no None, NaN or pd.NA); drop or fill those rows"


def test_a_bad_row_of_a_ragged_column_names_the_column() -> None:
    assert error(checks.check_storable, "tags", [["a"], ["b", object()]]).column == "tags"


def test_the_table_name_error_says_what_a_name_must_be() -> None:
    err = error(checks.check_table_name, "a/b")
    assert err.expected == "a non-empty name without '/' (it becomes a group of the file), e.g. 'logreg'"


def test_non_ascii_labels_given_as_utf8_bytes_keep_their_text() -> None:
    codes, names = checks.encode_labels("y", np.array(["élan".encode(), b"cat"]))
    assert names == ["cat", "élan"]
    np.testing.assert_array_equal(codes, [1, 0])


def test_invalid_json_and_non_finite_parameters_are_named_exactly() -> None:
    err = error(checks.json_list, "parameters", ["{bad"])
    assert (err.column, err.expected) == ("parameters", "JSON text or a JSON-serialisable dict")
    assert error(checks.json_list, "parameters", {"x": np.float32("nan")}).given == "nan is not valid JSON"


def test_a_signed_column_refuses_uint64_values_beyond_int64_naming_the_column() -> None:
    rt = hdmf_ai.ResultsTable()
    with pytest.raises(hdmf_ai.ColumnError) as err:
        rt.add_cluster_label(np.array([0, 2**63], dtype=np.uint64))
    assert err.value.column == "cluster_label" and "int64" in str(err.value) and str(2**63) in str(err.value)
    # within range, uint64 values are kept exactly
    rt2 = hdmf_ai.ResultsTable()
    np.testing.assert_array_equal(rt2.add_cluster_label(np.array([0, 5], dtype=np.uint64)).data, [0, 5])


def test_signed_integers_take_uint64_values_up_to_the_int64_maximum_and_name_the_first_past_it() -> None:
    top = np.iinfo(np.int64).max
    kept = checks.as_integers("x", np.array([top, 0], dtype=np.uint64), signed=True)
    assert kept.dtype.kind == "i" and int(kept[0]) == top
    err = error(checks.as_integers, "x", np.array([top + 1, 0], dtype=np.uint64), signed=True)
    assert (err.column, err.expected, err.given) == ("x", "integers within the int64 range", f"the value {top + 1}")
