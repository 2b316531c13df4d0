"""Bad input is refused with a message naming the column, what was expected and what was given,
and no failed write leaves a file behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from builders import full_table, source_table
from hdmf.common import VectorData
from hdmf.data_utils import DataChunkIterator

import hdmf_ai
from hdmf_ai import ColumnError, ProbabilityWarning, ResultsFileError


def table_with_rows(n: int = 3) -> hdmf_ai.ResultsTable:
    rt = hdmf_ai.ResultsTable()
    rt.add_predicted_value(np.zeros(n))
    return rt


def assert_column_error(err: ColumnError, column: str, *fragments: str) -> None:
    assert err.column == column
    message = str(err)
    assert f"column '{column}'" in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_a_column_of_the_wrong_length_names_both_lengths() -> None:
    rt = table_with_rows(3)
    with pytest.raises(ColumnError) as info:
        rt.add_cluster_label([0, 1])
    assert_column_error(info.value, "cluster_label", "3 rows", "2 rows")
    assert "cluster_label" not in rt.colnames


def test_a_user_column_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ColumnError) as info:
        table_with_rows(3).add_column("loss", "per-sample loss", data=[1.0])
    assert_column_error(info.value, "loss", "3 rows", "1 rows")


def test_a_duplicate_column_is_refused() -> None:
    rt = table_with_rows(2)
    rt.add_column("loss", "l", data=[1.0, 2.0])
    with pytest.raises(ColumnError) as info:
        rt.add_column("loss", "again", data=[1.0, 2.0])
    assert_column_error(info.value, "loss", "second column named 'loss'")
    with pytest.raises(ColumnError):
        rt.add_predicted_value([1.0, 2.0])


@pytest.mark.parametrize("bad", [[[1.2, -0.2]], [[0.5, np.nan]], [[1.5, 0.5]]])
def test_probabilities_outside_zero_one_or_nan_are_refused(bad: list[list[float]]) -> None:
    with pytest.raises(ColumnError) as info:
        hdmf_ai.ResultsTable().add_predicted_probability(bad)
    assert info.value.column == "predicted_probability"


def test_probabilities_must_be_two_dimensional() -> None:
    with pytest.raises(ColumnError) as info:
        hdmf_ai.ResultsTable().add_predicted_probability([0.2, 0.8])
    assert_column_error(info.value, "predicted_probability", "2-D", "shape (2,)")


def test_rows_not_summing_to_one_warn_and_can_be_allowed() -> None:
    with pytest.warns(ProbabilityWarning, match=r"column 'predicted_probability': rows should sum to 1 but row 1"):
        hdmf_ai.ResultsTable().add_predicted_probability([[0.5, 0.5], [0.5, 0.3]])
    rt = hdmf_ai.ResultsTable()
    rt.add_predicted_probability([[0.5, 0.5], [0.5, 0.3]], check_sum=False)  # no warning: pytest errors on one
    assert rt.predicted_probability.data.shape == (2, 2)


@pytest.mark.parametrize(
    ("values", "fragment"),
    [([0, -1, 2], "non-negative"), ([0.5, 1.0, 2.0], "whole numbers"), (["a", "b", "c"], "integers")],
)
def test_class_labels_must_be_non_negative_integers(values: list[object], fragment: str) -> None:
    with pytest.raises(ColumnError) as info:
        hdmf_ai.ResultsTable().add_predicted_class(values)
    assert_column_error(info.value, "predicted_class", fragment)


def test_a_predicted_class_beyond_the_probability_columns_is_refused() -> None:
    rt = hdmf_ai.ResultsTable()
    rt.add_predicted_probability([[0.5, 0.5], [0.1, 0.9]])
    with pytest.raises(ColumnError) as info:
        rt.add_predicted_class([0, 2])
    assert_column_error(info.value, "predicted_class", "values below 2", "the value 2")


def test_probabilities_narrower_than_an_existing_class_index_are_refused() -> None:
    rt = hdmf_ai.ResultsTable()
    rt.add_predicted_class([0, 2])
    with pytest.raises(ColumnError) as info:
        rt.add_predicted_probability([[0.5, 0.5], [0.1, 0.9]])
    assert info.value.column == "predicted_class"


@pytest.mark.parametrize("bad", [[0, 3], ["train", "tset"], [0.5, 1]])
def test_tvt_split_accepts_only_the_three_stages(bad: list[object]) -> None:
    with pytest.raises(ColumnError) as info:
        hdmf_ai.ResultsTable().add_tvt_split(bad)
    assert info.value.column == "tvt_split"


def test_tvt_split_error_lists_the_unknown_names() -> None:
    with pytest.raises(ColumnError, match=r"expected 0/1/2 or one of \['train', 'validate', 'test'\]; got \['tset'\]"):
        hdmf_ai.ResultsTable().add_tvt_split(["train", "tset"])


def test_cv_split_values_must_be_below_n_splits() -> None:
    with pytest.raises(ColumnError) as info:
        hdmf_ai.ResultsTable().add_cv_split([0, 1, 5], n_splits=5)
    assert_column_error(info.value, "cv_split", "values below 5", "the value 5")


def test_cv_split_n_splits_defaults_to_the_largest_fold_plus_one() -> None:
    rt = hdmf_ai.ResultsTable()
    rt.add_cv_split([0, 2, 1])
    assert rt.cv_split.n_splits == 3


def test_top_k_arrays_must_agree_on_k() -> None:
    rt = hdmf_ai.ResultsTable()
    rt.add_topk_probabilities([[0.6, 0.3, 0.1]])
    with pytest.raises(ColumnError) as info:
        rt.add_topk_classes([[0, 1]])
    assert_column_error(info.value, "topk_classes", "k=3", "k=2")


def test_top_k_probabilities_must_be_descending() -> None:
    with pytest.raises(ColumnError) as info:
        hdmf_ai.ResultsTable().add_topk_probabilities([[0.1, 0.6]])
    assert_column_error(info.value, "topk_probabilities", "descending", "row 0")


def test_samples_outside_the_source_table_are_refused() -> None:
    source = source_table(4)
    with pytest.raises(ColumnError) as info:
        hdmf_ai.ResultsTable().add_samples([0, 4], table=source)
    assert_column_error(info.value, "samples", "values below 4", "'source'", "the value 4")


@pytest.mark.parametrize("method", ["add_embedding", "add_viz_embedding", "add_predicted_value"])
def test_nan_is_refused_where_the_type_forbids_it(method: str) -> None:
    with pytest.raises(ColumnError) as info:
        getattr(hdmf_ai.ResultsTable(), method)([1.0, np.nan])
    assert "finite values" in str(info.value)


def test_ragged_data_is_refused() -> None:
    with pytest.raises(ColumnError) as info:
        hdmf_ai.ResultsTable().add_embedding([[1.0, 2.0], [3.0]])
    assert_column_error(info.value, "embedding", "rectangular")


def test_parameters_that_are_not_json_serialisable_are_refused() -> None:
    with pytest.raises(ColumnError) as info:
        hdmf_ai.ResultsTable(parameters={"model": object()})
    assert_column_error(info.value, "parameters", "JSON", "object")
    with pytest.raises(ColumnError, match="invalid JSON"):
        hdmf_ai.ResultsTable(parameters="{not json")
    with pytest.raises(ColumnError, match="JSON"):
        hdmf_ai.ResultsTable(parameters={"x": float("nan")})


def test_numpy_values_in_parameters_are_stored_as_plain_json() -> None:
    rt = hdmf_ai.ResultsTable(parameters={"C": np.float32(0.5), "n": np.int64(3)})
    assert rt.get_parameters() == {"C": 0.5, "n": 3}


def test_metadata_must_be_text() -> None:
    with pytest.raises(ColumnError) as info:
        hdmf_ai.ResultsTable(source_code=[1, 2])
    assert_column_error(info.value, "source_code", "list of strings", "int 1")


def test_string_labels_outside_the_given_classes_are_refused() -> None:
    with pytest.raises(ColumnError) as info:
        hdmf_ai.ResultsTable().add_true_label(["cat", "emu"], classes=["cat", "dog"])
    assert_column_error(info.value, "true_label", "unknown labels ['emu']")


def test_an_existing_path_needs_overwrite(path: Path) -> None:
    hdmf_ai.write(full_table(3), path)
    before = sorted(os.listdir(path.parent))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        hdmf_ai.write(full_table(5), path)
    assert len(hdmf_ai.read(path)) == 3
    assert sorted(os.listdir(path.parent)) == before


def unwritable_table(n: int) -> hdmf_ai.ResultsTable:
    """A table whose write fails half-way: a column streamed from a generator that crashes,
    as an inference loop might."""

    def crashing_batches() -> Iterator[np.ndarray]:
        yield np.zeros(2)
        raise RuntimeError("inference crashed")

    streamed = VectorData(
        name="streamed", description="from a generator", data=DataChunkIterator(data=crashing_batches(), buffer_size=1)
    )
    return hdmf_ai.ResultsTable(columns=[streamed], id=np.arange(n))


def test_a_user_column_of_python_objects_is_refused() -> None:
    with pytest.raises(ColumnError) as info:
        table_with_rows(2).add_column("opaque", "objects", data=[object(), object()])
    assert_column_error(info.value, "opaque", "numbers, booleans or text", "object object")


def test_a_failed_write_leaves_no_file_and_keeps_the_old_one(path: Path) -> None:
    hdmf_ai.write(full_table(3), path)
    broken = unwritable_table(4)
    with pytest.raises(Exception, match="inference crashed"):
        hdmf_ai.write(broken, path, overwrite=True)
    assert len(hdmf_ai.read(path)) == 3, "the old file is intact"
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name], "no temporary file is left"


def test_a_failed_first_write_leaves_nothing(path: Path) -> None:
    broken = unwritable_table(4)
    with pytest.raises(Exception, match="inference crashed"):
        hdmf_ai.write(broken, path)
    assert list(path.parent.iterdir()) == []


def test_an_unknown_suffix_asks_for_a_backend(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"backend='hdf5' or backend='zarr'"):
        hdmf_ai.write(full_table(2), tmp_path / "x.csv")
    with pytest.raises(ValueError, match="unknown backend 'parquet'"):
        hdmf_ai.write(full_table(2), tmp_path / "x.h5", backend="parquet")


def test_reading_a_missing_file_says_so(path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no results file at"):
        hdmf_ai.read(path)


def test_reading_a_corrupt_file_names_the_file(path: Path) -> None:
    hdmf_ai.write(full_table(3), path)
    if path.is_dir():  # Zarr: break the root metadata
        (path / "zarr.json").write_text("{ not json")
    else:
        with open(path, "r+b") as f:
            f.write(b"\x00" * 64)  # destroy the HDF5 superblock
    with pytest.raises(ResultsFileError) as info:
        hdmf_ai.read(path)
    assert str(path) in str(info.value)


def test_a_file_without_results_tables_says_so(path: Path) -> None:
    hdmf_ai.write(source_table(3), path)
    with pytest.raises(ResultsFileError, match="holds no ResultsTable"):
        hdmf_ai.read(path)


def test_write_refuses_things_that_are_not_tables(path: Path) -> None:
    with pytest.raises(TypeError, match="DynamicTable"):
        hdmf_ai.write([np.zeros(3)], path)  # type: ignore[list-item]
    assert not path.exists()
