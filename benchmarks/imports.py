"""``import hdmf_ai`` against ``import h5py, hdmf.common`` (what it cannot avoid), each in a fresh interpreter.

Alternated, repeated, medians; also lists the heavy modules each loads (hdmf itself loads zarr and pandas when
they are installed, so they are in both).

Usage::

    python benchmarks/imports.py              # 9 runs each
    python benchmarks/imports.py --runs 15 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HEAVY = ("zarr", "hdmf_zarr", "pandas", "scipy", "pynwb", "matplotlib", "sklearn")
CONTENDERS = {"hdmf_ai": "import hdmf_ai", "h5py + hdmf.common": "import h5py, hdmf.common"}


def one(statement: str) -> tuple[float, list[str]]:
    code = (
        "import time, sys, json\n"
        "start = time.perf_counter()\n"
        f"{statement}\n"
        "took = time.perf_counter() - start\n"
        f"print(json.dumps([took, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    took, loaded = json.loads(done.stdout)
    return float(took), list(loaded)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    loaded: dict[str, list[str]] = {}
    for statement in CONTENDERS.values():  # one warm-up each: the file system cache
        one(statement)
    for _ in range(args.runs):
        for name, statement in CONTENDERS.items():
            took, loaded[name] = one(statement)
            times[name].append(took)
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["hdmf_ai"] / medians["h5py + hdmf.common"]
    for name in CONTENDERS:
        print(f"{name:20s} {medians[name] * 1e3:7.1f} ms  loads {', '.join(loaded[name])}")
    print(f"ratio {ratio:.3f}x (median of {args.runs} fresh interpreters each)")
    if args.json:
        args.json.write_text(json.dumps({"medians_s": medians, "ratio": ratio, "loaded": loaded}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
