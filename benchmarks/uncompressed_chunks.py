"""The `uncompressed` preset's chunk size: 1,000 random rows against write and full-read time (issue 11).

`uncompressed` HDF5 stores 1 MiB chunks, each with a Fletcher-32. A read of 1,000 random rows of a 1,000,000 x
100 table touches about as many chunks of every column, and HDF5 reads and checksums each whole: 24.7x raw h5py
in RESULTS.md (target 10x). This measures, in one run, interleaved, medians of ``--rounds``: raw h5py
(contiguous, unfiltered: the denominator) and hdmf-ai's `uncompressed` with 1 MiB (the preset), 256 KiB and
64 KiB chunks, through the public API (``hdmf_ai.write``; ``open(...).column(name).read(rows)``; the full read;
``open`` + one column), as ``benchmarks/run.py`` measures its candidates.

Usage: ``python benchmarks/uncompressed_chunks.py [--n 1000000] [--rounds 3]``; results in
``benchmarks/results/uncompressed_chunks.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from candidates import HdmfAi, RawH5py
from data import make_arrays
from run import HERE, REPO, log, measure

from hdmf_ai.io import policy

KIB = (1024, 256, 64)


def candidate(kib: int) -> HdmfAi:
    setting = policy.Setting(chunk_kib=kib)
    kinds = {kind: setting for kind in policy.KINDS}
    found = HdmfAi(f"uncompressed {kib} KiB", ".h5", None, "hdf5")
    object.__setattr__(found, "preset", policy.Preset(f"uncompressed-{kib}", "", hdf5=kinds, zarr=kinds))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kib", type=int, nargs="+", default=list(KIB), help="chunk sizes to compare")
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "bench-uncompressed")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    args.work.mkdir(parents=True, exist_ok=True)
    arrays = make_arrays(args.n, 100, kind="peaked").columns()
    rows = np.sort(np.random.default_rng(7).choice(args.n, 1000, replace=False))
    contenders: list[Any] = [RawH5py("raw h5py", ".h5", None, "hdf5"), *(candidate(k) for k in args.kib)]
    runs: dict[str, list[dict[str, float]]] = {c.name: [] for c in contenders}
    order = random.Random(args.n)
    started = time.perf_counter()
    for round_no in range(args.rounds):
        order.shuffle(contenders)
        for contender in contenders:
            result = measure(contender, arrays, args.work / f"bench{contender.suffix}", rows)
            runs[contender.name].append(result)
            log(f"  round {round_no} {contender.name}: " + ", ".join(f"{k}={v:.3g}" for k, v in result.items()))
    medians = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}
    raw = medians["raw h5py"]
    print(f"n = {args.n:,} x 100; medians of {args.rounds} rounds; ratios to raw h5py in the same run")
    print(f"{'candidate':24} {'write':>8} {'full read':>10} {'open+column':>12} {'1,000 rows':>11} {'size':>8}")
    for name, m in medians.items():
        print(
            f"{name:24} {m['write'] / raw['write']:7.2f}x {m['read_full'] / raw['read_full']:9.2f}x "
            f"{m['read_column'] / raw['read_column']:11.2f}x {m['random_rows'] / raw['random_rows']:10.2f}x "
            f"{m['size'] / raw['size']:7.3f}x"
        )
    out = HERE / "results" / "uncompressed_chunks.json"
    report = {"n": args.n, "rounds": args.rounds, "seconds": time.perf_counter() - started, "medians": medians}
    out.write_text(json.dumps(report, indent=1) + "\n")
    log(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
