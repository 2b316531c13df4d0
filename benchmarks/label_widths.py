"""What storing label columns in 8 bits would save over the 32 bits the published schema asks for.

    python benchmarks/label_widths.py [--rows N]

A 100-class classifier's results (``data.make_arrays``, peaked probabilities) plus 5 folds and 50 clusters
(with -1 for noise), written with ``hdmf_ai.write`` under every preset and backend (``predicted_class`` and
``topk_classes`` uint32, ``cv_split`` and ``cluster_label`` int32, as the schema asks). The same four columns
are then written again in uint8/int8 with h5py or zarr directly, with the chunks and codecs the preset gives
them (hdmf itself widens narrower data to the schema's dtype, so it cannot write the 8-bit variant). Prints
the stored bytes of the four label columns in both widths, their ratio, and the share of the whole file the
difference is. Sizes only: they do not depend on the machine's load. Results: ``LABEL_WIDTHS.md``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import h5py
import numpy as np
import zarr
from data import make_arrays

import hdmf_ai
from hdmf_ai.io import policy
from hdmf_ai.io.registry import backend_for

LABELS = {"predicted_class": "uint8", "topk_classes": "uint8", "cv_split": "int8", "cluster_label": "int8"}
PRESETS = ("portable", "fast", "compact", "uncompressed")
BACKENDS = {"hdf5": ".h5", "zarr": ".zarr"}


def table(n: int) -> hdmf_ai.ResultsTable:
    arrays = make_arrays(n, 100, seed=0)
    rng = np.random.default_rng(1)
    rt = hdmf_ai.ResultsTable(name="results")
    rt.add_tvt_split(arrays.tvt_split)
    rt.add_cv_split(rng.integers(0, 5, n))
    rt.add_true_label(arrays.true_label)
    rt.add_predicted_probability(arrays.predicted_probability)
    rt.add_predicted_class(arrays.predicted_class)
    rt.add_topk_probabilities(arrays.topk_probabilities)
    rt.add_topk_classes(arrays.topk_classes)
    rt.add_cluster_label(rng.integers(-1, 50, n))
    return rt


def stored_bytes(path: Path) -> int:
    """The stored bytes of the four label columns of the file hdmf_ai.write wrote."""
    if path.suffix == ".h5":
        with h5py.File(path, "r") as f:
            return sum(int(f["results"][name].id.get_storage_size()) for name in LABELS)
    group = zarr.open_group(str(path), mode="r", use_consolidated=False)
    return sum(int(group[f"results/{name}"].nbytes_stored()) for name in LABELS)


def file_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size


def narrow_bytes(rt: hdmf_ai.ResultsTable, preset: str, backend: str, path: Path) -> int:
    """The stored bytes of the four label columns in 8 bits, with the preset's chunks and codecs."""
    chosen = backend_for(path, backend)
    total = 0
    for name, dtype in LABELS.items():
        data = np.asarray(rt[name].data).astype(dtype)
        setting = policy.resolve(preset, backend=backend, column=name, kind="label")
        _, kwargs = chosen.data_io(data, setting, f"results/{name}")
        if backend == "hdf5":
            kwargs.pop("allow_plugin_filters", None)
            with h5py.File(path, "a") as f:
                total += int(f.create_dataset(name, data=data, **kwargs).id.get_storage_size())
        else:
            array = zarr.create_array(str(path), name=name, data=data, **kwargs)
            total += int(array.nbytes_stored())
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    n = parser.parse_args().rows
    rt = table(n)
    print(f"{n:,} rows; label columns: {', '.join(LABELS)}\n")
    print("| preset | backend | labels, 32-bit | labels, 8-bit | 8-bit / 32-bit | difference / whole file |")
    print("| --- | --- | --- | --- | --- | --- |")
    work = Path(tempfile.mkdtemp(prefix="label-widths-"))
    try:
        for preset in PRESETS:
            for backend, suffix in BACKENDS.items():
                wide = hdmf_ai.write(rt, work / f"wide{suffix}", preset=preset, overwrite=True)
                thin = work / f"thin-{preset}{suffix}"
                w, t = stored_bytes(wide), narrow_bytes(rt, preset, backend, thin)
                share = (w - t) / file_bytes(wide)
                print(f"| {preset} | {backend} | {w / 2**20:.2f} MiB | {t / 2**20:.2f} MiB | {t / w:.2f} | "
                      f"{share:.1%} |")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
