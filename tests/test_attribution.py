"""Per-sample feature attributions: the FeatureAttribution type, its checks, its storage, the shap adapter, the
nuisance analysis, and the reference 0.2.0 package reading files that hold one."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

import h5py
import hdmf.common
import jsonschema
import numpy as np
import pytest
import zarr
from hdmf.common import DynamicTable, VectorData
from ruamel.yaml import YAML

import hdmf_ai
from hdmf_ai import analysis
from hdmf_ai.columns import FeatureAttribution
from hdmf_ai.errors import ColumnError, ResultsFileError

SCHEMA_DIR = Path(str(files("hdmf_ai") / "schema"))
LANGUAGE = Path(hdmf.common.__file__).parent / "hdmf-common-schema" / "hdmf-common.schema.json"
LOSSLESS = ("portable", "fast", "compact", "uncompressed")
SUFFIX = {"hdf5": ".h5", "zarr": ".zarr"}
NAMES = ["a", "b", "c"]


def binary_table(n: int = 5) -> hdmf_ai.ResultsTable:
    rng = np.random.default_rng(n)
    p1 = rng.random(n)
    rt = hdmf_ai.ResultsTable(name="binary")
    rt.add_true_label(rng.integers(0, 2, n))
    rt.add_predicted_probability(np.c_[1 - p1, p1])
    return rt


# -- the schema -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["attribution.yaml", "extensions.namespace.yaml"])
def test_the_schema_files_follow_the_specification_language(name: str) -> None:
    document = YAML(typ="safe", pure=True).load((SCHEMA_DIR / name).read_text())
    jsonschema.validate(document, json.loads(LANGUAGE.read_text()))


def test_feature_attribution_is_a_vector_data_of_the_extensions_namespace() -> None:
    catalog = hdmf_ai.get_type_map().namespace_catalog
    assert catalog.get_namespace("hdmf-ai-extensions").version == "0.1.0"
    spec = catalog.get_spec("hdmf-ai-extensions", "FeatureAttribution")
    assert spec.data_type_inc == "VectorData"
    assert {a.name for a in spec.attributes} >= {"method", "output", "feature_names", "feature_table",
                                                  "base_values", "output_space"}  # fmt: skip
    assert [len(shape) for shape in spec.shape] == [2, 3, 4, 5]


def test_the_changelog_lists_feature_attribution_and_its_attributes() -> None:
    text = (SCHEMA_DIR / "CHANGELOG.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| `FeatureAttribution`"))
    for field in ("method", "output", "feature_names", "feature_table", "base_values", "output_space"):
        assert field in row


# -- round trips ----------------------------------------------------------------------------------------------


def tables_with_attributions() -> dict[str, tuple[hdmf_ai.ResultsTable, dict[str, Any]]]:
    rng = np.random.default_rng(0)
    tabular = binary_table(6)
    tabular_kw = {"method": "tree_shap", "output": "positive_class", "feature_names": NAMES,
                  "base_values": [0.25], "output_space": "raw"}  # fmt: skip
    tabular.add_feature_attribution(rng.normal(size=(6, 3)), **tabular_kw)
    per_class = hdmf_ai.ResultsTable(name="per_class")
    per_class.add_predicted_probability(np.full((4, 3), 1 / 3))
    per_class_kw = {"method": "kernel_shap", "output": "each_class", "feature_names": ["x", "y"],
                    "base_values": [0.1, 0.2, 0.7], "output_space": "probability"}  # fmt: skip
    per_class.add_feature_attribution(rng.normal(size=(4, 2, 3)).astype(np.float32), **per_class_kw)
    images = hdmf_ai.ResultsTable(name="images")
    images_kw = {"method": "integrated_gradients", "output": "predicted_class"}
    images.add_feature_attribution(rng.normal(size=(3, 4, 5, 2)), **images_kw)
    return {"tabular": (tabular, tabular_kw), "per_class": (per_class, per_class_kw), "images": (images, images_kw)}


@pytest.mark.parametrize("case", ["tabular", "per_class", "images"])
def test_attributions_read_back_exactly_with_their_attributes(path: Path, case: str) -> None:
    rt, attrs = tables_with_attributions()[case]
    written = rt["feature_attribution"]
    hdmf_ai.write(rt, path)
    back = hdmf_ai.read(path)["feature_attribution"]
    assert isinstance(back, FeatureAttribution)
    np.testing.assert_array_equal(back.data, written.data)
    assert np.asarray(back.data).dtype == np.asarray(written.data).dtype
    assert back.method == attrs["method"] and back.output == attrs["output"]
    assert back.feature_names == attrs.get("feature_names")
    assert back.output_space == attrs.get("output_space")
    if "base_values" in attrs:
        np.testing.assert_array_equal(back.base_values, attrs["base_values"])
    assert hdmf_ai.validate(path) == []


def _raw_column(path: Path, table: str, name: str) -> tuple[np.ndarray, dict[str, Any]]:
    """The stored array and attributes, read with plain h5py / zarr (no hdmf)."""
    if path.suffix == ".h5":
        with h5py.File(path, "r") as f:
            dataset = f[f"{table}/{name}"]
            return dataset[()], dict(dataset.attrs)
    array = zarr.open_array(str(path / table / name), mode="r")
    return array[...], dict(array.attrs)


def test_the_stored_dataset_holds_the_values_and_attributes_for_any_reader(path: Path) -> None:
    rt, _ = tables_with_attributions()["tabular"]
    hdmf_ai.write(rt, path)
    values, stored = _raw_column(path, "binary", "feature_attribution")
    np.testing.assert_array_equal(values, rt["feature_attribution"].data)
    assert stored["data_type"] == "FeatureAttribution" and stored["namespace"] == "hdmf-ai-extensions"
    assert str(stored["method"]) == "tree_shap" and str(stored["output"]) == "positive_class"
    assert [str(n.decode() if isinstance(n, bytes) else n) for n in stored["feature_names"]] == NAMES
    np.testing.assert_array_equal(np.asarray(stored["base_values"], dtype=float), [0.25])


def test_a_feature_table_reference_reads_back_as_the_source_table(path: Path) -> None:
    source = DynamicTable(name="features", description="d",
                          columns=[VectorData(name=n, description=n, data=np.arange(4.0)) for n in NAMES])  # fmt: skip
    rt = hdmf_ai.ResultsTable(name="linked")
    rt.add_samples(np.arange(4), table=source)
    rt.add_feature_attribution(np.ones((4, 3)), method="saliency", output="predicted_value", feature_names=NAMES,
                               feature_table=source)  # fmt: skip
    hdmf_ai.write(rt, path)
    back = hdmf_ai.read(path)
    assert back["feature_attribution"].feature_table is back.samples.table
    assert back["feature_attribution"].feature_table.name == "features"


# -- batched writing ------------------------------------------------------------------------------------------


def test_the_writer_stores_attributions_in_batches(path: Path) -> None:
    rng = np.random.default_rng(1)
    values = rng.normal(size=(50, 3, 2)).astype(np.float32)
    probs = np.full((50, 2), 0.5)
    attribution = {"method": "deep_shap", "output": "each_class", "feature_names": NAMES, "base_values": [0.5, 0.5]}
    declared = {"feature_attribution": {"attribution": attribution}}
    with hdmf_ai.ResultsWriter(path, columns=declared) as writer:
        for start in range(0, 50, 16):
            part = slice(start, start + 16)
            writer.append(predicted_probability=probs[part], feature_attribution=values[part])
    back = hdmf_ai.read(path)["feature_attribution"]
    assert isinstance(back, FeatureAttribution)
    np.testing.assert_array_equal(back.data, values)
    assert (back.method, back.output, back.feature_names) == ("deep_shap", "each_class", NAMES)
    assert hdmf_ai.validate(path) == []


def test_the_writer_refuses_a_batch_with_nan_naming_the_column(path: Path) -> None:
    declared = {"attr": {"attribution": {"method": "saliency", "output": "predicted_value"}}}
    bad = np.ones((4, 2))
    bad[2, 1] = np.nan
    with (
        pytest.raises(ColumnError, match=r"column 'attr'.*finite.*nan"),
        hdmf_ai.ResultsWriter(path, columns=declared) as writer,
    ):
        writer.append(attr=np.ones((4, 2)))
        writer.append(attr=bad)


def test_the_writer_refuses_an_attribution_declaration_without_method_and_output(path: Path) -> None:
    with pytest.raises(ColumnError, match="method, output"):
        hdmf_ai.ResultsWriter(path, columns={"attr": {"attribution": {"method": "saliency"}}})


def test_a_resumed_writer_keeps_checking_attributions(tmp_path: Path) -> None:
    path = tmp_path / "resume.h5"
    declared = {"attr": {"attribution": {"method": "saliency", "output": "predicted_value"}}}
    with (
        pytest.raises(RuntimeError, match="model crashed"),
        hdmf_ai.ResultsWriter(path, columns=declared, n_samples=8, progress=False) as writer,
    ):
        writer.append(attr=np.ones((4, 2)))
        raise RuntimeError("model crashed")
    with hdmf_ai.ResultsWriter(path, resume=True, progress=False) as resumed:
        with pytest.raises(ColumnError, match=r"column 'attr'.*finite"):
            resumed.append(attr=np.full((4, 2), np.inf))
        resumed.append(attr=np.zeros((4, 2)))
    back = hdmf_ai.read(path)["attr"]
    assert isinstance(back, FeatureAttribution) and back.method == "saliency"
    np.testing.assert_array_equal(back.data, np.r_[np.ones((4, 2)), np.zeros((4, 2))])


# -- bad input ------------------------------------------------------------------------------------------------

GOOD = {"method": "tree_shap", "output": "positive_class", "feature_names": NAMES}
BAD: dict[str, tuple[Any, dict[str, Any], str]] = {
    "nan": (np.array([[0.0, np.nan, 0.0]] * 5), {}, r"finite values.*nan at index \(0, 1\)"),
    "inf": (np.array([[0.0, 0.0, np.inf]] * 5), {}, r"finite values.*inf"),
    "text": (np.array([["x", "y", "z"]] * 5), {}, "real numbers"),
    "complex": (np.ones((5, 3)) * 1j, {}, "real numbers"),
    "one_dimensional": (np.ones(5), {"feature_names": None}, r"2-D/3-D/4-D array.*shape \(5,\)"),
    "ragged": ([[1.0, 2.0], [1.0]] * 2 + [[1.0]], {}, "rectangular"),
    "too_many_rows": (np.ones((6, 3)), {}, "5 rows, as the table has.*6 rows"),
    "names_count": (np.ones((5, 3)), {"feature_names": ["a", "b"]}, "3 feature_names.*2 names"),
    "names_repeated": (np.ones((5, 3)), {"feature_names": ["a", "b", "a"]}, "unique feature_names.*'a'"),
    "names_blank": (np.ones((5, 3)), {"feature_names": ["a", " ", "c"]}, "non-empty name.*feature 1"),
    "names_not_text": (np.ones((5, 3)), {"feature_names": ["a", 2, "c"]}, "one text name per feature.*int 2"),
    "names_for_images": (np.ones((5, 3, 3)), {}, r"one feature axis.*\(3, 3\)"),
    "unknown_output": (np.ones((5, 3)), {"output": "class"}, "output one of.*'class'"),
    "each_class_without_axis": (np.ones((5, 3)), {"output": "each_class"}, "3-D/4-D/5-D array"),
    "each_class_width": (np.ones((5, 3, 3)), {"output": "each_class"}, "last axis of 2 classes.*3 outputs"),
    "no_method": (np.ones((5, 3)), {"method": " "}, "a method: one of"),
    "method_not_text": (np.ones((5, 3)), {"method": 3}, "a method"),
    "base_count": (np.ones((5, 3)), {"base_values": [0.1, 0.2]}, "1 base_values.*2 values"),
    "base_nan": (np.ones((5, 3)), {"base_values": [np.nan]}, "finite base_values"),
    "base_text": (np.ones((5, 3)), {"base_values": ["zero"]}, "real numbers"),
    "base_per_class": (
        np.ones((5, 3)),
        {"output": "predicted_class", "base_values": [1.0]},
        "2 base_values.*per class",
    ),
    "output_space": (np.ones((5, 3)), {"output_space": "logits"}, "output_space one of.*'logits'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_attributions_are_refused_naming_the_column_expected_and_given(case: str) -> None:
    values, change, message = BAD[case]
    rt = binary_table(5)
    with pytest.raises(ColumnError, match=r"column 'attr'") as err:
        rt.add_feature_attribution(values, name="attr", **{**GOOD, **change})
    assert err.match(message), str(err.value)
    assert "attr" not in rt.colnames


def test_positive_class_is_only_for_binary_classifiers() -> None:
    rt = hdmf_ai.ResultsTable(name="three")
    rt.add_predicted_probability(np.full((2, 3), 1 / 3))
    with pytest.raises(ColumnError, match=r"binary classifier.*3 classes"):
        rt.add_feature_attribution(np.ones((2, 3)), **GOOD)


def test_a_class_axis_added_before_the_probabilities_must_match_their_width() -> None:
    rt = hdmf_ai.ResultsTable(name="late")
    rt.add_feature_attribution(np.ones((2, 3, 4)), method="saliency", output="each_class")
    with pytest.raises(ColumnError, match=r"last axis of 3 classes.*4 outputs"):
        rt.add_predicted_probability(np.full((2, 3), 1 / 3))


def test_a_feature_table_must_hold_the_named_features() -> None:
    source = DynamicTable(name="src", description="d", columns=[VectorData(name="a", description="a", data=[1, 2])])
    rt = hdmf_ai.ResultsTable(name="t")
    with pytest.raises(ColumnError, match=r"among the columns of table 'src'.*\['b'\]"):
        rt.add_feature_attribution(np.ones((2, 2)), method="saliency", output="predicted_value",
                                   feature_names=["a", "b"], feature_table=source)  # fmt: skip
    with pytest.raises(ColumnError, match="feature_names naming the columns"):
        rt.add_feature_attribution(np.ones((2, 2)), method="saliency", output="predicted_value", feature_table=source)


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("TreeSHAP", "tree_shap"),
        ("tree shap", "tree_shap"),
        ("Integrated-Gradients", "integrated_gradients"),
        ("saliency", "saliency"),
        ("my occlusion maps", "my occlusion maps"),
    ],
)
def test_spellings_of_the_vocabulary_are_stored_as_it_and_other_methods_as_given(given: str, stored: str) -> None:
    rt = binary_table(5)
    assert rt.add_feature_attribution(np.ones((5, 3)), **{**GOOD, "method": given}).method == stored


# -- validate and read hold files to the same rules -----------------------------------------------------------


def _damage(path: Path, change: Any) -> None:
    if path.suffix == ".h5":
        with h5py.File(path, "r+") as f:
            change(f["binary/feature_attribution"])
        return
    array = zarr.open_array(str(path / "binary" / "feature_attribution"), mode="r+")
    change(array)
    with pytest.warns(UserWarning, match="Consolidated metadata"):
        zarr.consolidate_metadata(str(path))


def _set_nan(dataset: Any) -> None:
    dataset[1, 2] = np.nan


def _two_names(dataset: Any) -> None:
    dataset.attrs["feature_names"] = ["a", "b"]


@pytest.mark.parametrize(("change", "message"), [(_set_nan, "finite values"), (_two_names, "3 feature_names")])
def test_validate_lists_and_read_refuses_a_stored_attribution_that_breaks_the_rules(
    path: Path, change: Any, message: str
) -> None:
    rt, _ = tables_with_attributions()["tabular"]
    hdmf_ai.write(rt, path)
    _damage(path, change)
    problems = hdmf_ai.validate(path)
    assert any("feature_attribution" in p and message in p for p in problems), problems
    with pytest.raises(ResultsFileError, match=message):
        hdmf_ai.read(path)


# -- storage ---------------------------------------------------------------------------------------------------


def test_attributions_are_their_own_storage_kind_lossy_only_in_compact_lossy() -> None:
    from hdmf_ai.io import policy

    for preset in LOSSLESS:
        for backend in ("hdf5", "zarr"):
            setting = policy.resolve(preset, backend=backend, column="feature_attribution", kind="attribution")
            assert setting.lossy is None and setting.dtype is None
    lossy = policy.resolve("compact-lossy", backend="zarr", column="feature_attribution", kind="attribution")
    assert lossy.lossy == policy.BitRound(16)


def test_compact_lossy_keeps_each_attribution_within_its_stated_relative_bound(path: Path) -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(scale=5.0, size=(200, 3))
    rt = hdmf_ai.ResultsTable(name="lossy")
    rt.add_feature_attribution(values, method="kernel_shap", output="predicted_value")
    hdmf_ai.write(rt, path, preset="compact-lossy")
    stored, attrs = _raw_column(path, "lossy", "feature_attribution")
    error = np.abs(stored - values)
    assert np.all(error <= 2.0**-17 * np.abs(values))
    assert error.max() > 0, "compact-lossy rounds attributions"
    assert "16 mantissa bits" in str(attrs["hdmf_ai_lossy"])


# -- the shap adapter ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def boosted() -> tuple[Any, np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier

    X, y = make_classification(n_samples=300, n_features=6, n_informative=4, random_state=0)
    return GradientBoostingClassifier(n_estimators=60, random_state=0).fit(X, y), X, y


@pytest.mark.parametrize("preset", LOSSLESS)
def test_tree_shap_plus_base_value_is_the_models_raw_output_after_a_round_trip(
    tmp_path: Path, backend: str, preset: str, boosted: tuple[Any, np.ndarray, np.ndarray]
) -> None:
    from hdmf_ai.sklearn import from_estimator

    model, X, y = boosted
    rt = from_estimator(model, X, y, attributions="tree", feature_names=[f"f{i}" for i in range(6)], k=None)
    path = hdmf_ai.write(rt, tmp_path / f"gbc{SUFFIX[backend]}", preset=preset)
    back = hdmf_ai.read(path)["feature_attribution"]
    assert (back.method, back.output, back.output_space) == ("tree_shap", "positive_class", "raw")
    reconstructed = np.asarray(back.data).sum(axis=1) + back.base_values[0]
    np.testing.assert_allclose(reconstructed, model.decision_function(X), rtol=0, atol=1e-6)


def test_from_explanation_stores_shap_values_names_and_one_base_value(
    boosted: tuple[Any, np.ndarray, np.ndarray],
) -> None:
    import pandas as pd
    import shap

    from hdmf_ai.shap import from_explanation

    model, X, _ = boosted
    frame = pd.DataFrame(X, columns=[f"g{i}" for i in range(6)])
    explanation = shap.TreeExplainer(model)(frame)
    rt = from_explanation(explanation, method="tree_shap", output="positive_class")
    column = rt["feature_attribution"]
    np.testing.assert_array_equal(column.data, explanation.values)
    assert column.feature_names == list(frame.columns)
    assert column.base_values.tolist() == [float(np.asarray(explanation.base_values).reshape(-1)[0])]


def test_from_explanation_infers_each_class_from_the_probabilities() -> None:
    import shap
    from sklearn.datasets import make_classification
    from sklearn.ensemble import RandomForestClassifier

    from hdmf_ai.shap import from_explanation
    from hdmf_ai.sklearn import from_estimator

    X, y = make_classification(n_samples=120, n_features=5, n_informative=4, n_redundant=0, n_classes=3,
                               random_state=1)  # fmt: skip
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, y)
    rt = from_estimator(forest, X, y, k=None)
    from_explanation(shap.TreeExplainer(forest)(X), table=rt, method="tree_shap", output_space="probability")
    column = rt["feature_attribution"]
    assert column.output == "each_class" and column.shape == (120, 5, 3)
    np.testing.assert_allclose(np.asarray(column.data).sum(axis=1) + column.base_values, forest.predict_proba(X),
                               atol=1e-9)  # fmt: skip


def test_from_explanation_refuses_base_values_that_vary_by_row() -> None:
    import shap

    from hdmf_ai.shap import from_explanation

    explanation = shap.Explanation(values=np.ones((3, 2)), base_values=np.array([0.0, 0.0, 1.0]))
    with pytest.raises(ColumnError, match=r"vary by row.*row 2"):
        from_explanation(explanation, method="kernel_shap", output="predicted_value")


def test_from_explanation_asks_for_output_when_the_table_cannot_tell() -> None:
    import shap

    from hdmf_ai.shap import from_explanation

    with pytest.raises(ColumnError, match="pass output="):
        from_explanation(shap.Explanation(values=np.ones((3, 2)), base_values=0.0), method="kernel_shap")


# -- analysis -----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planted() -> hdmf_ai.ResultsTable:
    from hdmf_ai.demo import _attribution_table

    return _attribution_table(np.random.default_rng(7))


def test_nuisance_features_ranks_the_planted_site_feature_first(planted: hdmf_ai.ResultsTable) -> None:
    found = analysis.nuisance_features(planted, by="site")
    assert found["feature"].iloc[0] == "intensity_offset"
    assert found["flagged"].iloc[0] and found["p_adjusted"].iloc[0] < 1e-10
    assert not found.set_index("feature").loc[["edge_sharpness", "noise_level", "age"], "flagged"].any()


def test_nuisance_features_test_is_kruskal_wallis_as_scipy_computes_it(planted: hdmf_ai.ResultsTable) -> None:
    from scipy.stats import kruskal

    found = analysis.nuisance_features(planted, by="site").set_index("feature")
    source = planted.samples.table
    site = np.asarray(source["site"].data)
    for feature in ("intensity_offset", "age", "texture"):
        values = np.asarray(source[feature].data)
        expected = kruskal(*[values[site == s] for s in ("A", "B", "C")])
        assert found.loc[feature, "statistic"] == pytest.approx(expected.statistic, rel=1e-12)
        assert found.loc[feature, "p_value"] == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)


def test_kruskal_wallis_with_ties_matches_scipy() -> None:
    from scipy.stats import kruskal

    values = np.array([1, 1, 2, 2, 2, 3, 5, 5, 1, 4, 4, 4], dtype=float)
    groups = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2])
    h, dof, p, _ = analysis.kruskal_wallis(values, groups)
    expected = kruskal(*[values[groups == g] for g in range(3)])
    assert (h, dof) == (pytest.approx(expected.statistic), 2) and p == pytest.approx(expected.pvalue)


def test_nuisance_features_takes_feature_values_given_as_an_array(planted: hdmf_ai.ResultsTable) -> None:
    source = planted.samples.table
    names = planted["feature_attribution"].feature_names
    given = np.column_stack([np.asarray(source[n].data) for n in names])
    from_source = analysis.nuisance_features(planted, by="site")
    from_array = analysis.nuisance_features(planted, by="site", features=given)
    assert from_array.equals(from_source)


def test_attribution_summary_is_the_mean_absolute_attribution_with_seeded_intervals(
    planted: hdmf_ai.ResultsTable,
) -> None:
    values = np.abs(np.asarray(planted["feature_attribution"].data))
    site = np.asarray(planted.samples.table["site"].data)
    summary = analysis.attribution_summary(planted, by="site", n_boot=200, seed=5)
    again = analysis.attribution_summary(planted, by="site", n_boot=200, seed=5)
    assert summary.equals(again)
    names = planted["feature_attribution"].feature_names
    for group, mask in [("all", np.ones(len(site), bool)), ("A", site == "A"), ("C", site == "C")]:
        part = summary[summary["group"] == group].set_index("feature")
        np.testing.assert_allclose(part.loc[names, "mean_abs"], values[mask].mean(axis=0), rtol=1e-12)
        assert (part["ci_low"] <= part["mean_abs"]).all() and (part["mean_abs"] <= part["ci_high"]).all()
        assert (part["n"] == mask.sum()).all()
    overall = summary[summary["group"] == "all"]
    assert overall["feature"].iloc[0] == "intensity_offset", "the model relies on the planted feature most"


def test_attribution_summary_averages_per_class_attributions_over_the_classes() -> None:
    rt = hdmf_ai.ResultsTable(name="pc")
    values = np.arange(24.0).reshape(4, 3, 2) - 10
    rt.add_feature_attribution(values, method="saliency", output="each_output", feature_names=NAMES)
    summary = analysis.attribution_summary(rt, n_boot=0).set_index("feature")
    np.testing.assert_allclose(summary.loc[NAMES, "mean_abs"], np.abs(values).mean(axis=(0, 2)))


def test_the_attribution_plots_draw_one_bar_per_feature(planted: hdmf_ai.ResultsTable) -> None:
    from hdmf_ai import plot

    summary_fig = plot.attribution_summary(planted, n_boot=50)
    assert len(summary_fig.axes[0].patches) == 6
    by_site = plot.attribution_by_group(planted, "site", n_boot=0, top=4)
    assert len(by_site.axes[0].patches) == 4 * 3


# -- the reference 0.2.0 package ---------------------------------------------------------------------------------


@pytest.mark.interop
@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_the_reference_reads_attributions_from_the_cached_spec_and_fails_without_it(
    tmp_path: Path, backend: str
) -> None:
    from refenv import ReferenceEnvUnavailable, ensure_reference_venv, run_reference

    try:
        python = ensure_reference_venv(Path(__file__).resolve().parents[1] / ".cache" / "refenv")
    except ReferenceEnvUnavailable as err:
        pytest.skip(f"the reference hdmf-ai 0.2.0 environment cannot be built here: {err}")
    rt, attrs = tables_with_attributions()["tabular"]
    path = hdmf_ai.write(rt, tmp_path / f"ours{SUFFIX[backend]}")
    report = json.loads(run_reference(python, "read_attribution.py", str(path), "feature_attribution").stdout)
    # the plain global manager knows only hdmf-ai 0.2.0: the new type's namespace is unknown to it
    assert "hdmf-ai-extensions" in report["plain"]["error"]
    cached = report["cached"]
    assert cached["error"] is None, cached
    assert (cached["data_type"], cached["namespace"]) == ("FeatureAttribution", "hdmf-ai-extensions")
    np.testing.assert_array_equal(cached["values"], rt["feature_attribution"].data)
    assert cached["attributes"] == {"method": "tree_shap", "output": "positive_class", "feature_names": NAMES,
                                    "base_values": [0.25], "output_space": "raw"}  # fmt: skip
    assert attrs["feature_names"] == NAMES


def test_an_attribution_column_reads_back_from_an_nwb_file(tmp_path: Path) -> None:
    import datetime

    import pynwb

    from hdmf_ai import nwb

    rt, attrs = tables_with_attributions()["tabular"]
    nwbfile = pynwb.NWBFile(
        session_description="s",
        identifier="attribution",
        session_start_time=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )
    nwb.add_to_nwbfile(nwbfile, rt)
    path = nwb.write_nwb(nwbfile, tmp_path / "attribution.nwb")
    with nwb.open_nwb(path) as back_file:  # closed at the end: a file left open warns whenever it is collected
        back = back_file.analysis["binary"]["feature_attribution"]
        assert isinstance(back, FeatureAttribution) and back.feature_names == attrs["feature_names"]
        np.testing.assert_array_equal(back.data, rt["feature_attribution"].data)
    assert hdmf_ai.validate(path) == []


def test_without_shap_the_adapters_name_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch, boosted: tuple[Any, np.ndarray, np.ndarray]
) -> None:
    import sys

    from hdmf_ai.errors import MissingDependencyError
    from hdmf_ai.shap import from_explanation
    from hdmf_ai.sklearn import from_estimator

    for name in [n for n in sys.modules if n == "shap" or n.startswith("shap.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "shap", None)
    model, X, y = boosted
    with pytest.raises(MissingDependencyError, match=r"hdmf-ai\[shap\]"):
        from_explanation(object(), method="tree_shap", output="positive_class")
    with pytest.raises(MissingDependencyError, match=r"hdmf-ai\[shap\]"):
        from_estimator(model, X, y, attributions="tree")


@pytest.mark.interop
@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_a_file_with_attributions_stays_valid_under_the_published_schema(tmp_path: Path, backend: str) -> None:
    """hdmf's validator with the reference's own hdmf-ai 0.2.0 (not the file's cached spec) finds no problem."""
    from refenv import ReferenceEnvUnavailable, ensure_reference_venv, run_reference

    try:
        python = ensure_reference_venv(Path(__file__).resolve().parents[1] / ".cache" / "refenv")
    except ReferenceEnvUnavailable as err:
        pytest.skip(f"the reference hdmf-ai 0.2.0 environment cannot be built here: {err}")
    rt, _ = tables_with_attributions()["tabular"]
    path = hdmf_ai.write(rt, tmp_path / f"ours{SUFFIX[backend]}")
    doc = json.loads(run_reference(python, "check_files.py", str(path)).stdout)
    validation = doc["files"][str(path)]["validation"]
    assert validation["namespace_version"] == "0.2.0", validation
    assert validation["error"] is None and validation["problems"] == [], validation
