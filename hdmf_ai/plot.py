"""Figures of a ResultsTable (``pip install 'hdmf-ai[plot]'``).

:func:`confusion_matrix`, :func:`reliability_diagram`, :func:`embedding` (a 2-D scatter coloured by label,
split, correctness or any column) and :func:`error_rate` (per group, with confidence intervals, from
:func:`hdmf_ai.analysis.error_breakdown`), :func:`attribution_summary` (each feature's mean absolute attribution
with its interval) and :func:`attribution_by_group` (the same per group, e.g.
per site). Each returns a :class:`matplotlib.figure.Figure`, made without
pyplot: no window opens and no global state changes, whatever the backend. Save one with
``fig.savefig("cm.png")``; Jupyter displays a returned Figure by itself.

Example (``rt`` a ResultsTable with a source table that has a ``site`` column; README.md has a full one)::

    from hdmf_ai import plot
    plot.confusion_matrix(rt, split="test").savefig("cm.png")
    plot.error_rate(rt, by="site", split="test").savefig("site.png")
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from hdmf.common import DynamicTable

from . import analysis
from ._tableview import TableView, require
from .analysis.grouping import selection

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "attribution_by_group",
    "attribution_summary",
    "confusion_matrix",
    "embedding",
    "error_rate",
    "reliability_diagram",
    "slices",
]

# more categories than this are unreadable as a legend or as annotated cells
MAX_LEGEND = 20
MAX_ANNOTATED = 30
CORRECT_COLORS = {"correct": "#9e9e9e", "wrong": "#d62728"}


def _figure(figsize: tuple[float, float]) -> Figure:
    require("matplotlib", "plot", "hdmf_ai.plot")
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def _where(split: str | int | None, fold: int | None) -> str:
    parts = [] if split is None else [f"{split} split" if isinstance(split, str) else f"split {split}"]
    parts += [] if fold is None else [f"fold {fold}"]
    return ", ".join(parts) or "all rows"


def confusion_matrix(
    table: DynamicTable,
    *,
    split: str | int | None = None,
    fold: int | None = None,
    normalize: bool = True,
    title: str | None = None,
) -> Figure:
    """True (rows) against predicted (columns) classes, named by the label enum.

    Cells are shaded by the fraction of their true class (``normalize=False``: by count) and annotated with
    counts when there are at most 30 classes.
    """
    counts = analysis.confusion_matrix(table, split=split, fold=fold)
    values = counts.to_numpy()
    shade = (
        analysis.confusion_matrix(table, split=split, fold=fold, normalize="true").to_numpy() if normalize else values
    )
    size = min(4 + 0.45 * len(counts), 16)
    fig = _figure((size + 1.2, size))
    ax = fig.add_subplot()
    image = ax.imshow(shade, cmap="Blues", vmin=0, vmax=1 if normalize else max(values.max(), 1))
    fig.colorbar(image, ax=ax, shrink=0.8, label="fraction of the true class" if normalize else "samples")
    names = [str(n) for n in counts.index]
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if len(names) <= MAX_ANNOTATED:
        dark = shade > (0.5 if normalize else values.max() / 2)
        for (i, j), count in np.ndenumerate(values):
            # zeros in grey, so that the confusions stand out
            color = "white" if dark[i, j] else ("black" if count else "#b0b0b0")
            ax.text(j, i, f"{count}", ha="center", va="center", fontsize=8, color=color)
    ax.set_title(title or f"Confusion matrix: {_where(split, fold)} (n = {values.sum()})")
    return fig


def reliability_diagram(
    table: DynamicTable,
    *,
    split: str | int | None = None,
    fold: int | None = None,
    n_bins: int = 10,
    title: str | None = None,
) -> Figure:
    """Accuracy against confidence (top probability) per bin, with the diagonal of perfect calibration and
    the number of samples per bin below; the expected calibration error (ECE) in the title."""
    bins = analysis.reliability_curve(table, split=split, fold=fold, n_bins=n_bins)
    count = bins["count"].to_numpy()
    ece = float(np.nansum(np.abs(bins["accuracy"] - bins["confidence"]) * count) / max(count.sum(), 1))
    fig = _figure((5.5, 6))
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    centre, width = ((bins["lower"] + bins["upper"]) / 2).to_numpy(), (bins["upper"] - bins["lower"]).to_numpy()
    accuracy, confidence = bins["accuracy"].to_numpy(), bins["confidence"].to_numpy()
    used = count > 0
    top.bar(centre[used], accuracy[used], width=width[used], color="#4c72b0", edgecolor="white", label="accuracy")
    # the gap between what the model claimed (mean confidence) and what it achieved: ECE weighs these
    gap_low = np.minimum(accuracy, confidence)[used]
    top.bar(
        centre[used],
        np.abs(accuracy - confidence)[used],
        bottom=gap_low,
        width=width[used],
        color="#d62728",
        alpha=0.35,
        edgecolor="#d62728",
        hatch="//",
        label="gap to mean confidence",
    )
    top.plot([0, 1], [0, 1], "--", color="black", linewidth=1, label="perfect calibration")
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.legend(loc="upper left", fontsize=8)
    top.set_title(title or f"Reliability: {_where(split, fold)} (ECE = {ece:.3f}, n = {count.sum()})")
    bars = bottom.bar(centre, count, width=width, color="#8c8c8c", edgecolor="white")
    bottom.bar_label(bars, labels=[str(c) if c else "" for c in count], fontsize=7, padding=1)
    bottom.set_ylim(0, count.max() * 1.3 if count.max() else 1)
    bottom.set_xlim(0, 1)
    bottom.set_xlabel("confidence (probability of the predicted class)")
    bottom.set_ylabel("samples")
    return fig


def _coordinates(view: TableView) -> tuple[np.ndarray, str]:
    name = "viz_embedding" if view.has("viz_embedding") else "embedding"
    if not view.has(name):
        raise KeyError(f"table '{view.table.name}' has neither 'viz_embedding' nor 'embedding' to plot")
    values = view.values(name)
    if values.ndim != 2 or values.shape[1] < 2:
        raise ValueError(f"column '{name}' has shape {values.shape}; a scatter needs at least 2 dimensions")
    return values[:, :2].astype(np.float64), name


def _color_values(view: TableView, color_by: str) -> tuple[np.ndarray, list[Any] | None]:
    """Per-row values to colour by, and their categories in order (None for a continuous column)."""
    if color_by == "correct":
        wrong = view.predictions() != view.labels()
        return np.where(wrong, "wrong", "correct"), ["correct", "wrong"]
    if color_by in ("true_label", "predicted_class") and view.has(color_by):
        codes = view.labels() if color_by == "true_label" else view.predictions()
        names = np.asarray(view.class_names(), dtype=object)
        return names[codes], [n for i, n in enumerate(names) if (codes == i).any()]
    values = view.lookup(color_by)
    order = view.categories(color_by)
    present = list(np.unique(values.astype(str) if values.dtype.kind in "OUS" else values))
    if values.dtype.kind == "f" and len(present) > MAX_LEGEND:
        return values, None
    if order is not None:
        present = [c for c in order if c in set(present)]
    return values, present


def embedding(
    table: DynamicTable,
    *,
    color_by: str = "true_label",
    split: str | int | None = None,
    source: DynamicTable | None = None,
    max_points: int = 20_000,
    seed: int = 0,
    title: str | None = None,
) -> Figure:
    """The samples in 2-D (``viz_embedding``, else the first two dimensions of ``embedding``), coloured.

    Parameters
    ----------
    color_by
        ``"true_label"``, ``"predicted_class"``, ``"tvt_split"``, ``"cluster_label"``, ``"correct"`` (wrong
        predictions in red, drawn on top), or any column of the table or its source table (numbers with more
        than 20 values get a colour scale).
    split
        Only the samples of one split.
    max_points
        Larger tables are thinned to a random subset of this size (seeded by ``seed``) for legibility.
    """
    view = TableView(table, source=source)
    xy, name = _coordinates(view)
    values, categories = _color_values(view, color_by)
    keep = selection(view, split, None)
    rows = np.flatnonzero(keep)
    if len(rows) > max_points:
        rows = np.sort(np.random.default_rng(seed).choice(rows, max_points, replace=False))
    fig = _figure((6.5, 5.5))
    ax = fig.add_subplot()
    size = float(np.clip(10_000 / max(len(rows), 1), 4, 36))
    if categories is None:
        points = ax.scatter(xy[rows, 0], xy[rows, 1], c=values[rows].astype(np.float64), s=size, cmap="viridis")
        fig.colorbar(points, ax=ax, label=color_by)
    else:
        _scatter_groups(ax, xy[rows], values[rows], categories, color_by, size)
    ax.set_xlabel(f"{name}[0]")
    ax.set_ylabel(f"{name}[1]")
    ax.set_title(title or f"{name} coloured by {color_by}: {_where(split, None)} (n = {len(rows)})")
    return fig


def _scatter_groups(
    ax: Axes, xy: np.ndarray, values: np.ndarray, categories: list[Any], label: str, size: float
) -> None:
    from matplotlib import colormaps

    palette = colormaps["tab10" if len(categories) <= 10 else "tab20"]
    text = values.astype(str) if values.dtype.kind in "OUS" else values
    for i, category in enumerate(categories):
        mask = text == category
        style: dict[str, Any] = {"color": palette(i % palette.N), "s": size, "alpha": 0.8, "linewidths": 0}
        if label == "correct":  # the few wrong samples must stand out from the many right ones
            wrong = category == "wrong"
            style.update(color=CORRECT_COLORS[str(category)], s=size * (4 if wrong else 1), zorder=3 if wrong else 2)
            style.update(edgecolors="black" if wrong else "none", linewidths=0.4 if wrong else 0)
        ax.scatter(xy[mask, 0], xy[mask, 1], label=f"{category} ({mask.sum()})", **style)
    if len(categories) <= MAX_LEGEND:
        ax.legend(title=label, fontsize=8, markerscale=max(1.0, 20 / size) ** 0.5, loc="best", framealpha=0.8)


def error_rate(
    table_or_breakdown: DynamicTable | analysis.ErrorBreakdown,
    by: str = "site",
    *,
    title: str | None = None,
    **breakdown: Any,
) -> Figure:
    """The error rate of each group with its confidence interval, the overall rate, and the test's verdict.

    Pass an :class:`~hdmf_ai.analysis.ErrorBreakdown`, or a table and the arguments of
    :func:`~hdmf_ai.analysis.error_breakdown` (``by``, ``split``, ``source``, ``bins``, ...).
    """
    result = (
        table_or_breakdown
        if isinstance(table_or_breakdown, analysis.ErrorBreakdown)
        else analysis.error_breakdown(table_or_breakdown, by, **breakdown)
    )
    groups = result.groups
    fig = _figure((max(5.5, 1 + 0.75 * len(groups)), 4.8))
    ax = fig.add_subplot()
    x = np.arange(len(groups))
    rate = groups["error_rate"].to_numpy()
    spread = np.vstack([rate - groups["ci_low"].to_numpy(), groups["ci_high"].to_numpy() - rate])
    ax.errorbar(x, rate, yerr=spread, fmt="o", color="#d62728", ecolor="#555555", capsize=5, markersize=7)
    ax.axhline(
        result.error_rate, linestyle="--", color="#4c72b0", linewidth=1, label=f"overall {result.error_rate:.3f}"
    )
    labels = [f"{g}\nn = {n}" for g, n in zip(groups.index, groups["count"], strict=True)]
    upright = len(groups) <= 12 and max(len(str(g)) for g in groups.index) <= 10
    ax.set_xticks(x, labels, rotation=0 if upright else 45, ha="center" if upright else "right")
    ax.set_xlim(-0.5, len(groups) - 0.5)
    ax.set_ylim(0, min(1.0, float(np.nanmax(groups["ci_high"])) * 1.15 + 0.02))
    ax.set_xlabel(result.by)
    ax.set_ylabel(f"error rate ({result.confidence:.0%} Wilson interval)")
    ax.legend(loc="upper right", fontsize=8)
    verdict = "error depends on the group" if result.depends() else "no evidence that error depends on the group"
    test = f"{result.test}{', approximate' if result.approximate else ''}, p = {result.p_value:.2g}"
    # the test on a line of its own: beside the verdict it ran past the edge of a narrow figure
    ax.set_title(title or f"Error rate by {result.by}\n{verdict}\n({test})", fontsize=10)
    return fig


def slices(
    table_or_slices: DynamicTable | pd.DataFrame, *, top: int = 15, title: str | None = None, **find: Any
) -> Figure:
    """The ``top`` slices of :func:`~hdmf_ai.analysis.find_slices`, most significant at the top: each one's
    error rate (or mean absolute error) with its interval, the rest's rate as a grey cross, significant slices
    (q <= alpha) in red.

    Pass the frame ``find_slices`` returned, or a table and its arguments (``by``, ``split``, ``max_order``...).
    """
    is_table = isinstance(table_or_slices, DynamicTable)
    frame = analysis.find_slices(table_or_slices, **find) if is_table else table_or_slices
    shown = frame.head(top)
    fig = _figure((7.5, max(3.0, 1.2 + 0.4 * len(shown))))
    ax = fig.add_subplot()
    y = np.arange(len(shown))[::-1]
    rate = shown["error_rate"].to_numpy()
    spread = np.vstack([rate - shown["ci_low"].to_numpy(), shown["ci_high"].to_numpy() - rate])
    colours = np.where(shown["significant"].to_numpy(), "#d62728", "#4c72b0")
    for yi, r, low, high, colour in zip(y, rate, spread[0], spread[1], colours, strict=True):
        ax.errorbar(r, yi, xerr=[[low], [high]], fmt="o", color=colour, ecolor="#555555", capsize=4, markersize=6)
    ax.plot(shown["rest_rate"].to_numpy(), y, "x", color="#888888", label="rest of the rows")
    ax.set_yticks(y, [f"{s}  (n = {n})" for s, n in zip(shown["slice"], shown["size"], strict=True)], fontsize=8)
    measure = "error rate" if "errors" in frame else "mean absolute error"
    ax.set_xlabel(f"{measure} with interval; red: q <= alpha")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or f"Slices, most significant first ({len(frame)} tested)", fontsize=10)
    return fig


def attribution_summary(
    table_or_summary: DynamicTable | pd.DataFrame, *, top: int = 20, title: str | None = None, **summary: Any
) -> Figure:
    """The ``top`` features by mean absolute attribution, with bootstrap intervals, most relied on at the top.

    Pass the frame :func:`~hdmf_ai.analysis.attribution_summary` returned (without ``by``), or a table and its
    arguments (``column``, ``split``, ``n_boot``, ``seed``...).
    """
    is_table = isinstance(table_or_summary, DynamicTable)
    frame = analysis.attribution_summary(table_or_summary, **summary) if is_table else table_or_summary
    if "group" in frame:
        frame = frame[frame["group"] == "all"]
    shown = frame.head(top)
    fig = _figure((7.0, max(2.5, 1.0 + 0.35 * len(shown))))
    ax = fig.add_subplot()
    y = np.arange(len(shown))[::-1]
    mean = shown["mean_abs"].to_numpy()
    ax.barh(y, mean, color="#4c72b0")
    if shown["ci_low"].notna().all():
        spread = np.vstack([mean - shown["ci_low"].to_numpy(), shown["ci_high"].to_numpy() - mean])
        ax.errorbar(mean, y, xerr=spread, fmt="none", ecolor="#333333", capsize=3)
    ax.set_yticks(y, [str(f) for f in shown["feature"]], fontsize=8)
    ax.set_xlabel("mean |attribution| (bootstrap interval)")
    ax.set_title(title or f"What the model relies on (n = {int(shown['n'].iloc[0]) if len(shown) else 0})", fontsize=10)
    return fig


def attribution_by_group(
    table_or_summary: DynamicTable | pd.DataFrame,
    by: str = "site",
    *,
    top: int = 8,
    title: str | None = None,
    **summary: Any,
) -> Figure:
    """Mean absolute attribution of the ``top`` features (by overall reliance) in each group of ``by``, side by
    side with intervals: a feature relied on in one site and not another stands out.

    Pass the frame :func:`~hdmf_ai.analysis.attribution_summary` returned with ``by``, or a table and its
    arguments.
    """
    is_table = isinstance(table_or_summary, DynamicTable)
    frame = analysis.attribution_summary(table_or_summary, by, **summary) if is_table else table_or_summary
    features = list(dict.fromkeys(frame["feature"]))[:top]
    group_labels = [g for g in dict.fromkeys(frame["group"]) if g != "all"]
    fig = _figure((max(6.0, 1.5 + 0.9 * len(features)), 4.5))
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(group_labels))
    x = np.arange(len(features))
    for i, label in enumerate(group_labels):
        part = frame[frame["group"] == label].set_index("feature").reindex(features)
        mean = part["mean_abs"].to_numpy()
        offset = x - 0.4 + width * (i + 0.5)
        ax.bar(offset, mean, width=width, label=str(label))
        if part["ci_low"].notna().all():
            spread = np.vstack([mean - part["ci_low"].to_numpy(), part["ci_high"].to_numpy() - mean])
            ax.errorbar(offset, mean, yerr=spread, fmt="none", ecolor="#333333", capsize=2)
    ax.set_xticks(x, [str(f) for f in features], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("mean |attribution|")
    ax.legend(title=by, fontsize=8, title_fontsize=8, ncols=min(4, max(1, len(group_labels))))
    ax.set_title(title or f"Reliance on each feature by {by}", fontsize=10)
    return fig
