"""The Zarr write path without the copy (issue 11): hdmf-ai's ``portable`` Zarr write against Parquet-zstd.

Three writers of the benchmark table (``data.py``, N rows x 100 classes, peaked), each in a fresh process per
round, in a shuffled order per round (interleaved), medians reported:

- ``parquet-zstd``: pyarrow, as in ``candidates.py``;
- ``zarr before``: ``hdmf_ai.write`` through hdmf-zarr's own ``ZarrIO`` (its ``__list_fill__`` stores
  ``np.array(data, dtype=dtype)``, a copy of every array), the write path before this change;
- ``zarr no copy``: ``hdmf_ai.write`` as it is, but with zarr's default codec pipeline (``fused`` disabled):
  the arrays filled from the user's arrays without the copy, one coroutine per chunk;
- ``zarr after``: ``hdmf_ai.write`` as it is (:class:`hdmf_ai.io.zarr.FilledZarrDataIO`: arrays created by
  hdmf-zarr, filled from the user's arrays by zarr's fused pipeline, shards encoded on every core).

With ``--writer``, two more: ``ResultsWriter`` (n_samples known, durable) appending the same table in batches
of 4,096 rows, through zarr's own assignment on its default pipeline (``writer before``) and through
``write_rows`` (``writer after``).

Per write: wall time, CPU time of the process (every thread), and extra peak memory (``VmHWM`` minus the
resident size before the write, after a first tiny write has imported everything), as a fraction of the
table's bytes. The load average is printed beside the figures: the machine is shared.

Usage: ``python benchmarks/zarr_write.py [--n 1000000] [--rounds 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

WRITERS = ("parquet-zstd", "zarr before", "zarr no copy", "zarr after")
BATCHED = ("writer before", "writer after")
BATCH = 4096


class Batched:
    """``ResultsWriter`` appending the table in batches (views of the arrays)."""

    def write(self, arrays: dict[str, np.ndarray], path: Path) -> dict[str, float]:
        import hdmf_ai

        n = len(arrays["tvt_split"])
        declared = {name: data.shape[1:] for name, data in arrays.items() if data.ndim == 2}
        start = time.perf_counter()
        with hdmf_ai.ResultsWriter(path, n_samples=n, columns=declared, progress=False) as writer:
            for lo in range(0, n, BATCH):
                writer.append(**{name: data[lo : lo + BATCH] for name, data in arrays.items()})
        return {"write": time.perf_counter() - start}


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _writer(name: str) -> Any:
    from candidates import HdmfAi, Parquet

    if name == "parquet-zstd":
        return Parquet("parquet-zstd", ".parquet")
    if name == "zarr before":  # hdmf-zarr's own writer: what ZarrBackend.open_io returned before
        from hdmf_zarr import ZarrIO

        from hdmf_ai.io import zarr as backend

        reading = backend.ZarrBackend.open_io

        def open_io(self: Any, path: Path, mode: str, manager: Any) -> Any:
            if mode == "r":
                return reading(self, path, mode, manager)
            return ZarrIO(path=str(path), mode=mode, manager=manager)

        backend.ZarrBackend.open_io = open_io  # type: ignore[method-assign]
    if name in ("zarr no copy", "writer before"):
        from hdmf_ai.io import zarr as backend
        from hdmf_ai.io.backend import Sink

        backend.fused = lambda array: array
        if name == "writer before":  # zarr's own assignment, as Sink.write did
            backend.ZarrSink.write = Sink.write  # type: ignore[method-assign]
    if name.startswith("writer"):
        return Batched()
    return HdmfAi("hdmf-ai[portable,zarr]", ".zarr", "portable", "zarr")


def child(name: str, arrays_dir: Path, path: Path) -> None:
    """One write in this fresh process; prints its figures as JSON."""
    from candidates import remove

    warnings.simplefilter("ignore")
    writer = _writer(name)
    arrays = {p.stem: np.load(p) for p in sorted(arrays_dir.glob("*.npy"))}
    writer.write({k: v[:10] for k, v in arrays.items()}, path)  # imports and type maps: not the write's cost
    remove(path)
    before = _status("VmRSS")
    cpu, wall = time.process_time(), time.perf_counter()
    writer.write(arrays, path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    table = sum(a.nbytes for a in arrays.values())
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
    remove(path)
    extra = max(0, _status("VmHWM") - before) / table
    print(json.dumps({"wall": wall, "cpu": cpu, "extra_peak": extra, "size": size, "load": os.getloadavg()[0]}))


def run(name: str, arrays_dir: Path, work: Path) -> dict[str, float]:
    suffix = ".parquet" if name == "parquet-zstd" else ".zarr"
    cmd = [sys.executable, __file__, "--child", name, str(arrays_dir), str(work / f"out{suffix}")]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} failed: {proc.stderr[-2000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="rows (x 100 classes)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--writer", action="store_true", help="also the batched ResultsWriter, before and after")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return 0
    from data import make_arrays

    with tempfile.TemporaryDirectory(prefix="zarr-write-") as tmp:
        work = Path(tmp)
        arrays_dir = work / "arrays"
        arrays_dir.mkdir()
        for name, data in make_arrays(args.n, 100, kind="peaked").columns().items():
            np.save(arrays_dir / f"{name}.npy", data)
        writers = [*WRITERS, *(BATCHED if args.writer else ())]
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in writers}
        order = list(writers)
        rng = random.Random(args.n)
        for round_no in range(args.rounds):
            rng.shuffle(order)
            for name in order:
                runs[name].append(run(name, arrays_dir, work))
                figures = ", ".join(f"{k}={v:.3g}" for k, v in runs[name][-1].items())
                print(f"round {round_no} {name}: {figures}", file=sys.stderr, flush=True)
    medians = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items()}
    parquet = medians["parquet-zstd"]
    print(f"N = {args.n:,} x 100 peaked, {args.rounds} rounds, medians; load average {parquet['load']:.2f}")
    print("| writer | write s | CPU s | write / Parquet | CPU / Parquet | extra peak memory / table | MB |")
    print("|---|---|---|---|---|---|---|")
    for name, m in medians.items():
        print(
            f"| {name} | {m['wall']:.2f} | {m['cpu']:.2f} | {m['wall'] / parquet['wall']:.2f} | "
            f"{m['cpu'] / parquet['cpu']:.2f} | {m['extra_peak']:.2f} | {m['size'] / 1e6:.0f} |"
        )
    before, after = medians["zarr before"], medians["zarr after"]
    print(f"after / before: write {after['wall'] / before['wall']:.2f}, CPU {after['cpu'] / before['cpu']:.2f}")
    if args.writer:
        before, after = medians["writer before"], medians["writer after"]
        print(
            f"ResultsWriter after / before: write {after['wall'] / before['wall']:.2f}, "
            f"CPU {after['cpu'] / before['cpu']:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
