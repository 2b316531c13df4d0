"""Every column type survives a write and a read on both backends, eager and lazy."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import zarr
from builders import CLASS_NAMES, assert_tables_equal, column_values, full_table, source_table
from hdmf.common import DynamicTable

import hdmf_ai


@pytest.mark.parametrize("n", [0, 1, 57])
def test_every_column_round_trips(path: Path, n: int) -> None:
    rt = full_table(n)
    hdmf_ai.write(rt, path)
    assert_tables_equal(hdmf_ai.read(path), rt)


def test_lazy_open_reads_the_same_values_without_loading(path: Path) -> None:
    rt = full_table(40)
    hdmf_ai.write(rt, path)
    with hdmf_ai.open(path) as lazy:
        assert not isinstance(lazy.predicted_probability.data, np.ndarray), "open() must not load columns"
        np.testing.assert_array_equal(lazy.predicted_probability.data[5:9], rt.predicted_probability.data[5:9])
        assert_tables_equal(lazy, rt)


def test_eager_read_returns_numpy_that_outlives_the_file(path: Path) -> None:
    rt = full_table(10)
    hdmf_ai.write(rt, path)
    back = hdmf_ai.read(path)
    for col in back.columns:
        assert isinstance(col.data, np.ndarray), col.name
    shutil.rmtree(path) if path.is_dir() else path.unlink()  # every value must already be in memory
    assert_tables_equal(back, rt)


def test_cross_column_links_point_at_the_right_columns(path: Path) -> None:
    hdmf_ai.write(full_table(12), path)
    back = hdmf_ai.read(path)
    assert back.predicted_class.probabilities is back.predicted_probability
    assert back.topk_classes.probabilities is back.topk_probabilities
    for name in (
        "predicted_probability",
        "predicted_class",
        "topk_probabilities",
        "topk_classes",
        "predicted_value",
        "cluster_label",
    ):
        assert back[name].training_labels is back.true_label, name


def test_links_are_set_whatever_the_order_columns_are_added() -> None:
    rt = hdmf_ai.ResultsTable()
    rt.add_topk_classes([[1, 0], [0, 1]])
    rt.add_predicted_class([1, 0])
    rt.add_predicted_probability([[0.2, 0.8], [0.6, 0.4]])
    rt.add_topk_probabilities([[0.8, 0.2], [0.6, 0.4]])
    rt.add_true_label([1, 0])
    assert rt.predicted_class.probabilities is rt.predicted_probability
    assert rt.topk_classes.probabilities is rt.topk_probabilities
    assert rt.predicted_class.training_labels is rt.true_label


def test_string_labels_become_an_enum_with_the_given_class_order(path: Path) -> None:
    rt = hdmf_ai.ResultsTable()
    rt.add_true_label(["owl", "cat", "owl"], classes=["owl", "cat", "dog"])
    hdmf_ai.write(rt, path)
    back = hdmf_ai.read(path)
    assert list(back.true_label.elements.data) == ["owl", "cat", "dog"]
    np.testing.assert_array_equal(back.true_label.data, [0, 1, 0])
    assert list(back.true_label[:]) == ["owl", "cat", "owl"]


def test_string_labels_without_classes_are_coded_in_sorted_order() -> None:
    rt = hdmf_ai.ResultsTable()
    rt.add_true_label(np.array(["b", "a", "b"]))
    assert list(rt.true_label.elements.data) == ["a", "b"]
    np.testing.assert_array_equal(rt.true_label.data, [1, 0, 1])


def test_integer_labels_with_class_names_become_an_enum(path: Path) -> None:
    rt = hdmf_ai.ResultsTable()
    rt.add_true_label([2, 0, 1], classes=CLASS_NAMES[:3])
    hdmf_ai.write(rt, path)
    assert list(hdmf_ai.read(path).true_label[:]) == ["owl", "cat", "dog"]


def test_tvt_split_accepts_codes_or_names_and_reads_back_as_names(path: Path) -> None:
    rt = hdmf_ai.ResultsTable()
    rt.add_tvt_split(["test", "train", "validate"])
    hdmf_ai.write(rt, path)
    back = hdmf_ai.read(path)
    np.testing.assert_array_equal(back.tvt_split.data, [2, 0, 1])
    assert list(back.tvt_split[:]) == ["test", "train", "validate"]
    assert isinstance(back.tvt_split, hdmf_ai.TrainValidateTestSplit)


def test_label_columns_are_stored_at_least_as_wide_as_the_schema_declares(path: Path) -> None:
    """``uint``/``int`` in the published 0.2.0 schema mean 32 bits at least: narrower fails its validators."""
    rt = hdmf_ai.ResultsTable()
    rt.add_predicted_class(np.array([0, 3, 255], dtype=np.uint8))
    rt.add_topk_classes(np.array([[0, 1], [3, 2], [255, 0]], dtype=np.uint8))
    rt.add_cluster_label(np.array([-1, 0, 2**40], dtype=np.int64))  # wider values keep their width
    rt.add_cv_split(np.array([0, 1, 0], dtype=np.int8))
    hdmf_ai.write(rt, path)
    back = hdmf_ai.read(path)
    assert back.predicted_class.data.dtype == np.uint32
    assert back.topk_classes.data.dtype == np.uint32
    assert back.cluster_label.data.dtype == np.int64
    assert back.cv_split.data.dtype == np.int32
    np.testing.assert_array_equal(back.predicted_class.data, [0, 3, 255])
    np.testing.assert_array_equal(back.cluster_label.data, [-1, 0, 2**40])
    np.testing.assert_array_equal(back.cv_split.data, [0, 1, 0])


def test_metadata_attributes_round_trip_including_parameters_as_json(path: Path) -> None:
    rt = hdmf_ai.ResultsTable(
        source_code="https://x/y.py",
        parameters={"lr": 0.1, "layers": [64, 32]},
        model_description="MLP",
        pre_trained_model="hf://org/model",
    )
    rt.add_predicted_value([1.5, 2.5])
    hdmf_ai.write(rt, path)
    back = hdmf_ai.read(path)
    assert back.source_code == ["https://x/y.py"]
    assert back.get_parameters() == {"lr": 0.1, "layers": [64, 32]}
    assert back.model_description == ["MLP"]
    assert back.pre_trained_model == ["hf://org/model"]


def test_table_without_metadata_reads_back_none(path: Path) -> None:
    rt = hdmf_ai.ResultsTable()
    rt.add_predicted_value([1.0])
    hdmf_ai.write(rt, path)
    back = hdmf_ai.read(path)
    assert back.source_code is None and back.parameters is None


@pytest.mark.parametrize("shape", [(6,), (6, 3)])
def test_embeddings_and_regression_outputs_may_be_1d_or_2d(path: Path, shape: tuple[int, ...]) -> None:
    values = np.random.default_rng(0).normal(size=shape)
    rt = hdmf_ai.ResultsTable()
    rt.add_embedding(values)
    rt.add_predicted_value(values)
    hdmf_ai.write(rt, path)
    back = hdmf_ai.read(path)
    np.testing.assert_array_equal(back.embedding.data, values)
    np.testing.assert_array_equal(back.predicted_value.data, values)
    assert hdmf_ai.validate(path) == []


def test_samples_may_be_the_first_column(path: Path) -> None:
    source = source_table(5)
    rt = hdmf_ai.ResultsTable()
    rt.add_samples([4, 3, 2], table=source)
    hdmf_ai.write(rt, path)
    back = hdmf_ai.read(path)
    np.testing.assert_array_equal(back.samples.data, [4, 3, 2])
    np.testing.assert_array_equal(back.samples.table["age"].data, source["age"].data)
    assert list(back.samples[0].index) == [4], "a region row resolves to its source row"


def test_n_samples_fixes_the_row_count_before_any_column(path: Path) -> None:
    rt = hdmf_ai.ResultsTable(n_samples=3)
    assert len(rt) == 3
    rt.add_predicted_value([1.0, 2.0, 3.0])
    with pytest.raises(hdmf_ai.ColumnError, match="expected 3 rows"):
        rt.add_cluster_label([0, 1])
    hdmf_ai.write(rt, path)
    np.testing.assert_array_equal(hdmf_ai.read(path).id.data, [0, 1, 2])


def test_several_results_tables_and_their_sources_share_one_file(path: Path) -> None:
    source = source_table(8, name="images")
    first = full_table(8, source=source, name="logreg")
    second = full_table(8, source=source, name="mlp")
    hdmf_ai.write([first, second], path)  # the source table comes along without being listed
    infos = {t.name: t for t in hdmf_ai.list_tables(path)}
    assert set(infos) == {"logreg", "mlp", "images"}
    assert infos["images"].data_type == "DynamicTable" and infos["images"].n_rows == 8
    assert infos["mlp"].data_type == "ResultsTable" and "predicted_class" in infos["mlp"].colnames
    a = hdmf_ai.read(path, table="logreg")
    b = hdmf_ai.read(path, table="mlp")
    assert_tables_equal(a, first)
    assert_tables_equal(b, second)
    with hdmf_ai.open(path, table="mlp") as lazy_b, hdmf_ai.open(path, table="logreg") as lazy_a:
        assert lazy_a.samples.table.name == lazy_b.samples.table.name == "images"


def test_reading_a_file_with_several_tables_needs_a_name(path: Path) -> None:
    source = source_table(3)
    hdmf_ai.write([full_table(3, source=source, name="a"), full_table(3, source=source, name="b")], path)
    with pytest.raises(ValueError, match=r"holds 2 ResultsTables \['a', 'b'\]"):
        hdmf_ai.read(path)
    with pytest.raises(KeyError, match="no ResultsTable named 'c'"):
        hdmf_ai.read(path, table="c")


def test_a_table_can_be_written_to_both_backends_in_turn(tmp_path: Path) -> None:
    rt = full_table(9)
    for name in ("a.h5", "a.zarr", "b.h5"):
        hdmf_ai.write(rt, tmp_path / name)
        assert_tables_equal(hdmf_ai.read(tmp_path / name), rt)


def test_a_read_table_can_be_written_to_another_backend(tmp_path: Path) -> None:
    rt = full_table(9)
    hdmf_ai.write(rt, tmp_path / "a.h5")
    with hdmf_ai.open(tmp_path / "a.h5") as lazy:
        hdmf_ai.write(lazy, tmp_path / "a.zarr")
    (tmp_path / "a.h5").unlink()  # the copy must not link back to the original
    assert_tables_equal(hdmf_ai.read(tmp_path / "a.zarr"), rt)


def test_distinct_tables_with_the_same_name_are_refused(path: Path) -> None:
    with pytest.raises(ValueError, match=r"distinct names; \['source'\]"):
        hdmf_ai.write([full_table(3, name="a"), full_table(3, name="b")], path)
    assert not path.exists()


def test_overwrite_replaces_an_existing_file(path: Path) -> None:
    hdmf_ai.write(full_table(3), path)
    hdmf_ai.write(full_table(5), path, overwrite=True)
    assert len(hdmf_ai.read(path)) == 5


def test_backend_can_be_named_when_the_suffix_does_not_tell(tmp_path: Path, backend: str) -> None:
    target = tmp_path / "results.bin"
    hdmf_ai.write(full_table(4), target, backend=backend)
    assert_tables_equal(hdmf_ai.read(target, backend=backend), full_table(4))


def test_user_columns_of_any_dtype_round_trip(path: Path) -> None:
    rt = hdmf_ai.ResultsTable()
    rt.add_column("loss", "float", data=np.array([0.5, 1.5], dtype=np.float32))
    rt.add_column("correct", "bool", data=np.array([True, False]))
    rt.add_column("note", "text", data=["ok", "ünïcode"])
    rt.add_column("per_class_loss", "2-D", data=np.ones((2, 3)))
    hdmf_ai.write(rt, path)
    back = hdmf_ai.read(path)
    assert back.loss.data.dtype == np.float32
    np.testing.assert_array_equal(back.correct.data, [True, False])
    assert list(back.note.data) == ["ok", "ünïcode"]
    assert back.per_class_loss.data.shape == (2, 3)


def test_plain_dynamic_table_sources_keep_their_columns(path: Path) -> None:
    source = DynamicTable(name="units", description="units", id=[10, 11, 12])
    rt = hdmf_ai.ResultsTable()
    rt.add_samples([2, 0], table=source)
    hdmf_ai.write(rt, path)
    back = hdmf_ai.read(path)
    np.testing.assert_array_equal(column_values(back.samples.table.id), [10, 11, 12])


def _set_first_sample(path: Path, value: int) -> None:
    if path.suffix == ".h5":
        with h5py.File(path, "r+") as f:
            f["results/samples"][0] = value
    else:
        zarr.open_array(str(path / "results" / "samples"), mode="r+")[0] = value


def test_a_lazy_open_does_not_check_every_sample_index_but_an_eager_read_does(path: Path) -> None:
    """hdmf would read the whole samples column to check it on every open; on a lazy open we skip that
    (the indices were checked when written), while read() still refuses an index outside the source table;
    and a lazy read of the damaged rows is refused by their block digest (io/guarded.py)."""
    rt = full_table(20)
    hdmf_ai.write(rt, path)
    _set_first_sample(path, 10_000)  # damage one index on disk: the source table has 20 rows
    with warnings.catch_warnings(record=True) as caught, hdmf_ai.open(path) as lazy:
        warnings.simplefilter("always")
        with pytest.raises(hdmf_ai.ResultsFileError, match="'results/samples': rows 0 to 20 differ"):
            lazy.samples.data[1:]
    assert not caught, "hdmf's index check (a warning, after reading the whole column) must not run on open"
    with pytest.raises(hdmf_ai.ResultsFileError, match="samples"):
        hdmf_ai.read(path)
