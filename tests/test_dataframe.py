"""ResultsTable.to_dataframe and from_dataframe: labels decoded, 2-D columns named per class, source columns
joined through samples, only the asked columns and rows read; the frame rebuilds the table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from builders import CLASS_NAMES, K, assert_tables_equal, column_values, full_table
from hdmf.common import DynamicTable, VectorData

import hdmf_ai

pd = pytest.importorskip("pandas", reason="pandas is the optional dependency under test")

N = 12


@pytest.fixture
def rt() -> hdmf_ai.ResultsTable:
    return full_table(N)


def _rebuild(frame: pd.DataFrame, like: hdmf_ai.ResultsTable, **kwargs: object) -> hdmf_ai.ResultsTable:
    return hdmf_ai.ResultsTable.from_dataframe(
        frame,
        **kwargs,
        source=like.samples.table,
        name=like.name,
        description=like.description,
        source_code=like.source_code,
        parameters=like.parameters,
        model_description=like.model_description,
        pre_trained_model=like.pre_trained_model,
        descriptions={"loss": like["loss"].description},
    )


def test_enums_decode_to_categorical_labels(rt: hdmf_ai.ResultsTable) -> None:
    frame = rt.to_dataframe()
    assert frame.index.name == "id"
    np.testing.assert_array_equal(frame.index, np.arange(N))
    assert list(frame["true_label"].cat.categories) == CLASS_NAMES
    np.testing.assert_array_equal(frame["true_label"].astype(object), rt.true_label[:])
    assert list(frame["tvt_split"].cat.categories) == ["train", "validate", "test"]
    # predicted classes are indices into the same classes, so they decode to the same names
    codes = column_values(rt["predicted_class"])
    np.testing.assert_array_equal(frame["predicted_class"].astype(object), np.array(CLASS_NAMES, dtype=object)[codes])
    assert frame["cluster_label"].dtype == np.int32  # clusters are not classes
    assert frame["samples"].dtype == np.int32


def test_two_d_columns_expand_into_named_columns(rt: hdmf_ai.ResultsTable) -> None:
    frame = rt.to_dataframe()
    probs = column_values(rt["predicted_probability"])
    for i, name in enumerate(CLASS_NAMES):
        np.testing.assert_array_equal(frame[f"predicted_probability[{name}]"], probs[:, i])
    topk = column_values(rt["topk_classes"])
    for rank in range(K):
        np.testing.assert_array_equal(frame[f"topk_classes[{rank}]"].cat.codes, topk[:, rank])
    embedding = column_values(rt["embedding"])
    assert [c for c in frame.columns if c.startswith("embedding[")] == [f"embedding[{i}]" for i in range(8)]
    assert frame["embedding[3]"].dtype == np.float32
    np.testing.assert_array_equal(frame["embedding[3]"], embedding[:, 3])


def test_expand_false_keeps_arrays_and_decode_false_keeps_codes(rt: hdmf_ai.ResultsTable) -> None:
    frame = rt.to_dataframe(expand=False, decode=False)
    np.testing.assert_array_equal(np.stack(frame["predicted_probability"]), column_values(rt["predicted_probability"]))
    np.testing.assert_array_equal(np.stack(frame["topk_classes"]), column_values(rt["topk_classes"]))
    np.testing.assert_array_equal(frame["true_label"], column_values(rt["true_label"]))
    assert frame["true_label"].dtype == np.uint8
    # without decoding, probabilities are still named by class
    assert "predicted_probability[owl]" in rt.to_dataframe(decode=False).columns


@pytest.mark.parametrize(
    "rows",
    [slice(2, 9), slice(None, None, -3), np.array([7, 1, 10, 1]), np.array([-1, 0]), np.arange(N) % 3 == 0],
    ids=["slice", "step", "positions", "negative", "mask"],
)
def test_rows_and_columns_select_what_is_read(rt: hdmf_ai.ResultsTable, rows: object) -> None:
    wanted = ["predicted_class", "embedding", "true_label"]
    frame = rt.to_dataframe(columns=wanted, rows=rows)
    full = rt.to_dataframe()
    positions = np.arange(N)[rows]
    expected = full.iloc[positions][[c for c in full.columns if c.split("[")[0] in wanted]]
    assert [c.split("[")[0] for c in frame.columns][:1] == ["predicted_class"]  # the order asked for
    pd.testing.assert_frame_equal(frame[expected.columns], expected)


def test_join_source_adds_source_columns_through_samples(rt: hdmf_ai.ResultsTable) -> None:
    source = rt.samples.table
    rows = column_values(rt["samples"])
    frame = rt.to_dataframe(columns=["true_label"], join_source=True)
    assert list(frame.columns) == ["true_label", "site", "age"]
    np.testing.assert_array_equal(frame["site"], np.asarray(source["site"].data)[rows])
    np.testing.assert_array_equal(frame["age"], np.asarray(source["age"].data)[rows])
    only_age = rt.to_dataframe(columns=["loss"], rows=slice(0, 3), join_source=["age"])
    np.testing.assert_array_equal(only_age["age"], np.asarray(source["age"].data)[rows[:3]])


def test_a_source_column_named_like_a_results_column_is_prefixed(rt: hdmf_ai.ResultsTable) -> None:
    rt.add_column("site", "where the model ran", data=np.array(["gpu"] * N))
    frame = rt.to_dataframe(columns=["site"], join_source=["site"])
    assert list(frame.columns) == ["site", "source.site"]


@pytest.mark.parametrize("how", ["read", "open"])
def test_a_file_gives_the_same_frame(rt: hdmf_ai.ResultsTable, path: Path, how: str) -> None:
    hdmf_ai.write(rt, path)
    options = [{}, {"expand": False}, {"columns": ["true_label", "topk_classes"], "rows": np.array([5, 2])}]
    for kwargs in options:
        want = rt.to_dataframe(join_source=True, **kwargs)
        if how == "read":
            got = hdmf_ai.read(path).to_dataframe(join_source=True, **kwargs)
        else:
            with hdmf_ai.open(path) as lazy:
                got = lazy.to_dataframe(join_source=True, **kwargs)
        if kwargs.get("expand") is False:  # cells are arrays: compare them one by one
            for column in ("predicted_probability", "embedding"):
                np.testing.assert_array_equal(np.stack(got.pop(column)), np.stack(want.pop(column)))
        pd.testing.assert_frame_equal(got, want)


def test_from_dataframe_rebuilds_the_table(rt: hdmf_ai.ResultsTable, path: Path) -> None:
    rebuilt = _rebuild(rt.to_dataframe(), rt)
    assert_tables_equal(rebuilt, rt)
    hdmf_ai.write(rebuilt, path)
    assert_tables_equal(hdmf_ai.read(path), rt)


def test_from_dataframe_reads_array_columns_and_codes(rt: hdmf_ai.ResultsTable) -> None:
    # codes carry no class names: they are given, as to add_true_label
    assert_tables_equal(_rebuild(rt.to_dataframe(expand=False, decode=False), rt, classes=CLASS_NAMES), rt)


def test_from_dataframe_restores_the_class_order_of_shuffled_columns(rt: hdmf_ai.ResultsTable) -> None:
    frame = rt.to_dataframe()
    probability = [f"predicted_probability[{c}]" for c in CLASS_NAMES]
    others = [c for c in frame.columns if c not in probability]
    shuffled = frame[others[:4] + probability[::-1] + others[4:]]
    assert_tables_equal(_rebuild(shuffled, rt), rt)


def test_from_dataframe_of_a_plain_frame(path: Path) -> None:
    frame = pd.DataFrame(
        {
            "true_label": ["cat", "dog", "cat"],
            "predicted_class": ["dog", "dog", "cat"],
            "subject": ["s1", "s2", "s3"],
            "loss": [0.5, 0.1, 0.2],
            "logits[0]": [1.0, 2.0, 3.0],
            "logits[1]": [0.0, 0.5, 1.0],
        }
    )
    rt = hdmf_ai.ResultsTable.from_dataframe(frame, name="plain", descriptions={"subject": "the subject"})
    assert rt.colnames == ("true_label", "predicted_class", "subject", "loss", "logits")
    np.testing.assert_array_equal(column_values(rt["predicted_class"]), [1, 1, 0])
    assert rt["subject"].description == "the subject" and rt["loss"].description == "no description"
    assert column_values(rt["logits"]).shape == (3, 2)
    hdmf_ai.write(rt, path)
    assert_tables_equal(hdmf_ai.read(path), rt)


def test_hdmf_keywords_give_hdmfs_own_frames(rt: hdmf_ai.ResultsTable) -> None:
    frame = rt.to_dataframe(index=True, exclude={"loss"})
    assert "loss" not in frame.columns
    # hdmf's frame: enum codes, arrays in cells
    assert frame["true_label"].iloc[0] == column_values(rt["true_label"])[0]
    assert frame["predicted_probability"].iloc[0].shape == (len(CLASS_NAMES),)
    with pytest.raises(TypeError, match="do not combine"):
        rt.to_dataframe(index=True, columns=["loss"])
    table = hdmf_ai.ResultsTable.from_dataframe(
        pd.DataFrame({"loss": [0.1, 0.2]}), name="via_hdmf", table_description="hdmf's path"
    )
    assert (table.description, list(table["loss"].data)) == ("hdmf's path", [0.1, 0.2])


def test_bad_requests_name_the_problem(rt: hdmf_ai.ResultsTable) -> None:
    with pytest.raises(KeyError, match="table 'results' has no column 'los'"):
        rt.to_dataframe(columns=["los"])
    with pytest.raises(hdmf_ai.ColumnError, match=r"column 'rows': expected positions in range\(12\)"):
        rt.to_dataframe(rows=[0, 12])
    with pytest.raises(hdmf_ai.ColumnError, match="column 'predicted_class': expected class names among"):
        hdmf_ai.ResultsTable.from_dataframe(pd.DataFrame({"true_label": ["a", "b"], "predicted_class": ["a", "z"]}))
    with pytest.raises(hdmf_ai.ColumnError, match="column 'samples': expected the source table"):
        hdmf_ai.ResultsTable.from_dataframe(pd.DataFrame({"samples": [0, 1]}))


def test_a_ragged_column_becomes_lists() -> None:
    rt = hdmf_ai.ResultsTable(name="ragged")
    rt.add_true_label([0, 1, 0])
    rt.add_column("spikes", "spike times", data=[0.1, 0.2, 0.3, 0.4], index=[1, 1, 4])
    frame = rt.to_dataframe()
    assert [list(v) for v in frame["spikes"]] == [[0.1], [], [0.2, 0.3, 0.4]]


def _units() -> DynamicTable:
    """A units table as NWB has them: ragged spike times and a region into the electrodes."""
    electrodes = DynamicTable(
        name="electrodes",
        description="recording sites",
        columns=[VectorData(name="x", description="x", data=[1.0, 2.0])],
    )
    units = DynamicTable(name="units", description="sorted units")
    units.add_column("spike_times", "spike times of each unit", index=True)
    units.add_column("electrode", "the electrode of each unit", table=electrodes)
    for spikes, electrode in (([0.1, 0.2], 0), ([0.3], 1), ([], 0)):
        units.add_row(spike_times=spikes, electrode=electrode)
    return units


@pytest.mark.parametrize("how", ["memory", "read", "open"])
def test_join_source_reads_ragged_columns_and_skips_regions(path: Path, how: str) -> None:
    rt = hdmf_ai.ResultsTable(name="unit_types")
    rt.add_samples([2, 0], table=_units())
    rt.add_true_label(["fast", "slow"])
    hdmf_ai.write(rt, path)

    def check(table: hdmf_ai.ResultsTable) -> None:
        frame = table.to_dataframe(join_source=True)
        assert list(frame.columns) == ["samples", "true_label", "spike_times"]
        assert [list(v) for v in frame["spike_times"]] == [[], [0.1, 0.2]]
        with pytest.raises(hdmf_ai.ColumnError, match="column 'electrode': expected a column of values"):
            table.to_dataframe(join_source=["electrode"])

    if how == "memory":
        check(rt)
    elif how == "read":
        check(hdmf_ai.read(path))
    else:
        with hdmf_ai.open(path) as lazy:
            check(lazy)
