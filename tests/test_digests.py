"""Content digests (issue 18, item 1): every dataset of a table records a digest of its values when written,
and reading checks it: values changed consistently with the chunk checksums, or outside every checksum (enum
elements in HDF5's global heap), are an error naming the dataset; files without digests read as before.

The files are edited with plain h5py / zarr, which recompute Fletcher-32 / CRC-32C for the chunks they rewrite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import zarr
from attack.semantic import Edit as SemanticEdit
from builders import assert_tables_equal, full_table

import hdmf_ai
from hdmf_ai.io import digest
from hdmf_ai.io.append import add_column
from hdmf_ai.io.convert import convert
from hdmf_ai.io.policy import Setting
from hdmf_ai.io.zarr import consolidate

N = 64
ATTR = digest.DIGEST_ATTRIBUTE


def _group(path: Path, mode: str = "r") -> Any:
    if path.suffix != ".zarr":
        return h5py.File(path, mode)
    return zarr.open_group(str(path), mode=mode, use_consolidated=False)


def _close(root: Any, path: Path) -> None:
    if isinstance(root, h5py.File):
        root.close()
    else:
        consolidate(path)


def _strip_digests(path: Path) -> None:
    """Remove the digest attribute of every dataset of both tables and the tables' text digests, as a file of
    another writer lacks them (each must be there: a KeyError otherwise)."""
    root = _group(path, "r+")
    try:
        for table in ("results", "source"):
            group = root[table]
            del group.attrs[digest.TEXT_ATTRIBUTE]
            names = list(group.keys()) if isinstance(root, h5py.File) else [n for n, _ in group.arrays()]
            for name in names:
                del group[name].attrs[ATTR]
    finally:
        _close(root, path)


def _set_attrs(path: Path, owner: str, **changes: Any) -> None:
    """Set attributes of ``owner`` (None deletes one) with plain h5py/zarr."""
    root = _group(path, "r+")
    try:
        for key, value in changes.items():
            if value is None:
                del root[owner].attrs[key]
            else:
                root[owner].attrs[key] = value
    finally:
        _close(root, path)


def _digests(path: Path, table: str) -> dict[str, str]:
    if path.suffix != ".zarr":
        with h5py.File(path, "r") as f:
            return {name: str(node.attrs.get(ATTR)) for name, node in f[table].items()}
    group = zarr.open_group(str(path), path=table, mode="r", use_consolidated=False)  # not a stale nested copy
    return {name: str(node.attrs.get(ATTR)) for name, node in group.arrays()}


def _set(path: Path, dataset: str, index: int, value: Any) -> None:
    root = _group(path, "r+")
    try:
        root[dataset][index] = value
    finally:
        _close(root, path)


def test_every_dataset_of_every_table_records_a_digest_and_reads_back(path: Path) -> None:
    written = full_table(N)
    hdmf_ai.write(written, path)
    for table in ("results", "source"):
        recorded = _digests(path, table)
        assert recorded and all(value.startswith("xxh3-128:") for value in recorded.values()), recorded
    got = hdmf_ai.read(path)
    assert_tables_equal(got, written)
    assert hdmf_ai.validate(path) == []
    with hdmf_ai.open(path) as lazy:
        assert digest.verify_table(lazy) == len(_digests(path, "results")) + len(_digests(path, "source"))


def test_the_digest_is_the_same_on_both_backends(tmp_path: Path) -> None:
    hdmf_ai.write(full_table(N), tmp_path / "a.h5")
    hdmf_ai.write(full_table(N), tmp_path / "a.zarr")
    assert _digests(tmp_path / "a.h5", "results") == _digests(tmp_path / "a.zarr", "results")


@pytest.mark.parametrize(
    ("dataset", "index", "value"),
    [
        ("results/predicted_value", 3, 123.0),  # float
        ("results/predicted_class", 0, 3),  # label
        ("results/samples", 1, 0),  # region into the source table
        ("results/predicted_probability", 2, [0.25, 0.25, 0.25, 0.25]),  # 2-D
        ("results/id", 5, 1000),
        ("source/age", 7, 1.0),  # the source table's own column
    ],
)
def test_a_value_rewritten_with_valid_checksums_is_caught(path: Path, dataset: str, index: int, value: Any) -> None:
    hdmf_ai.write(full_table(N), path)
    _set(path, dataset, index, value)
    with pytest.raises(hdmf_ai.ResultsFileError, match=f"{path.name}.*dataset '{dataset}'"):
        hdmf_ai.read(path)
    assert any(f"dataset '{dataset}'" in problem for problem in hdmf_ai.validate(path))
    hdmf_ai.read(path, verify=False)  # the user may still look at what is there


def _open(path: Path) -> None:
    with hdmf_ai.open(path):
        pass


@pytest.mark.parametrize("how", ["deleted", "blanked"])
def test_a_digest_removed_with_its_values_changed_is_caught(path: Path, how: str) -> None:
    """One dataset made to look like another writer's (its digest gone) and its values changed: the table's text
    digest records which datasets carry one (found by the structure-aware fuzzer)."""
    hdmf_ai.write(full_table(N), path)
    gone = None if how == "deleted" else ""
    _set_attrs(path, "results/loss", **{ATTR: gone, digest.BLOCKS_ATTRIBUTE: gone})
    _set(path, "results/loss", 0, 1e-9 + float(hdmf_ai.read(path, verify=False)["loss"].data[0]))
    message = "table 'results': the text of its attributes .*which datasets carry a content digest"
    for call in (hdmf_ai.read, hdmf_ai.list_tables, _open):
        with pytest.raises(hdmf_ai.ResultsFileError, match=f"{path.name}: {message}"):
            call(path)
    assert any("which datasets carry a content digest" in problem for problem in hdmf_ai.validate(path))


def test_a_text_digest_removed_while_the_datasets_keep_theirs_is_caught(path: Path) -> None:
    hdmf_ai.write(full_table(N), path)
    _set_attrs(path, "results", **{digest.TEXT_ATTRIBUTE: None})
    _set_attrs(path, "results/loss", description="another description")  # what the text digest guarded
    with pytest.raises(hdmf_ai.ResultsFileError, match="table 'results': its datasets record content digests"):
        hdmf_ai.read(path)
    problems = hdmf_ai.validate(path)
    assert any("records no text digest" in problem for problem in problems), problems


def test_a_changed_enum_element_is_caught(path: Path) -> None:
    hdmf_ai.write(full_table(N), path)
    _set(path, "results/true_label_elements", 0, "cow")  # HDF5: a string in the global heap, no checksum
    with pytest.raises(hdmf_ai.ResultsFileError, match="dataset 'results/true_label"):
        hdmf_ai.read(path)
    problems = hdmf_ai.validate(path)
    assert any("'results/true_label_elements'" in p for p in problems)
    assert any("'results/true_label'" in p for p in problems)  # the codes fold their elements in


def test_a_changed_text_label_of_the_source_table_is_caught(path: Path) -> None:
    hdmf_ai.write(full_table(N), path)
    _set(path, "source/site", 0, "Z")
    with pytest.raises(hdmf_ai.ResultsFileError, match="dataset 'source/site'"):
        hdmf_ai.read(path)


def test_a_lazily_opened_table_is_verified_on_demand(path: Path) -> None:
    hdmf_ai.write(full_table(N), path)
    _set(path, "results/loss", 0, -1.0)
    with hdmf_ai.open(path) as lazy, pytest.raises(hdmf_ai.ResultsFileError, match="dataset 'results/loss'"):
        digest.verify_table(lazy)


def test_a_file_without_digests_reads_as_before_and_validate_notes_it(path: Path) -> None:
    written = full_table(N)
    hdmf_ai.write(written, path)
    _strip_digests(path)
    assert not any(v != "None" for v in _digests(path, "results").values())
    assert_tables_equal(hdmf_ai.read(path), written)
    notes: list[str] = []
    assert hdmf_ai.validate(path, notes=notes) == []
    assert any("no content digests" in note for note in notes)


def _batches() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(4), 1000).astype(np.float32)
    return {"predicted_probability": probs, "true_label": probs.argmax(axis=1), "loss": rng.exponential(size=1000)}


def _one_shot(path: Path, columns: dict[str, np.ndarray]) -> None:
    rt = hdmf_ai.ResultsTable(name="results", description="one shot")
    rt.add_predicted_probability(columns["predicted_probability"])
    rt.add_true_label(columns["true_label"])
    rt.add_column("loss", "per-sample loss", data=columns["loss"])
    hdmf_ai.write(rt, path)


def test_the_batched_writer_records_the_digests_of_a_one_shot_write(path: Path, tmp_path: Path) -> None:
    columns = _batches()
    with hdmf_ai.ResultsWriter(path, progress=False) as writer:
        for start in range(0, 1000, 333):
            writer.append(**{name: values[start : start + 333] for name, values in columns.items()})
    once = tmp_path / f"once{path.suffix}"
    _one_shot(once, columns)
    batched, single = _digests(path, "results"), _digests(once, "results")
    for name in ("id", "predicted_probability", "true_label", "loss"):
        assert batched[name] == single[name], name
    hdmf_ai.read(path)


def test_resume_and_adding_rows_keep_the_digests_right(path: Path, tmp_path: Path) -> None:
    columns = _batches()
    with pytest.raises(RuntimeError), hdmf_ai.ResultsWriter(path, n_samples=1000, progress=False) as writer:
        writer.append(**{name: values[:400] for name, values in columns.items()})
        raise RuntimeError("interrupted")
    with hdmf_ai.ResultsWriter(path, resume=True, progress=False) as writer:
        writer.append(**{name: values[400:900] for name, values in columns.items()})
        writer.append(**{name: values[900:] for name, values in columns.items()})
    once = tmp_path / f"once{path.suffix}"
    _one_shot(once, columns)
    assert _digests(path, "results")["predicted_probability"] == _digests(once, "results")["predicted_probability"]
    assert len(hdmf_ai.read(path)) == 1000

    with hdmf_ai.ResultsWriter(path, mode="a", progress=False) as writer:  # rows added to a complete file
        writer.append(**{name: values[:10] for name, values in columns.items()})
    got = hdmf_ai.read(path)
    np.testing.assert_array_equal(got["loss"].data, np.concatenate([columns["loss"], columns["loss"][:10]]))
    assert hdmf_ai.validate(path) == []


def test_appended_tables_and_columns_get_digests(path: Path) -> None:
    hdmf_ai.write(full_table(N), path)
    extra = hdmf_ai.ResultsTable(name="other", description="second model")
    extra.add_predicted_value(np.arange(N, dtype=float))
    hdmf_ai.write(extra, path, mode="a")
    add_column(path, name="margin", data=np.linspace(0, 1, N), table="results")
    assert _digests(path, "other")["predicted_value"].startswith("xxh3-128:")
    assert _digests(path, "results")["margin"].startswith("xxh3-128:")
    hdmf_ai.read(path, table="results")
    _set(path, "results/margin", 1, 5.0)
    with pytest.raises(hdmf_ai.ResultsFileError, match="dataset 'results/margin'"):
        hdmf_ai.read(path, table="results")


def test_convert_records_digests_in_the_new_file(path: Path, tmp_path: Path) -> None:
    hdmf_ai.write(full_table(N), path)
    other = tmp_path / ("converted.zarr" if path.suffix == ".h5" else "converted.h5")
    convert(path, other, preset="compact")
    assert _digests(other, "results") == _digests(path, "results")
    hdmf_ai.read(other)


# a writer in its own process, SIGKILLed after a known batch (it waits on stdin once it has written ``stop`` rows)
_KILLED_WRITER = """
import sys
import numpy as np
import hdmf_ai

path, stop = sys.argv[1], int(sys.argv[2])
loss = np.arange(3000, dtype=float)
writer = hdmf_ai.ResultsWriter(path, n_samples=3000, progress=False)
for start in range(0, stop, 500):
    writer.append(loss=loss[start : start + 500], predicted_class=np.arange(start, start + 500) % 7)
    print(start + 500, flush=True)
sys.stdin.read()
"""


def test_resume_after_a_kill_records_the_digests_of_an_uninterrupted_write(path: Path, tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_WRITER, str(path), "1500"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )  # fmt: skip
    assert child.stdout is not None and child.stdin is not None
    try:
        while int(child.stdout.readline() or 1500) < 1500:
            pass
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        child.stdin.close()
    loss, classes = np.arange(3000, dtype=float), np.arange(3000) % 7
    with hdmf_ai.ResultsWriter(path, resume=True, progress=False) as writer:
        assert writer.rows_written == 1500
        writer.append(loss=loss[1500:], predicted_class=classes[1500:])
    rt = hdmf_ai.ResultsTable(name="results", description="once")
    rt.add_column("loss", "per-sample loss", data=loss)
    rt.add_predicted_class(classes)
    once = tmp_path / f"once{path.suffix}"
    hdmf_ai.write(rt, once)
    resumed, single = _digests(path, "results"), _digests(once, "results")
    # predicted_class: the writer stores uint64 where write() stores uint32, so only id and loss compare
    assert (resumed["id"], resumed["loss"]) == (single["id"], single["loss"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", hdmf_ai.IncompleteTableWarning)
        np.testing.assert_array_equal(hdmf_ai.read(path)["loss"].data, loss)


def test_a_lossy_column_records_the_digest_of_its_rounded_values(path: Path) -> None:
    rt = full_table(N)
    hdmf_ai.write(rt, path, storage={"predicted_probability": hdmf_ai.io.policy.lossy(quantize_bits=8)})
    got = hdmf_ai.read(path)  # verified: the digest is of what is stored, not of the values given
    assert not np.array_equal(got["predicted_probability"].data, rt["predicted_probability"].data)
    assert hdmf_ai.validate(path) == []


def test_a_ragged_column_and_its_index_record_digests(path: Path) -> None:
    rt = full_table(N)
    rt.add_column("tags", "ragged tags", data=list(range(2 * N)), index=list(range(2, 2 * N + 1, 2)))
    hdmf_ai.write(rt, path)
    recorded = _digests(path, "results")
    assert recorded["tags"].startswith("xxh3-128:") and recorded["tags_index"].startswith("xxh3-128:")
    _set(path, "results/tags_index", 3, 9)  # still monotonic: only the digest tells
    with pytest.raises(hdmf_ai.ResultsFileError, match="dataset 'results/tags_index'"):
        hdmf_ai.read(path)


def test_a_lazy_slice_is_checked_by_the_blocks_it_falls_in(path: Path) -> None:
    rng = np.random.default_rng(5)
    embedding = rng.normal(size=(1000, 1024))  # 8 KiB rows: blocks of a stored chunk's rows
    rt = hdmf_ai.ResultsTable(name="results", description="wide rows")
    rt.add_embedding(embedding)
    hdmf_ai.write(rt, path)
    with hdmf_ai.open(path) as lazy:
        np.testing.assert_array_equal(digest.verify_rows(lazy["embedding"], 130, 260), embedding[130:260])
        np.testing.assert_array_equal(digest.verify_rows(lazy["embedding"], 990, 2000), embedding[990:])
    _set(path, "results/embedding", 700, np.zeros(1024))
    with hdmf_ai.open(path) as lazy:
        np.testing.assert_array_equal(digest.verify_rows(lazy["embedding"], 0, 640), embedding[:640])
        size = lazy["embedding"].data.chunks[0]  # a block digest per stored chunk: a slice reads only its chunks
        first = 700 // size * size
        with pytest.raises(
            hdmf_ai.ResultsFileError, match=f"'results/embedding': rows {first} to {first + size} differ"
        ):
            digest.verify_rows(lazy["embedding"], 650, 700)


def test_the_batched_writer_records_block_digests_too(path: Path) -> None:
    rng = np.random.default_rng(6)
    embedding = rng.normal(size=(600, 1024))
    with hdmf_ai.ResultsWriter(path, n_samples=600, columns={"embedding": (1024,)}, progress=False) as writer:
        for start in range(0, 600, 50):  # batches that straddle the 128-row blocks
            writer.append(embedding=embedding[start : start + 50])
    with hdmf_ai.open(path) as lazy:
        np.testing.assert_array_equal(digest.verify_rows(lazy["embedding"], 100, 400), embedding[100:400])


def test_write_dask_records_the_digests_of_a_one_shot_write(tmp_path: Path) -> None:
    da = pytest.importorskip("dask.array", reason="write_dask needs the 'dask' extra")
    from hdmf_ai.io.dask import write_dask

    columns = _batches()
    path = write_dask(
        tmp_path / "dask.zarr",
        {name: da.from_array(values, chunks=300) for name, values in columns.items()},
        declarations={"loss": {"description": "per-sample loss"}},
        metadata={"name": "results", "description": "dask"},
        progress=False,
    )
    once = tmp_path / "once.zarr"
    _one_shot(once, columns)
    recorded, single = _digests(path, "results"), _digests(once, "results")
    assert (recorded["predicted_probability"], recorded["loss"]) == (single["predicted_probability"], single["loss"])
    _set(path, "results/loss", 10, -5.0)
    with pytest.raises(hdmf_ai.ResultsFileError, match="dataset 'results/loss'"):
        hdmf_ai.read(path)


def test_write_nwb_records_digests_of_the_results_and_the_tables_they_point_at(tmp_path: Path, backend: str) -> None:
    pytest.importorskip("pynwb", reason="NWB files need the 'nwb' extra")
    from test_nwb import nwb_path, results_for, session

    import hdmf_ai.nwb as hdmf_ai_nwb

    nwbfile = session()
    hdmf_ai_nwb.add_to_nwbfile(nwbfile, results_for(nwbfile.units))
    path = hdmf_ai_nwb.write_nwb(nwbfile, nwb_path(tmp_path, backend))
    assert _digests(path, "analysis/cell_types")["viz_embedding"].startswith("xxh3-128:")
    hdmf_ai.read(path)
    _set(path, "units/spike_times", 0, 1e6)  # the source table the results point at
    with pytest.raises(hdmf_ai.ResultsFileError, match="dataset 'units/spike_times'"):
        hdmf_ai.read(path)


def test_the_command_line_validate_notes_a_file_without_digests(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hdmf_ai.cli import main

    hdmf_ai.write(full_table(N), path)
    assert main(["validate", str(path)]) == 0
    assert "no content digests" not in capsys.readouterr().out
    _strip_digests(path)
    assert main(["validate", str(path)]) == 0
    assert "note:" in capsys.readouterr().out


def test_convert_refuses_a_source_whose_values_changed(path: Path, tmp_path: Path) -> None:
    hdmf_ai.write(full_table(N), path)
    _set(path, "results/loss", 2, 7.0)
    other = tmp_path / ("converted.zarr" if path.suffix == ".h5" else "converted.h5")
    with pytest.raises(hdmf_ai.ResultsFileError, match="dataset 'results/loss'"):
        convert(path, other)
    assert not other.exists()


def test_block_digests_follow_the_stored_chunks(path: Path) -> None:
    """A lazy slice then reads and checks only the chunks it falls in (remote reads fetch no more)."""
    hdmf_ai.write(full_table(5000), path, storage={"loss": Setting(chunk_rows=300)})
    root = _group(path)
    try:
        recorded = str(root["results/loss"].attrs[digest.BLOCKS_ATTRIBUTE])
        chunks = root["results/loss"].chunks
    finally:
        if isinstance(root, h5py.File):
            root.close()
    size, hexes = recorded.split(":")[1:]
    assert int(size) == chunks[0] == 300
    assert len(hexes) == 16 * -(-5000 // 300)


def _loss_blocks(path: Path) -> str:
    """The block digests recorded on results/loss, as written."""
    root = _group(path)
    try:
        return str(root["results/loss"].attrs[digest.BLOCKS_ATTRIBUTE])
    finally:
        if isinstance(root, h5py.File):
            root.close()


def test_block_digests_past_64_kib_of_text_stay_one_per_chunk_and_catch_a_changed_value(path: Path) -> None:
    """Past 4,096 blocks the attribute outgrows HDF5's object header (dense attribute storage): still one block
    per chunk up to MAX_BLOCKS, so rows read at random decode only their own chunks, and still checked."""
    written = full_table(5000)
    hdmf_ai.write(written, path, storage={"loss": Setting(chunk_rows=1)})
    recorded = _loss_blocks(path)
    size, hexes = recorded.split(":")[1:]
    assert (int(size), len(hexes)) == (1, 16 * 5000) and len(recorded) > 2**16
    assert_tables_equal(hdmf_ai.read(path), written)
    with hdmf_ai.open(path) as rt:
        np.testing.assert_array_equal(
            rt.column("loss").read([4999, 3, 2500], progress=False), written.loss.data[[4999, 3, 2500]]
        )
    _set(path, "results/loss", 2500, 7.0)
    with hdmf_ai.open(path) as rt:
        np.testing.assert_array_equal(rt.column("loss").read([4999, 3], progress=False), written.loss.data[[4999, 3]])
        with pytest.raises(hdmf_ai.ResultsFileError, match="rows 2500 to 2501 differ from those written"):
            rt.column("loss").read([4999, 2500, 3], progress=False)


def test_block_digests_past_their_most_span_several_chunks(path: Path) -> None:
    n = digest.MAX_BLOCKS + 100
    written = full_table(n)
    hdmf_ai.write(written, path, storage={"loss": Setting(chunk_rows=1)})
    recorded = _loss_blocks(path)
    size, hexes = recorded.split(":")[1:]
    assert (int(size), len(hexes)) == (2, 16 * -(-n // 2))
    with hdmf_ai.open(path) as rt:
        np.testing.assert_array_equal(rt.column("loss").read([n - 1, 0], progress=False), written.loss.data[[n - 1, 0]])


@pytest.mark.parametrize(
    ("owner", "key", "value"),
    [
        ("results", "description", "A changed description"),
        ("results/loss", "description", "per-sample lOss"),
        ("results", "source_code", ["https://example.org/other.py"]),
        ("source", "description", "other samples"),
    ],
)
def test_text_attributes_changed_are_refused_and_listed(path: Path, owner: str, key: str, value: Any) -> None:
    hdmf_ai.write(full_table(N), path)
    root = _group(path, "r+")
    try:
        root[owner].attrs[key] = value
    finally:
        _close(root, path)
    table = owner.split("/")[0]
    with pytest.raises(hdmf_ai.ResultsFileError, match=f"table '{table}': the text of its attributes"):
        hdmf_ai.read(path)
    with pytest.raises(hdmf_ai.ResultsFileError, match="the text of its attributes"):
        hdmf_ai.list_tables(path)
    assert any("the text of its attributes" in problem for problem in hdmf_ai.validate(path))


def test_a_column_added_records_the_new_text(path: Path) -> None:
    hdmf_ai.write(full_table(N), path)
    add_column(path, name="margin", data=np.linspace(0, 1, N), description="distance to the boundary")
    back = hdmf_ai.read(path)
    assert back["margin"].description == "distance to the boundary"
    assert hdmf_ai.validate(path) == []


@pytest.mark.parametrize("blocks", ["truncated", "another column's"])
def test_validate_finds_block_digests_that_do_not_fit_the_values(path: Path, blocks: str) -> None:
    """A lazy read checks slices against the block digests; validate checks them against the values (found by
    the structure-aware fuzzer: a truncated record passed validate while open refused it)."""
    written = full_table(N)
    hdmf_ai.write(written, path)
    root = _group(path)
    try:
        loss = str(root["results/loss"].attrs[digest.BLOCKS_ATTRIBUTE])
        value = str(root["results/predicted_value"].attrs[digest.BLOCKS_ATTRIBUTE])
    finally:
        if isinstance(root, h5py.File):
            root.close()
    _set_attrs(path, "results/loss", **{digest.BLOCKS_ATTRIBUTE: loss[:-3] if blocks == "truncated" else value})
    problems = hdmf_ai.validate(path)
    assert any("dataset 'results/loss'" in p and "block digests" in p for p in problems), problems
    assert_tables_equal(hdmf_ai.read(path), written)  # the values themselves are intact: read gives them
    with pytest.raises(hdmf_ai.ResultsFileError, match="results/loss"), hdmf_ai.open(path) as lazy:
        lazy["loss"].data[:5]


def test_a_table_shrunk_with_its_digests_kept_is_refused_by_list_tables_too(path: Path) -> None:
    """list_tables reports row counts without reading values: the text digest records each dataset's rows,
    so a source table cut to 40 of its rows (every dataset, digests kept) is refused there as well."""
    hdmf_ai.write(full_table(N), path)
    edit = SemanticEdit(path)
    for name in ("id", "site", "age"):
        edit.resize(f"source/{name}", 40)
    with pytest.raises(hdmf_ai.ResultsFileError, match=r"table 'source': the text of its attributes.*row counts"):
        hdmf_ai.list_tables(path)
    problems = hdmf_ai.validate(path)
    assert any("'source'" in problem for problem in problems), problems  # the rows it lost, or its digest
