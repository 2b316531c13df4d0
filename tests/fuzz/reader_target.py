"""The fuzz target: a valid results file, damaged as the fuzzer's input says, read with ``hdmf_ai.read``.

Reading may succeed or raise :class:`hdmf_ai.ResultsFileError`; anything else -- another exception, a crash
of the interpreter, a hang -- is a finding. The input's first byte picks what is damaged (the HDF5 file, the
Zarr store's root metadata, or one of its chunks); the rest is a list of (offset, xor mask) pairs and an
optional truncation. ``fuzz_reader.py`` drives it with atheris (coverage-guided) or, without atheris, with
random inputs; ``tests/test_fuzz.py`` replays the inputs in ``tests/fuzz/corpus/`` as regression tests.
"""

from __future__ import annotations

import atexit
import contextlib
import random
import shutil
import struct
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # builders.py

import hdmf_ai

__all__ = ["TARGETS", "damage", "fixed_object_ids", "read_damaged", "seed_files"]

N_ROWS = 20
#: what the first input byte picks: the HDF5 file, the Zarr root metadata, a Zarr chunk
TARGETS = ("hdf5", "zarr-metadata", "zarr-chunk")


@cache
def seed_files() -> Path:
    """A valid HDF5 file and Zarr store of every column (written once per process).

    Byte for byte the same in every process (hdmf's object ids drawn from a seeded generator), so that an
    input the fuzzer kept damages the same bytes when it is replayed.
    """
    from builders import full_table

    out = Path(tempfile.mkdtemp(prefix="hdmf-ai-fuzz-seed-"))
    atexit.register(shutil.rmtree, out, ignore_errors=True)
    with fixed_object_ids():
        table = full_table(N_ROWS)
        hdmf_ai.write(table, out / "seed.h5")
        hdmf_ai.write(table, out / "seed.zarr")
    return out


@contextlib.contextmanager
def fixed_object_ids(seed: int = 0) -> Iterator[None]:
    """hdmf's object ids drawn from a generator seeded with ``seed`` while in the block (files written there are
    the same bytes in every process)."""
    import hdmf.container

    ids = random.Random(seed)
    original = hdmf.container.uuid4
    hdmf.container.uuid4 = lambda: uuid.UUID(int=ids.getrandbits(128), version=4)  # type: ignore[assignment]
    try:
        yield
    finally:
        hdmf.container.uuid4 = original  # type: ignore[assignment]


def _mutated(original: bytes, ops: bytes) -> bytes:
    """``original`` with the byte flips and the truncation that ``ops`` encodes."""
    data = bytearray(original)
    if not data:
        return bytes(data)
    cut = None
    if ops and ops[0] & 0x80:  # the first op byte's high bit: also truncate
        cut = struct.unpack_from("<I", ops.ljust(5, b"\0"), 1)[0] % (len(data) + 1)
        ops = ops[5:]
    for i in range(0, len(ops) - 4, 5):
        offset, mask = struct.unpack_from("<IB", ops, i)
        data[offset % len(data)] ^= mask or 0xFF
    return bytes(data[:cut] if cut is not None else data)


def damage(data: bytes, workdir: Path, seeds: Path | None = None) -> Path:
    """Make the damaged file that ``data`` describes inside ``workdir`` (from ``seeds``); return its path."""
    seeds = seeds or seed_files()
    target = TARGETS[data[0] % len(TARGETS)] if data else TARGETS[0]
    ops = data[1:]
    if target == "hdf5":
        path = workdir / "damaged.h5"
        path.write_bytes(_mutated((seeds / "seed.h5").read_bytes(), ops))
        return path
    path = workdir / "damaged.zarr"
    shutil.copytree(seeds / "seed.zarr", path)
    victim = path / "zarr.json" if target == "zarr-metadata" else path / "results" / "predicted_class" / "c" / "0"
    victim.write_bytes(_mutated(victim.read_bytes(), ops))
    return path


def read_damaged(data: bytes, seeds: Path | None = None, *, read: Callable[[Path], object] = hdmf_ai.read) -> str:
    """Read the file ``data`` describes: 'read' or 'refused'; any other exception propagates (a finding).

    ``seeds`` is the directory of :func:`seed_files`, when another process made it.
    """
    with tempfile.TemporaryDirectory(prefix="hdmf-ai-fuzz-") as tmp:
        path = damage(data, Path(tmp), seeds)
        try:
            read(path)
        except hdmf_ai.ResultsFileError as err:
            if str(path) not in str(err):
                raise AssertionError(f"the error does not name the file: {err}") from err
            return "refused"
    return "read"
