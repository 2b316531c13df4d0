"""ResultsWriter at scale: memory, throughput against raw h5py/zarr, loss on a kill, Dask speed-up.

Every measurement runs in a fresh process, so its peak RSS is its own. The workload is the issue's: N rows of
C=100 float32 class probabilities, plus the true label, the train/validate/test split and the top-5 classes
and probabilities, written in batches of 4,096 rows. The raw baseline writes the same batches into datasets of
the same chunks, codecs and file format with h5py or zarr directly, with nothing else around them.

Usage::

    python benchmarks/writer.py            # N = 1,000,000 and 10,000,000 (about 20 GB written, deleted after)
    python benchmarks/writer.py --quick    # N = 20,000 and 100,000, a smoke run

Writes ``benchmarks/WRITER.md`` (or ``--report``). Needs the ``dask`` extra for the Dask rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

CLASSES = 100
BATCH = 4096
K = 5
POOL = 8  # distinct batches, cycled: generating random data must not dominate the timings


def _pool(classes: int, batch: int) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(POOL):
        probs = rng.dirichlet(np.full(classes, 0.3), batch).astype(np.float32)
        order = np.argsort(-probs, axis=1)[:, :K]
        out.append(
            {
                "true_label": rng.integers(0, classes, batch).astype(np.uint8),
                "tvt_split": rng.integers(0, 3, batch).astype(np.uint8),
                "predicted_probability": probs,
                "topk_probabilities": np.take_along_axis(probs, order, axis=1),
                "topk_classes": order.astype(np.uint8),
            }
        )
    return out


def batches(n: int, classes: int, batch: int) -> Iterator[dict[str, np.ndarray]]:
    pool = _pool(classes, batch)
    for i, start in enumerate(range(0, n, batch)):
        part = pool[i % POOL]
        size = min(batch, n - start)
        yield {name: values[:size] for name, values in part.items()}


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -- one measurement per process -------------------------------------------------------------------------------


def measure_writer(path: Path, n: int, classes: int, batch: int, *, durable: bool, known: bool) -> dict[str, Any]:
    import hdmf_ai

    start = time.perf_counter()
    declared = {"predicted_probability": (classes,), "topk_probabilities": (K,), "topk_classes": (K,)}
    with hdmf_ai.ResultsWriter(
        path, n_samples=n if known else None, columns=declared, durable=durable, progress=False
    ) as writer:
        for part in batches(n, classes, batch):
            writer.append(**part, predicted_class=part["topk_classes"][:, 0])
    return {"seconds": time.perf_counter() - start}


def _raw_layout(backend: str, n: int, classes: int) -> dict[str, tuple[tuple[int, ...], np.dtype, dict[str, Any]]]:
    """The chunks and codecs the writer gives each column, from the same storage policy, for the raw baseline."""
    from hdmf_ai.io import policy
    from hdmf_ai.io.registry import backend_for

    chosen = backend_for(f"x.{'h5' if backend == 'hdf5' else 'zarr'}")
    columns = {
        "true_label": ((), np.uint8, "label"),
        "tvt_split": ((), np.uint8, "label"),
        "predicted_probability": ((classes,), np.float32, "probability"),
        "topk_probabilities": ((K,), np.float32, "probability"),
        "topk_classes": ((K,), np.uint8, "label"),
        "predicted_class": ((), np.uint8, "label"),
        "id": ((), np.int64, "index"),
    }
    out = {}
    for name, (row, dtype, kind) in columns.items():
        setting = policy.resolve(policy.DEFAULT_PRESET, backend=backend, column=name, kind=kind)
        nominal = np.broadcast_to(np.zeros((), dtype), (n, *row))
        _, kwargs = chosen.data_io(nominal, setting, name)  # type: ignore[attr-defined]
        out[name] = ((n, *row), np.dtype(dtype), kwargs)
    return out


def measure_raw(path: Path, backend: str, n: int, classes: int, batch: int) -> dict[str, Any]:
    import warnings

    layout = _raw_layout(backend, n, classes)
    start = time.perf_counter()
    if backend == "hdf5":
        import h5py

        with h5py.File(path, "w", libver="latest") as f:
            group = f.create_group("results")
            datasets = {}
            for name, (shape, dtype, kwargs) in layout.items():
                options = {k: v for k, v in kwargs.items() if k != "allow_plugin_filters"}
                datasets[name] = group.create_dataset(
                    name, shape=shape, dtype=dtype, maxshape=(None, *shape[1:]), **options
                )
            _fill(datasets, n, classes, batch)
    else:
        import zarr

        with warnings.catch_warnings(), zarr.config.set({"array.write_empty_chunks": True}):
            warnings.simplefilter("ignore")
            group = zarr.open_group(str(path), mode="w").create_group("results")
            datasets = {
                name: group.create_array(name, shape=shape, dtype=dtype, **kwargs)
                for name, (shape, dtype, kwargs) in layout.items()
            }
            _fill(datasets, n, classes, batch)
    return {"seconds": time.perf_counter() - start}


def _fill(datasets: dict[str, Any], n: int, classes: int, batch: int) -> None:
    start = 0
    for part in batches(n, classes, batch):
        size = len(part["true_label"])
        columns = {**part, "predicted_class": part["topk_classes"][:, 0], "id": np.arange(start, start + size)}
        for name, values in columns.items():
            datasets[name][start : start + size] = values
        start += size


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(args: argparse.Namespace) -> None:
    import hdmf_ai  # noqa: F401  (imports are not part of what is measured)

    path = Path(args.path)
    cpu = _cpu_seconds()
    if args.what == "raw":
        result = measure_raw(path, args.backend, args.n, args.classes, args.batch)
    else:
        result = measure_writer(
            path,
            args.n,
            args.classes,
            args.batch,
            durable=args.what != "writer-chunks",
            known=args.what != "writer-grow",
        )
    result["cpu_seconds"] = _cpu_seconds() - cpu
    result["peak_rss_mib"] = _peak_rss_mib()
    result["file_mib"] = _size(path) / 2**20
    print(json.dumps(result))


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size if path.exists() else 0


def run_child(what: str, backend: str, n: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    path = workdir / f"{what}.{'h5' if backend == 'hdf5' else 'zarr'}"
    command = [sys.executable, __file__, "--child", what, "--backend", backend, "--n", str(n),
               "--classes", str(args.classes), "--batch", str(args.batch), "--path", str(path)]  # fmt: skip
    try:
        done = subprocess.run(command, check=True, capture_output=True, text=True)
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


# -- a kill mid-run ------------------------------------------------------------------------------------------------

_KILLED = """
import sys
sys.path.insert(0, {here!r})
import numpy as np, hdmf_ai
from writer import batches
n, classes, batch = {n}, {classes}, {batch}
with hdmf_ai.ResultsWriter({path!r}, n_samples=n, columns={{"predicted_probability": (classes,)}}, progress=False) as w:
    done = 0
    for part in batches(n, classes, batch):
        w.append(**part)
        done += len(part["true_label"])
        print(done, flush=True)
"""


def measure_kill(backend: str, n: int, args: argparse.Namespace, workdir: Path, after: float) -> dict[str, Any]:
    """Kill a writer after ``after`` seconds of writing; compare the rows it reported with the rows readable."""
    import warnings

    import hdmf_ai

    path = workdir / f"killed.{'h5' if backend == 'hdf5' else 'zarr'}"
    script = _KILLED.format(
        here=str(Path(__file__).parent), n=n, classes=args.classes, batch=args.batch, path=str(path)
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    reported, started = 0, None
    while True:
        line = child.stdout.readline()
        if not line:
            break
        reported = int(line)
        started = started or time.perf_counter()
        if time.perf_counter() - started > after:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    child.stdout.close()
    if child.returncode != -signal.SIGKILL or reported >= n:
        raise RuntimeError(f"the writer finished before it was killed ({reported:,} rows): raise N")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hdmf_ai.IncompleteTableWarning)
        with hdmf_ai.open(path) as lazy:
            readable = len(lazy)
    start = time.perf_counter()
    with hdmf_ai.ResultsWriter(path, resume=True, progress=False) as writer:
        resumed_from = writer.rows_written
        for i, part in enumerate(batches(n, args.classes, args.batch)):
            if (i + 1) * args.batch <= resumed_from:
                continue
            skip = max(0, resumed_from - i * args.batch)
            writer.append(**{name: values[skip:] for name, values in part.items()})
    resume_seconds = time.perf_counter() - start
    complete = len(hdmf_ai.read(path, table="results").id.data) if n <= 2_000_000 else n
    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    return {"reported": reported, "readable": readable, "lost": max(0, reported - readable),
            "resumed_from": resumed_from, "final_rows": complete, "resume_seconds": resume_seconds}  # fmt: skip


# -- Dask ----------------------------------------------------------------------------------------------------------


def measure_dask(n: int, classes: int, workers: int, workdir: Path) -> dict[str, Any]:
    import dask.array as da
    from dask.distributed import Client, LocalCluster

    from hdmf_ai.io.dask import write_dask

    path = workdir / f"dask{workers}.zarr"
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)
        as cluster,
        Client(cluster),
    ):  # fmt: skip
        # the probabilities are made on the workers, block by block, as a model's outputs would be
        probs = da.random.random((n, classes), chunks=(65_536, classes)).astype(np.float32)
        probs = probs / probs.sum(axis=1, keepdims=True)
        labels = da.random.randint(0, classes, n, chunks=65_536).astype(np.uint8)
        start = time.perf_counter()
        write_dask(path, {"predicted_probability": probs, "true_label": labels},
                   declarations={"predicted_probability": {"check_sum": False}}, progress=False)  # fmt: skip
        seconds = time.perf_counter() - start
    shutil.rmtree(path, ignore_errors=True)
    return {"seconds": seconds}


# -- report --------------------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small N: a smoke run")
    parser.add_argument("--classes", type=int, default=CLASSES)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--workdir", default=None, help="where the files go (default: a temporary folder)")
    parser.add_argument("--report", default=str(Path(__file__).with_name("WRITER.md")))
    parser.add_argument("--repeats", type=int, default=2, help="interleaved repeats; the best of each is kept")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default="hdf5", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--path", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--sizes", type=int, nargs="+", default=None, help="row counts (default: 1M and 10M)")
    args = parser.parse_args()
    if args.child:
        args.what = args.child
        child(args)
        return
    sizes = args.sizes or ([20_000, 100_000] if args.quick else [1_000_000, 10_000_000])
    args.load_start = os.getloadavg()[0]
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="hdmf-ai-writer-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for backend in ("hdf5", "zarr"):
        for n in sizes:
            # the machine is shared: runs are interleaved and repeated, and each keeps its best time
            kinds = ("raw", "writer", "writer-chunks") + (("writer-grow",) if n == sizes[0] else ())
            best: dict[str, dict[str, Any]] = {}
            for repeat in range(args.repeats):
                for what in kinds:
                    result = run_child(what, backend, n, args, workdir)
                    print(
                        json.dumps({"backend": backend, "n": n, "what": what, "repeat": repeat, **result}), flush=True
                    )
                    if what not in best or result["seconds"] < best[what]["seconds"]:
                        best[what] = {**result, "cpu_seconds": min(result["cpu_seconds"],
                                                                   best.get(what, result)["cpu_seconds"])}  # fmt: skip
            rows += [{"backend": backend, "n": n, "what": what, **best[what]} for what in kinds]
    kill_n = sizes[-1] if args.quick else sizes[0]
    # killed at about 40% of the time the writer took for that N here (a fixed delay outlived faster writers)
    took = {r["backend"]: r["seconds"] for r in rows if r["what"] == "writer" and r["n"] == kill_n}
    kills = {b: measure_kill(b, kill_n, args, workdir, after=0.4 * took.get(b, 5.0)) for b in ("hdf5", "zarr")}
    print(json.dumps(kills), flush=True)
    dask_n = sizes[0] if args.quick or args.sizes else 2_000_000
    try:
        dask_rows = {w: measure_dask(dask_n, args.classes, w, workdir) for w in (1, 2)}
    except ImportError:
        dask_rows = {}
    print(json.dumps(dask_rows), flush=True)
    Path(args.report).write_text(report(rows, kills, dask_rows, dask_n, args))
    shutil.rmtree(workdir, ignore_errors=True)
    print(f"wrote {args.report}")


def report(rows: list[dict[str, Any]], kills: dict[str, Any], dask_rows: dict[int, Any], dask_n: int,
           args: argparse.Namespace) -> str:  # fmt: skip
    raw = {(r["backend"], r["n"]): r for r in rows if r["what"] == "raw"}
    lines = [
        "# ResultsWriter benchmark",
        "",
        f"`python benchmarks/writer.py{' --quick' if args.quick else ''}` (`make bench-writer`), on this machine: "
        f"{os.cpu_count()} cores, shared with other jobs, so read the ratios, not the seconds. N rows of "
        f"{args.classes} float32 probabilities plus true label, split, predicted class and top-{K} classes and "
        f"probabilities, in batches of {args.batch:,}; storage preset `portable` (HDF5: shuffle + deflate + "
        "Fletcher-32, whole chunks encoded on every core by `hdmf_ai/io/h5chunks.py`; Zarr: Blosc-Zstd 3 in "
        "shards). Raw = h5py/zarr writing the same batches into datasets of the same chunks, codecs and file "
        "format, nothing else (on HDF5: h5py's own filters, single-threaded). Each row is a fresh process; "
        "RSS is its peak (imports included). "
        f"Runs are interleaved and repeated ({args.repeats}x), and each keeps its best time; load average at the "
        f"start {args.load_start:.1f}, at the end {os.getloadavg()[0]:.1f}. CPU s = user + system time of the process.",
        "",
        "| backend | N | what | seconds | rows/s | throughput / raw | CPU s | CPU / raw | peak RSS (MiB) "
        "| file (MiB) |",
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    names = {"raw": "raw h5py/zarr", "writer": "ResultsWriter (n_samples known, durable)",
             "writer-chunks": "ResultsWriter (durable=False: whole chunks)",
             "writer-grow": "ResultsWriter (n_samples unknown: grows)"}  # fmt: skip
    for r in rows:
        base = raw[(r["backend"], r["n"])]
        ratio = base["seconds"] / r["seconds"]
        cpu = r["cpu_seconds"] / base["cpu_seconds"]
        lines.append(
            f"| {r['backend']} | {r['n']:,} | {names[r['what']]} | {r['seconds']:.1f} | {r['n'] / r['seconds']:,.0f} "
            f"| {ratio:.2f} | {r['cpu_seconds']:.1f} | {cpu:.2f} | {r['peak_rss_mib']:.0f} | {r['file_mib']:,.0f} |"
        )
    lines += [
        "",
        f"## A kill mid-run (N = {next(iter(kills.values()), {}).get('final_rows', 0):,}, SIGKILL after some seconds)",
        "",
        "| backend | rows reported written | rows readable after the kill | rows lost | resumed from | final rows |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for backend, k in kills.items():
        lines.append(
            f"| {backend} | {k['reported']:,} | {k['readable']:,} | {k['lost']:,} | {k['resumed_from']:,} "
            f"| {k['final_rows']:,} |"
        )
    lines += [
        "",
        "Rows lost = rows whose `append` had returned before the kill but that are not readable after it",
        f"(the guarantee: 0; only the batch in flight, at most {args.batch:,} rows, may be missing).",
        "",
    ]
    if dask_rows:
        one, two = dask_rows[1]["seconds"], dask_rows[2]["seconds"]
        lines += [
            f"## Dask: write_dask of {dask_n:,} x {args.classes} float32 + labels to Zarr, LocalCluster on loopback",
            "",
            "| workers (processes) | seconds | speed-up |",
            "| ---: | ---: | ---: |",
            f"| 1 | {one:.1f} | 1.00 |",
            f"| 2 | {two:.1f} | {one / two:.2f} |",
            "",
            "Blocks are whole shards, so the workers never write the same object and no lock is taken.",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
