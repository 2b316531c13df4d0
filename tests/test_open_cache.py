"""Opening many files of one schema: the cached namespaces are loaded once per distinct cached schema and
process (``typemap.schema_type_map``), keyed by a digest of every cached spec text, never by names alone.

A file whose cached spec differs in its text (same namespace, same version) gets a map of its own; what is read
stays the same public objects, compared against plain h5py.
"""

from __future__ import annotations

import json
import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import zarr
from hdmf.backends.hdf5 import HDF5IO
from hdmf.build import BuildManager
from hdmf.common import SimpleMultiContainer
from hdmf.spec import AttributeSpec, GroupSpec, NamespaceBuilder
from hdmf_zarr import ZarrIO

import hdmf_ai
from conftest import BACKENDS
from hdmf_ai import typemap
from hdmf_ai.io.hdf5 import spec_digest
from hdmf_ai.io.registry import backend_for
from hdmf_ai.io.zarr import spec_digest as zarr_spec_digest


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The files whose cached namespaces hdmf or hdmf-zarr parsed, in order (spies on their load_namespaces)."""
    typemap.clear_schema_cache()
    seen: list[str] = []
    for io_class in (HDF5IO, ZarrIO):
        original = io_class.load_namespaces.__func__  # type: ignore[attr-defined]

        def spy(cls: type, *args: object, original: Any = original, **kwargs: object) -> object:
            where = kwargs.get("file") or kwargs.get("path")
            seen.append(str(getattr(where, "filename", None) or getattr(where, "source", where)))
            return original(cls, *args, **kwargs)

        monkeypatch.setattr(io_class, "load_namespaces", classmethod(spy))
    yield seen
    typemap.clear_schema_cache()


def _table(n: int, seed: int) -> hdmf_ai.ResultsTable:
    rng = np.random.default_rng(seed)
    rt = hdmf_ai.ResultsTable(name="results", description="cache test")
    rt.add_tvt_split(rng.choice(np.array(["train", "validate", "test"]), n))
    rt.add_true_label(rng.integers(0, 3, n))
    rt.add_predicted_class(rng.integers(0, 3, n))
    return rt


def _raw(path: Path, column: str) -> np.ndarray:
    if path.suffix == ".zarr":
        return np.asarray(zarr.open_group(str(path), mode="r")[f"results/{column}"][:])
    with h5py.File(path, "r") as f:
        return np.asarray(f[f"results/{column}"][:])


def test_files_of_one_schema_load_it_once_and_read_their_own_values(
    tmp_path: Path, backend: str, loads: list[str]
) -> None:
    suffix = BACKENDS[backend]
    paths = [tmp_path / f"run{i}{suffix}" for i in range(4)]
    for i, path in enumerate(paths):
        hdmf_ai.write(_table(50 + i, seed=i), path)
    assert len({_digest(p) for p in paths}) == 1
    for path in paths:
        with hdmf_ai.open(path) as rt:
            np.testing.assert_array_equal(rt["predicted_class"].data[:], _raw(path, "predicted_class"))
            assert len(rt) == len(_raw(path, "id"))
        back = hdmf_ai.read(path)
        np.testing.assert_array_equal(back.true_label.data, _raw(path, "true_label"))
        assert [t.n_rows for t in hdmf_ai.list_tables(path)] == [len(_raw(path, "id"))]
    assert loads == [str(paths[0])]  # parsed once, for the first file; the others share its map


def _digest(path: Path) -> str | None:
    if path.suffix == ".zarr":
        return zarr_spec_digest(path)
    with h5py.File(path, "r") as f:
        return spec_digest(f)


def _edit_cached_namespace(path: Path, edit: object) -> None:
    """Change the text of the file's cached hdmf-ai namespace document in place (same group, same version)."""
    version = typemap.get_type_map().namespace_catalog.get_namespace("hdmf-ai").version
    with h5py.File(path, "r+") as f:
        where = f"specifications/hdmf-ai/{version}/namespace"
        raw = f[where][()]
        document = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        edit(document["namespaces"][0])  # type: ignore[operator]
        del f[where]
        f[f"specifications/hdmf-ai/{version}"].create_dataset("namespace", data=json.dumps(document))


def test_a_file_whose_cached_spec_text_differs_does_not_reuse_the_cache(tmp_path: Path, loads: list[str]) -> None:
    first, edited = tmp_path / "first.h5", tmp_path / "edited.h5"
    hdmf_ai.write(_table(30, seed=1), first)
    shutil.copy(first, edited)
    # same namespace, same version group, one changed word of the document: another schema
    _edit_cached_namespace(edited, lambda ns: ns.update(doc=ns["doc"] + " (edited)"))
    assert _digest(first) != _digest(edited)
    hdmf_ai.read(first)
    hdmf_ai.read(edited)
    assert loads == [str(first), str(edited)]


def test_a_same_named_version_whose_text_says_newer_still_warns(tmp_path: Path, loads: list[str]) -> None:
    """The cache keyed by namespace and version group alone would hand the edited file the first file's map,
    and its silence: the digest of the text tells them apart, and the warning is given for every open."""
    first, newer = tmp_path / "first.h5", tmp_path / "newer.h5"
    rt = _table(20, seed=2)
    hdmf_ai.write(rt, first)
    shutil.copy(first, newer)
    _edit_cached_namespace(newer, lambda ns: ns.update(version="0.9.0"))
    hdmf_ai.read(first)  # no warning (warnings are errors here)
    for _ in range(2):  # loaded once, warned each time, naming the file
        with pytest.warns(hdmf_ai.SchemaVersionWarning, match=r"newer\.h5: written with the hdmf-ai schema 0\.9\.0"):
            back = hdmf_ai.read(newer)
        np.testing.assert_array_equal(back.predicted_class.data, _raw(newer, "predicted_class"))
    assert loads == [str(first), str(newer)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hdmf_ai.read(first)  # still silent from the cache


def _lab_extension(directory: Path, attribute: str) -> Path:
    """Namespace 'ml-lab' 0.1.0 with LabResults, a ResultsTable subtype with one text attribute ``attribute``."""
    builder = NamespaceBuilder(
        doc="a lab's extension", name="ml-lab", version="0.1.0", author="lab", contact="lab@example.org"
    )
    builder.include_namespace("hdmf-ai")
    builder.add_spec(
        "ml_lab.yaml",
        GroupSpec(
            doc="results with the lab's run",
            data_type_def="LabResults",
            data_type_inc="ResultsTable",
            attributes=[AttributeSpec(name=attribute, doc="the run", dtype="text")],
        ),
    )
    directory.mkdir()
    builder.export("ml_lab.namespace.yaml", outdir=str(directory))
    return directory / "ml_lab.namespace.yaml"


def _write_lab_file(tmp_path: Path, name: str, attribute: str, suffix: str) -> Path:
    type_map = typemap.get_type_map()
    type_map.load_namespaces(str(_lab_extension(tmp_path / f"{name}-spec", attribute)))
    lab = type_map.get_dt_container_cls("LabResults", "ml-lab")
    table = lab(name="results", description="lab", **{attribute: f"{name}-42"})
    table.add_predicted_class([0, 1, 1])
    path = tmp_path / f"{name}{suffix}"
    backend = backend_for(path)
    with backend.open_io(path, "w", BuildManager(type_map)) as io:
        backend.write(io, SimpleMultiContainer(name="root", containers=[table]))
    return path


def _root_attribute(path: Path, name: str) -> Any:
    if path.suffix == ".zarr":
        return zarr.open_group(str(path), mode="r")["results"].attrs[name]
    with h5py.File(path, "r") as f:
        return f["results"].attrs[name]


def test_an_extension_of_one_name_and_version_but_another_text_reads_with_its_own_spec(
    tmp_path: Path, backend: str, loads: list[str]
) -> None:
    """Two labs publish 'ml-lab' 0.1.0 with different LabResults: each file constructs with the spec it caches."""
    run_id = _write_lab_file(tmp_path, "a", "run_id", BACKENDS[backend])
    run_name = _write_lab_file(tmp_path, "b", "run_name", BACKENDS[backend])
    assert _digest(run_id) != _digest(run_name)
    first = hdmf_ai.read(run_id)
    second = hdmf_ai.read(run_name)
    assert type(first).__name__ == type(second).__name__ == "LabResults"
    assert first.run_id == "a-42" and not hasattr(first, "run_name")
    assert second.run_name == "b-42" and not hasattr(second, "run_id")
    assert _root_attribute(run_name, "run_name") == second.run_name
    assert len(loads) == 2
    again = hdmf_ai.read(run_id)  # from the cache: still its own class
    assert again.run_id == "a-42"
    assert len(loads) == 2


def test_a_file_without_cached_specs_has_no_digest_of_them(tmp_path: Path) -> None:
    path = tmp_path / "bare.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=[1, 2])
    assert _digest(path) == "none"


def test_a_store_whose_specs_hold_a_link_is_not_cached_and_still_refused(tmp_path: Path, loads: list[str]) -> None:
    path = tmp_path / "linked.zarr"
    hdmf_ai.write(_table(10, seed=3), path)
    chunk = next(p for p in (path / "specifications" / "hdmf-ai").rglob("c*") if p.is_file())
    outside = tmp_path / "outside"
    outside.write_bytes(chunk.read_bytes())
    chunk.unlink()
    chunk.symlink_to(outside)
    assert zarr_spec_digest(path) is None  # no digest of what the guarded store would refuse
    with pytest.raises(hdmf_ai.ResultsFileError, match="symbolic link"):
        hdmf_ai.read(path)


def test_a_spec_document_behind_a_soft_link_is_hashed_by_the_text_hdmf_reads(tmp_path: Path) -> None:
    plain, linked = tmp_path / "plain.h5", tmp_path / "linked.h5"
    hdmf_ai.write(_table(10, seed=4), plain)
    shutil.copy(plain, linked)
    version = typemap.get_type_map().namespace_catalog.get_namespace("hdmf-ai").version
    where = f"specifications/hdmf-ai/{version}/namespace"
    with h5py.File(linked, "r+") as f:
        f.move(where, "moved_namespace")
        f[where] = h5py.SoftLink("/moved_namespace")
    assert _digest(linked) == _digest(plain)  # the same texts: the same schema
    with h5py.File(linked, "r+") as f:
        text = f["moved_namespace"][()]
        del f["moved_namespace"]
        f.create_dataset("moved_namespace", data=text.replace(b"Types for", b"Kinds of"))
    assert _digest(linked) != _digest(plain)
