"""Opening many files: the "sweep" of issue 11 (500 runs of a hyper-parameter sweep, 10,000 rows each), and one
open + one column of a 1,000,000-row file; hdmf-ai against a raw h5py loop doing the same, in one run.

The files are written once with ``hdmf_ai.write`` (the default ``portable`` preset) into a temporary directory,
untimed. Then, in this (warm) process, interleaved and repeated:

- sweep: for every file, open it and compute the test accuracy from ``tvt_split == "test"``,
  ``predicted_class`` and ``true_label``: with ``hdmf_ai.open`` (the public objects), and with h5py alone
  (the same datasets, the split's elements looked up the same way). Both must give the same accuracies.
- one column: ``hdmf_ai.open`` + ``predicted_class`` of the 1M x 100 file, against ``h5py.File`` + the same
  dataset; the same with the file opened for the first time in the process (a new schema: namespaces loaded).

Usage::

    python benchmarks/sweep.py                 # 500 x 10,000 rows and 1M x 100 (about 1.5 GB of scratch)
    python benchmarks/sweep.py --quick         # 50 files, 100,000 rows: a smoke run
    python benchmarks/sweep.py --json out.json

Ratios are medians over the repeats; ``imports.py`` measures ``import hdmf_ai`` beside it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from candidates import table_from
from data import make_arrays

import hdmf_ai


def accuracy_hdmf_ai(path: Path) -> float:
    with hdmf_ai.open(path) as rt:
        split = rt["tvt_split"]
        test = np.asarray(split.data[:]) == list(split.elements.data[:]).index("test")
        predicted = np.asarray(rt["predicted_class"].data[:])
        true = np.asarray(rt["true_label"].data[:])
    return float(np.mean(predicted[test] == true[test]))


def accuracy_h5py(path: Path) -> float:
    with h5py.File(path, "r") as f:
        table = f["results"]
        test = table["tvt_split"][:] == list(table["tvt_split_elements"].asstr()[:]).index("test")
        predicted = table["predicted_class"][:]
        true = table["true_label"][:]
    return float(np.mean(predicted[test] == true[test]))


def column_hdmf_ai(path: Path) -> np.ndarray:
    with hdmf_ai.open(path) as rt:
        return np.asarray(rt["predicted_class"].data[:])


def column_h5py(path: Path) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return np.asarray(f["results/predicted_class"][:])


def timed(func: Callable[[], Any]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (this process) of one call."""
    start, cpu = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - start, time.process_time() - cpu


def interleaved(ours: Callable[[], Any], raw: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Median seconds of ``ours`` and ``raw``, alternated so that both see the same load on a shared machine;
    wall time, and CPU time (less disturbed by other processes on a busy machine)."""
    mine, theirs = [], []
    for _ in range(repeats):
        mine.append(timed(ours))
        theirs.append(timed(raw))
    a, b = statistics.median(t[0] for t in mine), statistics.median(t[0] for t in theirs)
    ca, cb = statistics.median(t[1] for t in mine), statistics.median(t[1] for t in theirs)
    return {"hdmf_ai": a, "h5py": b, "ratio": a / b, "cpu_hdmf_ai": ca, "cpu_h5py": cb, "cpu_ratio": ca / cb}


def write_files(work: Path, n_files: int, rows: int, big_rows: int) -> tuple[list[Path], Path]:
    files = []
    for i in range(n_files):
        arrays = make_arrays(rows, 10, seed=i).columns()
        path = work / f"run{i:04d}.h5"
        hdmf_ai.write(table_from(arrays), path)
        files.append(path)
    big = work / "big.h5"
    hdmf_ai.write(table_from(make_arrays(big_rows, 100, seed=12345).columns()), big)
    return files, big


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5, help="sweeps of all files, per contender")
    parser.add_argument("--quick", action="store_true", help="50 files and a 100,000-row file, 3 repeats")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.big_rows, args.repeats = 50, 100_000, 3

    results: dict[str, Any] = {"files": args.files, "rows": args.rows, "big_rows": args.big_rows}
    with tempfile.TemporaryDirectory(prefix="hdmf-ai-sweep-") as tmp:
        start = time.perf_counter()
        files, big = write_files(Path(tmp), args.files, args.rows, args.big_rows)
        print(f"wrote {len(files)} files + 1 in {time.perf_counter() - start:.1f} s (untimed)", flush=True)

        # the first open of a schema in this process (namespaces loaded), then the warm case
        results["first_open_s"] = timed(lambda: column_hdmf_ai(big))[0]

        ours_acc = [accuracy_hdmf_ai(p) for p in files]
        raw_acc = [accuracy_h5py(p) for p in files]
        if ours_acc != raw_acc:
            raise SystemExit("the accuracies differ between hdmf-ai and h5py")
        np.testing.assert_array_equal(column_hdmf_ai(big), column_h5py(big))

        sweep = interleaved(
            lambda: [accuracy_hdmf_ai(p) for p in files], lambda: [accuracy_h5py(p) for p in files], args.repeats
        )
        sweep["per_file_ms_hdmf_ai"] = sweep["hdmf_ai"] / len(files) * 1e3
        sweep["per_file_ms_h5py"] = sweep["h5py"] / len(files) * 1e3
        results["sweep"] = sweep
        results["one_column"] = interleaved(lambda: column_hdmf_ai(big), lambda: column_h5py(big), 9 * args.repeats)
        small = files[0]
        results["one_column_small"] = interleaved(
            lambda: column_hdmf_ai(small), lambda: column_h5py(small), 9 * args.repeats
        )

    s, c, cs = results["sweep"], results["one_column"], results["one_column_small"]
    print("| case | hdmf-ai | raw h5py | ratio (wall) | ratio (CPU) |\n|---|---|---|---|---|")
    print(
        f"| sweep, {args.files} files x {args.rows:,} rows (per file) | {s['per_file_ms_hdmf_ai']:.2f} ms "
        f"| {s['per_file_ms_h5py']:.2f} ms | {s['ratio']:.1f}x | {s['cpu_ratio']:.1f}x |"
    )
    for label, case in ((f"{args.big_rows:,} x 100", c), (f"{args.rows:,} rows", cs)):
        print(
            f"| open + 1 column, {label} | {case['hdmf_ai'] * 1e3:.2f} ms | {case['h5py'] * 1e3:.2f} ms "
            f"| {case['ratio']:.1f}x | {case['cpu_ratio']:.1f}x |"
        )
    print(f"first open of the schema in the process: {results['first_open_s'] * 1e3:.1f} ms")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
