"""hdmf-ai's TypeMap is its own: import order and other packages' registrations change nothing, and
extension types that third parties generate on top of ours construct on read."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import hdmf.common
import numpy as np
import pytest
from hdmf.build import BuildManager, DatasetBuilder, GroupBuilder, ReferenceBuilder
from hdmf.common import SimpleMultiContainer
from hdmf.spec import DatasetSpec, NamespaceBuilder

import hdmf_ai
from hdmf_ai.io.mappers import ColumnMap, ResultsTableMap, colnames_problem
from hdmf_ai.typemap import REGISTRY

SCHEMA_YAML = Path(hdmf_ai.__file__).parent / "schema" / "namespace.yaml"


def test_every_type_has_our_class_and_an_explicit_mapper() -> None:
    type_map = hdmf_ai.get_type_map()
    for namespace, data_type, cls, mapper in REGISTRY:
        assert type_map.get_dt_container_cls(data_type, namespace) is cls
        assert isinstance(type_map.get_map(cls.__new__(cls)), mapper), data_type
    assert isinstance(type_map.get_map(hdmf_ai.ResultsTable()), ResultsTableMap)
    assert isinstance(type_map.get_map(hdmf_ai.EmbeddedValues(data=[1.0])), ColumnMap)


def test_the_global_hdmf_type_map_is_untouched() -> None:
    assert "hdmf-ai" not in hdmf.common.get_type_map(copy=False).namespace_catalog.namespaces


def test_each_type_map_is_a_fresh_copy() -> None:
    first, second = hdmf_ai.get_type_map(), hdmf_ai.get_type_map()
    assert first is not second and first.namespace_catalog is not second.namespace_catalog


def run_python(*parts: str, cache_home: Path | None = None) -> str:
    """Run code in a fresh interpreter. pynwb caches its type map under the user's cache directory:
    point it at ``cache_home``, or (by default) switch the cache off so no test writes the real one."""
    code = "\n".join(textwrap.dedent(part) for part in parts)
    env = dict(os.environ)
    if cache_home is None:
        env["PYNWB_NO_CACHE_DIR"] = "1"
    else:
        env.pop("PYNWB_NO_CACHE_DIR", None)
        env["XDG_CACHE_HOME"] = str(cache_home)
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=300, env=env
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


ROUND_TRIP = """
    import sys, numpy as np
    sys.path.insert(0, {tests!r})
    from builders import full_table, assert_tables_equal
    import hdmf_ai
    rt = full_table(7)
    for suffix in (".h5", ".zarr"):
        path = hdmf_ai.write(rt, {tmp!r} + "/t" + suffix, overwrite=True)
        assert_tables_equal(hdmf_ai.read(path), rt)
    print("round trip ok")
"""


@pytest.mark.parametrize("order", ["pynwb first", "hdmf_ai first"])
def test_import_order_with_pynwb_changes_nothing(tmp_path: Path, order: str) -> None:
    first, second = ("import pynwb", "import hdmf_ai") if order == "pynwb first" else ("import hdmf_ai", "import pynwb")
    out = run_python(
        f"""
        {first}
        {second}
        assert "hdmf-ai" not in pynwb.get_type_map().namespace_catalog.namespaces, "pynwb's map stays pynwb's"
    """,
        ROUND_TRIP.format(tests=str(Path(__file__).parent), tmp=str(tmp_path)),
    )
    assert "round trip ok" in out


def test_importing_hdmf_ai_before_pynwb_leaves_pynwb_a_clean_type_map_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    run_python("import hdmf_ai, pynwb", cache_home=cache)  # the first pynwb import writes its cache
    [pickled] = list(cache.rglob("pynwb_core_typemap.pkl"))
    assert pickled.stat().st_size > 0
    out = run_python(
        """
        import pynwb
        namespaces = pynwb.get_type_map().namespace_catalog.namespaces
        assert "core" in namespaces and "hdmf-ai" not in namespaces, namespaces
        print("cache ok")
        """,
        cache_home=cache,
    )
    assert "cache ok" in out


def test_another_package_loading_hdmf_ai_0_2_0_into_the_global_map_changes_nothing(tmp_path: Path) -> None:
    """What importing the reference package does: load its namespace into hdmf's global TypeMap and
    generate classes for its types there. Our reads and writes must not notice."""
    reference_namespace = tmp_path / "reference" / "namespace.yaml"
    write_reference_like_namespace(reference_namespace)
    out = run_python(
        f"""
        import warnings
        from hdmf.common import load_namespaces, get_class
        load_namespaces({str(reference_namespace)!r})
        Foreign = get_class("ResultsTable", "hdmf-ai")
        import hdmf_ai
        tm = hdmf_ai.get_type_map()
        assert tm.get_dt_container_cls("ResultsTable", "hdmf-ai") is hdmf_ai.ResultsTable
        assert tm.namespace_catalog.get_namespace("hdmf-ai").version == "0.3.0"
    """,
        ROUND_TRIP.format(tests=str(Path(__file__).parent), tmp=str(tmp_path)),
    )
    assert "round trip ok" in out


def write_reference_like_namespace(path: Path) -> None:
    """A namespace named hdmf-ai at version 0.2.0 declaring ResultsTable, as the reference ships."""
    path.parent.mkdir(parents=True)
    builder = NamespaceBuilder(
        doc="stand-in for the reference namespace",
        name="hdmf-ai",
        version="0.2.0",
        author="test",
        contact="test@example.org",
    )
    builder.include_namespace("hdmf-common")
    from hdmf.spec import GroupSpec

    table = GroupSpec(doc="results", data_type_def="ResultsTable", data_type_inc="DynamicTable")
    builder.add_spec("results_table.yaml", table)
    builder.export("namespace.yaml", outdir=str(path.parent))


# -- a third party's extension, generated with get_class on top of our column type ----------------------


def write_extension(directory: Path) -> Path:
    """An extension namespace 'ml-lab' with ``CalibratedProbability``, a ClassProbability subtype with an
    extra attribute, and ``LabResults``, a ResultsTable subtype with an extra text attribute."""
    from hdmf.spec import AttributeSpec, GroupSpec

    builder = NamespaceBuilder(
        doc="a lab's extension", name="ml-lab", version="0.1.0", author="lab", contact="lab@example.org"
    )
    builder.include_namespace("hdmf-ai")
    calibrated = DatasetSpec(
        doc="probabilities after temperature scaling",
        data_type_def="CalibratedProbability",
        data_type_inc="ClassProbability",
        attributes=[AttributeSpec(name="temperature", doc="softmax temperature", dtype="float")],
    )
    lab_table = GroupSpec(
        doc="results with the lab's run id",
        data_type_def="LabResults",
        data_type_inc="ResultsTable",
        attributes=[AttributeSpec(name="run_id", doc="run identifier", dtype="text")],
    )
    builder.add_spec("ml_lab.yaml", calibrated)
    builder.add_spec("ml_lab.yaml", lab_table)
    builder.export("ml_lab.namespace.yaml", outdir=str(directory))
    return directory / "ml_lab.namespace.yaml"


def test_a_get_class_extension_of_our_types_round_trips(tmp_path: Path, backend: str) -> None:
    type_map = hdmf_ai.get_type_map()
    type_map.load_namespaces(str(write_extension(tmp_path)))
    calibrated_cls = type_map.get_dt_container_cls("CalibratedProbability", "ml-lab")
    lab_cls = type_map.get_dt_container_cls("LabResults", "ml-lab")
    assert issubclass(calibrated_cls, hdmf_ai.ClassProbability) and issubclass(lab_cls, hdmf_ai.ResultsTable)

    probs = np.array([[0.7, 0.3], [0.1, 0.9]])
    calibrated = calibrated_cls(name="predicted_probability", description="calibrated", data=probs, temperature=1.5)
    table = lab_cls(
        name="lab", description="extended", run_id="run-42", source_code=["https://x"], columns=[calibrated]
    )
    table.add_predicted_class([0, 1])

    path = tmp_path / ("ext.h5" if backend == "hdf5" else "ext.zarr")
    io_backend = hdmf_ai.io.registry.backend_for(path)
    with io_backend.open_io(path, "w", BuildManager(type_map)) as io:
        io_backend.write(io, SimpleMultiContainer(name="root", containers=[table]))  # hdmf-zarr wants 'root' at the top

    back = hdmf_ai.read(path)  # the extension's spec is cached in the file; our reader loads it
    assert type(back).__name__ == "LabResults" and isinstance(back, hdmf_ai.ResultsTable)
    assert back.run_id == "run-42" and back.source_code == ["https://x"]
    assert type(back.predicted_probability).__name__ == "CalibratedProbability"
    assert back.predicted_probability.temperature == 1.5
    np.testing.assert_array_equal(back.predicted_probability.data, probs)
    assert back.predicted_class.probabilities is back.predicted_probability
    assert hdmf_ai.validate(path, namespace="ml-lab") == []


def test_an_extra_type_map_merges_in_and_ours_win() -> None:
    import pynwb

    type_map = hdmf_ai.get_type_map(extra=pynwb.get_type_map())
    assert {"core", "hdmf-common", "hdmf-ai"} <= set(type_map.namespace_catalog.namespaces)
    assert type_map.namespace_catalog.get_namespace("hdmf-ai").version == "0.3.0"
    assert type_map.get_dt_container_cls("ResultsTable", "hdmf-ai") is hdmf_ai.ResultsTable
    assert type_map.get_dt_container_cls("Units", "core") is pynwb.misc.Units


# -- colnames_problem: a ResultsTable's colnames against its datasets, before hdmf builds the table -----------------


def _dataset(name: str, **attributes: Any) -> DatasetBuilder:
    return DatasetBuilder(name, data=[0], attributes={"data_type": "VectorData", **attributes})


def _group(colnames: list[str] | None, *datasets: DatasetBuilder) -> GroupBuilder:
    attributes = {} if colnames is None else {"colnames": np.array(colnames, dtype=object)}
    untyped = DatasetBuilder("id", data=[0], attributes={"data_type": "ElementIdentifiers"})
    return GroupBuilder("results", attributes=attributes, datasets={d.name: d for d in (untyped, *datasets)})


def test_colnames_may_leave_out_the_indexes_and_enum_elements_of_listed_columns() -> None:
    tokens, elements = _dataset("tokens"), _dataset("label_elements")
    index = _dataset("tokens_index", target=ReferenceBuilder(tokens))
    index_of_index = _dataset("tokens_index_index", target=index)  # a column of lists of lists
    label = _dataset("label", elements=ReferenceBuilder(elements))
    plain = DatasetBuilder("scratch", data=[0])  # no data_type: not a column
    group = _group(["label", "tokens"], tokens, elements, index, index_of_index, label, plain)
    assert colnames_problem(group) is None
    assert colnames_problem(_group(None)) is None  # a table without columns needs no colnames


@pytest.mark.parametrize(
    ("colnames", "problem"),
    [
        (None, "colnames: expected the names of the table's columns (it holds the datasets ['a', 'b']); got none"),
        (["a", "b", "a"], "colnames: expected each column named once; got ['a'] more than once"),
        (["b"], "colnames: expected every column listed; got the datasets ['a'] not listed nor indexing one"),
    ],
)
def test_colnames_that_do_not_match_the_datasets_are_named(colnames: list[str] | None, problem: str) -> None:
    assert colnames_problem(_group(colnames, _dataset("a"), _dataset("b"))) == problem


def test_an_index_or_elements_of_an_unlisted_dataset_are_unlisted_too() -> None:
    hidden, elements = _dataset("hidden"), _dataset("hidden_elements")
    hidden.attributes["elements"] = ReferenceBuilder(elements)
    index = _dataset("hidden_index", target=ReferenceBuilder(hidden))
    assert colnames_problem(_group(["a"], _dataset("a"), hidden, elements, index)) == (
        "colnames: expected every column listed; got the datasets ['hidden', 'hidden_elements', 'hidden_index'] "
        "not listed nor indexing one"
    )
