"""Doctest set-up for README.md and the package's docstrings; the rules for CI: no skips, fixed examples.

In CI (``CI=true``) and whenever ``HDMF_AI_REQUIRE_ALL=1``, a test that would skip (its reference venv cannot
be built, its server cannot start, an optional extra is missing) fails instead, with the skip's reason: the
interoperability and remote tests are the only independent checks of the format, and a green run without them
says nothing. Locally they skip, and ``-ra`` prints the reason in the summary.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

pytest_plugins = ["pytester"]

REQUIRE_ALL_VARIABLE = "HDMF_AI_REQUIRE_ALL"


def skips_are_failures() -> bool:
    """True in CI (``CI=true``) or when ``HDMF_AI_REQUIRE_ALL=1``: every test must run."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1") or os.environ.get(REQUIRE_ALL_VARIABLE) == "1"


def _skip_reason(longrepr: Any) -> str:
    # a skip's longrepr is (path, line, "Skipped: reason")
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2])
    return str(longrepr)


def _fail_instead_of_skip(report: pytest.TestReport | pytest.CollectReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail") and skips_are_failures():
        reason = _skip_reason(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped where every test must run (CI=true or {REQUIRE_ALL_VARIABLE}=1): {reason}"


# Where every test must run, hypothesis draws the same examples every time (derandomize, no example database):
# a red CI run reproduces anywhere. Locally it explores new ones; either way a failure prints the
# ``@reproduce_failure`` blob that replays it.
_DEFAULT = settings.get_profile("default")  # not the current default, which a previous load may have changed
settings.register_profile("ci", parent=_DEFAULT, derandomize=True, database=None, print_blob=True)
settings.register_profile("local", parent=_DEFAULT, print_blob=True)
settings.load_profile("ci" if skips_are_failures() else "local")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    _fail_instead_of_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    # a module-level importorskip skips the whole module at collection
    outcome = yield
    _fail_instead_of_skip(outcome.get_result())


@pytest.fixture(autouse=True)
def _doctest_tmp_path(doctest_namespace: dict[str, Any], tmp_path: Path) -> None:
    doctest_namespace["tmp_path"] = tmp_path
