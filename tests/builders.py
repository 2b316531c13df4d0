"""Tables the tests write, and the comparison they read back against.

``full_table(n)`` fills every predefined column of a ResultsTable (and a user column) with seeded,
realistic values; ``assert_tables_equal`` compares a table read from a file with the one written:
values, dtypes, shapes, attributes, enum elements, cross-column references and the samples link.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, EnumData, VectorData

import hdmf_ai

N_CLASSES = 4
K = 2
CLASS_NAMES = ["cat", "dog", "owl", "élan"]  # one non-ASCII label on purpose


def source_table(n: int, name: str = "source") -> DynamicTable:
    """A source data table with per-sample metadata, as a scientist's samples table would have."""
    rng = np.random.default_rng(1)
    return DynamicTable(
        name=name,
        description="source samples",
        columns=[
            VectorData(name="site", description="acquisition site", data=rng.choice(["A", "B"], n)),
            VectorData(name="age", description="subject age", data=rng.uniform(20, 80, n)),
        ],
    )


def full_table(n: int, *, source: DynamicTable | None = None, name: str = "results") -> hdmf_ai.ResultsTable:
    """A ResultsTable with every predefined column and a user column, n rows."""
    rng = np.random.default_rng(0)
    source = source if source is not None else source_table(n)
    rt = hdmf_ai.ResultsTable(
        name=name,
        description="every column",
        source_code=["https://example.org/train.py@1", "https://example.org/eval.py@2"],
        parameters=[{"C": 1.0, "penalty": "l2"}, '{"k": 2}'],
        model_description=["LogisticRegression()", "top-k"],
        pre_trained_model=["none", "doi:10.0/xyz"],
    )
    probs = rng.dirichlet(np.ones(N_CLASSES), n)
    order = np.argsort(-probs, axis=1)[:, :K]
    rt.add_samples(rng.permutation(n), table=source)
    rt.add_tvt_split(rng.integers(0, 3, n))
    rt.add_cv_split(np.arange(n) % 3, n_splits=3)
    rt.add_true_label(rng.choice(CLASS_NAMES, n), classes=CLASS_NAMES)
    rt.add_predicted_probability(probs)
    rt.add_predicted_class(probs.argmax(axis=1))
    rt.add_topk_probabilities(np.take_along_axis(probs, order, axis=1))
    rt.add_topk_classes(order)
    rt.add_predicted_value(rng.normal(size=n))
    rt.add_cluster_label(rng.integers(-1, 5, n))
    rt.add_embedding(rng.normal(size=(n, 8)).astype(np.float32))
    rt.add_viz_embedding(rng.normal(size=(n, 2)))
    rt.add_column("loss", "per-sample loss", data=rng.exponential(size=n))
    return rt


def column_values(col: VectorData) -> np.ndarray:
    """A column's stored data as numpy (codes, for an enum), whether in memory or on disk."""
    data = col.data
    if isinstance(data, list):
        return np.asarray(data)
    return np.asarray(data[:] if getattr(data, "shape", ()) != () else data[()])


def _as_text(values: Any) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(values, dtype=object).ravel()]


def assert_columns_equal(got: VectorData, want: VectorData) -> None:
    assert type(got) is type(want), (got.name, type(got), type(want))
    assert got.name == want.name
    assert got.description == want.description
    g, w = column_values(got), column_values(want)
    assert g.shape == w.shape, (got.name, g.shape, w.shape)
    if w.dtype.kind in "USO":
        assert _as_text(g) == _as_text(w), got.name
    else:
        assert g.dtype == w.dtype, (got.name, g.dtype, w.dtype)
        np.testing.assert_array_equal(g, w, err_msg=got.name)
    if isinstance(want, EnumData):
        assert _as_text(column_values(got.elements)) == _as_text(column_values(want.elements))
    for attr in ("training_labels", "probabilities"):
        if hasattr(want, attr):
            w_ref = getattr(want, attr)
            g_ref = getattr(got, attr)
            assert (g_ref is None) == (w_ref is None), (got.name, attr)
            if w_ref is not None:
                assert g_ref.name == w_ref.name
                assert g_ref.parent is got.parent, "a reference must point into the same table"
    if isinstance(want, hdmf_ai.CrossValidationSplit):
        assert got.n_splits == want.n_splits
    if isinstance(want, DynamicTableRegion):
        assert got.table.name == want.table.name
        assert len(got.table) == len(want.table)
        for name in want.table.colnames:
            assert_columns_equal(got.table[name], want.table[name])


def assert_tables_equal(got: hdmf_ai.ResultsTable, want: hdmf_ai.ResultsTable) -> None:
    assert isinstance(got, hdmf_ai.ResultsTable)
    assert got.name == want.name
    assert got.description == want.description
    assert tuple(got.colnames) == tuple(want.colnames)
    np.testing.assert_array_equal(column_values(got.id), column_values(want.id))
    for attr in ("source_code", "parameters", "model_description", "pre_trained_model"):
        assert getattr(got, attr) == getattr(want, attr), attr
    for name in want.colnames:
        assert_columns_equal(got[name], want[name])


def assert_table_holds(
    got: hdmf_ai.ResultsTable,
    arrays: dict[str, Any],
    *,
    metadata: dict[str, Any] | None = None,
    source: DynamicTable | None = None,
) -> None:
    """The table read back holds exactly the arrays a user passed in (an oracle that is not our writer).

    Enum columns passed as text are compared through their stored elements; passed as codes, as codes. ``samples`` rows
    are compared as indices, and its target with ``source``'s own arrays.
    """
    assert tuple(got.colnames) == tuple(arrays), (got.colnames, tuple(arrays))
    n = len(next(iter(arrays.values()))) if arrays else 0
    np.testing.assert_array_equal(column_values(got.id), np.arange(n))
    for name, want in arrays.items():
        values, want = column_values(got[name]), np.asarray(want)
        if isinstance(got[name], EnumData) and want.dtype.kind in "USO":  # passed as text, stored as codes
            elements = np.asarray(_as_text(column_values(got[name].elements)))
            assert elements[values].tolist() == _as_text(want), name
            continue
        assert values.shape == want.shape, (name, values.shape, want.shape)
        np.testing.assert_array_equal(values, want, err_msg=name)
    for key, value in (metadata or {}).items():
        assert getattr(got, key) == value, key
    if source is not None:
        target = got["samples"].table
        assert target.name == source.name and tuple(target.colnames) == tuple(source.colnames)
        for name in source.colnames:
            want_text = np.asarray(source[name].data).dtype.kind in "USO"
            if want_text:
                assert _as_text(column_values(target[name])) == _as_text(source[name].data), name
            else:
                np.testing.assert_array_equal(column_values(target[name]), source[name].data, err_msg=name)
