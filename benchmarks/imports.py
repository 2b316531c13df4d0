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


def one(statement: str) -> tuple[float, float, list[str]]:
    """Wall seconds of ``statement`` in a fresh interpreter, its CPU seconds there, and the heavy modules loaded."""
    code = (
        "import time, sys, json\n"
        "start, cpu = time.perf_counter(), time.process_time()\n"
        f"{statement}\n"
        "took, cpu = time.perf_counter() - start, time.process_time() - cpu\n"
        f"print(json.dumps([took, cpu, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    took, cpu, loaded = json.loads(done.stdout)
    return float(took), float(cpu), list(loaded)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    cpus: dict[str, list[float]] = {name: [] for name in CONTENDERS}
    loaded: dict[str, list[str]] = {}
    for statement in CONTENDERS.values():  # one warm-up each: the file system cache
        one(statement)
    for _ in range(args.runs):
        for name, statement in CONTENDERS.items():
            took, cpu, loaded[name] = one(statement)
            times[name].append(took)
            cpus[name].append(cpu)
    medians = {name: statistics.median(values) for name, values in times.items()}
    cpu_medians = {name: statistics.median(values) for name, values in cpus.items()}
    ratio = medians["hdmf_ai"] / medians["h5py + hdmf.common"]
    cpu_ratio = cpu_medians["hdmf_ai"] / cpu_medians["h5py + hdmf.common"]
    for name in CONTENDERS:
        print(
            f"{name:20s} {medians[name] * 1e3:7.1f} ms wall, {cpu_medians[name] * 1e3:7.1f} ms CPU;"
            f"  loads {', '.join(loaded[name])}"
        )
    print(f"ratio {ratio:.3f}x wall, {cpu_ratio:.3f}x CPU (medians of {args.runs} fresh interpreters each)")
    if args.json:
        figures = {"medians_s": medians, "cpu_medians_s": cpu_medians, "ratio": ratio, "cpu_ratio": cpu_ratio}
        args.json.write_text(json.dumps({**figures, "loaded": loaded}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
