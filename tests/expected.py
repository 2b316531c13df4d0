"""Comparison of a table we read with the ``expected.json`` that tests/reference_scripts/write_reference.py
writes next to the files it makes (shared by the interoperability and legacy-store tests)."""

from __future__ import annotations

from typing import Any

import numpy as np
from builders import column_values

import hdmf_ai

METADATA = ("source_code", "parameters", "model_description", "pre_trained_model")


def as_list(col: Any) -> list[Any]:
    values = column_values(col)
    return [v.decode() if isinstance(v, bytes) else v for v in values.tolist()] if values.ndim == 1 else values.tolist()


def assert_table_matches(got: hdmf_ai.ResultsTable, want: dict[str, Any], source: dict[str, Any]) -> None:
    """Every column, the source table and the metadata of ``got`` against the reference's expected.json."""
    assert isinstance(got, hdmf_ai.ResultsTable)
    assert got.description == want["description"]
    assert list(got.colnames) == want["colnames"]
    assert column_values(got.id).tolist() == want["id"]
    for name, col in want["columns"].items():
        ours = got[name]
        assert ours.data_type == col["neurodata_type"], name
        np.testing.assert_array_equal(
            np.asarray(as_list(ours), dtype=object), np.asarray(col["values"], dtype=object), err_msg=name
        )
        if "elements" in col:
            assert list(column_values(ours.elements)) == col["elements"], name
            assert list(ours[:]) == col["decoded"], name
        if "target_table" in col:
            assert ours.table.name == col["target_table"] == source["name"]
            assert column_values(ours.table.id).tolist() == source["id"]
            for src_col, values in source["columns"].items():
                assert as_list(ours.table[src_col]) == values, (name, src_col)
        if "n_splits" in col:
            assert ours.n_splits == col["n_splits"]
        for attr, target in col.get("references", {}).items():
            assert getattr(ours, attr) is got[target], (name, attr)
    for attr in METADATA:
        assert list(getattr(got, attr)) == want["metadata"][attr], attr
