"""Missing values in label-like columns are refused, naming the column and the first missing row.

A gap in ``true_label`` or ``tvt_split`` (None, NaN, ``pd.NA``, NaT, a masked entry, a blank string, a
Categorical's NaN) must never become a class of its own (``'None'``, ``'nan'``, ``'<NA>'``, ``''``): every metric
computed afterwards would be silently wrong. The design is refusal, everywhere labels enter: the ``add_*``
methods, ``from_dataframe`` and the batched writer. A user drops or fills those rows first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import hdmf_ai

MISSING: dict[str, Any] = {
    "None": ["cat", None, "dog"],
    "nan in a list": ["cat", np.nan, "dog"],
    "pd.NA": ["cat", pd.NA, "dog"],
    "pd.NaT": ["cat", pd.NaT, "dog"],
    "empty string": ["cat", "", "dog"],
    "blank string": np.array(["cat", "  ", "dog"]),
    "object array with None": np.array(["cat", None, "dog"], dtype=object),
    "masked array": np.ma.masked_array(["cat", "bird", "dog"], mask=[False, True, False]),
    "Categorical with NaN": pd.Categorical(["cat", None, "dog"]),
    "Series with None": pd.Series(["cat", None, "dog"]),
    "string dtype with NA": pd.array(["cat", None, "dog"], dtype="string"),
    "float labels with NaN": np.array([0.0, np.nan, 1.0]),
}


def expect_missing_at_row_1(column: str) -> Any:
    return pytest.raises(hdmf_ai.ColumnError, match=rf"column '{column}': expected a value in every row.* at index 1 ")


@pytest.mark.parametrize("kind", MISSING)
def test_add_true_label_refuses_a_missing_label(kind: str) -> None:
    rt = hdmf_ai.ResultsTable()
    with expect_missing_at_row_1("true_label"):
        rt.add_true_label(MISSING[kind])
    assert "true_label" not in rt.colnames


@pytest.mark.parametrize("kind", ["None", "nan in a list", "pd.NA", "empty string", "Categorical with NaN"])
def test_add_tvt_split_refuses_a_missing_split(kind: str) -> None:
    values = [{"cat": "train", "dog": "test"}.get(v, v) if isinstance(v, str) else v for v in list(MISSING[kind])]
    rt = hdmf_ai.ResultsTable()
    with expect_missing_at_row_1("tvt_split"):
        rt.add_tvt_split(values)


def test_the_error_counts_every_missing_entry() -> None:
    with pytest.raises(hdmf_ai.ColumnError, match=r"at index 1 \(2 missing in all\)"):
        hdmf_ai.ResultsTable().add_true_label(["a", None, "b", np.nan])


@pytest.mark.parametrize(
    "kind", ["None", "nan in a list", "pd.NA", "Categorical with NaN", "Series with None", "float labels with NaN"]
)
def test_from_dataframe_refuses_a_missing_true_label(kind: str) -> None:
    frame = pd.DataFrame({"true_label": MISSING[kind], "predicted_class": [0, 1, 1]})
    with expect_missing_at_row_1("true_label"):
        hdmf_ai.ResultsTable.from_dataframe(frame)


def test_from_dataframe_refuses_a_missing_split() -> None:
    frame = pd.DataFrame({"tvt_split": pd.Categorical(["train", None, "test"]), "predicted_class": [0, 1, 1]})
    with expect_missing_at_row_1("tvt_split"):
        hdmf_ai.ResultsTable.from_dataframe(frame)


@pytest.mark.parametrize("missing", [None, np.nan, pd.NA])
def test_from_dataframe_refuses_a_missing_entry_in_a_text_user_column(missing: Any) -> None:
    frame = pd.DataFrame({"site": pd.Series(["A", missing, "B"], dtype=object), "predicted_class": [0, 1, 1]})
    with pytest.raises(hdmf_ai.ColumnError, match=r"column 'site': expected text in every row.* at index 1"):
        hdmf_ai.ResultsTable.from_dataframe(frame)


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_the_batched_writer_refuses_a_batch_with_a_missing_label_and_writes_nothing(
    tmp_path: Path, backend: str
) -> None:
    path = tmp_path / f"r.{'h5' if backend == 'hdf5' else 'zarr'}"
    declared = {"true_label": {"classes": ["cat", "dog"]}}
    with hdmf_ai.ResultsWriter(path, columns=declared, progress=False) as writer:
        writer.append(true_label=["cat", "dog"], predicted_class=[0, 1])
        with expect_missing_at_row_1("true_label"):
            writer.append(true_label=["dog", None], predicted_class=[1, 0])
    back = hdmf_ai.read(path)
    assert list(back.true_label[:]) == ["cat", "dog"]  # the refused batch left nothing behind
    np.testing.assert_array_equal(back.predicted_class.data, [0, 1])


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_complete_labels_still_round_trip_with_their_classes(tmp_path: Path, backend: str) -> None:
    """The check refuses gaps only: a class literally named like a number or 'NA' is a label like any other."""
    path = tmp_path / f"r.{'h5' if backend == 'hdf5' else 'zarr'}"
    rt = hdmf_ai.ResultsTable()
    rt.add_true_label(pd.Series(["NA", "0", "cat", "NA"]))
    hdmf_ai.write(rt, path)
    back = hdmf_ai.read(path)
    assert list(back.true_label[:]) == ["NA", "0", "cat", "NA"]
    assert list(back.true_label.elements.data[:]) == ["0", "NA", "cat"]
