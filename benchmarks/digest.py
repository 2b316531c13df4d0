"""The cost of content digests (issue 18, item 1): write and read time with and without them, in one run.

The workload is the storage benchmark's: N rows of a 100-class classifier (probabilities float32, top-5,
labels, split, embedding; ``data.make_arrays``), preset ``portable``, on HDF5 and Zarr. Each round writes and
reads the same table with digests and without, in alternating order, and the table reports the median of
each and their ratio. "Without" is the same code with the digest hooks made no-ops (``read(verify=False)``
on the read side), so the difference is what digests cost. The ResultsWriter (batches of 4,096 rows) is
measured the same way. Also shown: the hashing alone (xxh3-128 over every column in memory).

Usage::

    python benchmarks/digest.py                # N = 1,000,000 x 100, 2 rounds (a few minutes)
    python benchmarks/digest.py --n 20000      # a smoke run

Writes ``benchmarks/results/digest.md`` (or ``--report``).
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from data import make_arrays

import hdmf_ai
from hdmf_ai.io import digest

BATCH = 4096


@contextlib.contextmanager
def digests_off() -> Iterator[None]:
    """The digest hooks of the write paths as no-ops: the baseline of the same code without digests."""
    saved = digest.record, digest.planned_values, digest.Streaming.update
    digest.record = lambda *args, **kwargs: None  # type: ignore[assignment]
    digest.planned_values = lambda planned: {}  # type: ignore[assignment]
    digest.Streaming.update = lambda self, rows: None  # type: ignore[method-assign]
    try:
        yield
    finally:
        digest.record, digest.planned_values, digest.Streaming.update = saved  # type: ignore[method-assign]


class DigestClock:
    """Seconds spent inside the digest hooks (outermost calls only), to state their share of an operation
    directly: on a shared, loaded machine the with/without medians differ by more than digests cost."""

    HOOKS = ("record", "planned_values", "streams", "clear", "verify_table")

    def __init__(self) -> None:
        self.seconds, self._depth, self._saved = 0.0, 0, {}  # type: ignore[var-annotated]

    def _wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            self._depth += 1
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self.seconds += time.perf_counter() - start

        return timed

    def __enter__(self) -> DigestClock:
        for name in self.HOOKS:
            self._saved[name] = getattr(digest, name)
            setattr(digest, name, self._wrap(self._saved[name]))
        self._saved["update"] = digest.Streaming.update
        digest.Streaming.update = self._wrap(digest.Streaming.update)  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        digest.Streaming.update = self._saved.pop("update")  # type: ignore[method-assign]
        for name, function in self._saved.items():
            setattr(digest, name, function)
        self._saved = {}


def _table(arrays: Any) -> hdmf_ai.ResultsTable:
    rt = hdmf_ai.ResultsTable(name="results", description="digest benchmark")
    rt.add_tvt_split(arrays.tvt_split)
    rt.add_true_label(arrays.true_label)
    rt.add_predicted_probability(arrays.predicted_probability)
    rt.add_predicted_class(arrays.predicted_class)
    rt.add_topk_probabilities(arrays.topk_probabilities)
    rt.add_topk_classes(arrays.topk_classes)
    rt.add_embedding(arrays.embedding)
    return rt


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _write_batched(path: Path, arrays: Any) -> None:
    columns = {name: arrays.columns()[name] for name in ("predicted_probability", "true_label", "topk_classes")}
    with hdmf_ai.ResultsWriter(path, columns={"predicted_probability": (columns["predicted_probability"].shape[1],)},
                               progress=False) as writer:  # fmt: skip
        n = len(columns["true_label"])
        for start in range(0, n, BATCH):
            writer.append(**{name: values[start : start + BATCH] for name, values in columns.items()})


def measure(directory: Path, suffix: str, arrays: Any, rounds: int) -> dict[str, list[float]]:
    table = _table(arrays)
    keys = ("write", "write0", "read", "read0", "batched", "batched0", "write_in", "read_in", "batched_in")
    times: dict[str, list[float]] = {key: [] for key in keys}
    path, batched = directory / f"t{suffix}", directory / f"b{suffix}"
    hdmf_ai.write(table, path)  # warm-up (imports, first-call caches): not counted
    hdmf_ai.read(path)
    for round_ in range(rounds):
        for with_digests in (round_ % 2 == 0, round_ % 2 == 1):  # alternate which goes first
            key = "" if with_digests else "0"
            _remove(path)
            _remove(batched)
            for op, action in (
                ("write", lambda: hdmf_ai.write(table, path)),
                ("batched", lambda: _write_batched(batched, arrays)),
                ("read", lambda verify=with_digests: hdmf_ai.read(path, verify=verify)),
            ):
                with DigestClock() if with_digests else digests_off() as clock:
                    times[op + key].append(_timed(action))
                if clock is not None:
                    times[op + "_in"].append(clock.seconds)
    _remove(path)
    _remove(batched)
    return times


def hashing_alone(arrays: Any) -> float:
    return _timed(lambda: [digest.of_values(values) for values in arrays.columns().values()])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--report", type=Path, default=Path(__file__).parent / "results" / "digest.md")
    args = parser.parse_args()
    arrays = make_arrays(args.n, args.classes)
    mib = arrays.nbytes / 2**20
    lines = [
        f"# Content digests: cost at N={args.n:,} x {args.classes} (`portable`, {mib:.0f} MiB; "
        f"median of {args.rounds} rounds)",
        "",
        f"Hashing alone (xxh3-128 over every column in memory): {hashing_alone(arrays):.3f} s",
        "",
        "| backend | operation | with digests | without | difference | in the digest code | its share |",
        "|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory(dir=Path.cwd()) as tmp:
        for name, suffix in (("hdf5", ".h5"), ("zarr", ".zarr")):
            times = measure(Path(tmp), suffix, arrays, args.rounds)
            for op, label in (("write", "write"), ("read", "read"), ("batched", "ResultsWriter")):
                on, off = statistics.median(times[op]), statistics.median(times[op + "0"])
                inside = statistics.median(times[op + "_in"])
                lines.append(
                    f"| {name} | {label} | {on:.2f} s | {off:.2f} s | {100 * (on / off - 1):+.1f}% "
                    f"| {inside:.3f} s | {100 * inside / on:.1f}% |"
                )
                print(lines[-1], flush=True)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
