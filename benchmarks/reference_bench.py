"""Time the reference hdmf-ai 0.2.0 on the benchmark arrays (runs inside the reference venv, not ours).

Usage: ``python reference_bench.py ARRAYS_DIR OUT_FILE INDEX_FILE``. ``ARRAYS_DIR`` holds one ``.npy`` per
column (written by ``run.py``); ``INDEX_FILE`` the sorted random rows to read. Writes the file at ``OUT_FILE``
with the reference's defaults (hdmf's HDF5IO, no compression) and prints one JSON line of timings. The
reference's ``add_embedding`` refuses 2-D embeddings (its schema declares 1-D), so the embedding goes in as
a plain column, as its users have to.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("PYNWB_NO_CACHE_DIR", "1")

import numpy as np
from hdmf.backends.hdf5 import HDF5IO
from hdmf.common import get_manager

from hdmf_ai import ResultsTable

SLICE = 10_000


def build(arrays: dict[str, np.ndarray]) -> ResultsTable:
    rt = ResultsTable(name="results", description="benchmark")
    rt.add_tvt_split(data=arrays["tvt_split"])
    rt.add_true_label(data=arrays["true_label"])
    rt.add_predicted_probability(data=arrays["predicted_probability"])
    rt.add_predicted_class(data=arrays["predicted_class"])
    rt.add_topk_probabilities(data=arrays["topk_probabilities"])
    rt.add_topk_classes(data=arrays["topk_classes"])
    rt.add_column(name="embedding", description="embedding", data=arrays["embedding"])
    return rt


def main(arrays_dir: str, out: str, index_file: str) -> int:
    arrays = {p.stem: np.load(p) for p in sorted(Path(arrays_dir).glob("*.npy"))}
    rows = np.load(index_file)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    rt = build(arrays)
    timings["build"] = time.perf_counter() - start
    start = time.perf_counter()
    with HDF5IO(out, mode="w", manager=get_manager()) as io:
        io.write(rt)
    timings["write"] = time.perf_counter() - start
    start = time.perf_counter()
    with HDF5IO(out, mode="r", manager=get_manager()) as io:
        np.asarray(io.read()["predicted_class"].data[:])
    timings["read_column"] = time.perf_counter() - start
    start = time.perf_counter()
    with HDF5IO(out, mode="r", manager=get_manager()) as io:
        table = io.read()
        for name in arrays:
            np.asarray(table[name].data[:])
    timings["read_full"] = time.perf_counter() - start
    with HDF5IO(out, mode="r", manager=get_manager()) as io:
        probs = io.read()["predicted_probability"].data
        start = time.perf_counter()
        np.asarray(probs[rows])
        timings["random_rows"] = time.perf_counter() - start
        middle = len(probs) // 2
        start = time.perf_counter()
        np.asarray(probs[middle : middle + SLICE])
        timings["slice"] = time.perf_counter() - start
    print(json.dumps(timings))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
