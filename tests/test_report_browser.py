"""The HTML report as a person sees it: rendered by headless Chromium at 1280 px wide, every figure loads,
nothing but the tables' own scrolling boxes is wider than the window, and the page leads with the summary,
then the figures, then the long tables, with provenance and storage last. Screenshots are kept (see the test's
``tmp_path``) for a person to look at."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from builders import full_table

import hdmf_ai
from hdmf_ai.report import write_report

pytest.importorskip("matplotlib", reason="the report's figures need matplotlib (pip install 'hdmf-ai[plot]')")

WIDTH = 1280

# run after the page and its images have loaded: what failed to load, and what sticks out of the window
_CHECK = """
<script>
window.addEventListener("load", () => {
  const width = window.innerWidth;
  const broken = [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.getAttribute("src"));
  const wide = [...document.querySelectorAll("body *")]
    .filter(el => el.getBoundingClientRect().right > width + 1 && !el.parentElement.closest(".scroll"))
    .map(el => el.tagName.toLowerCase() + (el.className ? "." + el.className : ""));
  document.body.setAttribute("data-check", JSON.stringify({
    width: width, images: document.images.length, broken: broken, wide: wide.slice(0, 10),
    page: document.documentElement.scrollWidth,
  }));
});
</script>
"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("HDMF_AI_CI"):
            pytest.fail("headless Chromium is missing in CI: .ci/run installs Debian's chromium package")
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium); the report is not rendered")
    return found


def browse(page: Path, *args: str) -> str:
    done = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         f"--window-size={WIDTH},1000", "--virtual-time-budget=10000", *args, page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    results = hdmf_ai.write(full_table(120), folder / "results.h5")
    return write_report(results, folder / "report", by=["site"])


def rendered(index: Path) -> dict[str, Any]:
    checked = index.with_name("checked.html")
    checked.write_text(index.read_text(encoding="utf-8").replace("</body>", _CHECK + "</body>"), encoding="utf-8")
    dom = browse(checked, "--dump-dom")
    found = re.search(r'data-check="([^"]*)"', dom)
    assert found, "the check did not run: " + dom[-500:]
    result: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return result


def test_every_figure_loads_and_nothing_overflows_the_window(report: Path) -> None:
    result = rendered(report)
    assert result["width"] == WIDTH
    assert result["images"] >= 3, "the report shows its figures"
    assert result["broken"] == []
    assert result["wide"] == [], "wide tables scroll inside their own box"
    assert result["page"] <= WIDTH
    for height in (1000, 4000):
        shot = report.with_name(f"screenshot-{height}.png")
        browse(report, f"--window-size={WIDTH},{height}", f"--screenshot={shot}")
        assert shot.stat().st_size > 10_000, "a screenshot with something on it"


def test_the_page_leads_with_the_summary_then_figures_then_tables_then_storage(report: Path) -> None:
    page = report.read_text(encoding="utf-8")
    headings = re.findall(r"<h3>(.*?)</h3>", page)
    assert headings[0] == "Summary" and headings[1] == "Figures"
    assert headings[-1] == "Provenance and storage"
    first_table = page.index("<h3>Metrics per split</h3>")
    assert page.index("<img ") < first_table, "figures come before the long tables"
    assert page.index('<div class="scroll"><table') < page.index("<img "), "the summary table leads"
    assert "<details><summary>show " in page, "long tables are collapsed"
