"""The storage benchmark suite: ``make bench`` (full) and ``make bench-quick`` (under two minutes).

For each case (rows x classes x kind of probabilities) every candidate of ``candidates.py`` and the reference
hdmf-ai 0.2.0 (in its own venv) is measured in rounds; within a round the candidates run in a shuffled order
(interleaved, so drift of a shared machine hits all alike), and the median of the rounds is reported. Then a
memory pass runs each writer in a fresh process and records its extra peak memory (``VmHWM`` minus the
resident size with the arrays loaded), and a chunk-shape sweep shows what the chunk size does per codec.

Output: a table of ratios to raw h5py (contiguous, uncompressed) on stdout, ``results/latest.json``, and
``results/latest.md`` (tables and the targets of the storage-policy issue, met or missed).

Usage: ``python benchmarks/run.py [--quick] [--skip-reference] [--rounds N] [--out DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import warnings
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))

from candidates import Candidate, all_candidates, remove, take_rows  # noqa: E402
from data import make_arrays  # noqa: E402
from report import markdown, text_table  # noqa: E402

N_RANDOM = 1_000
SLICE = 10_000
MiB = 1024 * 1024


@dataclass(frozen=True)
class Case:
    n: int
    n_classes: int
    kind: str
    rounds: int

    @property
    def key(self) -> str:
        return f"N={self.n:,} C={self.n_classes} {self.kind}"


# issue 11's table: N = 1M x 100; --all-presets adds the other cases and every preset (the storage-policy suite)
FULL = (Case(1_000_000, 100, "peaked", 3),)  # 3 rounds: a first round can differ (allocator warm-up)
ALL_CASES = (
    Case(10_000, 100, "peaked", 3),
    Case(1_000_000, 100, "peaked", 2),
    Case(1_000_000, 100, "entropy", 1),
    Case(100_000, 1000, "peaked", 1),  # 400 MB of probabilities; 1M rows would be 4 GB per copy
)
QUICK = (Case(20_000, 100, "peaked", 2),)
# the contenders of issue 11 (raw-h5py[portable]: h5py's own single-threaded gzip with the same chunks)
ISSUE = (
    "raw-h5py",
    "parquet-zstd",
    "hdmf-ai[portable,hdf5]",
    "hdmf-ai[portable,zarr]",
    "hdmf-ai[uncompressed,hdf5]",
    "raw-h5py[portable]",
    "raw-zarr[portable]",
)
SWEEP_KIB = (32, 64, 256, 1024)
SWEEP_KIB_QUICK = (32, 256)


def log(*args: Any) -> None:
    print(*args, file=sys.stderr, flush=True)


def timed(func: Any, *args: Any) -> float:
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def measure(candidate: Candidate, arrays: dict[str, np.ndarray], path: Path, rows: np.ndarray) -> dict[str, float]:
    """Write, then the four reads, then the file's size; the file is removed afterwards."""
    remove(path)
    result = candidate.write(arrays, path)
    result["size"] = size_of(path)
    result["read_column"] = timed(candidate.read_column, path)
    result["read_full"] = timed(candidate.read_full, path)
    with candidate.opened(path) as probs:
        result["random_rows"] = timed(candidate.rows, probs, rows)
        n = len(arrays["tvt_split"])
        start = max(0, (n - SLICE) // 2)
        result["slice"] = timed(candidate.slice, probs, start, start + SLICE)
    remove(path)
    return result


# -- the reference, in its own venv -----------------------------------------------------------------------


def reference_python() -> tuple[Path | None, str]:
    try:
        from refenv import ReferenceEnvUnavailable, ensure_reference_venv
    except ImportError as err:
        return None, f"tests/refenv.py not importable: {err}"
    try:
        return ensure_reference_venv(REPO / ".cache" / "refenv"), ""
    except ReferenceEnvUnavailable as err:
        return None, str(err).splitlines()[0]


def measure_reference(python: Path, arrays_dir: Path, path: Path, index_file: Path) -> dict[str, float]:
    from refenv import run_reference

    remove(path)
    proc = run_reference(
        python, str(HERE / "reference_bench.py"), str(arrays_dir), str(path), str(index_file), timeout=3600
    )
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["size"] = size_of(path)
    remove(path)
    return result


# -- peak memory, one fresh process per writer ----------------------------------------------------------


def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(name: str, arrays_dir: Path, path: Path) -> None:
    """Run in a fresh process: load the arrays, write with one candidate, print the extra peak bytes."""
    candidate = next(c for c in all_candidates() if c.name == name)
    arrays = {p.stem: np.load(p) for p in sorted(arrays_dir.glob("*.npy"))}
    # a first tiny write imports and builds what every write needs (type map, codecs): not per-row memory
    candidate.write({k: v[:10] for k, v in arrays.items()}, path)
    remove(path)
    before = _status("VmRSS")
    candidate.write(arrays, path)
    print(
        json.dumps({"extra_peak": max(0, _status("VmHWM") - before), "table": sum(a.nbytes for a in arrays.values())})
    )
    remove(path)


def measure_memory(name: str, arrays_dir: Path, path: Path) -> dict[str, float]:
    remove(path)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--memory-child", name, str(arrays_dir), str(path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"memory run of {name} failed: {proc.stderr[-2000:]}")
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# -- the codec limit: single-core throughput of each writer's codecs x the cores -----------------------------


def codec_limits(n: int, results: dict[str, dict[str, float]]) -> dict[str, dict[str, Any]]:
    """Each compressed writer's codecs on one core over the whole table (chunk by chunk), and the write time
    that throughput times the cores allows; beside it the measured write."""
    import numcodecs
    from candidates import KIND

    from hdmf_ai.io import h5chunks, policy

    arrays = {**make_arrays(n, 100, kind="peaked").columns(), "id": np.arange(n, dtype=np.int64)}
    table = sum(a.nbytes for a in arrays.values())
    cores = h5chunks.workers()

    def hdf5_encoder(preset: str) -> Any:
        def encode(name: str, data: np.ndarray, setting: policy.Setting) -> None:
            chunk_rows = setting.chunk_shape(data.shape, data.dtype.itemsize)[0]
            gzip = [c for c in setting.codecs if isinstance(c, policy.Gzip)]
            found = h5chunks.Pipeline(
                shuffle=any(isinstance(c, policy.Shuffle) for c in setting.codecs),
                level=gzip[0].level if gzip else None, checksum=True, itemsize=data.dtype.itemsize,
                chunk_rows=chunk_rows, row_shape=data.shape[1:], dtype=data.dtype,
            )  # fmt: skip
            first = found.shuffled(data[:chunk_rows]) if len(data) >= chunk_rows else None
            deflated = h5chunks.planes_to_deflate(first, found.planes) if first is not None and gzip else None
            for lo in range(0, len(data) - chunk_rows + 1, chunk_rows):
                found.encode(data[lo : lo + chunk_rows], deflated)

        return encode

    def h5py_gzip(name: str, data: np.ndarray, setting: policy.Setting) -> None:
        chunk_rows = setting.chunk_shape(data.shape, data.dtype.itemsize)[0]
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(len(data), -1)
        for lo in range(0, len(data) - chunk_rows + 1, chunk_rows):
            block = raw[lo : lo + chunk_rows].reshape(-1, data.dtype.itemsize).T.tobytes()
            zlib.compress(block, 1)

    def zarr_blosc(name: str, data: np.ndarray, setting: policy.Setting) -> None:
        numcodecs.blosc.set_nthreads(1)
        codec = numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.SHUFFLE)
        chunk_rows = setting.chunk_shape(data.shape, data.dtype.itemsize)[0]
        for lo in range(0, len(data) - chunk_rows + 1, chunk_rows):
            codec.encode(np.ascontiguousarray(data[lo : lo + chunk_rows]))

    writers = {
        "hdmf-ai[portable,hdf5]": ("portable", "hdf5", hdf5_encoder("portable")),
        "hdmf-ai[uncompressed,hdf5]": ("uncompressed", "hdf5", hdf5_encoder("uncompressed")),
        "raw-h5py[portable]": ("portable", "hdf5", h5py_gzip),
        "hdmf-ai[portable,zarr]": ("portable", "zarr", zarr_blosc),
    }
    out: dict[str, dict[str, Any]] = {}
    for name, (preset, backend, encode) in writers.items():
        started = time.process_time()
        for column, data in arrays.items():
            encode(column, data, policy.resolve(preset, backend=backend, column=column, kind=KIND[column]))
        seconds = time.process_time() - started
        used = 1 if name.startswith("raw-h5py") else cores  # HDF5's own filters run on the calling thread
        out[name] = {
            "single_core_mb_s": table / seconds / 1e6,
            "cores": used,
            "limit_s": seconds / used,
            "write_s": results.get(name, {}).get("write"),
        }
        log(f"  codec {name}: {out[name]}")
    return out


# -- the chunk-shape sweep -------------------------------------------------------------------------------


def sweep(probs: np.ndarray, rows: np.ndarray, work: Path, sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    """The probabilities alone at each chunk size: the portable codecs of each backend as hdmf-ai runs them
    (HDF5: shuffle + deflate + Fletcher-32 on every core; Zarr: Blosc-Zstd 3 in 4 MiB shards)."""
    from candidates import RawZarr

    from hdmf_ai.io import policy

    out: list[dict[str, Any]] = []
    for kib in sizes:
        h5 = work / "sweep.h5"
        remove(h5)
        result = sweep_hdf5(probs, rows, h5, kib)
        result.update(codec="gzip1+shuffle (h5chunks)", chunk_kib=kib, backend="hdf5")
        out.append(result)
        log(f"  sweep hdf5 {kib:5} KiB: {result}")
        setting = policy.Setting(
            codecs=(policy.Blosc("zstd", 3, "byte"),), chunk_kib=kib, shard_chunks=max(1, 4096 // kib)
        )
        preset = policy.Preset(
            "sweep", "", hdf5={k: setting for k in policy.KINDS}, zarr={k: setting for k in policy.KINDS}
        )
        candidate = RawZarr("sweep", ".zarr", None, "zarr")
        object.__setattr__(candidate, "preset", preset)
        result = measure_sweep(candidate, {"predicted_probability": probs}, work / "sweep.zarr", rows)
        result.update(codec="blosc-zstd3, 4 MiB shards", chunk_kib=kib, backend="zarr")
        out.append(result)
        log(f"  sweep zarr {kib:5} KiB: {result}")
    return out


def sweep_hdf5(probs: np.ndarray, rows: np.ndarray, path: Path, kib: int) -> dict[str, Any]:
    import h5py

    from hdmf_ai.io import h5chunks

    chunk_rows = max(1, kib * 1024 // (probs.shape[1] * probs.itemsize))
    options: dict[str, Any] = {"shuffle": True, "compression": "gzip", "compression_opts": 1, "fletcher32": True}
    result: dict[str, Any] = {}
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset(
            "p", shape=probs.shape, dtype=probs.dtype, chunks=(chunk_rows, probs.shape[1]), **options
        )
        result["write"] = timed(h5chunks.write_rows, dataset, 0, probs)
    result["size"] = size_of(path)
    with h5py.File(path, "r") as f:
        dataset = f["p"]
        middle = probs.shape[0] // 2
        result["read_full"] = timed(h5chunks.read_rows, dataset, slice(None))
        result["random_rows"] = timed(h5chunks.read_rows, dataset, rows)
        result["slice"] = timed(h5chunks.read_rows, dataset, slice(middle, middle + SLICE))
    remove(path)
    return result


def measure_sweep(candidate: Candidate, arrays: dict[str, np.ndarray], path: Path, rows: np.ndarray) -> dict[str, Any]:
    remove(path)
    result: dict[str, Any] = candidate.write(arrays, path)
    result["size"] = size_of(path)
    with candidate.opened(path) as probs:
        middle = probs.shape[0] // 2
        result["read_full"] = timed(lambda: np.asarray(probs[:]))
        result["random_rows"] = timed(take_rows, probs, rows)
        result["slice"] = timed(lambda: np.asarray(probs[middle : middle + SLICE]))
    remove(path)
    return result


# -- the driver ------------------------------------------------------------------------------------------


def versions() -> dict[str, str]:
    import importlib.metadata as md

    found = {"python": platform.python_version()}
    for name in ("hdmf-ai", "hdmf", "hdmf-zarr", "zarr", "numcodecs", "h5py", "numpy", "hdf5plugin", "pyarrow"):
        try:
            found[name] = md.version(name)
        except md.PackageNotFoundError:
            found[name] = "absent"
    import h5py

    found["HDF5"] = h5py.version.hdf5_version
    return found


def machine() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    mem = _status_file("/proc/meminfo", "MemTotal")
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": f"{mem / 2**30:.1f} GiB", "os": platform.platform()}


def _status_file(path: str, field: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def run_case(case: Case, work: Path, ref: Path | None, *, memory: bool, every: bool = False) -> dict[str, Any]:
    log(f"case {case.key}: generating arrays")
    arrays = make_arrays(case.n, case.n_classes, kind=case.kind).columns()
    arrays_dir = work / "arrays"
    remove(arrays_dir)
    arrays_dir.mkdir(parents=True)
    for name, data in arrays.items():
        np.save(arrays_dir / f"{name}.npy", data)
    rng = np.random.default_rng(7)
    rows = np.sort(rng.choice(case.n, min(N_RANDOM, case.n), replace=False))
    index_file = work / "rows.npy"
    np.save(index_file, rows)
    candidates = [c for c in all_candidates() if every or c.name in ISSUE]
    runs: dict[str, list[dict[str, float]]] = {c.name: [] for c in candidates}
    if ref is not None:
        runs["reference-0.2.0"] = []
    order_rng = random.Random(case.n + case.n_classes)
    for round_no in range(case.rounds):
        order: list[Any] = [*candidates, *(["reference"] if ref is not None else [])]
        order_rng.shuffle(order)
        for candidate in order:
            if candidate == "reference":
                assert ref is not None
                runs["reference-0.2.0"].append(measure_reference(ref, arrays_dir, work / "ref.h5", index_file))
                log(f"  round {round_no} reference: {runs['reference-0.2.0'][-1]}")
                continue
            result = measure(candidate, arrays, work / f"bench{candidate.suffix}", rows)
            runs[candidate.name].append(result)
            log(f"  round {round_no} {candidate.name}: " + ", ".join(f"{k}={v:.3g}" for k, v in result.items()))
    medians = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in runs.items() if rs}
    if memory:
        for candidate in candidates:
            medians[candidate.name].update(measure_memory(candidate.name, arrays_dir, work / f"mem{candidate.suffix}"))
            log(f"  memory {candidate.name}: {medians[candidate.name]['extra_peak'] / MiB:.1f} MiB")
    remove(arrays_dir)
    table_bytes = sum(a.nbytes for a in arrays.values())
    return {"case": asdict(case), "key": case.key, "table_bytes": table_bytes, "results": medians}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small cases only (under two minutes)")
    parser.add_argument("--skip-reference", action="store_true", help="do not build or run the reference venv")
    parser.add_argument("--no-sweep", action="store_true", help="skip the chunk-shape sweep")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of every case (default: the case's own)")
    parser.add_argument("--all-presets", action="store_true", help="every preset and case (the storage suite)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="directory for latest.json/.md")
    parser.add_argument("--work", type=Path, default=REPO / ".cache" / "bench", help="scratch directory")
    parser.add_argument("--memory-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # hdmf's notices are not what is measured
    if args.memory_child:
        name, arrays_dir, path = args.memory_child
        memory_child(name, Path(arrays_dir), Path(path))
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    ref, why = (None, "skipped (--skip-reference)") if args.skip_reference else reference_python()
    if ref is None:
        log(f"the reference hdmf-ai 0.2.0 is not measured: {why}")
    started = time.perf_counter()
    cases = QUICK if args.quick else ALL_CASES if args.all_presets else FULL
    if args.rounds is not None:
        cases = tuple(Case(c.n, c.n_classes, c.kind, max(1, args.rounds)) for c in cases)
    report: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "machine": machine(),
        "versions": versions(),
        "reference": "measured" if ref is not None else f"not measured: {why}",
        # memory is measured once per mode, on the target case (full) or the first case (quick)
        "cases": [
            run_case(c, args.work, ref, memory=c.n_classes == 100 and c.kind == "peaked", every=args.all_presets)
            for c in cases
        ],
    }
    first = report["cases"][-1 if args.all_presets else 0]
    report["codec"] = codec_limits(first["case"]["n"], first["results"])
    if not args.no_sweep:
        n = 20_000 if args.quick else 1_000_000
        log(f"chunk-shape sweep on {n:,} x 100 peaked probabilities")
        probs = make_arrays(n, 100, kind="peaked").predicted_probability
        rows = np.sort(np.random.default_rng(7).choice(n, N_RANDOM, replace=False))
        sizes = SWEEP_KIB_QUICK if args.quick else SWEEP_KIB
        report["sweep"] = {"n": n, "n_classes": 100, "results": sweep(probs, rows, args.work, sizes)}
    report["seconds"] = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(report, indent=1) + "\n")
    text = markdown(report)
    (args.out / "latest.md").write_text(text)
    print(text_table(report))
    log(f"done in {report['seconds']:.0f} s; wrote {args.out / 'latest.json'} and {args.out / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
