"""hdmf_ai.plot: every figure renders to a PNG and shows what the table holds (titles, labels, values)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hdmf.common import DynamicTable, VectorData

import hdmf_ai

matplotlib = pytest.importorskip("matplotlib", reason="matplotlib is the optional dependency under test")
matplotlib.use("Agg")
pytest.importorskip("pandas", reason="the figures are drawn from the analysis tables (pandas)")

from matplotlib.figure import Figure  # noqa: E402

from hdmf_ai import analysis, plot  # noqa: E402

N = 600
NAMES = ["ant", "bee", "cat", "dog"]
SITES = ["north", "south", "east"]


@pytest.fixture(scope="module")
def rt() -> hdmf_ai.ResultsTable:
    """Four classes in 2-D clusters; errors concentrated on site 'east' of the (permuted) source table."""
    rng = np.random.default_rng(0)
    source = DynamicTable(
        name="scans",
        description="one row per scan",
        columns=[
            VectorData(name="site", description="scanner site", data=rng.choice(SITES, N)),
            VectorData(name="age", description="subject age", data=rng.uniform(20, 80, N)),
        ],
    )
    rows = rng.permutation(N)
    site = np.asarray(source["site"].data)[rows]
    y = rng.integers(0, 4, N)
    logits = rng.normal(size=(N, 4))
    logits[np.arange(N), y] += np.where(site == "east", 0.5, 3.0)  # the model is unsure on site east
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    centres = np.array([[0, 0], [4, 0], [0, 4], [4, 4]])
    table = hdmf_ai.ResultsTable(name="scans_clf", description="a classifier of scans")
    table.add_samples(rows, table=source)
    table.add_tvt_split(rng.choice(3, N, p=[0.6, 0.2, 0.2]))
    table.add_true_label(np.array(NAMES)[y], classes=NAMES)
    table.add_predicted_probability(probs)
    table.add_predicted_class(probs.argmax(axis=1))
    plane = centres[y] + rng.normal(scale=0.8, size=(N, 2))
    table.add_embedding(np.hstack([plane, rng.normal(size=(N, 1))]))  # a third dimension the plot leaves out
    return table


def _render(fig: Figure, path: Path) -> np.ndarray:
    """Save as PNG and read the pixels back: the figure must have drawn something."""
    fig.savefig(path, dpi=60)
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and min(pixels.shape[:2]) > 100
    assert pixels[..., :3].std() > 0.05, "a blank image"
    return pixels


def test_confusion_matrix(rt: hdmf_ai.ResultsTable, tmp_path: Path) -> None:
    fig = plot.confusion_matrix(rt, split="test")
    _render(fig, tmp_path / "confusion.png")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == NAMES
    assert [t.get_text() for t in ax.get_yticklabels()] == NAMES
    counts = analysis.confusion_matrix(rt, split="test").to_numpy()
    assert sorted(int(t.get_text()) for t in ax.texts) == sorted(counts.ravel().tolist())
    assert f"n = {counts.sum()}" in ax.get_title()


def test_reliability_diagram(rt: hdmf_ai.ResultsTable, tmp_path: Path) -> None:
    fig = plot.reliability_diagram(rt, n_bins=8)
    _render(fig, tmp_path / "reliability.png")
    top, bottom = fig.axes
    ece = analysis.metrics(rt, by=None, n_bins=8).loc["all", "ece"]
    assert f"ECE = {ece:.3f}" in top.get_title()
    assert sum(p.get_height() for p in bottom.patches) == N


@pytest.mark.parametrize("color_by", ["true_label", "tvt_split", "correct", "site", "age"])
def test_embedding_scatter(rt: hdmf_ai.ResultsTable, tmp_path: Path, color_by: str) -> None:
    fig = plot.embedding(rt, color_by=color_by)
    _render(fig, tmp_path / f"embedding_{color_by}.png")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "embedding[0]"  # no viz_embedding: the first two dimensions of embedding
    drawn = sum(len(c.get_offsets()) for c in ax.collections)
    assert drawn == N
    if color_by == "age":  # a continuous covariate gets a colour scale, not a legend
        assert len(fig.axes) == 2 and ax.get_legend() is None
    else:
        labels = [t.get_text().split(" (")[0] for t in ax.get_legend().get_texts()]
        expected = {
            "true_label": NAMES,
            "tvt_split": ["train", "validate", "test"],
            "correct": ["correct", "wrong"],
            "site": sorted(SITES),
        }
        assert labels == expected[color_by]


def test_embedding_prefers_viz_embedding_and_thins_large_tables(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    table = hdmf_ai.ResultsTable(name="big")
    table.add_true_label(rng.integers(0, 3, 3000))
    table.add_embedding(rng.normal(size=(3000, 5)))
    table.add_viz_embedding(rng.normal(size=(3000, 2)))
    fig = plot.embedding(table, max_points=1000, split=None)
    _render(fig, tmp_path / "viz.png")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "viz_embedding[0]"
    assert sum(len(c.get_offsets()) for c in ax.collections) == 1000


def test_embedding_needs_two_dimensions() -> None:
    table = hdmf_ai.ResultsTable(name="flat")
    table.add_embedding(np.arange(5.0))
    with pytest.raises(ValueError, match="column 'embedding' has shape"):
        plot.embedding(table, color_by="embedding")


def test_error_rate_by_site_shows_the_planted_dependence(rt: hdmf_ai.ResultsTable, tmp_path: Path) -> None:
    fig = plot.error_rate(rt, by="site")
    _render(fig, tmp_path / "error_site.png")
    ax = fig.axes[0]
    result = analysis.error_breakdown(rt, "site")
    assert result.depends(0.01)
    assert "error depends on the group" in ax.get_title()
    points = ax.lines[0].get_ydata()
    np.testing.assert_allclose(points, result.groups["error_rate"])
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == list(result.groups.index)


def test_error_rate_of_a_binned_covariate(rt: hdmf_ai.ResultsTable, tmp_path: Path) -> None:
    result = analysis.error_breakdown(rt, "age", split="test", bins=5)
    fig = plot.error_rate(result)
    _render(fig, tmp_path / "error_age.png")
    assert len(fig.axes[0].get_xticklabels()) == 5
