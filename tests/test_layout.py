"""The on-disk layout read with plain h5py and zarr, no hdmf: an oracle that is not our reader (issue 17).

A table with every column type is written with each preset to each backend; every dataset, its attributes
(``probabilities``, ``training_labels``, ``n_splits``, the ``table`` of ``samples``, the enum ``elements``), the
enum elements, the region indices, a ragged column and the table's metadata are read back raw and compared
with the arrays passed in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import zarr

import hdmf_ai
from conftest import BACKENDS
from hdmf_ai.io.policy import PRESETS

pytest.importorskip("hdf5plugin", reason="the HDF5 presets 'fast' and 'compact' need hdf5plugin")

N, N_SOURCE, N_CLASSES, K = 50, 80, 3, 2
CLASSES = ["cat", "dog", "élan"]  # one non-ASCII element on purpose
SPLITS = ["train", "validate", "test"]
METADATA = {
    "source_code": ["https://example.org/train.py@1", "https://example.org/eval.py@2"],
    "parameters": ['{"C": 1.0}', '{"k": 2}'],
    "model_description": ["LogisticRegression()", "top-k"],
    "pre_trained_model": ["none", "doi:10.0/xyz"],
}
#: per column: (attribute, the column it references)
REFERENCES = {
    "predicted_probability": {"training_labels": "true_label"},
    "predicted_class": {"training_labels": "true_label", "probabilities": "predicted_probability"},
    "topk_probabilities": {"training_labels": "true_label"},
    "topk_classes": {"training_labels": "true_label", "probabilities": "topk_probabilities"},  # the schema says so
    "predicted_value": {"training_labels": "true_label"},
    "cluster_label": {"training_labels": "true_label"},
    "true_label": {"elements": "true_label_elements"},
    "tvt_split": {"elements": "tvt_split_elements"},
}


def inputs() -> dict[str, Any]:
    """The arrays a user passes in: the oracle every raw read is compared with."""
    rng = np.random.default_rng(11)
    probs = rng.dirichlet(np.ones(N_CLASSES), N)
    order = np.argsort(-probs, axis=1, kind="stable")[:, :K]
    lengths = rng.integers(0, 4, N)
    return {
        "samples": rng.choice(N_SOURCE, N, replace=False),
        "tvt_split": rng.integers(0, 3, N),
        "cv_split": np.arange(N) % 4,
        "true_label": rng.integers(0, N_CLASSES, N),
        "predicted_probability": probs,
        "predicted_class": probs.argmax(axis=1),
        "topk_probabilities": np.take_along_axis(probs, order, axis=1),
        "topk_classes": order,
        "predicted_value": rng.normal(size=N),
        "cluster_label": rng.integers(-1, 5, N),
        "embedding": rng.normal(size=(N, 6)).astype(np.float32),
        "viz_embedding": rng.normal(size=(N, 2)),
        "site": rng.choice(["north", "south", "éast"], N),
        "tokens": [list(rng.integers(0, 100, n)) for n in lengths],
        "source_age": rng.uniform(20, 80, N_SOURCE),
    }


def build(values: dict[str, Any]) -> hdmf_ai.ResultsTable:
    from hdmf.common import DynamicTable, VectorData

    source = DynamicTable(
        name="source",
        description="source samples",
        columns=[VectorData(name="age", description="subject age", data=values["source_age"])],
    )
    rt = hdmf_ai.ResultsTable(name="results", description="every column type", **METADATA)
    rt.add_samples(values["samples"], table=source)
    rt.add_tvt_split(values["tvt_split"])
    rt.add_cv_split(values["cv_split"], n_splits=4)
    rt.add_true_label(np.asarray(CLASSES)[values["true_label"]], classes=CLASSES)
    rt.add_predicted_probability(values["predicted_probability"])
    rt.add_predicted_class(values["predicted_class"])
    rt.add_topk_probabilities(values["topk_probabilities"])
    rt.add_topk_classes(values["topk_classes"])
    rt.add_predicted_value(values["predicted_value"])
    rt.add_cluster_label(values["cluster_label"])
    rt.add_embedding(values["embedding"])
    rt.add_viz_embedding(values["viz_embedding"])
    rt.add_column("site", "acquisition site", data=list(values["site"]))
    ends = np.cumsum([len(t) for t in values["tokens"]])
    flat = np.concatenate([np.asarray(t, dtype=np.int64) for t in values["tokens"]])
    rt.add_column("tokens", "token ids of each sample", data=flat, index=list(ends))
    return rt


class Raw:
    """An HDF5 file or Zarr store read with its own library only: arrays, attributes, reference targets."""

    def __init__(self, path: Path) -> None:
        self.h5 = h5py.File(path, "r") if path.suffix == ".h5" else None
        self.zarr = zarr.open_group(str(path), mode="r", use_consolidated=False) if self.h5 is None else None

    def close(self) -> None:
        if self.h5 is not None:
            self.h5.close()

    def node(self, name: str) -> Any:
        return self.h5[name] if self.h5 is not None else self.zarr[name]  # type: ignore[index]

    def array(self, name: str) -> np.ndarray:
        data = self.node(name)[...]
        if data.dtype.kind in "OT":  # variable-length strings: bytes from h5py, str from zarr
            return np.asarray([v.decode() if isinstance(v, bytes) else str(v) for v in data.ravel()], dtype=object)
        return np.asarray(data)

    def attrs(self, name: str) -> dict[str, Any]:
        return dict(self.node(name).attrs)

    def target(self, name: str, attribute: str) -> str:
        """The absolute path an object-reference attribute points at."""
        value = self.node(name).attrs[attribute]
        if self.h5 is not None:
            return str(self.h5[value].name)
        reference = value["_REFERENCE"]
        assert reference["source"] == ".", reference  # inside this store
        return str(reference["path"])


def text(values: Any) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(values, dtype=object).ravel()]


@pytest.fixture(params=sorted(PRESETS))
def preset(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def raw(tmp_path: Path, backend: str, preset: str) -> Any:
    path = hdmf_ai.write(build(inputs()), tmp_path / f"layout{BACKENDS[backend]}", preset=preset)
    opened = Raw(path)
    yield opened
    opened.close()


def assert_values(got: np.ndarray, want: np.ndarray, column: str, preset: str) -> None:
    assert got.shape == want.shape, (column, got.shape, want.shape)
    if preset == "compact-lossy" and column in ("predicted_probability", "topk_probabilities"):
        np.testing.assert_allclose(got, want, rtol=0, atol=2.0**-17, err_msg=column)
    elif preset == "compact-lossy" and column in ("embedding", "viz_embedding"):
        np.testing.assert_allclose(got, want, rtol=2.0**-13, atol=0, err_msg=column)
    else:
        np.testing.assert_array_equal(got, want, err_msg=column)


def test_table_metadata(raw: Raw) -> None:
    attrs = raw.attrs("results")
    assert text(attrs["colnames"]) == [
        "samples", "tvt_split", "cv_split", "true_label", "predicted_probability", "predicted_class",
        "topk_probabilities", "topk_classes", "predicted_value", "cluster_label", "embedding", "viz_embedding",
        "site", "tokens",
    ]  # fmt: skip
    assert attrs["description"] == "every column type"
    assert (attrs["namespace"], attrs["data_type"]) == ("hdmf-ai", "ResultsTable")
    for key, value in METADATA.items():
        assert text(attrs[key]) == value, key
    for key in ("parameters",):  # still JSON text, one object per model
        assert [json.loads(v) for v in text(attrs[key])] == [{"C": 1.0}, {"k": 2}]
    np.testing.assert_array_equal(raw.array("results/id"), np.arange(N))


def test_every_numeric_column_holds_the_arrays_passed_in(raw: Raw, preset: str) -> None:
    values = inputs()
    for column in (
        "cv_split", "predicted_probability", "predicted_class", "topk_probabilities", "topk_classes",
        "predicted_value", "cluster_label", "embedding", "viz_embedding",
    ):  # fmt: skip
        got = raw.array(f"results/{column}")
        assert got.dtype.kind in "iuf", (column, got.dtype)
        assert_values(got, np.asarray(values[column]), column, preset)
    assert raw.array("results/embedding").dtype == np.float32
    for column in ("predicted_class", "topk_classes"):  # class indices: the schema's unsigned type
        assert raw.array(f"results/{column}").dtype.kind == "u", column


def test_enum_columns_store_codes_into_their_elements(raw: Raw) -> None:
    values = inputs()
    assert text(raw.array("results/true_label_elements")) == CLASSES
    assert text(raw.array("results/tvt_split_elements")) == SPLITS
    np.testing.assert_array_equal(raw.array("results/true_label"), values["true_label"])
    np.testing.assert_array_equal(raw.array("results/tvt_split"), values["tvt_split"])
    assert raw.attrs("results/true_label")["data_type"] == "EnumData"
    assert raw.attrs("results/tvt_split")["data_type"] == "TrainValidateTestSplit"


def test_reference_attributes_point_at_the_right_columns(raw: Raw) -> None:
    for column, references in REFERENCES.items():
        for attribute, target in references.items():
            assert raw.target(f"results/{column}", attribute) == f"/results/{target}", (column, attribute)
    assert int(raw.attrs("results/cv_split")["n_splits"]) == 4


def test_samples_are_region_indices_into_the_source_table(raw: Raw) -> None:
    values = inputs()
    assert raw.target("results/samples", "table") == "/source"
    assert raw.attrs("results/samples")["data_type"] == "DynamicTableRegion"
    np.testing.assert_array_equal(raw.array("results/samples"), values["samples"])
    np.testing.assert_array_equal(raw.array("source/age"), values["source_age"])
    np.testing.assert_array_equal(raw.array("source/id"), np.arange(N_SOURCE))
    assert text(raw.attrs("source")["colnames"]) == ["age"]


def test_text_and_ragged_user_columns(raw: Raw) -> None:
    values = inputs()
    assert text(raw.array("results/site")) == list(values["site"])
    flat, ends = raw.array("results/tokens"), raw.array("results/tokens_index")
    assert raw.target("results/tokens_index", "target") == "/results/tokens"
    np.testing.assert_array_equal(ends, np.cumsum([len(t) for t in values["tokens"]]))
    rows = np.split(flat, ends[:-1])
    assert [row.tolist() for row in rows] == [[int(v) for v in t] for t in values["tokens"]]
