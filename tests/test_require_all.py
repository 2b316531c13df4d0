"""The rule that CI skips nothing (root ``conftest.py``), run on small suites of its own with pytester."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT_CONFTEST = (Path(__file__).parents[1] / "conftest.py").read_text()

SKIPPING_TESTS = """
import pytest

def test_needs_a_server():
    pytest.skip("the moto server cannot start here")

@pytest.mark.skipif(True, reason="needs an extra that is missing")
def test_marked():
    pass

def test_runs():
    assert True

@pytest.mark.xfail(reason="known", strict=True)
def test_expected_failure():
    assert False
"""

SKIPPING_MODULE = """
import pytest
pytest.importorskip("a_module_that_is_not_installed_anywhere", reason="the 'nothing' extra is missing")

def test_never_collected():
    pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    for variable in ("CI", "HDMF_AI_REQUIRE_ALL"):
        monkeypatch.delenv(variable, raising=False)
    pytester.makeconftest(ROOT_CONFTEST)
    pytester.makepyfile(test_skips=SKIPPING_TESTS, test_module_skip=SKIPPING_MODULE)
    return pytester


def test_locally_a_skip_is_a_skip_with_its_reason_in_the_summary(suite: pytest.Pytester) -> None:
    result = suite.runpytest("-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=3, xfailed=1)
    for reason in (
        "the moto server cannot start here",
        "needs an extra that is missing",
        "the 'nothing' extra is missing",
    ):
        result.stdout.fnmatch_lines([f"SKIPPED*{reason}*"])


@pytest.mark.parametrize(("variable", "value"), [("HDMF_AI_REQUIRE_ALL", "1"), ("CI", "true"), ("CI", "True")])
def test_where_everything_must_run_a_skip_fails_with_its_reason(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    result = suite.runpytest("-p", "no:cacheprovider", "test_skips.py")
    # a skip in the call fails the test; a skipif marker acts in the set-up, which pytest reports as an error
    result.assert_outcomes(passed=1, failed=1, errors=1, xfailed=1)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*every test must run*the moto server cannot start here*"])
    result.stdout.fnmatch_lines(["*every test must run*needs an extra that is missing*"])
    result.stdout.fnmatch_lines(["FAILED test_skips.py::test_needs_a_server*", "ERROR test_skips.py::test_marked*"])
    # a module skipped at import (importorskip) is a collection error, which stops the run
    result = suite.runpytest("-p", "no:cacheprovider", "test_module_skip.py")
    result.assert_outcomes(errors=1)
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*every test must run*the 'nothing' extra is missing*", "ERROR test_module_skip.py*"])


@pytest.mark.parametrize(("variable", "value"), [("HDMF_AI_REQUIRE_ALL", "0"), ("CI", "false"), ("CI", "")])
def test_other_values_of_the_variables_keep_skips(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    suite.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1, skipped=3, xfailed=1)


def test_ci_script_requires_every_test() -> None:
    script = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert "export HDMF_AI_REQUIRE_ALL=1" in script


@pytest.mark.parametrize(("variable", "value", "derandomized"), [("CI", "true", True), ("CI", "", False)])
def test_hypothesis_draws_fixed_examples_where_everything_must_run(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, derandomized: bool
) -> None:
    monkeypatch.setenv(variable, value)
    suite.makepyfile(
        test_profile=f"""
from hypothesis import settings

def test_profile():
    assert settings().derandomize is {derandomized}
    assert settings().print_blob
"""
    )
    suite.runpytest("-p", "no:cacheprovider", "test_profile.py").assert_outcomes(passed=1)
