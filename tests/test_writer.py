"""ResultsWriter: batched writes equal an in-memory write; crash, resume, appends, bad batches, lazy reads."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from builders import CLASS_NAMES, assert_table_holds, assert_tables_equal, column_values, full_table, source_table
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hdmf_ai
from conftest import BACKENDS
from hdmf_ai.io.incomplete import COMPLETE_ROWS, TARGET_ROWS

# what the writer cannot learn from a batch: the classes' names, the number of folds, and a narrow dtype
DECLARED = {
    "true_label": {"classes": CLASS_NAMES},
    "cv_split": {"n_splits": 3},
    "cluster_label": {"dtype": "int8"},
    "loss": {"description": "per-sample loss"},
}


def _columns(table: hdmf_ai.ResultsTable) -> dict[str, np.ndarray]:
    """A table's columns as the arrays a user would pass in batches (labels as text)."""
    out = {name: column_values(table[name]) for name in table.colnames}
    out["true_label"] = np.asarray(CLASS_NAMES)[out["true_label"]]
    return out


def _metadata(table: hdmf_ai.ResultsTable) -> dict[str, Any]:
    keys = ("name", "description", "source_code", "parameters", "model_description", "pre_trained_model")
    return {key: getattr(table, key) for key in keys}


def _write_in_batches(
    path: Path, table: hdmf_ai.ResultsTable, sizes: list[int], *, known_n: bool, durable: bool = True
) -> None:
    columns = _columns(table)
    n = len(table)
    with hdmf_ai.ResultsWriter(
        path,
        n_samples=n if known_n else None,
        columns={name: DECLARED.get(name) for name in columns},
        metadata=_metadata(table),
        source=table.samples.table,
        durable=durable,
        progress=False,
    ) as writer:
        start = 0
        for size in [*sizes, n]:  # the last batch takes what is left
            stop = min(n, start + size)
            writer.append(**{name: values[start:stop] for name, values in columns.items()})
            start = stop
            if start == n:
                break


def _assert_holds_the_input(written: Path, table: hdmf_ai.ResultsTable) -> None:
    """The file holds the very arrays passed to the writer (not only what our own write of them reads as)."""
    assert_table_holds(hdmf_ai.read(written), _columns(table), metadata=_metadata(table), source=table.samples.table)


def _assert_same_as_write(written: Path, table: hdmf_ai.ResultsTable, reference: Path) -> None:
    hdmf_ai.write(table, reference)
    assert hdmf_ai.validate(written) == [] == hdmf_ai.validate(reference)
    assert_tables_equal(hdmf_ai.read(written), hdmf_ai.read(reference))


@pytest.mark.parametrize("known_n", [True, False], ids=["preallocated", "growing"])
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 80), sizes=st.lists(st.integers(0, 50), min_size=1, max_size=8))
def test_batches_of_any_size_equal_an_in_memory_write(backend: str, known_n: bool, n: int, sizes: list[int]) -> None:
    table = full_table(n, source=source_table(n))
    with tempfile.TemporaryDirectory() as tmp:
        written = Path(tmp) / f"batched{BACKENDS[backend]}"
        _write_in_batches(written, table, sizes, known_n=known_n)
        _assert_holds_the_input(written, table)
        _assert_same_as_write(written, table, Path(tmp) / f"memory{BACKENDS[backend]}")


def test_whole_chunk_mode_equals_an_in_memory_write(path: Path, tmp_path: Path, backend: str) -> None:
    table = full_table(300, source=source_table(300))
    _write_in_batches(path, table, [37] * 10, known_n=False, durable=False)
    _assert_holds_the_input(path, table)
    _assert_same_as_write(path, table, tmp_path / f"memory{BACKENDS[backend]}")


def test_a_finished_file_has_no_progress_attributes(path: Path) -> None:
    table = full_table(20, source=source_table(20))
    _write_in_batches(path, table, [7], known_n=True)
    if path.suffix == ".h5":
        import h5py

        with h5py.File(path, "r") as f:
            assert not {COMPLETE_ROWS, TARGET_ROWS} & set(f["results"].attrs)
    else:
        import zarr

        attrs = zarr.open_group(str(path), path="results", mode="r", use_consolidated=False).attrs
        assert not {COMPLETE_ROWS, TARGET_ROWS} & set(attrs)


def test_columns_are_taken_from_the_first_batch(path: Path) -> None:
    probs = np.full((10, 4), 0.25, dtype=np.float32)
    with hdmf_ai.ResultsWriter(path, progress=False) as writer:
        writer.append(predicted_probability=probs[:6], predicted_class=np.arange(6) % 4)
        writer.append(predicted_probability=probs[6:], predicted_class=np.arange(4))
    back = hdmf_ai.read(path)
    np.testing.assert_array_equal(back.predicted_probability.data, probs)
    assert back.predicted_probability.data.dtype == np.float32
    np.testing.assert_array_equal(back.predicted_class.data, [0, 1, 2, 3, 0, 1, 0, 1, 2, 3])
    assert back.predicted_class.data.dtype == np.uint32  # 4 classes, stored as the schema's uint (32 bits at least)
    assert back.predicted_class.probabilities is back.predicted_probability
    np.testing.assert_array_equal(back.id.data, np.arange(10))


# -- bad batches -----------------------------------------------------------------------------------------------

GOOD = {"predicted_probability": np.full((5, 2), 0.5, dtype=np.float32), "loss": np.arange(5.0)}
BAD = {
    "wrong row shape": ({**GOOD, "predicted_probability": np.full((5, 3), 1 / 3, np.float32)}, "predicted_probability"),
    "narrowing dtype": ({**GOOD, "predicted_probability": np.full((5, 2), 0.5)}, "predicted_probability"),
    "unknown column": ({**GOOD, "lsos": np.arange(5.0)}, "lsos"),
    "missing column": ({"loss": np.arange(5.0)}, "predicted_probability"),
    "unequal lengths": ({**GOOD, "loss": np.arange(4.0)}, "loss"),
    "bad values": ({**GOOD, "predicted_probability": np.full((5, 2), 2.0, np.float32)}, "predicted_probability"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_batch_is_a_column_error_and_the_file_stays_consistent(path: Path, case: str) -> None:
    batch, column = BAD[case]
    with hdmf_ai.ResultsWriter(path, progress=False) as writer:
        writer.append(**GOOD)
        with pytest.raises(hdmf_ai.ColumnError, match=f"column '{column}'") as caught:
            writer.append(**batch)
        assert "expected" in str(caught.value) and "got" in str(caught.value)
        with pytest.warns(hdmf_ai.IncompleteTableWarning), hdmf_ai.open(path) as lazy:
            assert len(lazy) == 5  # readable mid-run: the good batch only
        writer.append(**GOOD)
    back = hdmf_ai.read(path)
    np.testing.assert_array_equal(back.loss.data, np.concatenate([GOOD["loss"], GOOD["loss"]]))
    assert back.predicted_probability.data.shape == (10, 2)
    assert back.predicted_probability.data.dtype == np.float32
    assert hdmf_ai.validate(path) == []


def test_more_rows_than_declared_is_refused(path: Path) -> None:
    with hdmf_ai.ResultsWriter(path, n_samples=4, progress=False) as writer:
        writer.append(loss=np.arange(3.0))
        with pytest.raises(hdmf_ai.ColumnError, match="at most 4 rows"):
            writer.append(loss=np.arange(3.0))
        writer.append(loss=np.arange(1.0))
    np.testing.assert_array_equal(hdmf_ai.read(path).loss.data, [0.0, 1.0, 2.0, 0.0])


def test_an_existing_file_is_not_replaced_without_overwrite(path: Path) -> None:
    with hdmf_ai.ResultsWriter(path, progress=False) as writer:
        writer.append(loss=np.arange(3.0))
    with pytest.raises(FileExistsError, match="overwrite=True"):
        hdmf_ai.ResultsWriter(path)
    with hdmf_ai.ResultsWriter(path, overwrite=True, progress=False) as writer:
        with pytest.raises(hdmf_ai.ColumnError):
            writer.append(loss=["not", "numbers"])
        np.testing.assert_array_equal(hdmf_ai.read(path).loss.data, [0.0, 1.0, 2.0])  # refused: the old file stays
        writer.append(loss=np.arange(2.0))
    np.testing.assert_array_equal(hdmf_ai.read(path).loss.data, [0.0, 1.0])


# -- interrupted runs ------------------------------------------------------------------------------------------

N_KILL = 60_000
BATCH = 1_000

# a separate process that writes batches and prints the rows done after every append; once it has written
# ``stop`` rows it waits on its stdin, so the parent's SIGKILL lands after that known batch (no timer)
_WRITER_SCRIPT = """
import sys
import numpy as np
import hdmf_ai

def batch(start, n):
    rng = np.random.default_rng(start)
    probs = rng.dirichlet(np.ones(5), n).astype(np.float32)
    loss = np.arange(start, start + n, dtype=float)
    return dict(predicted_probability=probs, predicted_class=probs.argmax(1), loss=loss)

path, n, size, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
writer = hdmf_ai.ResultsWriter(path, n_samples=n, columns={"predicted_probability": (5,)}, progress=False)
done = 0
while done < stop:
    writer.append(**batch(done, size))
    done += size
    print(done, flush=True)
sys.stdin.read()  # until killed: the file is never closed
"""


def _expected(n: int) -> dict[str, np.ndarray]:
    parts = []
    for start in range(0, n, BATCH):
        rng = np.random.default_rng(start)
        parts.append(rng.dirichlet(np.ones(5), BATCH).astype(np.float32))
    probs = np.concatenate(parts)[:n]
    return {"predicted_probability": probs, "predicted_class": probs.argmax(1), "loss": np.arange(n, dtype=float)}


def _run_until_killed(path: Path, after_rows: int, script: str = _WRITER_SCRIPT) -> int:
    """Start the writer in a process, SIGKILL it once it has written ``after_rows``; return the rows it reported."""
    child = subprocess.Popen(
        [sys.executable, "-c", script, str(path), str(N_KILL), str(BATCH), str(after_rows)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    reported = 0
    try:
        while reported < after_rows:
            line = child.stdout.readline()
            assert line, "the writer process ended before it was killed"
            reported = int(line)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
        assert child.stdin is not None
        child.stdin.close()
    assert child.returncode == -signal.SIGKILL
    return reported


def test_a_killed_writer_leaves_a_readable_file_that_resume_completes(path: Path) -> None:
    reported = _run_until_killed(path, after_rows=20 * BATCH)
    expected = _expected(N_KILL)
    with pytest.warns(hdmf_ai.IncompleteTableWarning, match="complete rows"), hdmf_ai.open(path) as lazy:
        complete = len(lazy)
        loss = lazy["loss"].data[:]
        probs = lazy["predicted_probability"].data[:]
    # killed after a known batch: every batch the process reported is there, and nothing more
    assert reported == 20 * BATCH
    assert complete == reported
    np.testing.assert_array_equal(loss, expected["loss"][:complete])
    np.testing.assert_array_equal(probs, expected["predicted_probability"][:complete])

    with hdmf_ai.ResultsWriter(path, resume=True, progress=False) as writer:
        assert writer.rows_written == complete
        for start in range(complete, N_KILL, 7_000):
            stop = min(N_KILL, start + 7_000)
            writer.append(**{name: values[start:stop] for name, values in expected.items()})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # finished: no IncompleteTableWarning
        back = hdmf_ai.read(path)
    for name, values in expected.items():
        got = column_values(back[name])
        np.testing.assert_array_equal(got, values)
        assert got.dtype == (np.uint32 if name == "predicted_class" else values.dtype)
    assert hdmf_ai.validate(path) == []


def test_an_error_in_the_loop_leaves_a_resumable_file(path: Path) -> None:
    with pytest.raises(RuntimeError, match="model crashed"), hdmf_ai.ResultsWriter(path, progress=False) as writer:
        writer.append(loss=np.arange(5.0))
        raise RuntimeError("model crashed")
    with pytest.warns(hdmf_ai.IncompleteTableWarning, match="5 complete rows"):
        assert len(hdmf_ai.read(path)) == 5
    with pytest.raises(hdmf_ai.ResultsFileError, match="resume=True"):
        hdmf_ai.ResultsWriter(path, mode="a")
    with hdmf_ai.ResultsWriter(path, resume=True, progress=False) as writer:
        writer.append(loss=np.arange(5.0, 8.0))
    np.testing.assert_array_equal(hdmf_ai.read(path).loss.data, np.arange(8.0))


# -- appends ---------------------------------------------------------------------------------------------------


def test_append_rows_then_a_column_then_rows(path: Path, tmp_path: Path, backend: str) -> None:
    table = full_table(30, source=source_table(30))
    first = hdmf_ai.ResultsTable(**_metadata(table))
    columns = {k: v for k, v in _columns(table).items() if k in ("predicted_probability", "predicted_class")}
    first.add_predicted_probability(columns["predicted_probability"][:10])
    first.add_predicted_class(columns["predicted_class"][:10])
    hdmf_ai.write(first, path)

    hdmf_ai.append_rows(path, **{k: v[10:20] for k, v in columns.items()})
    loss = np.linspace(0, 1, 30)
    hdmf_ai.add_column(path, name="loss", data=loss[:20], description="per-sample loss")
    with hdmf_ai.ResultsWriter(path, mode="a", progress=False) as writer:
        writer.append(**{k: v[20:] for k, v in columns.items()}, loss=loss[20:])

    want = hdmf_ai.ResultsTable(**_metadata(table))
    want.add_predicted_probability(columns["predicted_probability"])
    want.add_predicted_class(columns["predicted_class"])
    want.add_column("loss", "per-sample loss", data=loss)
    _assert_same_as_write(path, want, tmp_path / f"memory{BACKENDS[backend]}")


def test_a_new_predefined_column_is_typed_and_linked(path: Path) -> None:
    rt = hdmf_ai.ResultsTable(name="r", description="d")
    rt.add_predicted_probability(np.full((4, 2), 0.5))
    hdmf_ai.write(rt, path)
    hdmf_ai.add_column(path, name="predicted_class", data=[0, 1, 1, 0])
    with pytest.raises(hdmf_ai.ColumnError, match="column 'predicted_class'"):
        hdmf_ai.add_column(path, name="predicted_class", data=[0, 1, 1, 0])
    with pytest.raises(hdmf_ai.ColumnError, match="column 'loss'"):
        hdmf_ai.add_column(path, name="loss", data=np.arange(3.0))  # 4 rows in the table
    back = hdmf_ai.read(path)
    assert isinstance(back.predicted_class, hdmf_ai.ClassLabel)
    assert back.predicted_class.probabilities is back.predicted_probability
    assert back.colnames == ("predicted_probability", "predicted_class")
    assert hdmf_ai.validate(path) == []


def test_a_zarr_reader_opened_before_an_append_sees_the_old_table(tmp_path: Path) -> None:
    path = tmp_path / "results.zarr"
    rt = hdmf_ai.ResultsTable(name="r", description="d")
    rt.add_column("loss", "loss", data=np.arange(4.0))
    hdmf_ai.write(rt, path)
    with hdmf_ai.open(path) as before:
        hdmf_ai.append_rows(path, loss=np.arange(4.0, 6.0))
        hdmf_ai.add_column(path, name="weight", data=np.ones(6))
        assert before.colnames == ("loss",)
        np.testing.assert_array_equal(before["loss"].data[:], np.arange(4.0))
    after = hdmf_ai.read(path)
    np.testing.assert_array_equal(after.loss.data, np.arange(6.0))
    np.testing.assert_array_equal(after.weight.data, np.ones(6))


# -- progress and lazy reads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("progress", [True, False])
def test_progress_bar_shows_only_when_asked(path: Path, progress: bool, capsys: pytest.CaptureFixture[str]) -> None:
    with hdmf_ai.ResultsWriter(path, n_samples=6, progress=progress) as writer:
        writer.append(loss=np.arange(6.0))
    err = capsys.readouterr().err
    assert ("100%" in err) is progress
    if progress:  # the bar counts rows, each once: 6 of 6 (a rate such as "120rows/s" may contain anything)
        assert "6.00/6.00" in err and "/12" not in err
    np.testing.assert_array_equal(hdmf_ai.read(path).loss.data, np.arange(6.0))


def test_a_column_reads_by_rows_and_as_dask(path: Path) -> None:
    pytest.importorskip("dask.array", reason="to_dask needs the 'dask' extra")
    table = full_table(200, source=source_table(200))
    _write_in_batches(path, table, [64], known_n=True)
    want = column_values(table.predicted_probability)
    with hdmf_ai.open(path) as lazy:
        column = lazy.column("predicted_probability")
        assert column.shape == want.shape and column.dtype == want.dtype
        np.testing.assert_array_equal(column.read(slice(10, 50), progress=False), want[10:50])
        np.testing.assert_array_equal(column.read(slice(5, 150, 7), progress=False), want[5:150:7])
        array = column.to_dask()
        assert all(n % column.stored_rows() == 0 for n in array.chunks[0][:-1])
        np.testing.assert_allclose(array.mean(axis=0).compute(scheduler="threads"), want.mean(axis=0))
        frame = lazy.to_dataframe(columns=["loss"], rows=slice(20, 30))
    np.testing.assert_array_equal(frame["loss"].to_numpy(), column_values(table.loss)[20:30])


def test_an_unfinished_table_shows_complete_rows_to_column_reads(path: Path) -> None:
    writer = hdmf_ai.ResultsWriter(path, n_samples=100, progress=False)
    writer.append(loss=np.arange(30.0))
    try:
        with pytest.warns(hdmf_ai.IncompleteTableWarning), hdmf_ai.open(path) as lazy:
            column = lazy.column("loss")
            assert len(column) == 30
            np.testing.assert_array_equal(column.read(progress=False), np.arange(30.0))
            np.testing.assert_array_equal(lazy["loss"].data[-2:], [28.0, 29.0])
            with pytest.raises(IndexError):
                lazy["loss"].data[30]
    finally:
        writer.append(loss=np.arange(30.0, 100.0))
        writer.close()
    np.testing.assert_array_equal(hdmf_ai.read(path).loss.data, np.arange(100.0))


def test_class_indices_without_probabilities_are_stored_unsigned_and_valid(path: Path) -> None:
    """With no probabilities to bound them, class indices keep their width, as the schema's unsigned type."""
    with hdmf_ai.ResultsWriter(path, progress=False) as writer:
        writer.append(predicted_class=[0, 5, 2], cluster_label=np.array([-1, 0, 3], dtype=np.int8))
        writer.append(predicted_class=[2**40, 1, 0], cluster_label=np.array([1, 1, 2], dtype=np.int8))
    back = hdmf_ai.read(path)
    assert back.predicted_class.data.dtype == np.uint64
    assert back.cluster_label.data.dtype == np.int32  # the schema's int: 32 bits at least
    np.testing.assert_array_equal(back.predicted_class.data, [0, 5, 2, 2**40, 1, 0])
    np.testing.assert_array_equal(back.cluster_label.data, [-1, 0, 3, 1, 1, 2])
    assert hdmf_ai.validate(path) == []


# -- class indices bounded by the probabilities' width (issue 17: these bounds once went untested) ----------


@pytest.mark.parametrize("first_batch", [True, False], ids=["first batch", "later batch"])
def test_a_class_index_beyond_the_probability_width_is_refused(path: Path, first_batch: bool) -> None:
    probs = np.full((3, 2), 0.5, dtype=np.float32)
    with hdmf_ai.ResultsWriter(path, progress=False) as writer:
        if not first_batch:
            writer.append(predicted_probability=probs, predicted_class=[0, 1, 1])
        with pytest.raises(hdmf_ai.ColumnError, match="column 'predicted_class'"):
            writer.append(predicted_probability=probs, predicted_class=[0, 7, 1])  # class 7 of 2
        writer.append(predicted_probability=probs, predicted_class=[1, 0, 1])
    back = hdmf_ai.read(path)
    want = [1, 0, 1] if first_batch else [0, 1, 1, 1, 0, 1]
    np.testing.assert_array_equal(back.predicted_class.data, want)
    assert back.predicted_probability.data.shape == (len(want), 2)


@pytest.mark.parametrize("first_batch", [True, False], ids=["first batch", "later batch"])
def test_a_top_k_class_beyond_the_probability_width_is_refused(path: Path, first_batch: bool) -> None:
    probs = np.array([[0.7, 0.2, 0.1]] * 3, dtype=np.float32)
    top = np.array([[0.7, 0.2]] * 3, dtype=np.float32)
    good = np.array([[0, 1]] * 3)
    with hdmf_ai.ResultsWriter(path, progress=False) as writer:
        if not first_batch:
            writer.append(predicted_probability=probs, topk_probabilities=top, topk_classes=good)
        with pytest.raises(hdmf_ai.ColumnError, match="column 'topk_classes'"):
            writer.append(predicted_probability=probs, topk_probabilities=top, topk_classes=[[0, 1], [0, 3], [0, 1]])
        writer.append(predicted_probability=probs, topk_probabilities=top, topk_classes=good)
    back = hdmf_ai.read(path)
    np.testing.assert_array_equal(back.topk_classes.data, np.concatenate([good] * (1 if first_batch else 2)))


@pytest.mark.parametrize("via", ["write", "ResultsWriter"])
def test_overwriting_leaves_only_the_new_file_in_the_directory(tmp_path: Path, backend: str, via: str) -> None:
    """No hidden ``.<name>.old`` or ``.tmp`` copy stays behind a replaced file or store."""
    path = tmp_path / f"results{BACKENDS[backend]}"
    hdmf_ai.write(full_table(20), path)
    new = np.arange(7.0)
    if via == "write":
        table = hdmf_ai.ResultsTable(name="results", description="new")
        table.add_column(name="loss", description="per-sample loss", data=new)
        hdmf_ai.write(table, path, overwrite=True)
    else:
        with hdmf_ai.ResultsWriter(path, overwrite=True, progress=False) as writer:
            writer.append(loss=new)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
    back = hdmf_ai.read(path)
    np.testing.assert_array_equal(back.loss.data, new)
    assert back.colnames == ("loss",)


# -- overwrite: the old file stays until the new one is complete ------------------------------------------------


def _old_file(path: Path) -> np.ndarray:
    old = np.arange(5.0) + 100
    with hdmf_ai.ResultsWriter(path, progress=False) as writer:
        writer.append(loss=old)
    return old


def test_a_killed_overwrite_leaves_the_old_file_and_resume_finishes_the_new_one(path: Path) -> None:
    from hdmf_ai.io.writer import side_path

    old = _old_file(path)
    script = _WRITER_SCRIPT.replace("progress=False)", "progress=False, overwrite=True)")
    reported = _run_until_killed(path, after_rows=10 * BATCH, script=script)
    assert reported == 10 * BATCH
    # the destination is the old file, whole and without warnings; the new one waits beside it
    np.testing.assert_array_equal(hdmf_ai.read(path).loss.data, old)
    assert hdmf_ai.validate(path) == []
    assert side_path(path).exists()
    expected = _expected(N_KILL)
    with hdmf_ai.ResultsWriter(path, resume=True, progress=False) as writer:
        assert writer.rows_written == reported
        for start in range(reported, N_KILL, 9_000):
            stop = min(N_KILL, start + 9_000)
            writer.append(**{name: values[start:stop] for name, values in expected.items()})
    back = hdmf_ai.read(path)
    np.testing.assert_array_equal(back.loss.data, expected["loss"])
    np.testing.assert_array_equal(back.predicted_probability.data, expected["predicted_probability"])
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_an_overwrite_that_fails_midway_keeps_the_old_file_and_a_new_overwrite_starts_anew(path: Path) -> None:
    from hdmf_ai.io.writer import side_path

    old = _old_file(path)
    with (
        pytest.raises(RuntimeError, match="the model crashed"),
        hdmf_ai.ResultsWriter(path, overwrite=True, progress=False) as writer,
    ):
        writer.append(loss=np.arange(3.0))
        np.testing.assert_array_equal(hdmf_ai.read(path).loss.data, old)  # while writing, too
        raise RuntimeError("the model crashed")
    np.testing.assert_array_equal(hdmf_ai.read(path).loss.data, old)
    assert side_path(path).exists()
    with hdmf_ai.ResultsWriter(path, overwrite=True, progress=False) as writer:  # gives the unfinished one up
        writer.append(loss=np.arange(4.0))
    assert writer.path == path
    np.testing.assert_array_equal(hdmf_ai.read(path).loss.data, np.arange(4.0))
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
