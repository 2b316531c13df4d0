"""What a model relies on, and whether that is a nuisance variable: summaries of a FeatureAttribution column.

:func:`attribution_summary` gives each feature's mean absolute attribution (its *reliance*), overall and per
group of any column (e.g. the acquisition ``site`` of the source table, reached through ``samples``), with
seeded bootstrap percentile intervals. :func:`nuisance_features` asks the question behind the ``samples`` link:
which features does the model rely on *and* predict the nuisance variable? Each feature's values (from the
source table, by the feature names, or given) are tested for association with the nuisance column by the
Kruskal-Wallis H test (ranks, so any monotone scale of the feature gives the same answer; a numeric nuisance is
cut at its quantiles), p-values adjusted by Benjamini-Hochberg over the features; features are ranked by
reliance share x association (epsilon squared, the share of rank variance the nuisance explains).

Example
-------
>>> import numpy as np, hdmf_ai
>>> from hdmf_ai import analysis
>>> rt = hdmf_ai.ResultsTable(name="toy")
>>> _ = rt.add_feature_attribution([[1.0, -0.1], [-3.0, 0.1], [2.0, 0.0]], method="saliency",
...                                output="predicted_value", feature_names=["a", "b"])
>>> analysis.attribution_summary(rt, n_boot=0)[["feature", "mean_abs"]]
  feature  mean_abs
0       a  2.000000
1       b  0.066667
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from hdmf.common import DynamicTable
from numpy.typing import ArrayLike

from .._tableview import TableView
from ..columns import FeatureAttribution
from ..errors import ColumnError
from .grouping import groups, require_pandas, selection
from .slices import benjamini_hochberg
from .stats import average_ranks, chi2_sf

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["attribution_column", "attribution_summary", "kruskal_wallis", "nuisance_features"]

# rows of bootstrap weights drawn at once: bounds memory at BATCH x n_rows integers
_BATCH = 64


def attribution_column(table: DynamicTable, column: str | None = None) -> FeatureAttribution:
    """The FeatureAttribution column named ``column``, or the table's only one."""
    found = [c for c in table.columns if isinstance(c, FeatureAttribution)]
    if column is not None:
        chosen = next((c for c in found if c.name == column), None)
        if chosen is None:
            raise ColumnError(column, f"a FeatureAttribution column of table '{table.name}'",
                              f"attribution columns {[c.name for c in found]}")  # fmt: skip
        return chosen
    if len(found) != 1:
        expected = "exactly one FeatureAttribution column, or column=<name>"
        raise ColumnError("feature_attribution", expected, f"attribution columns {[c.name for c in found]}")
    return found[0]


def _feature_names(col: FeatureAttribution, n_features: int, feature_shape: tuple[int, ...]) -> list[str]:
    if col.feature_names is not None:
        return [str(n) for n in col.feature_names]
    if len(feature_shape) == 1:
        return [f"feature {i}" for i in range(n_features)]
    return [str(index) for index in np.ndindex(*feature_shape)]


def _reliance(view: TableView, col: FeatureAttribution) -> tuple[np.ndarray, list[str]]:
    """Absolute attribution per selected row and feature (averaged over outputs), and the feature names."""
    values = np.abs(np.asarray(view.values(col.name), dtype=np.float64))
    if col.output in ("each_class", "each_output"):
        values = values.mean(axis=-1)
    feature_shape = tuple(values.shape[1:])
    flat = values.reshape(len(values), -1)
    return flat, _feature_names(col, flat.shape[1], feature_shape)


def _bootstrap(values: np.ndarray, n_boot: int, confidence: float, rng: np.random.Generator) -> np.ndarray:
    """Percentile interval of the column means, from ``n_boot`` resamples of the rows: shape (2, features)."""
    n = len(values)
    if n_boot <= 0 or n < 2:
        return np.full((2, values.shape[1]), math.nan)
    means = np.empty((n_boot, values.shape[1]))
    for start in range(0, n_boot, _BATCH):
        stop = min(start + _BATCH, n_boot)
        weights = rng.multinomial(n, np.full(n, 1 / n), size=stop - start)
        means[start:stop] = weights @ values / n
    alpha = (1 - confidence) / 2
    return np.quantile(means, [alpha, 1 - alpha], axis=0)


def attribution_summary(
    table: DynamicTable,
    by: str | None = None,
    *,
    column: str | None = None,
    split: str | int | None = None,
    fold: int | None = None,
    bins: int | None = 4,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    source: DynamicTable | None = None,
) -> pd.DataFrame:
    """Mean absolute attribution of each feature, overall and per group of ``by``, with bootstrap intervals.

    Parameters
    ----------
    table
        A ResultsTable with a FeatureAttribution column.
    by
        A column of the results or source table to group rows by (e.g. ``'site'``); None: all rows.
    column
        The attribution column; default the table's only one.
    split, fold
        Restrict to one train/validate/test split and/or one cross-validation fold.
    bins
        A numeric ``by`` with many values is cut into this many quantile bins.
    n_boot, confidence, seed
        Bootstrap resamples of the rows (0: no intervals), the interval's level, the generator's seed.

    Returns
    -------
    One row per (group, feature): ``group`` ('all' for every selected row), ``feature``, ``mean_abs``,
    ``share`` (of the group's total), ``ci_low``, ``ci_high``, ``n``; features ordered by overall reliance.
    """
    pd = require_pandas("attribution_summary")
    view = TableView(table, source=source)
    col = attribution_column(table, column)
    within = selection(view, split, fold)
    values, names = _reliance(view, col)
    rng = np.random.default_rng(seed)
    parts: list[tuple[Any, np.ndarray]] = [("all", within)]
    if by is not None:
        parts += [(label, mask & within) for label, mask in groups(view, by, bins).masks()]
    order = np.argsort(-values[within].mean(axis=0), kind="stable") if within.any() else np.arange(len(names))
    frames = []
    for label, mask in parts:
        rows = values[mask]
        if not len(rows):
            continue
        mean = rows.mean(axis=0)
        low, high = _bootstrap(rows, n_boot, confidence, rng)
        total = mean.sum()
        frames.append(
            pd.DataFrame(
                {
                    "group": label,
                    "feature": [names[i] for i in order],
                    "mean_abs": mean[order],
                    "share": mean[order] / total if total > 0 else np.zeros(len(order)),
                    "ci_low": low[order],
                    "ci_high": high[order],
                    "n": len(rows),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    return out if by is not None else out.drop(columns="group")


def kruskal_wallis(values: ArrayLike, codes: ArrayLike) -> tuple[float, int, float, float]:
    """The Kruskal-Wallis H test of ``values`` across the groups ``codes`` (tie-corrected, as scipy's
    ``kruskal``): H, degrees of freedom, p-value (chi-square approximation), and epsilon squared H / (n - 1)."""
    x = np.asarray(values, dtype=np.float64)
    g = np.asarray(codes).reshape(-1)
    _, g = np.unique(g, return_inverse=True)
    k, n = int(g.max()) + 1 if g.size else 0, x.size
    if k < 2 or n < 3:
        return math.nan, max(k - 1, 0), math.nan, math.nan
    ranks, ties = average_ranks(x)
    sums = np.bincount(g, weights=ranks, minlength=k)
    counts = np.bincount(g, minlength=k).astype(np.float64)
    h = 12.0 / (n * (n + 1)) * float(np.sum(sums**2 / counts)) - 3.0 * (n + 1)
    correction = 1.0 - ties / (n**3 - n)
    if correction <= 0:  # every value the same: nothing can differ between groups
        return 0.0, k - 1, 1.0, 0.0
    h /= correction
    return h, k - 1, chi2_sf(h, k - 1), h / (n - 1)


def _feature_values(
    view: TableView, names: list[str], features: Any, n_rows: int, within: np.ndarray
) -> dict[str, np.ndarray]:
    """Each named feature's value per selected row: given (an array with a column per feature, or a mapping /
    DataFrame by name), else the source table's column of that name (through ``samples``)."""
    if features is None:
        return {name: np.asarray(view.lookup(name))[within] for name in names}
    if isinstance(features, Mapping) or hasattr(features, "columns"):
        return {name: np.asarray(features[name])[within] for name in names if name in features}
    arr = np.asarray(features)
    if arr.ndim != 2 or arr.shape != (n_rows, len(names)):
        raise ColumnError("features", f"an array of shape ({n_rows}, {len(names)}), one column per feature",
                          f"shape {arr.shape}")  # fmt: skip
    return {name: arr[within, i] for i, name in enumerate(names)}


def nuisance_features(
    table: DynamicTable,
    by: str = "site",
    *,
    features: Any = None,
    column: str | None = None,
    split: str | int | None = None,
    fold: int | None = None,
    bins: int | None = 4,
    alpha: float = 0.05,
    source: DynamicTable | None = None,
) -> pd.DataFrame:
    """Features the model relies on that also predict the nuisance column ``by``, most suspicious first.

    Parameters
    ----------
    table
        A ResultsTable with a FeatureAttribution column and, unless ``features`` is given, a ``samples`` link
        to a source table holding a column per feature name.
    by
        The nuisance column (results or source table), e.g. ``'site'``, ``'scanner'``, ``'session'``.
    features
        The feature values, when they are not source-table columns: an array ``(n_rows, n_features)`` in the
        order of the attributions, or a mapping / DataFrame by feature name.
    column, split, fold, bins
        As for :func:`attribution_summary`.
    alpha
        The false-discovery rate at which ``flagged`` is set.

    Returns
    -------
    One row per feature, ranked by ``score``: ``feature``, ``reliance`` (mean absolute attribution), ``reliance_share``,
    ``reliance_rank``, ``association`` (Kruskal-Wallis epsilon squared of the feature's values across the
    groups of ``by``), ``statistic`` (H), ``dof``, ``p_value``, ``p_adjusted`` (Benjamini-Hochberg),
    ``score`` = reliance_share x association, and ``flagged``: p_adjusted < alpha and a reliance share at
    least that of an even split (1 / number of features).
    """
    pd = require_pandas("nuisance_features")
    view = TableView(table, source=source)
    col = attribution_column(table, column)
    tabular_rank = 3 if col.output in ("each_class", "each_output") else 2
    if len(view.shape(col.name)) != tabular_rank:
        raise ColumnError(col.name, "tabular attributions (one feature axis)", f"shape {view.shape(col.name)}")
    within = selection(view, split, fold)
    values, names = _reliance(view, col)
    reliance = values[within].mean(axis=0)
    share = reliance / reliance.sum() if reliance.sum() > 0 else np.zeros_like(reliance)
    codes = groups(view, by, bins).codes[within]
    feature_values = _feature_values(view, names, features, len(view), within)
    rows = []
    for i, name in enumerate(names):
        if name not in feature_values:
            continue
        x = np.asarray(feature_values[name])
        if x.dtype.kind not in "biuf":  # a categorical feature: ranks of its codes
            x = np.unique(x.astype(str), return_inverse=True)[1]
        h, dof, p, effect = kruskal_wallis(x.astype(np.float64), codes)
        rows.append((name, reliance[i], share[i], h, dof, p, effect))
    if not rows:
        raise ColumnError("features", "values for the attributed features (source-table columns or given)",
                          f"none of {names[:5]}")  # fmt: skip
    frame = pd.DataFrame(rows, columns=["feature", "reliance", "reliance_share", "statistic", "dof", "p_value",
                                        "association"])  # fmt: skip
    frame["reliance_rank"] = frame["reliance"].rank(ascending=False, method="min").astype(int)
    frame["p_adjusted"] = benjamini_hochberg(frame["p_value"].fillna(1.0).to_numpy())
    frame["score"] = frame["reliance_share"] * frame["association"].fillna(0.0)
    frame["flagged"] = (frame["p_adjusted"] < alpha) & (frame["reliance_share"] >= 1 / len(names))
    columns = ["feature", "reliance", "reliance_share", "reliance_rank", "association", "statistic", "dof",
               "p_value", "p_adjusted", "score", "flagged"]  # fmt: skip
    frame = frame[columns].sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    frame.attrs["by"] = by
    return frame
