"""What a FeatureAttribution column costs on disk under each preset, and what compact-lossy's 16 bits save.

    python benchmarks/attribution.py [--rows N] [--features F]

SHAP-like values (Laplace-distributed, feature scales falling off as 1/(j+1), float64 as shap returns them) for
N rows x F features, written with ``hdmf_ai.write`` under every preset and backend. Prints the stored bytes of the
column, its ratio to the raw float64 bytes, compact-lossy's ratio to compact with the largest relative error
measured (the stated bound is 2**-17), and the time of ``hdmf_ai.write`` against h5py writing the same array
with the same chunks and codec (portable preset, HDF5), both measured in this run. Results: ``ATTRIBUTION.md``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import zarr

import hdmf_ai
from hdmf_ai.io import policy

PRESETS = ("portable", "fast", "compact", "uncompressed", "compact-lossy")
BACKENDS = {"hdf5": ".h5", "zarr": ".zarr"}


def attributions(n: int, features: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.laplace(size=(n, features)) / (np.arange(features) + 1)


def table(values: np.ndarray) -> hdmf_ai.ResultsTable:
    rt = hdmf_ai.ResultsTable(name="results")
    rt.add_feature_attribution(values, method="tree_shap", output="predicted_value",
                               feature_names=[f"f{j}" for j in range(values.shape[1])])  # fmt: skip
    return rt


def stored(path: Path) -> tuple[int, np.ndarray]:
    if path.suffix == ".h5":
        with h5py.File(path, "r") as f:
            dataset = f["results/feature_attribution"]
            return int(dataset.id.get_storage_size()), dataset[()]
    array = zarr.open_group(str(path), mode="r", use_consolidated=False)["results/feature_attribution"]
    return int(array.nbytes_stored()), array[...]


def h5py_seconds(values: np.ndarray, path: Path) -> float:
    """h5py writing the same array with the portable preset's chunks and codec (shuffle + gzip 1)."""
    setting = policy.resolve("portable", backend="hdf5", column="feature_attribution", kind="attribution")
    chunks = setting.chunk_shape(values.shape, values.itemsize)
    start = time.perf_counter()
    with h5py.File(path, "w") as f:
        f.create_dataset("a", data=values, chunks=chunks, shuffle=True, compression="gzip", compression_opts=1)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--features", type=int, default=50)
    args = parser.parse_args()
    values = attributions(args.rows, args.features)
    rt = table(values)
    raw = values.nbytes
    out = Path(tempfile.mkdtemp())
    sizes: dict[tuple[str, str], int] = {}
    print(f"{args.rows} rows x {args.features} features, float64: {raw / 2**20:.2f} MiB raw\n")
    print("| preset | backend | stored | stored / raw | max relative error |")
    print("| --- | --- | --- | --- | --- |")
    for preset in PRESETS:
        for backend, suffix in BACKENDS.items():
            path = hdmf_ai.write(rt, out / f"{preset}{suffix}", preset=preset)
            size, back = stored(path)
            sizes[preset, backend] = size
            error = float(np.max(np.abs(back - values) / np.abs(values)))
            print(f"| {preset} | {backend} | {size / 2**20:.2f} MiB | {size / raw:.3f} | {error:.2g} |")
    print()
    for backend in BACKENDS:
        ratio = sizes["compact-lossy", backend] / sizes["compact", backend]
        print(f"compact-lossy / compact ({backend}): {ratio:.3f}")
    ours, theirs = [], []
    for _ in range(3):
        start = time.perf_counter()
        hdmf_ai.write(rt, out / "timed.h5", overwrite=True)
        ours.append(time.perf_counter() - start)
        theirs.append(h5py_seconds(values, out / "h5py.h5"))
    print(f"hdmf_ai.write / h5py, portable HDF5 (best of 3): {min(ours) / min(theirs):.2f} "
          f"({min(ours):.3f} s / {min(theirs):.3f} s)")  # fmt: skip
    shutil.rmtree(out)


if __name__ == "__main__":
    main()
