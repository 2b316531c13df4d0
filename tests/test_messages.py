"""Messages and options as a user meets them (issue 16): plain indices, table names refused where they are
given, parameters not called columns, NWB files written with the storage policy, and a clean install."""

from __future__ import annotations

import configparser
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path

import h5py
import numpy as np
import pytest
import zarr

import hdmf_ai
from hdmf_ai.errors import ColumnError, StorageError

ROOT = Path(__file__).parents[1]


# -- values and names ----------------------------------------------------------------------------------------


def test_a_nan_is_located_by_plain_integers() -> None:
    rt = hdmf_ai.ResultsTable(name="probs")
    with pytest.raises(ColumnError) as caught:
        rt.add_predicted_probability(np.array([[np.nan, 1.0], [0.5, 0.5]]))
    assert str(caught.value) == (
        "column 'predicted_probability': expected finite values (no NaN or inf); got nan at index (0, 0)"
    )
    with pytest.raises(ColumnError, match=r"got inf at index 1$"):
        rt.add_predicted_value(np.array([1.0, np.inf]))


@pytest.mark.parametrize("name", ["", "   ", "a/b", "/", ".", ".."])
def test_a_table_name_that_cannot_be_a_group_is_refused_at_construction(name: str) -> None:
    with pytest.raises(ColumnError) as caught:
        hdmf_ai.ResultsTable(name=name)
    assert str(caught.value) == (
        "argument 'name': expected a non-empty name without '/' (it becomes a group of the file), e.g. 'logreg';"
        f" got {name!r}"
    )
    assert isinstance(caught.value, ValueError)


def test_a_good_table_name_is_written_and_read_back(path: Path) -> None:
    rt = hdmf_ai.ResultsTable(name="logreg v2 (final)")
    rt.add_predicted_value(np.arange(3.0))
    back = hdmf_ai.read(hdmf_ai.write(rt, path))
    assert back.name == "logreg v2 (final)"
    np.testing.assert_array_equal(back["predicted_value"].data[:], np.arange(3.0))


def test_writer_parameters_are_not_called_columns(tmp_path: Path) -> None:
    with pytest.raises(ColumnError) as caught:
        hdmf_ai.ResultsWriter(tmp_path / "w.h5", n_samples=-1)
    assert str(caught.value) == "parameter 'n_samples': expected a row count >= 0, or None when unknown; got -1"
    assert caught.value.kind == "parameter" and caught.value.column == "n_samples"
    with hdmf_ai.ResultsWriter(tmp_path / "w.h5", n_samples=2, progress=False) as writer:
        with pytest.raises(ColumnError, match=r"^argument 'batch': expected one array per column; got no columns$"):
            writer.append()
        with pytest.raises(ColumnError, match=r"^argument 'batch': expected at most 2 rows in all \(n_samples\)"):
            writer.append(loss=np.arange(3.0))
        writer.append(loss=np.arange(2.0))
    np.testing.assert_array_equal(hdmf_ai.read(tmp_path / "w.h5")["loss"].data[:], [0.0, 1.0])


def test_column_errors_still_say_column() -> None:
    err = ColumnError("loss", "numbers", "text")
    assert str(err) == "column 'loss': expected numbers; got text" and err.kind == "column"


# -- NWB files and the storage policy ------------------------------------------------------------------------


def nwb_session() -> object:
    pynwb = pytest.importorskip("pynwb", reason="write_nwb needs pynwb (pip install 'hdmf-ai[nwb]')")
    nwbfile = pynwb.NWBFile(
        session_description="a session",
        identifier="ux16",
        session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
    )
    return nwbfile


def nwb_results(n: int) -> hdmf_ai.ResultsTable:
    rng = np.random.default_rng(1)
    rt = hdmf_ai.ResultsTable(name="scores", description="a model's scores")
    rt.add_predicted_probability(rng.dirichlet(np.ones(3), n))
    rt.add_column("loss", "per-sample loss", data=rng.normal(size=n))
    return rt


def stored_compression(path: Path, column: str) -> tuple[object, object]:
    """(chunks, compression) of a column, asked of h5py or zarr directly."""
    if path.suffix == ".nwb":
        with h5py.File(path, "r") as f:
            dataset = f[f"analysis/scores/{column}"]
            return dataset.chunks, dataset.compression
    array = zarr.open_group(str(path), mode="r", use_consolidated=False)[f"analysis/scores/{column}"]
    assert isinstance(array, zarr.Array)
    squeezing = tuple(type(c).__name__ for c in array.compressors if "Crc32c" not in type(c).__name__)
    return array.chunks, squeezing or None  # a checksum is not compression


@pytest.mark.parametrize("suffix", [".nwb", ".nwb.zarr"])
def test_write_nwb_applies_the_storage_policy(tmp_path: Path, suffix: str) -> None:
    nwb = pytest.importorskip("hdmf_ai.nwb")
    n = 500
    written = {}
    for preset in ("portable", "uncompressed"):  # pynwb writes an NWBFile object once: one each
        rt = nwb_results(n)
        nwbfile = nwb_session()
        nwb.add_to_nwbfile(nwbfile, rt)
        written[preset] = nwb.write_nwb(nwbfile, tmp_path / f"{preset}{suffix}", preset=preset)
        assert isinstance(rt["predicted_probability"].data, np.ndarray), "the user's table is left as it was"
    portable, plain = written["portable"], written["uncompressed"]
    chunks, compression = stored_compression(portable, "predicted_probability")
    assert compression is not None and chunks is not None
    assert stored_compression(plain, "predicted_probability")[1] is None
    for path in (portable, plain):
        back = hdmf_ai.read(path, table="scores")
        np.testing.assert_array_equal(back["predicted_probability"].data[:], rt["predicted_probability"].data)
        np.testing.assert_array_equal(back["loss"].data[:], rt["loss"].data)


def test_write_nwb_refuses_lossy_storage_and_writes_nothing(tmp_path: Path) -> None:
    nwb = pytest.importorskip("hdmf_ai.nwb")
    nwbfile = nwb_session()
    nwb.add_to_nwbfile(nwbfile, nwb_results(50))
    with pytest.raises(StorageError, match="lossy storage is not written to NWB files"):
        nwb.write_nwb(nwbfile, tmp_path / "lossy.nwb", preset="compact-lossy")
    assert list(tmp_path.iterdir()) == []


# -- installing ----------------------------------------------------------------------------------------------


def test_every_folder_of_the_package_is_a_declared_package() -> None:
    """setuptools warns "Package 'hdmf_ai.schema' is absent from the packages configuration" (a wall of text in
    every install log) for a folder of package data that its package finder does not list: ``find:`` lists only
    folders with an ``__init__.py``; ``find_namespace:`` lists every folder its ``include`` patterns match."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    finder = config.get("options", "packages").strip()
    include = config.get("options.packages.find", "include").replace(",", " ").split()
    exclude = config.get("options.packages.find", "exclude", fallback="").replace(",", " ").split()
    folders = {
        ".".join(p.relative_to(ROOT).parts): p
        for p in [ROOT / "hdmf_ai", *(ROOT / "hdmf_ai").rglob("*")]
        if p.is_dir() and p.name != "__pycache__" and any(f.is_file() for f in p.iterdir())
    }

    def declared(name: str, folder: Path) -> bool:
        found = finder == "find_namespace:" or (folder / "__init__.py").is_file()
        return found and any(fnmatch(name, i) for i in include) and not any(fnmatch(name, e) for e in exclude)

    assert "hdmf_ai.schema" in folders
    assert sorted(name for name, folder in folders.items() if not declared(name, folder)) == []
    data = {k: v.replace(",", " ").split() for k, v in config.items("options.package_data")}
    assert "*.yaml" in data.get("hdmf_ai.schema", []), "the schema's YAML ships with its own package"


# -- figures -------------------------------------------------------------------------------------------------


def test_the_error_rate_figure_title_fits_inside_the_figure() -> None:
    pytest.importorskip("matplotlib", reason="figures need matplotlib (pip install 'hdmf-ai[plot]')")
    pytest.importorskip("pandas", reason="the breakdown needs pandas (pip install 'hdmf-ai[analysis]')")
    from hdmf.common import DynamicTable, VectorData
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from hdmf_ai import analysis, plot

    n = 12
    source = DynamicTable(
        name="source",
        description="three sites",
        columns=[VectorData(name="site", description="site", data=["A", "B", "C"] * (n // 3))],
    )
    rt = hdmf_ai.ResultsTable(name="few")  # few samples per group: the approximate chi-square, the longest title
    rt.add_samples(np.arange(n), table=source)
    rt.add_true_label(np.arange(n) % 2)
    rt.add_predicted_class((np.arange(n) % 2) ^ ((np.arange(n) // 3) % 2))  # 2 of 4 wrong at every site
    figure = plot.error_rate(analysis.error_breakdown(rt, "site"))
    canvas = FigureCanvasAgg(figure)  # as savefig draws it
    canvas.draw()
    renderer = canvas.get_renderer()
    title = figure.axes[0].title
    box, page = title.get_window_extent(renderer), figure.bbox
    assert "no evidence" in title.get_text() and "chi-square, approximate, p = " in title.get_text()
    assert page.x0 <= box.x0 and box.x1 <= page.x1, (box, page)
