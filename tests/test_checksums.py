"""Every chunk carries a checksum on disk, under every preset and on both backends (issue 17).

A byte flipped inside a chunk's stored data must make ``hdmf_ai.read`` raise ``ResultsFileError``: never
return other numbers. HDF5 keeps a Fletcher-32 per chunk, Zarr a CRC-32C; compression alone is no guard
(``uncompressed`` has none, and some codecs decode damaged input without complaint).
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np
import pytest

import hdmf_ai
from hdmf_ai.io.policy import PRESETS

hdf5plugin = pytest.importorskip("hdf5plugin", reason="the HDF5 presets 'fast' and 'compact' need hdf5plugin")

N = 3000
COLUMNS = ("loss", "predicted_probability", "predicted_class")


def written(path: Path, preset: str) -> dict[str, np.ndarray]:
    """A table of a float, a 2-D probability and an integer column written with ``preset``; the arrays."""
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(3), N)
    arrays = {"loss": rng.normal(size=N), "predicted_probability": probs, "predicted_class": probs.argmax(axis=1)}
    table = hdmf_ai.ResultsTable(name="results", description="checksummed")
    table.add_predicted_probability(arrays["predicted_probability"])
    table.add_predicted_class(arrays["predicted_class"])
    table.add_column(name="loss", description="per-sample loss", data=arrays["loss"])
    hdmf_ai.write(table, path, preset=preset)
    return arrays


def chunk_location(path: Path, column: str) -> tuple[Path, int, int]:
    """(file, offset, size) of the bytes of the first stored chunk (Zarr: chunk or shard file) of ``column``."""
    if path.is_dir():
        files = sorted(p for p in (path / "results" / column / "c").rglob("*") if p.is_file())
        return files[0], 0, files[0].stat().st_size
    with h5py.File(path, "r") as f:
        info = f[f"results/{column}"].id.get_chunk_info(0)
    return path, info.byte_offset, info.size


def flip(file: Path, offset: int) -> bytes:
    """Invert the byte at ``offset``; the file's bytes before."""
    before = file.read_bytes()
    with file.open("r+b") as fh:
        fh.seek(offset)
        fh.write(bytes([before[offset] ^ 0xFF]))
    return before


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_a_flipped_byte_in_a_chunk_is_an_error_not_other_numbers(
    path: Path, backend: str, preset: str, column: str
) -> None:
    arrays = written(path, preset)
    back = hdmf_ai.read(path)  # intact first: the column reads back as written (to the preset's precision)
    if preset == "compact-lossy" and column == "predicted_probability":
        np.testing.assert_allclose(back[column].data, arrays[column], atol=2.0**-16)
    else:
        np.testing.assert_array_equal(back[column].data, arrays[column])
    file, offset, size = chunk_location(path, column)
    assert size > 64, f"{column}: a chunk of {size} bytes"
    before = flip(file, offset + size // 2)
    assert file.read_bytes() != before
    with pytest.raises(hdmf_ai.ResultsFileError) as caught:
        hdmf_ai.read(path)
    assert os.fspath(path) in str(caught.value)
