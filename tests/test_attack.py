"""Issue 18's attack as a regression suite: every damage family (tests/attack/) on files of both backends and
both writers, every call a user makes in a child with time and memory limits. Each outcome must be our typed
error naming the file, or exactly what the pristine file gives; never other values, another exception, a hang,
a crash or a blow-up; and ``validate`` must call every file a user would see differently a problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from attack.core import applies, families, pristine_files, run_family, verdict

PRISTINE = ("hdf5/write", "hdf5/writer", "zarr/write", "zarr/writer")
CASES = [(f, p) for f in sorted(families()) for p in PRISTINE if applies(f, p)]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return pristine_files(tmp_path_factory.mktemp("pristine"))


@pytest.mark.parametrize(("family", "kind"), CASES)
def test_damage_is_refused_or_harmless_never_silent(
    pristine: dict[str, Path], tmp_path: Path, family: str, kind: str
) -> None:
    results = run_family(family, families()[family], kind, pristine[kind], tmp_path)
    wrong = {variant: problems for variant, outcomes in results if (problems := verdict(outcomes))}
    assert not wrong, "\n".join(f"{family} {variant}: {problems}" for variant, problems in wrong.items())


def test_every_family_is_defined_and_run() -> None:
    assert families(unfixed=True), "no damage family is defined"
    assert {f for f, _ in CASES} == set(families()) != set()
