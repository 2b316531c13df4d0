"""The schema: well-formed YAML in hdmf's specification language, and every file we write validates
against the copy of it cached in the file."""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path

import hdmf.common
import jsonschema
import numpy as np
import pytest
from builders import full_table
from hdmf.build.warnings import IncorrectDatasetShapeBuildWarning
from ruamel.yaml import YAML

import hdmf_ai
from hdmf_ai.columns import ClassProbability

SCHEMA_DIR = Path(str(files("hdmf_ai") / "schema"))
LANGUAGE = Path(hdmf.common.__file__).parent / "hdmf-common-schema" / "hdmf-common.schema.json"
TYPES = (
    "ResultsTable",
    "SupervisedOutput",
    "TrainValidateTestSplit",
    "CrossValidationSplit",
    "ClassProbability",
    "ClassLabel",
    "TopKProbabilities",
    "TopKClasses",
    "RegressionOutput",
    "ClusterLabel",
    "EmbeddedValues",
)


@pytest.mark.parametrize("name", ["namespace.yaml", "results_table.yaml"])
def test_schema_files_follow_the_specification_language(name: str) -> None:
    language = json.loads(LANGUAGE.read_text())
    document = YAML(typ="safe", pure=True).load((SCHEMA_DIR / name).read_text())
    jsonschema.validate(document, language)


def test_namespace_declares_every_reference_type_at_version_0_3_0() -> None:
    catalog = hdmf_ai.get_type_map().namespace_catalog
    namespace = catalog.get_namespace("hdmf-ai")
    assert namespace.version == "0.3.0"
    assert set(TYPES) <= set(namespace.get_registered_types())


def test_results_table_declares_every_column_of_the_reference_plus_viz_embedding() -> None:
    spec = hdmf_ai.get_type_map().namespace_catalog.get_spec("hdmf-ai", "ResultsTable")
    names = {d.name for d in spec.datasets if d.name}
    assert {
        "samples",
        "tvt_split_elements",
        "tvt_split",
        "cv_split",
        "true_label",
        "predicted_probability",
        "predicted_class",
        "topk_probabilities",
        "topk_classes",
        "predicted_value",
        "cluster_label",
        "embedding",
        "viz_embedding",
    } <= names
    assert {a.name for a in spec.attributes} >= {"source_code", "parameters", "model_description", "pre_trained_model"}


def test_changelog_names_this_version_and_every_changed_type() -> None:
    text = (SCHEMA_DIR / "CHANGELOG.md").read_text()
    assert "## 0.3.0" in text
    for changed in ("EmbeddedValues", "viz_embedding", "ClassProbability", "ClassLabel", "CrossValidationSplit"):
        assert changed in text, changed


@pytest.mark.parametrize("n", [0, 1, 30])
def test_every_file_we_write_validates_against_its_cached_spec(path: Path, n: int) -> None:
    hdmf_ai.write(full_table(n), path)
    assert hdmf_ai.validate(path) == []


def test_the_validator_catches_a_column_of_the_wrong_shape(path: Path) -> None:
    rt = hdmf_ai.ResultsTable()
    # bypass add_predicted_probability's checks to store what the schema forbids: 1-D probabilities
    rt.add_column("predicted_probability", "1-D on purpose", data=np.full(3, 0.5), col_cls=ClassProbability)
    with pytest.warns(IncorrectDatasetShapeBuildWarning, match="ClassProbability"):  # hdmf says so on write
        hdmf_ai.write(rt, path)
    problems = hdmf_ai.validate(path)
    assert problems, "a 1-D ClassProbability must not validate"
    assert all("predicted_probability" in p and "incorrect shape" in p for p in problems), problems


def _as_if_written_with_schema(path: Path, version: str) -> None:
    """Make the file's cached hdmf-ai namespace say ``version``, as a newer hdmf-ai would have written it."""
    old = f"specifications/hdmf-ai/{hdmf_ai.typemap.get_type_map().namespace_catalog.get_namespace('hdmf-ai').version}"
    new = f"specifications/hdmf-ai/{version}"
    if path.suffix == ".h5":
        import h5py

        with h5py.File(path, "r+") as f:
            raw = f[f"{old}/namespace"][()]
            document = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
            document["namespaces"][0]["version"] = version
            del f[f"{old}/namespace"]
            f[old].create_dataset("namespace", data=json.dumps(document))
            f.move(old, new)
        return
    import zarr

    array = zarr.open_array(str(path), path=f"{old}/namespace", mode="r+")
    document = json.loads(str(array[()]))
    document["namespaces"][0]["version"] = version
    array[()] = json.dumps(document)
    (path / old).rename(path / new)
    with pytest.warns(UserWarning, match="Consolidated metadata"):
        zarr.consolidate_metadata(str(path))


def test_a_file_of_a_newer_schema_version_reads_with_a_warning_naming_both_versions(path: Path) -> None:
    rt = full_table(7)
    hdmf_ai.write(rt, path)
    _as_if_written_with_schema(path, "0.9.0")
    with pytest.warns(hdmf_ai.SchemaVersionWarning, match=r"schema 0\.9\.0, newer than this library's 0\.3\.0"):
        back = hdmf_ai.read(path)
    np.testing.assert_array_equal(back.predicted_class.data, rt.predicted_class.data)
    with pytest.warns(hdmf_ai.SchemaVersionWarning), hdmf_ai.open(path) as lazy:
        np.testing.assert_array_equal(lazy.predicted_class.data[:], rt.predicted_class.data)


def test_a_file_of_an_older_schema_version_reads_without_a_warning(path: Path) -> None:
    rt = full_table(7)
    hdmf_ai.write(rt, path)
    _as_if_written_with_schema(path, "0.2.0")
    back = hdmf_ai.read(path)  # warnings are errors in the tests: none may come
    np.testing.assert_array_equal(back.true_label.data, rt.true_label.data)


def test_the_column_rules_know_exactly_the_predefined_columns_of_the_table() -> None:
    """coercion.PREDEFINED (used by the batched writers and find_slices) mirrors ResultsTable.__columns__."""
    from hdmf_ai import coercion

    assert tuple(c["name"] for c in hdmf_ai.ResultsTable.__columns__) == coercion.PREDEFINED
