"""Fuzz ``hdmf_ai.read`` over damaged HDF5 files and Zarr stores for a fixed time budget.

Usage: ``make fuzz`` (``FUZZ_SECONDS=300 make fuzz``: byte flips, then structure-aware edits, each for that
long), or ``python tests/fuzz/fuzz_reader.py --seconds 60 [--structure]``.

``--structure``: the input chooses fields of a file and what to put there, every checksum kept consistent
(``structure.py``); each damaged file gets the attack suite's five calls (``read``, ``open`` + every column,
``list_tables``, ``validate``, ``inspect``), and a value read back changed without an error is a finding too.
Findings are kept as ``.cache/fuzz-findings/structure-<hex>``, with what the input did beside them (``.txt``);
copy one into ``tests/fuzz/corpus-structure/`` to make it a regression test.

With atheris installed (the ``fuzz`` extra) the search is coverage-guided through libFuzzer: a crash, a hang
(``-timeout``) or an exception other than ``ResultsFileError`` stops it and leaves the input in
``.cache/fuzz-findings/``. Without atheris, random inputs are tried for the same time, each written to
``.cache/fuzz-findings/last-input`` before it is read, so that a crash of the interpreter leaves its input behind. Turn
a finding into a regression test by copying it into ``tests/fuzz/corpus/`` (``tests/test_fuzz.py`` replays
every file there) and fixing the reader.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"  # the regression inputs: read, never written by the fuzzer
WORK_CORPUS = HERE.parents[1] / ".cache" / "fuzz-corpus"  # what libFuzzer keeps (git-ignored)
FINDINGS = HERE.parents[1] / ".cache" / "fuzz-findings"  # crashing inputs (git-ignored)


def _with_atheris(seconds: int) -> int:
    import atheris

    # coverage of the readers only: instrumenting every import (pandas, numpy's Python) slows it tenfold
    with atheris.instrument_imports(include=["hdmf_ai", "hdmf", "hdmf_zarr", "zarr", "h5py", "reader_target"]):
        from reader_target import read_damaged, seed_files

    seed_files()

    def test_one_input(data: bytes) -> None:
        read_damaged(data)

    FINDINGS.mkdir(parents=True, exist_ok=True)
    WORK_CORPUS.mkdir(parents=True, exist_ok=True)
    args = [
        sys.argv[0],
        f"-max_total_time={seconds}",
        "-timeout=30",
        "-rss_limit_mb=4096",
        "-max_len=64",
        f"-artifact_prefix={FINDINGS}/",
        str(WORK_CORPUS),  # libFuzzer adds new inputs to the first directory only
        str(CORPUS),
    ]
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()
    return 0


def _random(seconds: int, seed: int) -> int:
    from reader_target import read_damaged, seed_files

    seed_files()
    rng = random.Random(seed)
    FINDINGS.mkdir(parents=True, exist_ok=True)
    last = FINDINGS / "last-input"
    deadline, tried, outcomes = time.monotonic() + seconds, 0, {"read": 0, "refused": 0}
    while time.monotonic() < deadline:
        data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 64)))
        last.write_bytes(data)
        try:
            outcomes[read_damaged(data)] += 1
        except BaseException:
            kept = FINDINGS / f"finding-{data.hex()[:32]}"
            kept.write_bytes(data)
            print(f"finding after {tried} inputs, kept as {kept}", file=sys.stderr)
            raise
        tried += 1
    last.unlink(missing_ok=True)
    print(f"{tried} inputs in {seconds}s: {outcomes}; no finding", file=sys.stderr)
    return 0


def _structure(seconds: int, seed: int, *, with_atheris: bool) -> int:
    """Structure-aware edits (``structure.py``): random inputs, each call in a child with limits; or, under
    atheris, coverage-guided inputs with the calls in this process (libFuzzer catches crashes, hangs, memory)."""
    sys.path.insert(0, str(HERE.parent))  # tests/: builders, attack
    FINDINGS.mkdir(parents=True, exist_ok=True)

    def keep(data: bytes, wrong: list[str]) -> None:
        from fuzz import structure

        kept = FINDINGS / f"structure-{data.hex()[:32]}"
        kept.write_bytes(data)
        kept.with_suffix(".txt").write_text(structure.describe(data) + "\n" + "\n".join(wrong) + "\n")
        print(f"finding, kept as {kept}:\n  " + "\n  ".join(wrong), file=sys.stderr)

    if with_atheris:
        import atheris

        with atheris.instrument_imports(include=["hdmf_ai", "hdmf", "hdmf_zarr", "zarr", "h5py"]):
            from fuzz import structure
        structure.seed_files()

        def test_one_input(data: bytes) -> None:
            wrong = structure.wrong(data, isolated=False)
            if wrong:
                keep(data, wrong)
                raise AssertionError("; ".join(wrong))

        atheris.Setup(
            [
                sys.argv[0],
                f"-max_total_time={seconds}",
                "-timeout=60",
                "-rss_limit_mb=4096",
                "-max_len=64",
                f"-artifact_prefix={FINDINGS}/structure-",
                str(WORK_CORPUS.with_name("fuzz-corpus-structure")),
                str(HERE / "corpus-structure"),
            ],
            test_one_input,
        )
        (WORK_CORPUS.with_name("fuzz-corpus-structure")).mkdir(parents=True, exist_ok=True)
        atheris.Fuzz()
        return 0

    from fuzz import structure

    structure.seed_files()
    rng = random.Random(seed)
    deadline, tried, found = time.monotonic() + seconds, 0, 0
    while time.monotonic() < deadline:
        data = bytes(rng.getrandbits(8) for _ in range(rng.randint(2, 64)))
        wrong = structure.wrong(data)
        if wrong:
            keep(data, wrong)
            found += 1
        tried += 1
    print(f"structure-aware: {tried} inputs in {seconds}s (seed {seed}): {found} findings", file=sys.stderr)
    return 1 if found else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("FUZZ_SECONDS", "60")))
    parser.add_argument("--seed", type=int, default=int(time.time()))
    parser.add_argument("--random", action="store_true", help="random inputs even when atheris is installed")
    parser.add_argument("--structure", action="store_true", help="structure-aware edits (structure.py)")
    args, _ = parser.parse_known_args()
    sys.path.insert(0, str(HERE))
    if args.structure:
        coverage = importlib.util.find_spec("atheris") is not None and not args.random
        if coverage:
            sys.argv = sys.argv[:1]  # libFuzzer reads its own flags from argv
        else:
            print("structure-aware edits, random inputs (no atheris, or --random)", file=sys.stderr)
        return _structure(args.seconds, args.seed, with_atheris=coverage)
    try:
        import atheris  # noqa: F401
    except ImportError:
        print("atheris is not installed (pip install 'hdmf-ai[fuzz]'): random inputs instead", file=sys.stderr)
        return _random(args.seconds, args.seed)
    if args.random:
        return _random(args.seconds, args.seed)
    sys.argv = sys.argv[:1]  # libFuzzer reads its own flags from argv
    return _with_atheris(args.seconds)


if __name__ == "__main__":
    raise SystemExit(main())
