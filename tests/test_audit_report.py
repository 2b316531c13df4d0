"""The audit's sections of ``hdmf-ai report``: suspicious slices, possible label errors joined to the source
table, and leakage of a subject column."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_audit_cli import N, _table

import hdmf_ai
from hdmf_ai.report import write_report

pd = pytest.importorskip("pandas", reason="the report's tables are pandas DataFrames")
pytest.importorskip("matplotlib", reason="the report draws figures (plot extra)")


@pytest.mark.parametrize("leak", [False, True])
def test_the_report_shows_slices_label_errors_and_leakage(tmp_path: Path, leak: bool) -> None:
    path = hdmf_ai.write(_table(leak=leak), tmp_path / "results.h5")
    index = write_report(path, tmp_path / "report")
    page = index.read_text(encoding="utf-8")
    assert "<h3>Suspicious slices, q &lt;= 0.05 (test)</h3>" in page and "<h3>Possible label errors (test)</h3>" in page
    assert (tmp_path / "report" / "scored_slices.png").stat().st_size > 0
    slices = pd.read_csv(tmp_path / "report" / "scored_slices.csv")
    assert slices.loc[0, "slice"] == "site = C" and "subject" not in " ".join(slices["slice"])
    errors = pd.read_csv(tmp_path / "report" / "scored_label_errors.csv")
    assert {"row", "source_row", "label", "suggested", "score", "subject", "site"} <= set(errors.columns)
    assert (errors["subject"] == errors["source_row"] // 5).all()  # joined to the right source rows
    assert 0 < len(errors) <= 50 and len(errors) < N
    leakage = tmp_path / "report" / "scored_leakage_tvt_split.csv"
    assert leakage.exists() == leak
    if leak:
        assert sorted(pd.read_csv(leakage)["subject"]) == [0, 1, 2]
        assert "leakage: &#x27;subject&#x27; values found on both sides" in page
    else:
        assert "no &#x27;subject&#x27; in more than one split" in page
