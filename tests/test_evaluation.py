"""EvaluationTable: metric values and comparisons stored with the ResultsTables they came from.

Round trips on both backends (every field read back and compared with what was written), the references to
the tables resolved after reading, the schema checks (the spec follows hdmf's language; files validate against
their cached spec), bad input refused with the field named, and the reference 0.2.0 package reading a file
that holds one: through the file's cached specification (the new namespace), and what happens without it.
"""

from __future__ import annotations

import json
import math
from importlib.resources import files
from pathlib import Path
from typing import Any

import hdmf.common
import jsonschema
import numpy as np
import pytest
from builders import source_table
from hdmf.common import DynamicTable, VectorData
from ruamel.yaml import YAML
from test_interop import SUFFIX, read_with, ref_python, table_the_reference_can_construct  # noqa: F401

import hdmf_ai
from hdmf_ai import EvaluationTable
from hdmf_ai.evaluation import EVALUATION_FIELDS

SCHEMA_DIR = Path(str(files("hdmf_ai") / "schema"))
LANGUAGE = Path(hdmf.common.__file__).parent / "hdmf-common-schema" / "hdmf-common.schema.json"

RECORDS: list[dict[str, Any]] = [
    {"metric": "accuracy", "value": 0.9, "split": "test", "ci_low": 0.8, "ci_high": 0.95, "confidence": 0.95,
     "n": 30, "method": "wilson", "results_tables": "model_a"},
    {"metric": "accuracy", "value": 0.8, "split": "fold 1", "slice_column": "site", "slice_value": "A",
     "n": 12, "results_tables": ["model_b"]},
    {"metric": "accuracy difference", "value": 0.1, "split": "test", "ci_low": -0.02, "ci_high": 0.2,
     "confidence": 0.9, "method": "paired bootstrap", "seed": 7, "n": 30, "results_tables": ["model_a", "model_b"]},
    {"metric": "mcnemar", "value": 3.0, "p_value": 0.125, "method": "mcnemar exact",
     "results_tables": ("model_b", "model_a")},
]  # fmt: skip


def models(n: int = 30) -> tuple[hdmf_ai.ResultsTable, hdmf_ai.ResultsTable]:
    src = source_table(n)
    rng = np.random.default_rng(5)
    out = []
    for name in ("model_a", "model_b"):
        rt = hdmf_ai.ResultsTable(name=name)
        rt.add_samples(np.arange(n), table=src)
        rt.add_true_label(rng.integers(0, 2, n))
        rt.add_predicted_class(rng.integers(0, 2, n))
        out.append(rt)
    return out[0], out[1]


def expected(record: dict[str, Any]) -> dict[str, Any]:
    """What a record reads back as: every field, the tables as a tuple of names, "none" where absent."""
    nones = {"split": "", "slice_column": "", "slice_value": "", "n": -1, "ci_low": math.nan, "ci_high": math.nan,
             "confidence": math.nan, "p_value": math.nan, "method": "", "seed": -1}  # fmt: skip
    out = {**nones, **record}
    tables = out["results_tables"]
    out["results_tables"] = (tables,) if isinstance(tables, str) else tuple(tables)
    return out


def assert_records_equal(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert set(g) == set(EVALUATION_FIELDS), i
        for field in EVALUATION_FIELDS:
            a, b = g[field], w[field]
            if isinstance(b, float) and math.isnan(b):
                assert isinstance(a, float) and math.isnan(a), (i, field, a)
            else:
                assert a == b and type(a) is type(b), (i, field, a, b)


def test_the_spec_follows_the_specification_language() -> None:
    language = json.loads(LANGUAGE.read_text())
    for name in ("extensions.namespace.yaml", "evaluation.yaml"):
        jsonschema.validate(YAML(typ="safe", pure=True).load((SCHEMA_DIR / name).read_text()), language)
    spec = hdmf_ai.get_type_map().namespace_catalog.get_spec("hdmf-ai-extensions", "EvaluationTable")
    assert {d.name for d in spec.datasets} - {None, "id"} == {*EVALUATION_FIELDS, "results_tables_index"}


def test_records_in_memory_are_what_was_given() -> None:
    a, b = models()
    ev = EvaluationTable.from_records(RECORDS, tables=[a, b])
    assert_records_equal(ev.to_records(), [expected(r) for r in RECORDS])
    assert [t is a for t in ev["results_tables"][2]] == [True, False]


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_round_trip_reads_every_field_and_resolves_the_tables(tmp_path: Path, backend: str) -> None:
    a, b = models()
    ev = EvaluationTable.from_records(RECORDS, tables=[a, b], name="scores", description="model scores")
    path = hdmf_ai.write([a, b, ev], tmp_path / f"f{SUFFIX[backend]}")
    got = hdmf_ai.read_evaluations(path)
    assert type(got) is EvaluationTable and got.name == "scores" and got.description == "model scores"
    assert_records_equal(got.to_records(), [expected(r) for r in RECORDS])
    # the references resolve to the ResultsTables of the file, with their data
    first, second = got["results_tables"][2]
    assert isinstance(first, hdmf_ai.ResultsTable) and (first.name, second.name) == ("model_a", "model_b")
    np.testing.assert_array_equal(np.asarray(second["predicted_class"].data), np.asarray(b["predicted_class"].data))
    assert hdmf_ai.validate(path) == []
    infos = {t.name: t.data_type for t in hdmf_ai.list_tables(path)}
    assert infos == {"model_a": "ResultsTable", "model_b": "ResultsTable", "scores": "EvaluationTable",
                     "source": "DynamicTable"}  # fmt: skip


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_writing_the_evaluations_alone_brings_the_tables_they_refer_to(tmp_path: Path, backend: str) -> None:
    a, b = models()
    ev = EvaluationTable.from_records(RECORDS, tables=[a, b])
    path = hdmf_ai.write(ev, tmp_path / f"f{SUFFIX[backend]}")
    assert {t.name for t in hdmf_ai.list_tables(path)} == {"model_a", "model_b", "evaluations", "source"}
    np.testing.assert_array_equal(
        np.asarray(hdmf_ai.read(path, table="model_a")["true_label"].data), np.asarray(a["true_label"].data)
    )


def test_a_frame_converts_to_the_same_table() -> None:
    import pandas as pd  # hdmf's own dependency

    a, b = models()
    frame = pd.DataFrame.from_records([expected(r) for r in RECORDS])
    ev = EvaluationTable.from_frame(frame, tables=[a, b])
    assert_records_equal(ev.to_records(), [expected(r) for r in RECORDS])
    pd.testing.assert_frame_equal(ev.to_frame(), frame[list(EVALUATION_FIELDS)])


@pytest.mark.parametrize(
    ("record", "field", "says"),
    [
        ({"value": 1.0}, "metric", "a value in every row"),
        ({"metric": "accuracy"}, "value", "a value in every row"),
        ({"metric": "accuracy", "value": "high"}, "value", "a number"),
        ({"metric": "accuracy", "value": 1.0, "results_tables": "model_c"}, "results_tables", "model_c"),
        ({"metric": "accuracy", "value": 1.0, "results_tables": []}, "results_tables", "at least one table"),
        ({"metric": "accuracy", "value": 1.0, "n": 2.5}, "n", "a whole number"),
        ({"metric": "accuracy", "value": 1.0, "seed": True}, "seed", "a whole number"),
        ({"metric": "accuracy", "value": 1.0, "colour": "red"}, "colour", "unknown field"),
    ],
)
def test_bad_records_are_refused_naming_the_field(record: dict[str, Any], field: str, says: str) -> None:
    a, b = models()
    with pytest.raises(hdmf_ai.ColumnError) as err:
        EvaluationTable.from_records([RECORDS[0], record], tables=[a, b])
    assert err.value.column == field and says in str(err.value) and "row 1" in str(err.value)


def test_the_tables_must_be_named_apart() -> None:
    a, _ = models()
    with pytest.raises(ValueError, match="distinct names"):
        EvaluationTable.from_records(RECORDS[:1], tables=[a, a])


@pytest.mark.interop
@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_the_reference_reads_the_evaluations_from_the_cached_spec(
    ref_python: Path,  # noqa: F811
    tmp_path: Path,
    backend: str,
) -> None:
    rt = table_the_reference_can_construct(7)
    ev = EvaluationTable.from_records(
        [{"metric": "accuracy", "value": 0.5, "split": "test", "n": 7, "ci_low": 0.2, "ci_high": 0.8}], tables=[rt]
    )
    path = hdmf_ai.write([rt, ev], tmp_path / f"ours{SUFFIX[backend]}")
    cached = read_with(ref_python, "read_with_reference_cached.py", path)
    assert cached["open_error"] is None and cached["read_error"] is None, cached
    [table] = [t for t in cached["other_tables"] if t["name"] == "evaluations"]
    assert table["constructed"] and table["neurodata_type"] == "EvaluationTable" and not table["column_errors"]
    cols = table["columns"]
    assert cols["metric"]["values"] == ["accuracy"] and cols["value"]["values"] == [0.5]
    assert (cols["ci_low"]["values"], cols["ci_high"]["values"], cols["n"]["values"]) == ([0.2], [0.8], [7])
    assert cols["results_tables"]["values"] == [[{"ref": rt.name, "neurodata_type": "ResultsTable"}]]
    [results] = cached["results_tables"]
    assert results["constructed"] and not results["column_errors"]
    # with the reference's plain global manager (no cached specs) the new namespace is unknown: the file as a
    # whole does not construct, the ResultsTable still does on its own, the EvaluationTable not at all
    plain = read_with(ref_python, "read_with_reference.py", path)
    assert "hdmf-ai-extensions" in (plain["read_error"] or "")
    [results] = plain["results_tables"]
    assert results["constructed"] and not results["column_errors"]
    assert "evaluations" not in {t["name"] for t in plain["other_tables"] if t["constructed"]}
    # a generic hdmf reader (no hdmf-ai package at all) builds every type from the cached spec
    generic = read_with(ref_python, "read_generic.py", path)
    assert generic["read_error"] is None
    [table] = [t for t in generic["other_tables"] if t["name"] == "evaluations"]
    assert table["constructed"] and table["columns"]["metric"]["values"] == ["accuracy"]


# -- adding tables to an existing file (write(..., mode="a")) ---------------------------------------------------


def file_bytes(path: Path) -> dict[str, bytes]:
    """Every byte of a file or store, by relative path: what "the old file stays intact" compares."""
    if path.is_file():
        return {"": path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_adding_a_model_and_its_evaluation_reuses_the_source_table_in_the_file(tmp_path: Path, backend: str) -> None:
    a, b = models()
    path = hdmf_ai.write(a, tmp_path / f"f{SUFFIX[backend]}")
    # the second model points at an equal copy of the source table (as after a fresh session): it is reused
    src_copy = source_table(30)
    b2 = hdmf_ai.ResultsTable(name="model_b")
    b2.add_samples(np.arange(30), table=src_copy)
    b2.add_true_label(np.asarray(b["true_label"].data))
    b2.add_predicted_class(np.asarray(b["predicted_class"].data))
    hdmf_ai.write(b2, path, mode="a")
    assert sorted(t.name for t in hdmf_ai.list_tables(path)) == ["model_a", "model_b", "source"]
    got_b = hdmf_ai.read(path, table="model_b")
    np.testing.assert_array_equal(np.asarray(got_b["predicted_class"].data), np.asarray(b["predicted_class"].data))
    assert got_b["samples"].table.name == "source"
    np.testing.assert_array_equal(np.asarray(got_b["samples"].table["age"].data), src_copy["age"].data)
    assert b2["samples"].table is src_copy  # the user's object points where it did
    copy = hdmf_ai.write(b2, tmp_path / f"copy{SUFFIX[backend]}")  # and can go to another file after
    np.testing.assert_array_equal(np.asarray(hdmf_ai.read(copy)["true_label"].data), np.asarray(b["true_label"].data))
    # then an evaluation of both, referring to the tables as read from the file
    got_a = hdmf_ai.read(path, table="model_a")
    ev = EvaluationTable.from_records(RECORDS, tables=[got_a, got_b])
    hdmf_ai.write(ev, path, mode="a")
    assert_records_equal(hdmf_ai.read_evaluations(path).to_records(), [expected(r) for r in RECORDS])
    assert sorted(t.name for t in hdmf_ai.list_tables(path)) == ["evaluations", "model_a", "model_b", "source"]
    assert hdmf_ai.validate(path) == []
    np.testing.assert_array_equal(
        np.asarray(hdmf_ai.read(path, table="model_a")["predicted_class"].data), np.asarray(a["predicted_class"].data)
    )


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_mode_a_creates_a_missing_file(tmp_path: Path, backend: str) -> None:
    a, _ = models()
    path = hdmf_ai.write(a, tmp_path / f"new{SUFFIX[backend]}", mode="a")
    np.testing.assert_array_equal(np.asarray(hdmf_ai.read(path)["true_label"].data), np.asarray(a["true_label"].data))


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_a_name_taken_by_other_data_is_refused_and_the_file_stays_as_it_was(tmp_path: Path, backend: str) -> None:
    a, b = models()
    path = hdmf_ai.write([a, b], tmp_path / f"f{SUFFIX[backend]}")
    before = file_bytes(path)
    other = hdmf_ai.ResultsTable(name="model_b")  # same name, other predictions, same source table
    other.add_samples(np.arange(30), table=a["samples"].table)
    other.add_true_label(np.asarray(b["true_label"].data))
    other.add_predicted_class(1 - np.asarray(b["predicted_class"].data))
    with pytest.raises(ValueError, match="already holds a table named 'model_b'"):
        hdmf_ai.write(other, path, mode="a")
    # a source table under the file's source name but with other values: refused too
    changed = source_table(30)
    changed["age"].data[0] += 1
    c = hdmf_ai.ResultsTable(name="model_c")
    c.add_samples(np.arange(30), table=changed)
    with pytest.raises(ValueError, match="already holds a table named 'source'"):
        hdmf_ai.write(c, path, mode="a")
    assert file_bytes(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temporary left behind


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_a_write_failing_midway_leaves_the_old_file(tmp_path: Path, backend: str) -> None:
    a, b = models()
    path = hdmf_ai.write(a, tmp_path / f"f{SUFFIX[backend]}")
    before = file_bytes(path)
    # a preset that does not exist fails before the copy is written to
    with pytest.raises(hdmf_ai.io.policy.StorageError):
        hdmf_ai.write(b, path, mode="a", preset="no-such-preset")
    assert file_bytes(path) == before
    # a table hdmf cannot store fails while the copy is being written, after b's datasets went into it
    unstorable = DynamicTable(name="unstorable", description="objects hdmf cannot store",
                              columns=[VectorData(name="x", description="x", data=[object(), object()])])  # fmt: skip
    with pytest.raises(Exception) as err:
        hdmf_ai.write([b, unstorable], path, mode="a")
    assert "unstorable" in str(err.value) or "object" in str(err.value)
    assert file_bytes(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
    assert [t.name for t in hdmf_ai.list_tables(path) if t.data_type == "ResultsTable"] == ["model_a"]
    # the same table then adds fine: nothing of the failed attempt stuck to it
    hdmf_ai.write(b, path, mode="a")
    np.testing.assert_array_equal(
        np.asarray(hdmf_ai.read(path, table="model_b")["predicted_class"].data), np.asarray(b["predicted_class"].data)
    )


def test_mode_a_refuses_overwrite_and_unknown_modes(tmp_path: Path) -> None:
    a, _ = models()
    with pytest.raises(ValueError, match="overwrite"):
        hdmf_ai.write(a, tmp_path / "f.h5", mode="a", overwrite=True)
    with pytest.raises(ValueError, match="mode"):
        hdmf_ai.write(a, tmp_path / "f.h5", mode="x")
    assert list(tmp_path.iterdir()) == []


def test_inspect_shows_the_rows_of_an_evaluation_table(tmp_path: Path) -> None:
    from hdmf_ai.summary import inspect_file

    a, b = models()
    ev = EvaluationTable.from_records(RECORDS, tables=[a, b])
    path = hdmf_ai.write([a, b, ev], tmp_path / "f.h5")
    [summary] = [t for t in inspect_file(path).tables if t.data_type == "EvaluationTable"]
    text = "\n".join(summary.lines())
    assert text.startswith("EvaluationTable 'evaluations': 4 rows, 13 columns")
    rows = text.splitlines()[3:]  # title, description, header
    assert len(rows) == 4
    assert "accuracy difference" in rows[2] and "model_a vs model_b" in rows[2] and "paired bootstrap" in rows[2]
    assert "mcnemar exact" in rows[3] and "0.125" in rows[3]
    assert "site" in rows[1] and "fold 1" in rows[1]


@pytest.mark.interop
@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_a_file_with_evaluations_stays_valid_under_the_published_schema(
    ref_python: Path,  # noqa: F811
    tmp_path: Path,
    backend: str,
) -> None:
    """hdmf's validator with the reference's own hdmf-ai 0.2.0 (not the file's cached spec) finds no problem."""
    from refenv import run_reference

    rt = table_the_reference_can_construct(7)
    ev = EvaluationTable.from_records([{"metric": "accuracy", "value": 0.5, "split": "test"}], tables=[rt])
    path = hdmf_ai.write([rt, ev], tmp_path / f"ours{SUFFIX[backend]}")
    doc = json.loads(run_reference(ref_python, "check_files.py", str(path)).stdout)
    validation = doc["files"][str(path)]["validation"]
    assert validation["namespace_version"] == "0.2.0" and validation["validated"] == ["root"], validation
    assert validation["error"] is None and validation["problems"] == [], validation
