"""ResultsTables inside NWB files: next to the units, trials or electrodes they describe, on HDF5 and Zarr,
read back into hdmf-ai's classes whatever the import order and the state of pynwb's type-map cache, and
accepted by pynwb's validator and nwbinspector."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from builders import assert_columns_equal, column_values

import hdmf_ai
from hdmf_ai.errors import MissingDependencyError

pynwb = pytest.importorskip("pynwb", reason="the NWB tests need pynwb (pip install 'hdmf-ai[nwb]')")
hdmf_ai_nwb = pytest.importorskip("hdmf_ai.nwb")
from hdmf_zarr.nwb import NWBZarrIO  # noqa: E402  (needs pynwb, checked above)
from pynwb import NWBHDF5IO, NWBFile  # noqa: E402
from pynwb.file import Subject  # noqa: E402
from pynwb.misc import Units  # noqa: E402

SUFFIX = {"hdf5": ".nwb", "zarr": ".nwb.zarr"}
N_UNITS, N_TRIALS, N_ELECTRODES = 8, 6, 4
CELL_TYPES = ["pyramidal", "interneuron"]


# -- an NWB session as a lab would have it -------------------------------------------------------------------


def session() -> NWBFile:
    """A small, complete NWB session: subject, electrodes, sorted units and trials (new objects every call)."""
    rng = np.random.default_rng(3)
    nwbfile = NWBFile(
        session_description="Extracellular recording in mouse CA1 during a running task.",
        identifier="hdmf-ai-test-session",
        session_start_time=datetime(2024, 5, 6, 10, 30, tzinfo=UTC),
        experimenter=["Doe, Jane"],
        lab="Test lab",
        institution="Test institute",
        experiment_description="Units recorded with a silicon probe, classified into cell types.",
        keywords=["hippocampus", "cell types"],
        subject=Subject(subject_id="m1", species="Mus musculus", sex="F", age="P90D", description="wild type"),
    )
    device = nwbfile.create_device(name="probe", description="a 4-channel silicon probe")
    group = nwbfile.create_electrode_group(
        name="shank0", description="the probe's only shank", location="CA1", device=device
    )
    for _ in range(N_ELECTRODES):
        nwbfile.add_electrode(group=group, location="CA1")
    nwbfile.units = Units(
        name="units",
        description="units sorted with a test sorter",
        resolution=1 / 30000,
        electrode_table=nwbfile.electrodes,
    )
    for unit in range(N_UNITS):
        nwbfile.add_unit(spike_times=np.sort(rng.uniform(0, 60, 20)), electrodes=[unit % N_ELECTRODES])
    for trial in range(N_TRIALS):
        nwbfile.add_trial(start_time=10.0 * trial, stop_time=10.0 * trial + 8.0)
    return nwbfile


def results_for(
    source: object,
    *,
    name: str = "cell_types",
    description: str = "Putative cell type of each unit from its waveform and firing statistics.",
) -> hdmf_ai.ResultsTable:
    """A classifier's results, one row per row of ``source`` (units, trials, electrodes, ...)."""
    n = len(source)  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(2), n)
    rt = hdmf_ai.ResultsTable(
        name=name,
        description=description,
        source_code="https://example.org/lab/cell-types@abc123",
        parameters={"C": 0.5},
        model_description="LogisticRegression(C=0.5)",
    )
    rt.add_samples(np.arange(n), table=source)
    rt.add_tvt_split(np.arange(n) % 3)
    rt.add_true_label(rng.choice(CELL_TYPES, n), classes=CELL_TYPES)
    rt.add_predicted_probability(probs)
    rt.add_predicted_class(probs.argmax(axis=1))
    rt.add_viz_embedding(rng.normal(size=(n, 2)))
    return rt


def assert_results_equal(got: hdmf_ai.ResultsTable, want: hdmf_ai.ResultsTable, source_name: str) -> None:
    """The results read back equal the written ones, and ``samples`` points at the file's own source table."""
    assert type(got) is hdmf_ai.ResultsTable
    assert (got.name, got.description, got.parameters) == (want.name, want.description, want.parameters)
    assert tuple(got.colnames) == tuple(want.colnames)
    for name in want.colnames:
        if name != "samples":
            assert_columns_equal(got[name], want[name])
    np.testing.assert_array_equal(column_values(got.samples), column_values(want.samples))
    assert got.samples.table.name == source_name
    assert len(got.samples.table) == len(want.samples.table)


def nwb_path(tmp_path: Path, backend: str, stem: str = "session") -> Path:
    return tmp_path / f"{stem}{SUFFIX[backend]}"


# -- writing and reading -------------------------------------------------------------------------------------


@pytest.mark.parametrize("location", ["analysis", "processing module"])
def test_results_next_to_the_units_round_trip(tmp_path: Path, backend: str, location: str) -> None:
    nwbfile = session()
    rt = results_for(nwbfile.units)
    where = "analysis" if location == "analysis" else nwbfile.create_processing_module("ml", "Cell-type models.")
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, rt, location=where)
    path = hdmf_ai_nwb.write_nwb(nwbfile, nwb_path(tmp_path, backend))

    with hdmf_ai_nwb.open_nwb(path) as back:
        got = back.analysis["cell_types"] if location == "analysis" else back.processing["ml"]["cell_types"]
        assert_results_equal(got, rt, "units")
        assert got.samples.table is back.units
        np.testing.assert_array_equal(back.units["spike_times"][2], nwbfile.units["spike_times"][2])


@pytest.mark.parametrize("source", ["trials", "electrodes", "a table of a processing module"])
def test_samples_link_to_any_table_of_the_file(tmp_path: Path, backend: str, source: str) -> None:
    from hdmf.common import DynamicTable, VectorData

    nwbfile = session()
    if source == "a table of a processing module":
        target = DynamicTable(
            name="waveforms",
            description="per-unit waveform features",
            columns=[VectorData(name="width", description="spike width (ms)", data=np.linspace(0.2, 0.9, N_UNITS))],
        )
        nwbfile.create_processing_module("features", "Waveform features of the units.").add(target)
    else:
        target = getattr(nwbfile, source)
    rt = results_for(target)
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, rt)
    path = hdmf_ai_nwb.write_nwb(nwbfile, nwb_path(tmp_path, backend))

    back = hdmf_ai.read(path)  # the generic reader finds the table inside the NWB file
    assert_results_equal(back, rt, target.name)
    for name in target.colnames:  # the source table came along, in memory (references as the objects)
        want, got = target[name].data[:], back.samples.table[name].data[:]
        assert [getattr(v, "name", v) for v in got] == [getattr(v, "name", v) for v in want], name


def test_pynwbs_own_io_classes_read_into_our_classes(tmp_path: Path, backend: str) -> None:
    """The manager is all it takes: ``NWBHDF5IO`` / ``NWBZarrIO`` with ``hdmf_ai.nwb.get_manager()``."""
    io_cls = NWBHDF5IO if backend == "hdf5" else NWBZarrIO
    path = nwb_path(tmp_path, backend)
    nwbfile = session()
    rt = results_for(nwbfile.units)
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, rt)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
        with io_cls(path=str(path), mode="w", manager=hdmf_ai_nwb.get_manager()) as io:
            io.write(nwbfile)
    with io_cls(path=str(path), mode="r", manager=hdmf_ai_nwb.get_manager()) as io:
        back = io.read()
        assert_results_equal(back.analysis["cell_types"], rt, "units")


def test_read_open_and_list_tables_find_results_in_an_nwb_file(tmp_path: Path, backend: str) -> None:
    nwbfile = session()
    first, second = results_for(nwbfile.units), results_for(nwbfile.trials, name="trial_outcome")
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, first)
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, second, location=nwbfile.create_processing_module("ml", "Models."))
    path = hdmf_ai_nwb.write_nwb(nwbfile, nwb_path(tmp_path, backend))

    listed = {info.name: info for info in hdmf_ai.list_tables(path)}
    assert listed["cell_types"].data_type == listed["trial_outcome"].data_type == "ResultsTable"
    assert (listed["units"].data_type, listed["units"].n_rows) == ("Units", N_UNITS)
    assert (listed["trials"].data_type, listed["trials"].n_rows) == ("TimeIntervals", N_TRIALS)

    eager = hdmf_ai.read(path, table="trial_outcome")
    assert_results_equal(eager, second, "trials")
    assert isinstance(eager.samples.table["start_time"].data, np.ndarray), "read() loads the source table"
    with hdmf_ai.open(path, table="cell_types") as lazy:
        assert not isinstance(lazy.predicted_probability.data, np.ndarray), "open() leaves columns on disk"
        assert_results_equal(lazy, first, "units")
    with pytest.raises(ValueError, match=r"2 ResultsTables \['cell_types', 'trial_outcome'\]"):
        hdmf_ai.read(path)


def test_written_file_caches_our_schema_and_the_namespace_that_joins_it_to_nwb(tmp_path: Path) -> None:
    from hdmf.backends.hdf5 import HDF5IO

    nwbfile = session()
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, results_for(nwbfile.units))
    path = hdmf_ai_nwb.write_nwb(nwbfile, nwb_path(tmp_path, "hdf5"))
    cached = HDF5IO.get_namespaces(path=str(path))
    assert cached["hdmf-ai"] == "0.3.0"
    assert cached[hdmf_ai_nwb.NWB_NAMESPACE] == "0.3.0"
    assert "core" in cached
    assert hdmf_ai.validate(path) == []


# -- NWB's own checks ----------------------------------------------------------------------------------------


def test_pynwb_validates_the_written_file(tmp_path: Path) -> None:
    nwbfile = session()
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, results_for(nwbfile.units))
    path = hdmf_ai_nwb.write_nwb(nwbfile, nwb_path(tmp_path, "hdf5"))
    with warnings.catch_warnings():  # pynwb reads our enum columns as hdmf's EnumData, which warns
        warnings.filterwarnings("ignore", message=".* is experimental", category=UserWarning)
        assert pynwb.validate(path=str(path)) == []


def inspector_messages(path: Path, *, ignore: list[str] | None = None) -> list[object]:
    nwbinspector = pytest.importorskip("nwbinspector", reason="needs nwbinspector (the 'test' extra)")
    with warnings.catch_warnings():
        # nwbinspector reads with pynwb's generic classes: hdmf's EnumData warns that it is experimental
        warnings.filterwarnings("ignore", message=".* is experimental", category=UserWarning)
        return [m for m in nwbinspector.inspect_nwbfile(nwbfile_path=str(path), ignore=ignore) if m is not None]


def serious(messages: list[object]) -> list[object]:
    from nwbinspector import Importance

    return [m for m in messages if m.importance.value >= Importance.BEST_PRACTICE_VIOLATION.value]  # type: ignore[attr-defined]


def test_nwbinspector_finds_nothing_wrong_with_the_written_file(tmp_path: Path) -> None:
    nwbfile = session()
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, results_for(nwbfile.units))
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, results_for(nwbfile.electrodes, name="electrode_quality"))
    path = hdmf_ai_nwb.write_nwb(nwbfile, nwb_path(tmp_path, "hdf5"))

    messages = inspector_messages(path)
    assert serious(messages) == [], "\n".join(m.message for m in serious(messages))  # type: ignore[attr-defined]
    about_ours = [m for m in messages if m.object_name in ("cell_types", "electrode_quality")]  # type: ignore[attr-defined]
    assert about_ours == [], about_ours  # not even a suggestion


def test_nwbinspector_reports_a_defect_in_our_table(tmp_path: Path) -> None:
    """The control for the test above: an empty report means the inspector looked at our tables and found
    nothing, not that it never reached them. A placeholder description is reported, naming the table."""
    nwbfile = session()
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, results_for(nwbfile.units, description="no description"))
    path = hdmf_ai_nwb.write_nwb(nwbfile, nwb_path(tmp_path, "hdf5"))

    about_ours = [m for m in inspector_messages(path) if m.object_name == "cell_types"]  # type: ignore[attr-defined]
    assert [m.check_function_name for m in about_ours] == ["check_description"], about_ours  # type: ignore[attr-defined]


def test_nwbinspector_on_results_linked_to_trials_fails_only_in_its_own_nan_check(tmp_path: Path) -> None:
    """nwbinspector 0.7's check_col_not_nan crashes on any DynamicTableRegion into a table whose columns
    are all floats, such as trials: it indexes the region, gets a DataFrame and calls ``.flatten()``,
    and reports the crash as an ERROR. Every other check passes."""
    nwbfile = session()
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, results_for(nwbfile.trials, name="trial_outcome"))
    path = hdmf_ai_nwb.write_nwb(nwbfile, nwb_path(tmp_path, "hdf5"))

    crashed = serious(inspector_messages(path))
    assert all("check_col_not_nan" in m.message for m in crashed), crashed  # type: ignore[attr-defined]
    left = serious(inspector_messages(path, ignore=["check_col_not_nan"]))
    assert left == [], "\n".join(m.message for m in left)  # type: ignore[attr-defined]


def test_nwbinspector_checks_pass_on_the_zarr_file_read_back(tmp_path: Path) -> None:
    """nwbinspector 0.7 cannot open Zarr paths itself (pynwb's validate passes HDF5 driver arguments to
    hdmf-zarr), so its checks run on the NWBFile read back with our reader; its two compression checks
    ask zarr 3 arrays for ``.compressor``, which zarr 3 no longer has, and are left out."""
    from nwbinspector import Importance, inspect_nwbfile_object

    nwbfile = session()
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, results_for(nwbfile.units))
    path = hdmf_ai_nwb.write_nwb(nwbfile, nwb_path(tmp_path, "zarr"))
    with hdmf_ai_nwb.open_nwb(path) as back, warnings.catch_warnings():
        # nwbinspector asks zarr 3 arrays for .compressor, which zarr deprecates
        warnings.filterwarnings("ignore", message=".*compressor", category=DeprecationWarning)
        compression = ["check_large_dataset_compression", "check_small_dataset_compression"]
        messages = [m for m in inspect_nwbfile_object(back, ignore=compression) if m is not None]
    assert [m for m in messages if m.importance.value >= Importance.BEST_PRACTICE_VIOLATION.value] == []
    assert [m for m in messages if m.object_name == "cell_types"] == []


# -- a file from elsewhere: results go into a copy -----------------------------------------------------------


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.fixture
def foreign_file(tmp_path: Path) -> Path:
    """An NWB file written by plain pynwb (no hdmf-ai involved), as a lab's pipeline writes it."""
    path = tmp_path / "original.nwb"
    with NWBHDF5IO(str(path), mode="w") as io:
        io.write(session())
    return path


def test_results_added_to_a_copy_of_a_foreign_file_leave_the_original_untouched(
    foreign_file: Path, tmp_path: Path, backend: str
) -> None:
    before = fingerprint(foreign_file)
    with hdmf_ai_nwb.open_nwb(foreign_file) as nwbfile:
        rt = results_for(nwbfile.units)
        hdmf_ai_nwb.add_to_nwbfile(nwbfile, rt)
        copy = hdmf_ai_nwb.write_nwb(nwbfile, nwb_path(tmp_path, backend, "with-results"))
    assert fingerprint(foreign_file) == before
    assert "cell_types" not in {t.name for t in hdmf_ai.list_tables(foreign_file)}

    with hdmf_ai_nwb.open_nwb(copy) as back, hdmf_ai_nwb.open_nwb(foreign_file) as original:
        assert_results_equal(back.analysis["cell_types"], rt, "units")
        assert back.analysis["cell_types"].samples.table is back.units
        assert back.subject.subject_id == original.subject.subject_id
        for unit in range(N_UNITS):
            np.testing.assert_array_equal(back.units["spike_times"][unit], original.units["spike_times"][unit])
        np.testing.assert_array_equal(back.trials["stop_time"][:], original.trials["stop_time"][:])


def test_the_copy_cannot_overwrite_the_file_it_was_read_from(foreign_file: Path) -> None:
    before = fingerprint(foreign_file)
    with hdmf_ai_nwb.open_nwb(foreign_file) as nwbfile:
        hdmf_ai_nwb.add_to_nwbfile(nwbfile, results_for(nwbfile.units))
        with pytest.raises(ValueError, match="is the file this NWBFile was read from"):
            hdmf_ai_nwb.write_nwb(nwbfile, foreign_file, overwrite=True)
    assert fingerprint(foreign_file) == before


def test_an_existing_target_is_kept_without_overwrite(foreign_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "taken.nwb"
    target.write_bytes(b"keep me")
    with hdmf_ai_nwb.open_nwb(foreign_file) as nwbfile, pytest.raises(FileExistsError, match=r"taken\.nwb exists"):
        hdmf_ai_nwb.write_nwb(nwbfile, target)
    assert target.read_bytes() == b"keep me"


# -- bad input -----------------------------------------------------------------------------------------------


def test_samples_linked_to_another_files_table_are_refused() -> None:
    elsewhere, here = session(), session()
    rt = results_for(elsewhere.units)
    with pytest.raises(
        ValueError, match=r"column 'samples' of 'cell_types' points at table 'units'.*not to this NWBFile"
    ):
        hdmf_ai_nwb.add_to_nwbfile(here, rt)
    assert "cell_types" not in here.analysis


def test_a_source_table_in_no_file_travels_with_the_results(tmp_path: Path) -> None:
    from builders import source_table

    nwbfile = session()
    rt = results_for(source_table(5, name="images"))
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, rt)
    assert nwbfile.analysis["images"] is rt.samples.table
    back = hdmf_ai.read(hdmf_ai_nwb.write_nwb(nwbfile, tmp_path / "s.nwb"))
    assert_results_equal(back, rt, "images")


@pytest.mark.parametrize("location", ["processing", "module of another file"])
def test_a_location_outside_the_file_is_refused(location: str) -> None:
    nwbfile = session()
    where = location if location == "processing" else session().create_processing_module("ml", "Models.")
    with pytest.raises(ValueError, match=r"location: expected 'analysis'|is not in this NWBFile"):
        hdmf_ai_nwb.add_to_nwbfile(nwbfile, results_for(nwbfile.units), location=where)


def test_an_nwb_file_without_pynwb_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nwbfile = session()
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, results_for(nwbfile.units))
    path = hdmf_ai_nwb.write_nwb(nwbfile, nwb_path(tmp_path, "hdf5"))
    monkeypatch.setitem(sys.modules, "pynwb", None)  # `import pynwb` now fails as if not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'hdmf-ai\[nwb\]'"):
        hdmf_ai.read(path)


# -- import order and pynwb's type-map cache, each in a fresh interpreter ------------------------------------

ROUND_TRIP = """
    import sys, numpy as np
    sys.path.insert(0, {tests!r})
    from test_nwb import session, results_for, assert_results_equal
    import hdmf_ai, hdmf_ai.nwb
    from hdmf.backends.hdf5 import HDF5IO
    for suffix in (".nwb", ".nwb.zarr"):
        nwbfile = session()
        rt = results_for(nwbfile.units)
        hdmf_ai.nwb.add_to_nwbfile(nwbfile, rt)
        path = hdmf_ai.nwb.write_nwb(nwbfile, {tmp!r} + "/s" + suffix, overwrite=True)
        with hdmf_ai.nwb.open_nwb(path) as back:
            assert_results_equal(back.analysis["cell_types"], rt, "units")
        assert_results_equal(hdmf_ai.read(path), rt, "units")
    assert HDF5IO.get_namespaces(path={tmp!r} + "/s.nwb")["hdmf-ai"] == "0.3.0"
    print("nwb round trip ok")
"""

# what the reference hdmf-ai does at import: load its own 'hdmf-ai' (0.2.0) into hdmf's global TypeMap
FOREIGN_HDMF_AI = """
    from hdmf.common import load_namespaces
    load_namespaces({namespace!r})
"""


def run_python(code: str, *, cache: str, cache_home: Path) -> str:
    """Run ``code`` in a new interpreter with warnings as errors; pynwb's cache lives under ``cache_home``
    (never the user's), switched off with ``cache="disabled"``."""
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    env.pop("PYNWB_NO_CACHE_DIR", None)
    if cache == "disabled":
        env["PYNWB_NO_CACHE_DIR"] = "1"
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=Path(__file__).parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def stale_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pynwb's type-map cache, pickled by a process in which a foreign 'hdmf-ai' 0.2.0 was in hdmf's global
    map when pynwb was first imported: every later pynwb import gets that namespace from the cache."""
    from test_typemap import write_reference_like_namespace

    root = tmp_path_factory.mktemp("stale")
    namespace = root / "reference" / "namespace.yaml"
    write_reference_like_namespace(namespace)
    cache_home = root / "cache"
    code = textwrap.dedent(FOREIGN_HDMF_AI.format(namespace=str(namespace))) + "import pynwb\n"
    run_python(code, cache="on", cache_home=cache_home)
    assert list(cache_home.rglob("pynwb_core_typemap.pkl")), "pynwb wrote no cache"
    return cache_home


@pytest.mark.parametrize("cache", ["disabled", "fresh", "stale"])
@pytest.mark.parametrize("order", ["pynwb first", "hdmf_ai first"])
def test_round_trip_whatever_the_import_order_and_the_type_map_cache(
    tmp_path: Path, order: str, cache: str, request: pytest.FixtureRequest
) -> None:
    imports = "import pynwb\nimport hdmf_ai\n" if order == "pynwb first" else "import hdmf_ai\nimport pynwb\n"
    cache_home = request.getfixturevalue("stale_cache") if cache == "stale" else tmp_path / "cache"
    check_cache = {
        "disabled": "assert 'hdmf-ai' not in pynwb.get_type_map().namespace_catalog.namespaces\n",
        "fresh": "assert 'hdmf-ai' not in pynwb.get_type_map().namespace_catalog.namespaces\n",
        # the cache really is stale: pynwb's own map carries the foreign hdmf-ai 0.2.0
        "stale": "assert pynwb.get_type_map().namespace_catalog.get_namespace('hdmf-ai').version == '0.2.0'\n",
    }[cache]
    code = (
        imports + check_cache + textwrap.dedent(ROUND_TRIP.format(tests=str(Path(__file__).parent), tmp=str(tmp_path)))
    )
    assert "nwb round trip ok" in run_python(code, cache=cache, cache_home=cache_home)
    written = list(cache_home.rglob("pynwb_core_typemap.pkl"))
    assert bool(written) == (cache != "disabled"), written
