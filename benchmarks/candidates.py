"""The writers and readers the benchmarks compare: hdmf-ai per preset and backend, and the baselines.

Every candidate writes the same arrays (``data.Arrays`` plus an int64 ``id``) and offers the same reads:
open + one column, everything, 1,000 random rows and a contiguous 10,000-row slice of the probabilities.
The raw h5py and raw zarr candidates of a preset use exactly the chunks, codecs and rounding that hdmf-ai's
policy chooses for each column, so their ratio is the cost of hdmf-ai's own layer.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import zarr

import hdmf_ai
from hdmf_ai.io import policy
from hdmf_ai.io.hdf5 import HDF5Backend
from hdmf_ai.io.zarr import ZarrBackend

__all__ = ["PRESETS", "Candidate", "all_candidates", "table_from"]

PRESETS = ("uncompressed", "portable", "fast", "compact", "compact-lossy")
PROBS = "predicted_probability"
ONE_COLUMN = "predicted_class"
KIND = {
    "tvt_split": "label",
    "true_label": "label",
    "predicted_class": "label",
    "topk_classes": "label",
    "predicted_probability": "probability",
    "topk_probabilities": "probability",
    "embedding": "embedding",
    "id": "index",
}


def table_from(arrays: dict[str, np.ndarray]) -> hdmf_ai.ResultsTable:
    """A ResultsTable of the benchmark arrays, through the public add_* methods."""
    rt = hdmf_ai.ResultsTable(name="results", description="benchmark")
    rt.add_tvt_split(arrays["tvt_split"])
    rt.add_true_label(arrays["true_label"])
    rt.add_predicted_probability(arrays["predicted_probability"])
    rt.add_predicted_class(arrays["predicted_class"])
    rt.add_topk_probabilities(arrays["topk_probabilities"])
    rt.add_topk_classes(arrays["topk_classes"])
    rt.add_embedding(arrays["embedding"])
    return rt


def take_rows(data: Any, rows: np.ndarray) -> np.ndarray:
    if isinstance(data, zarr.Array):
        return np.asarray(data.get_orthogonal_selection((rows,)))
    return np.asarray(data[rows])


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


@dataclass(frozen=True)
class Candidate:
    """One way of storing the table; subclasses implement the operations."""

    name: str
    suffix: str
    preset: str | None = None
    backend: str | None = None

    def write(self, arrays: dict[str, np.ndarray], path: Path) -> dict[str, float]:
        raise NotImplementedError

    def read_column(self, path: Path) -> np.ndarray:
        raise NotImplementedError

    def read_full(self, path: Path) -> int:
        raise NotImplementedError

    def opened(self, path: Path) -> Any:
        """A context manager giving the probabilities array, open (for random rows and slices)."""
        raise NotImplementedError

    def rows(self, probs: Any, rows: np.ndarray) -> np.ndarray:
        return take_rows(probs, rows)

    def slice(self, probs: Any, start: int, stop: int) -> np.ndarray:
        return np.asarray(probs[start:stop])


class HdmfAi(Candidate):
    def write(self, arrays: dict[str, np.ndarray], path: Path) -> dict[str, float]:
        import time

        start = time.perf_counter()
        rt = table_from(arrays)
        built = time.perf_counter()
        hdmf_ai.write(rt, path, preset=self.preset or "portable")
        return {"build": built - start, "write": time.perf_counter() - built}

    def read_column(self, path: Path) -> np.ndarray:
        with hdmf_ai.open(path) as rt:
            return rt.column(ONE_COLUMN).read(progress=False)

    def read_full(self, path: Path) -> int:
        rt = hdmf_ai.read(path)
        return sum(np.asarray(c.data).nbytes for c in rt.columns)

    def opened(self, path: Path) -> Any:
        """The probabilities as a LazyColumn: rows and slices go through hdmf-ai's own reads."""
        import contextlib

        @contextlib.contextmanager
        def probs() -> Any:
            with hdmf_ai.open(path) as rt:
                yield rt.column(PROBS)

        return probs()

    def rows(self, probs: Any, rows: np.ndarray) -> np.ndarray:
        result: np.ndarray = probs.read(rows, progress=False)
        return result

    def slice(self, probs: Any, start: int, stop: int) -> np.ndarray:
        result: np.ndarray = probs.read(slice(start, stop), progress=False)
        return result


def _stored(name: str, data: np.ndarray, setting: policy.Setting) -> np.ndarray:
    return policy.stored_data(policy.Planned(None, name, data, setting))


class RawH5py(Candidate):
    """h5py alone: contiguous and unfiltered without a preset, else the preset's chunks and filters."""

    def write(self, arrays: dict[str, np.ndarray], path: Path) -> dict[str, float]:
        import time

        start = time.perf_counter()
        with h5py.File(path, "w") as f:
            for name, data in _with_id(arrays).items():
                if self.preset is None:
                    f.create_dataset(name, data=data)
                    continue
                setting = policy.resolve(self.preset, backend="hdf5", column=name, kind=KIND[name])
                data = _stored(name, data, setting)
                _, kwargs = HDF5Backend().data_io(data, setting, name)
                kwargs.pop("allow_plugin_filters", None)
                f.create_dataset(name, data=data, **kwargs)
        return {"write": time.perf_counter() - start}

    def read_column(self, path: Path) -> np.ndarray:
        with h5py.File(path, "r") as f:
            return f[ONE_COLUMN][:]

    def read_full(self, path: Path) -> int:
        with h5py.File(path, "r") as f:
            return sum(f[name][:].nbytes for name in f)

    def opened(self, path: Path) -> Any:
        import contextlib

        @contextlib.contextmanager
        def probs() -> Any:
            with h5py.File(path, "r") as f:
                yield f[PROBS]

        return probs()


class RawZarr(Candidate):
    """zarr alone, with the preset's chunks, shards and codecs."""

    def write(self, arrays: dict[str, np.ndarray], path: Path) -> dict[str, float]:
        import time

        start = time.perf_counter()
        group = zarr.open_group(str(path), mode="w")
        for name, data in _with_id(arrays).items():
            setting = policy.resolve(self.preset or "uncompressed", backend="zarr", column=name, kind=KIND[name])
            data = _stored(name, data, setting)
            _, kwargs = ZarrBackend().data_io(data, setting, name)
            if kwargs["compressors"] is False:
                kwargs["compressors"] = None
            array = group.create_array(name, shape=data.shape, dtype=data.dtype, **kwargs)
            array[...] = data
        return {"write": time.perf_counter() - start}

    def read_column(self, path: Path) -> np.ndarray:
        return np.asarray(zarr.open_group(str(path), mode="r")[ONE_COLUMN][:])

    def read_full(self, path: Path) -> int:
        group = zarr.open_group(str(path), mode="r")
        return sum(np.asarray(group[name][:]).nbytes for name in group.array_keys())

    def opened(self, path: Path) -> Any:
        import contextlib

        @contextlib.contextmanager
        def probs() -> Any:
            yield zarr.open_group(str(path), mode="r")[PROBS]

        return probs()


class Parquet(Candidate):
    """pyarrow, zstd; 2-D columns as fixed-size lists. Parquet has no row index: row reads read the column."""

    def write(self, arrays: dict[str, np.ndarray], path: Path) -> dict[str, float]:
        import time

        import pyarrow as pa
        import pyarrow.parquet as pq

        start = time.perf_counter()
        columns = {}
        for name, data in _with_id(arrays).items():
            if data.ndim == 2:
                columns[name] = pa.FixedSizeListArray.from_arrays(pa.array(data.ravel()), data.shape[1])
            else:
                columns[name] = pa.array(data)
        pq.write_table(pa.table(columns), path, compression="zstd")
        return {"write": time.perf_counter() - start}

    @staticmethod
    def _numpy(column: Any) -> np.ndarray:
        import pyarrow as pa

        chunk = column.combine_chunks()
        if pa.types.is_fixed_size_list(chunk.type):
            return chunk.flatten().to_numpy().reshape(len(chunk), chunk.type.list_size)
        return chunk.to_numpy()

    def read_column(self, path: Path) -> np.ndarray:
        import pyarrow.parquet as pq

        return self._numpy(pq.read_table(path, columns=[ONE_COLUMN])[ONE_COLUMN])

    def read_full(self, path: Path) -> int:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return sum(self._numpy(table[name]).nbytes for name in table.column_names)

    def opened(self, path: Path) -> Any:
        import contextlib

        @contextlib.contextmanager
        def probs() -> Any:
            yield path

        return probs()

    def rows(self, probs: Any, rows: np.ndarray) -> np.ndarray:
        import pyarrow.parquet as pq

        return self._numpy(pq.read_table(probs, columns=[PROBS])[PROBS].take(rows))

    def slice(self, probs: Any, start: int, stop: int) -> np.ndarray:
        import pyarrow.parquet as pq

        return self._numpy(pq.read_table(probs, columns=[PROBS])[PROBS].slice(start, stop - start))


class NpySave(Candidate):
    """np.save, one .npy per column; partial reads through np.load(mmap_mode='r')."""

    def write(self, arrays: dict[str, np.ndarray], path: Path) -> dict[str, float]:
        import time

        start = time.perf_counter()
        path.mkdir()
        for name, data in _with_id(arrays).items():
            np.save(path / f"{name}.npy", data)
        return {"write": time.perf_counter() - start}

    def read_column(self, path: Path) -> np.ndarray:
        return np.load(path / f"{ONE_COLUMN}.npy")

    def read_full(self, path: Path) -> int:
        return sum(np.load(p).nbytes for p in path.glob("*.npy"))

    def opened(self, path: Path) -> Any:
        import contextlib

        @contextlib.contextmanager
        def probs() -> Any:
            yield np.load(path / f"{PROBS}.npy", mmap_mode="r")

        return probs()


def _with_id(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    n = len(next(iter(arrays.values())))
    return {**arrays, "id": np.arange(n, dtype=np.int64)}


def all_candidates(*, with_plugins: bool = True) -> list[Candidate]:
    """Every candidate, baselines first; ``raw-h5py`` (contiguous, no filter) is the ratio's denominator."""
    found: list[Candidate] = [
        RawH5py("raw-h5py", ".h5"),
        Parquet("parquet-zstd", ".parquet"),
        NpySave("np.save", ".npy"),
    ]
    for preset in PRESETS:
        found += [
            HdmfAi(f"hdmf-ai[{preset},hdf5]", ".h5", preset, "hdf5"),
            RawH5py(f"raw-h5py[{preset}]", ".h5", preset, "hdf5"),
            HdmfAi(f"hdmf-ai[{preset},zarr]", ".zarr", preset, "zarr"),
            RawZarr(f"raw-zarr[{preset}]", ".zarr", preset, "zarr"),
        ]
    return found
