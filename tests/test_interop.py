"""Interoperability with the reference implementation (hdmf-ai 0.2.0 from PyPI), both directions.

The reference imports as ``hdmf_ai`` too, so it runs in its own virtual environment (built once under
``.cache/refenv``, see ``refenv.py``) and talks to these tests through files and JSON. Where the
reference cannot read something because of its own defects, the test says so explicitly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from builders import CLASS_NAMES, full_table, source_table
from expected import METADATA, as_list, assert_table_matches
from refenv import ReferenceEnvUnavailable, ensure_reference_venv, run_reference

import hdmf_ai
from hdmf_ai.io.policy import Setting

pytestmark = pytest.mark.interop

REPO = Path(__file__).resolve().parents[1]
SUFFIX = {"hdf5": ".h5", "zarr": ".zarr"}


@pytest.fixture(scope="session")
def ref_python() -> Path:
    try:
        return ensure_reference_venv(REPO / ".cache" / "refenv")
    except ReferenceEnvUnavailable as err:  # no Python >= 3.12 or no package index: an optional dependency
        pytest.skip(f"the reference hdmf-ai 0.2.0 environment cannot be built here: {err}")


@pytest.fixture(scope="session")
def reference_files(ref_python: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("reference")
    run_reference(ref_python, "write_reference.py", str(out))
    return out, json.loads((out / "expected.json").read_text())


def read_with(ref_python: Path, script: str, path: Path) -> dict[str, Any]:
    return json.loads(run_reference(ref_python, script, str(path)).stdout)


# -- the reference's files, read by us ---------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
@pytest.mark.parametrize("table", ["results", "results_str"])
def test_we_read_every_column_the_reference_wrote(
    reference_files: tuple[Path, dict[str, Any]], backend: str, table: str
) -> None:
    out, expected = reference_files
    want = expected["results_tables"][table]
    got = hdmf_ai.read(out / f"ref{SUFFIX[backend]}", table=table)
    assert_table_matches(got, want, expected["source_table"])


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_we_read_the_metadata_the_reference_wrote(reference_files: tuple[Path, dict[str, Any]], backend: str) -> None:
    out, expected = reference_files
    got = hdmf_ai.read(out / f"ref{SUFFIX[backend]}", table="results")
    for attr in METADATA:  # the reference itself reads these back as None
        assert getattr(got, attr) == expected["results_tables"]["results"]["metadata"][attr], attr


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_reference_files_validate_and_list_their_tables(
    reference_files: tuple[Path, dict[str, Any]], backend: str
) -> None:
    out, expected = reference_files
    path = out / f"ref{SUFFIX[backend]}"
    assert hdmf_ai.validate(path) == []
    names = {t.name for t in hdmf_ai.list_tables(path)}
    assert names == {expected["source_table"]["name"], *expected["results_tables"]}


def test_the_reference_defects_we_fix_are_still_there(reference_files: tuple[Path, dict[str, Any]]) -> None:
    """Documents what the reference cannot do under current hdmf, each of which our tests show we do."""
    _, expected = reference_files
    failures = expected["failures"]
    assert "incorrect shape" in failures["add_embedding_2d"]
    assert "same number of rows" in failures["probe:add_samples_first_column"]
    assert any(key.startswith("probe:n_samples_prealloc:") for key in failures)


# -- our files, read by the reference and by a generic hdmf reader ---------------------------------------


def table_the_reference_can_construct(n: int) -> hdmf_ai.ResultsTable:
    """Every column but 2-D embeddings, which the reference's 1-D EmbeddedValues cannot hold."""
    rt = full_table(n)
    rng = np.random.default_rng(3)
    slim = hdmf_ai.ResultsTable(
        name=rt.name,
        description=rt.description,
        source_code=rt.source_code,
        parameters=rt.parameters,
        model_description=rt.model_description,
        pre_trained_model=rt.pre_trained_model,
    )
    slim.add_samples(rt.samples.data, table=source_table(n))
    slim.add_tvt_split(rt.tvt_split.data)
    slim.add_cv_split(rt.cv_split.data, n_splits=rt.cv_split.n_splits)
    slim.add_true_label(rt.true_label.data, classes=CLASS_NAMES)
    slim.add_predicted_probability(rt.predicted_probability.data)
    slim.add_predicted_class(rt.predicted_class.data)
    slim.add_topk_probabilities(rt.topk_probabilities.data)
    slim.add_topk_classes(rt.topk_classes.data)
    slim.add_predicted_value(rt.predicted_value.data)
    slim.add_cluster_label(rt.cluster_label.data)
    slim.add_embedding(rng.normal(size=n))
    slim.add_column("loss", "per-sample loss", data=rt.loss.data)
    return slim


def assert_columns_read_right(table_json: dict[str, Any], rt: hdmf_ai.ResultsTable, skip: tuple[str, ...] = ()) -> None:
    for name in rt.colnames:
        if name in skip:
            continue
        col = table_json["columns"][name]
        np.testing.assert_array_equal(
            np.asarray(col["values"], dtype=object), np.asarray(as_list(rt[name]), dtype=object), err_msg=name
        )
        if "elements" in col:
            assert col["decoded"] == [str(v) for v in rt[name][:]], name
    pc = table_json["columns"]["predicted_class"]["attributes"]
    assert pc["probabilities"]["ref"] == "predicted_probability"
    assert pc["training_labels"]["ref"] == "true_label"


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_the_reference_reads_our_files(ref_python: Path, tmp_path: Path, backend: str) -> None:
    rt = table_the_reference_can_construct(7)
    path = hdmf_ai.write(rt, tmp_path / f"ours{SUFFIX[backend]}")
    report = read_with(ref_python, "read_with_reference.py", path)
    assert report["open_error"] is None and report["read_error"] is None, report
    [table] = report["results_tables"]
    assert table["constructed"] and table["class"] == "ResultsTable" and not table["column_errors"]
    assert_columns_read_right(table, rt)
    # the reference's own defect: its generated class drops the provenance attributes on read
    assert table["metadata"] == dict.fromkeys(METADATA)
    assert table["builder_attributes"]["source_code"] == rt.source_code


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_the_reference_reads_our_files_with_block_digests_past_64_kib(
    ref_python: Path, tmp_path: Path, backend: str
) -> None:
    """A column of one-row chunks: its block digests (16 hex per chunk) outgrow HDF5's object header and are kept
    in the 1.8 format's dense attribute storage, which the reference's HDF5 must read too."""
    rt = table_the_reference_can_construct(5000)
    path = hdmf_ai.write(rt, tmp_path / f"ours{SUFFIX[backend]}", storage={"loss": Setting(chunk_rows=1)})
    report = read_with(ref_python, "read_with_reference.py", path)
    assert report["open_error"] is None and report["read_error"] is None, report
    [table] = report["results_tables"]
    assert table["constructed"] and not table["column_errors"]
    assert_columns_read_right(table, rt)
    if backend == "hdf5":  # the case this test is for: kept outside the object header
        with h5py.File(path) as f:
            assert len(f["results/loss"].attrs["hdmf_ai_digest_blocks"]) > 2**16


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_the_reference_cannot_construct_2d_embeddings_but_reads_the_other_columns(
    ref_python: Path, tmp_path: Path, backend: str
) -> None:
    rt = full_table(5)
    path = hdmf_ai.write(rt, tmp_path / f"ours{SUFFIX[backend]}")
    report = read_with(ref_python, "read_with_reference.py", path)
    assert "incorrect shape" in report["read_error"], "the reference's schema declares EmbeddedValues 1-D"
    [table] = report["results_tables"]
    assert set(table["column_errors"]) == {"embedding", "viz_embedding"}
    assert_columns_read_right(table, rt, skip=("embedding", "viz_embedding"))


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_a_generic_hdmf_reader_reads_everything_from_the_cached_spec(
    ref_python: Path, tmp_path: Path, backend: str
) -> None:
    rt = full_table(6)
    path = hdmf_ai.write(rt, tmp_path / f"ours{SUFFIX[backend]}")
    report = read_with(ref_python, "read_generic.py", path)
    assert report["hdmf_ai_module"] is None, "the generic reader must not import any hdmf_ai"
    assert report["read_error"] is None
    [table] = report["results_tables"]
    assert table["constructed"] and not table["column_errors"]
    assert_columns_read_right(table, rt)
    assert table["metadata"] == {attr: getattr(rt, attr) for attr in METADATA}
    assert "hdmf-ai" in report["cached_namespaces"]
