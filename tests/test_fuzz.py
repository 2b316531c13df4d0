"""The reader under fuzzing: damaged files are read, or refused with our error; never a crash or a hang.

Replays every input in ``tests/fuzz/corpus/`` (the seeds, and every finding of ``make fuzz`` once fixed), then
tries a few dozen more that hypothesis draws. Each read runs in a child process with a timeout
(``fuzz/isolation.py``). The long, coverage-guided search is ``make fuzz`` (``tests/fuzz/fuzz_reader.py``).

The structure-aware inputs (``tests/fuzz/corpus-structure/``, ``fuzz/structure.py``) edit fields of a file with
every checksum kept consistent; each is checked with all five calls of the attack suite (a value read back
changed is a failure too).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import pytest
from builders import full_table
from fuzz import structure
from fuzz.isolation import refused_or, run_isolated
from fuzz.reader_target import TARGETS, read_damaged, seed_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import hdmf_ai

CORPUS = Path(__file__).resolve().parent / "fuzz" / "corpus"
STRUCTURE_CORPUS = CORPUS.with_name("corpus-structure")
TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def seeds() -> Path:
    return seed_files()  # made once here, not in every child


def assert_read_or_refused(data: bytes, seeds: Path) -> None:
    how, what = run_isolated(read_damaged, data, seeds, timeout=TIMEOUT_S)
    assert (how, what) in (("returned", "read"), ("returned", "refused")), f"input {data.hex()}: {how}: {what}"


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.iterdir()))
def test_corpus_input_is_read_or_refused(seeds: Path, name: str) -> None:
    assert_read_or_refused((CORPUS / name).read_bytes(), seeds)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(
    target=st.integers(0, len(TARGETS) - 1),
    truncate=st.booleans(),
    ops=st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(1, 255)), min_size=1, max_size=6),
)
def test_random_damage_is_read_or_refused(seeds: Path, target: int, truncate: bool, ops: list[tuple[int, int]]) -> None:
    head = bytes([target]) + (b"\x80" + ops[0][0].to_bytes(4, "little") if truncate else b"")
    body = b"".join(offset.to_bytes(4, "little") + bytes([mask]) for offset, mask in ops)
    assert_read_or_refused(head + body, seeds)


def test_intact_seed_reads(seeds: Path) -> None:
    for target in range(len(TARGETS)):
        assert read_damaged(bytes([target]), seeds) == "read"


# -- findings of make fuzz --------------------------------------------------------------------------------


def test_finding_attribute_name_without_its_nul_is_refused_not_a_segfault(tmp_path: Path) -> None:
    """Found by atheris: flipping the NUL that ends an attribute's name (``data_type``) in the older HDF5
    format (unchecked object headers) made HDF5 2.0 segfault reading the attribute. hdmf-ai now writes the
    1.8 format, whose object headers carry checksums: the same damage is refused."""
    good = hdmf_ai.write(full_table(50), tmp_path / "good.h5")
    data = good.read_bytes()
    ends = [i + len(b"data_type") for i in range(len(data)) if data.startswith(b"data_type\x00", i)]
    assert ends, "the file names no attribute data_type"
    for end in ends[:4]:
        damaged = bytearray(data)
        damaged[end] ^= 0xFF
        path = tmp_path / f"damaged-{end}.h5"
        path.write_bytes(bytes(damaged))
        how, what = run_isolated(refused_or, "read", str(path), timeout=TIMEOUT_S)
        assert how == "returned" and what.startswith("refused") and "checksum" in what, (end, how, what)


def test_finding_string_length_claiming_gigabytes_is_refused_before_allocating(tmp_path: Path) -> None:
    """Found by atheris: one flipped bit in the stored length of a string (a chunk of a variable-length
    dataset has no checksum) made HDF5 allocate 4 GiB for a 90 kB file. Refused before anything is allocated."""
    good = hdmf_ai.write(full_table(50), tmp_path / "good.h5")
    with h5py.File(good, "r") as f:
        chunk = f["source/site"].id.get_chunk_info(0)  # 16 bytes per string: its length comes first
    data = bytearray(good.read_bytes())
    data[chunk.byte_offset + 3 * 16 + 3] ^= 0xFF  # the fourth string now claims 4 GiB
    path = tmp_path / "damaged.h5"
    path.write_bytes(bytes(data))
    how, what = run_isolated(refused_or, "read", str(path), 3 * 2**30, timeout=TIMEOUT_S)
    assert how == "returned" and what.startswith("refused") and "source/site" in what, (how, what)
    assert "claims more bytes than the file has" in what


# -- structure-aware inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in STRUCTURE_CORPUS.iterdir()))
def test_structure_corpus_input_is_refused_or_intact(name: str) -> None:
    """Every call on the file the input makes: our typed error naming the file, or exactly the pristine file's
    values; validate finds a problem unless everything read intact."""
    data = (STRUCTURE_CORPUS / name).read_bytes()
    assert structure.wrong(data) == [], structure.describe(data)


@pytest.mark.parametrize("backend", ["hdf5", "zarr"])
def test_the_corpus_makes_every_kind_of_structure_edit(backend: str, tmp_path: Path) -> None:
    """Each kind of edit is in the corpus and damages the file it names (not a no-op)."""
    made: set[str] = set()
    for seed in sorted(STRUCTURE_CORPUS.glob(f"{backend}-*")):
        pristine, path, done = structure.mutate(seed.read_bytes(), tmp_path / seed.name)
        good = structure.seed_files()[pristine]
        assert done and not any("not made" in line for line in done), (seed.name, done)
        assert _contents(path) != _contents(good), (seed.name, done)
        made |= {line.split(":")[0] for line in done}
    assert made == set(structure.KINDS[backend])


def _contents(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {"": path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
