"""Bytes and requests that remote reads cost, counted by the server, against the size of the file.

A 1,000,000-row results table (10 classes: samples linked to a 1,000,000-row source table, split, true label,
probabilities, predicted class, top-3, a 16-d embedding) is written per backend and storage preset, uploaded
to moto's S3 server on 127.0.0.1 (its own venv, as in the tests) and read through the public API:

- ``inspect``: ``hdmf_ai.list_tables(url)``, metadata only;
- ``label column``: ``open(url)`` and read ``true_label`` whole;
- ``10k-row slice``: ``open(url)`` and read rows 500,000-510,000 of ``predicted_probability``;
- ``full read``: ``hdmf_ai.read(url)``.

Each access starts from a fresh open; the server's counters are reset before it. For HDF5 it also compares
remfile's read sizes (fsspec's file objects are not measured: reads through them hang, see
``hdmf_ai/io/remote.py`` and ``REMOTE.md``), a file written with HDF5's paged aggregation (metadata gathered into pages,
``fs_strategy="page"``). Plain HTTP (``RangeHTTPServer``) serves the same files for comparison.

Run: ``make bench-remote`` or ``python benchmarks/remote.py [--rows N] [--presets portable fast ...]``;
results are printed as Markdown tables (``benchmarks/REMOTE.md`` holds a run with commentary).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "benchmarks")]

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import s3fs  # noqa: E402
from data import make_arrays  # noqa: E402
from hdmf.backends.hdf5 import HDF5IO  # noqa: E402
from hdmf.common import DynamicTable, VectorData  # noqa: E402
from serverenv import Counts, MotoS3Server, RangeHTTPServer, ensure_moto_python, moto_versions  # noqa: E402

import hdmf_ai  # noqa: E402
from hdmf_ai.io import hdf5 as hdf5_backend  # noqa: E402
from hdmf_ai.io import remote  # noqa: E402
from hdmf_ai.io.policy import PRESETS  # noqa: E402

BUCKET = "hdmf-ai-bench"
KEY, SECRET = "bench-key", "bench-secret"
N_CLASSES = 10
SLICE = slice(500_000, 510_000)
SUFFIX = {"hdf5": ".h5", "zarr": ".zarr"}
TARGETS = {"inspect": 0.01, "label column": 0.10, "10k-row slice": 0.02}


def build_table(n: int) -> hdmf_ai.ResultsTable:
    arrays = make_arrays(n, N_CLASSES, seed=0)
    rng = np.random.default_rng(1)
    source = DynamicTable(
        name="samples",
        description="the source data: session and subject age of each sample",
        columns=[
            VectorData(name="session", description="recording session", data=rng.integers(0, 300, n).astype(np.int16)),
            VectorData(name="age", description="subject age", data=rng.uniform(20, 80, n).astype(np.float32)),
        ],
    )
    rt = hdmf_ai.ResultsTable(name="results", description="remote benchmark", source_code="benchmarks/remote.py")
    rt.add_samples(rng.permutation(n), table=source)
    rt.add_tvt_split(arrays.tvt_split)
    rt.add_true_label(arrays.true_label, classes=[f"class{i}" for i in range(N_CLASSES)])
    rt.add_predicted_probability(arrays.predicted_probability)
    rt.add_predicted_class(arrays.predicted_class)
    rt.add_topk_probabilities(arrays.topk_probabilities[:, :3])
    rt.add_topk_classes(arrays.topk_classes[:, :3])
    rt.add_embedding(arrays.embedding)
    return rt


# -- the accesses measured --------------------------------------------------------------------------------


def inspect(url: str, options: dict[str, Any] | None) -> None:
    hdmf_ai.list_tables(url, storage_options=options)


def label_column(url: str, options: dict[str, Any] | None) -> None:
    with hdmf_ai.open(url, storage_options=options) as rt:
        rt["true_label"].data[:]


def probability_slice(url: str, options: dict[str, Any] | None) -> None:
    with hdmf_ai.open(url, storage_options=options) as rt:
        rt["predicted_probability"].data[SLICE]


def full_read(url: str, options: dict[str, Any] | None) -> None:
    hdmf_ai.read(url, storage_options=options)


ACCESSES: dict[str, Callable[[str, dict[str, Any] | None], None]] = {
    "inspect": inspect,
    "label column": label_column,
    "10k-row slice": probability_slice,
    "full read": full_read,
}


@dataclass(frozen=True)
class Row:
    backend: str
    variant: str
    access: str
    size: int
    counts: Counts
    seconds: float

    @property
    def fraction(self) -> float:
        return self.counts.bytes / self.size


def measure(
    server: MotoS3Server | RangeHTTPServer, access: str, url: str, options: dict[str, Any] | None
) -> tuple[Counts, float]:
    server.reset()
    started = time.perf_counter()
    ACCESSES[access](url, options)
    return server.counts(), time.perf_counter() - started


# -- file variants ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def paged_hdf5_writes(page_size: int) -> Iterator[None]:
    """hdmf-ai's HDF5 writer, with the file created with paged aggregation (what REMOTE.md proposes)."""
    original = hdf5_backend.HDF5Backend.open_io

    def open_io(self: Any, path: Path, mode: str, manager: Any) -> HDF5IO:
        if mode != "w":
            return original(self, path, mode, manager)
        file = h5py.File(path, "w", fs_strategy="page", fs_persist=True, fs_page_size=page_size)
        return HDF5IO(path=str(path), file=file, mode=mode, manager=manager)

    hdf5_backend.HDF5Backend.open_io = open_io  # type: ignore[method-assign]
    try:
        yield
    finally:
        hdf5_backend.HDF5Backend.open_io = original  # type: ignore[method-assign]


@contextlib.contextmanager
def remfile_chunk(size: int) -> Iterator[None]:
    """Read remote HDF5 with remfile reading at least ``size`` bytes at once (the library's default otherwise)."""
    saved = remote.HDF5_MIN_CHUNK
    remote.HDF5_MIN_CHUNK = size
    try:
        yield
    finally:
        remote.HDF5_MIN_CHUNK = saved


def stored_bytes(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# -- the run ----------------------------------------------------------------------------------------------


def write_files(
    table: hdmf_ai.ResultsTable, out: Path, presets: list[str], page_size: int
) -> dict[tuple[str, str], Path]:
    files: dict[tuple[str, str], Path] = {}
    for preset in presets:
        for backend, suffix in SUFFIX.items():
            path = out / f"{preset}{suffix}"
            hdmf_ai.write(table, path, preset=preset)
            files[backend, preset] = path
    with paged_hdf5_writes(page_size):
        path = out / f"portable-paged{SUFFIX['hdf5']}"
        hdmf_ai.write(table, path, preset="portable")
        files["hdf5", "portable-paged"] = path
    return files


def run(rows: int, presets: list[str], page_size: int) -> list[Row]:
    results: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="hdmf-ai-remote-bench-") as tmp:
        out = Path(tmp)
        print(f"writing {rows:,}-row files ...", file=sys.stderr)
        files = write_files(build_table(rows), out, presets, page_size)
        with MotoS3Server(ensure_moto_python()) as s3, RangeHTTPServer(out) as web:
            fs = s3fs.S3FileSystem(key=KEY, secret=SECRET, endpoint_url=s3.endpoint_url)
            fs.mkdir(BUCKET)
            for path in files.values():
                fs.put(str(path), f"{BUCKET}/{path.name}", recursive=path.is_dir())
            # a request the loopback server drops must not stall the run: time out and retry
            timeouts = {"read_timeout": 20, "connect_timeout": 5, "retries": {"max_attempts": 4}}
            options = {"endpoint_url": s3.endpoint_url, "key": KEY, "secret": SECRET, "config_kwargs": timeouts}

            def add(backend: str, variant: str, path: Path, server: Any, url: str, opts: Any, accesses: Any) -> None:
                for access in accesses:
                    counts, seconds = measure(server, access, url, opts)
                    results.append(Row(backend, variant, access, stored_bytes(path), counts, seconds))
                    print(
                        f"  {backend:5s} {variant:34s} {access:14s} {counts.bytes:>12,d} B {counts.requests:5d} req",
                        file=sys.stderr,
                    )

            for (backend, preset), path in files.items():
                add(backend, f"{preset}, s3", path, s3, f"s3://{BUCKET}/{path.name}", options, ACCESSES)
            portable = files["hdf5", "portable"]
            s3_url = f"s3://{BUCKET}/{portable.name}"
            for size in (16 * 1024, 256 * 1024):
                with remfile_chunk(size):
                    add("hdf5", f"portable, s3, remfile {size // 1024} KiB", portable, s3, s3_url, options, ACCESSES)
            for backend in SUFFIX:
                path = files[backend, "portable"]
                add(backend, "portable, http", path, web, f"{web.url}/{path.name}", None, ACCESSES)
    return results


def markdown(rows: list[Row]) -> str:
    lines = [
        "| backend | file, transport, reader | size (MB) | access | bytes | % of file | target | requests | s |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        target = TARGETS.get(r.access)
        verdict = "" if target is None else (f"< {target:.0%} " + ("ok" if r.fraction < target else "**missed**"))
        lines.append(
            f"| {r.backend} | {r.variant} | {r.size / 1e6:.1f} | {r.access} | {r.counts.bytes:,} | "
            f"{r.fraction:.2%} | {verdict} | {r.counts.requests} | {r.seconds:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--presets", nargs="+", default=[p for p in PRESETS if p != "compact-lossy"])
    parser.add_argument("--page-size", type=int, default=64 * 1024, help="HDF5 page size of the paged variant")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")  # nothing beyond loopback
    started = time.perf_counter()
    rows = run(args.rows, args.presets, args.page_size)
    import importlib.metadata as metadata

    ours = {name: metadata.version(name) for name in ("h5py", "zarr", "hdmf", "s3fs", "aiobotocore", "remfile")}
    print(f"\n{args.rows:,} rows, {N_CLASSES} classes, {time.perf_counter() - started:.0f} s")
    print(f"versions: {ours}; moto venv: {moto_versions(ensure_moto_python())}\n")
    print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
