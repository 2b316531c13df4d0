"""The cost of checked lazy reads (issue 18, items 1-3; ``hdmf_ai/io/guarded.py``), as ratios in one run.

A 1,000,000-row file (``predicted_class``, and ``predicted_probability`` of 10 classes, float32) is written
once per backend with ``hdmf_ai.write`` (``portable``). Then, interleaved and repeated, with ``hdmf_ai.open``:

- open + ``predicted_class`` whole (``rt["predicted_class"].data[:]``);
- open + 1,000 random rows of ``predicted_probability`` (``rt.column(...).read(positions)``);
- open + a 100-row slice of it;

each checked (every block read is compared with its digest: the default) and unchecked (the guard switched off
in this process: the columns are the backend's arrays, as before it). The ratio is checked / unchecked.

Usage: ``python benchmarks/guarded.py [--rows N] [--repeats R] [--json out.json]``
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

import numpy as np

import hdmf_ai
from hdmf_ai.io import guarded


def _table(n: int) -> hdmf_ai.ResultsTable:
    rng = np.random.default_rng(0)
    probabilities = rng.dirichlet(np.ones(10), size=n).astype(np.float32)
    table = hdmf_ai.ResultsTable(name="results", description="benchmark")
    table.add_predicted_probability(probabilities)
    table.add_predicted_class(probabilities.argmax(axis=1))
    return table


def _whole(path: Path) -> Any:
    with hdmf_ai.open(path) as rt:
        return np.asarray(rt["predicted_class"].data[:])


def _random(path: Path, positions: np.ndarray) -> Any:
    with hdmf_ai.open(path) as rt:
        return rt.column("predicted_probability").read(positions)


def _slice(path: Path) -> Any:
    with hdmf_ai.open(path) as rt:
        return np.asarray(rt["predicted_probability"].data[400_000:400_100])


def _timed(run: Callable[[], Any], checked: bool) -> tuple[float, Any]:
    saved = guarded.guard_tables  # io/read.py calls it through the module: switched off here when unchecked
    if not checked:
        guarded.guard_tables = lambda tables, source: None  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        result = run()
        return time.perf_counter() - start, result
    finally:
        guarded.guard_tables = saved  # type: ignore[assignment]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    positions = np.sort(rng.choice(args.rows, 1000, replace=False))
    out: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in (".h5", ".zarr"):
            path = hdmf_ai.write(_table(args.rows), Path(tmp) / f"bench{suffix}")
            cases: dict[str, Callable[[], Any]] = {
                "open + one column whole": lambda p=path: _whole(p),
                "open + 1,000 random rows": lambda p=path: _random(p, positions),
                "open + a 100-row slice": lambda p=path: _slice(p),
            }
            for name, run in cases.items():
                run()  # warm: namespaces loaded, pages cached
                times: dict[bool, list[float]] = {True: [], False: []}
                for _ in range(args.repeats):
                    for checked in (False, True):
                        elapsed, result = _timed(run, checked)
                        times[checked].append(elapsed)
                        if checked:
                            assert isinstance(result, np.ndarray)
                med = {k: statistics.median(v) for k, v in times.items()}
                key = f"{suffix[1:]}: {name}"
                out[key] = {"checked_s": med[True], "unchecked_s": med[False], "ratio": med[True] / med[False]}
    print(f"| case ({args.rows:,} rows) | unchecked ms | checked ms | ratio |")
    print("|---|---:|---:|---:|")
    for key, row in out.items():
        print(f"| {key} | {row['unchecked_s'] * 1e3:.1f} | {row['checked_s'] * 1e3:.1f} | {row['ratio']:.2f} |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    sys.exit(main())
