"""The nuisance-variable question: does the error rate depend on the site, scanner or session of the sample
(a column of the source table reached through ``samples``, or of the results table)? :func:`error_breakdown`
answers it with an :class:`ErrorBreakdown`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from hdmf.common import DynamicTable
from numpy.typing import ArrayLike

from .._tableview import TableView
from ..errors import ColumnError
from .grouping import groups, require_pandas, selection
from .scores import divide
from .stats import chi_square, fisher_exact, wilson_interval

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ErrorBreakdown", "error_breakdown"]

# Cochran's rule: the chi-square approximation needs expected counts of about 5 or more
MIN_EXPECTED = 5.0


@dataclass(frozen=True)
class ErrorBreakdown:
    """Error rates per group of a column, and whether error depends on the group.

    Attributes
    ----------
    by
        The column the rows were grouped by.
    groups
        One row per group: ``count``, ``errors``, ``error_rate``, ``ci_low``, ``ci_high`` (Wilson interval
        at ``confidence``).
    test
        ``"chi-square"`` (Pearson, no continuity correction), ``"fisher-exact"`` (two groups with an expected
        count below 5), or ``"none"`` when nothing can vary (one group, no errors, or no correct samples).
    statistic, dof
        The chi-square statistic and its degrees of freedom (reported for the exact test too).
    p_value
        The test's p-value: small when the error rate differs between groups more than chance allows.
    cramers_v
        Effect size in [0, 1]: sqrt(statistic / n) for this 2 x groups table.
    approximate
        The chi-square approximation was used with an expected count below 5 (more than two groups).
    bin_edges
        The quantile edges, when a numeric column was binned.
    """

    by: str
    groups: pd.DataFrame
    test: str
    statistic: float
    dof: int
    p_value: float
    cramers_v: float
    confidence: float
    approximate: bool = False
    bin_edges: tuple[float, ...] | None = None

    @property
    def n(self) -> int:
        return int(self.groups["count"].sum())

    @property
    def error_rate(self) -> float:
        return float(self.groups["errors"].sum() / self.n) if self.n else math.nan

    def depends(self, alpha: float = 0.05) -> bool:
        """Whether the test rejects "error is independent of the group" at level ``alpha``."""
        return self.p_value < alpha

    def summary(self) -> str:
        """One line: the verdict and the test behind it."""
        verdict = "depends on" if self.depends() else "shows no dependence on"
        detail = f"{self.test}, statistic {self.statistic:.3g}, dof {self.dof}, p = {self.p_value:.3g}"
        if self.approximate:
            detail += ", approximate: expected counts below 5"
        return (
            f"error rate {self.error_rate:.3g} over {self.n} samples {verdict} '{self.by}' at alpha 0.05 "
            f"({len(self.groups)} groups; {detail}; Cramér's V {self.cramers_v:.3g})"
        )

    def __str__(self) -> str:
        return f"{self.summary()}\n{self.groups.to_string()}"


def _errors(view: TableView, error: str | ArrayLike | None) -> np.ndarray:
    """Which rows are errors: predicted class != true label, or a given boolean column or array."""
    if error is None:
        if not view.has("true_label"):
            raise KeyError(f"table '{view.table.name}' has no 'true_label'; pass error=<column or array>")
        return view.predictions() != view.labels()
    values = view.values(error) if isinstance(error, str) else np.asarray(error)
    if values.shape != (len(view),) or values.dtype.kind not in "biu" or not np.isin(values, (0, 1)).all():
        name = error if isinstance(error, str) else "error"
        raise ColumnError(
            name, f"{len(view)} booleans (or 0/1), one per row", f"{values.dtype} of shape {values.shape}"
        )
    return values.astype(bool)


def error_breakdown(
    table: DynamicTable,
    by: str = "site",
    *,
    source: DynamicTable | None = None,
    split: str | int | None = None,
    fold: int | None = None,
    error: str | ArrayLike | None = None,
    bins: int | None = 4,
    confidence: float = 0.95,
) -> ErrorBreakdown:
    """Does the error rate depend on ``by``, a column of the source table (or of the results table)?

    Parameters
    ----------
    table
        A ResultsTable, in memory or open; its ``samples`` lead to the source table.
    by
        A column of the results table, else of the source table reached through ``samples``. A float column
        with more than ``bins`` distinct values, or an integer one with more than 20, is cut into ``bins``
        quantile bins (NaN: "missing"); fewer integers are codes (sessions, clusters), one group each.
    source
        The source table, when it is not the one ``samples`` points at (or there is no ``samples`` column and
        its rows are the results' rows).
    split, fold
        Look at one split (usually ``"test"``) and/or one cross-validation fold only.
    error
        Which rows count as errors: default predicted class != true label; or the name of a boolean column,
        or a boolean array (e.g. ``abs(residual) > tolerance`` for a regression).
    bins
        Quantile bins for a numeric column; None treats every value as a group.
    confidence
        Level of the Wilson intervals.

    Returns
    -------
    ErrorBreakdown
        Per-group counts, error rates with intervals, and the test of independence.

    Examples
    --------
    ``error_breakdown(rt, "site", split="test").depends()`` is True when errors track the site.
    """
    pd = require_pandas("hdmf_ai.analysis.error_breakdown")
    view = TableView(table, source=source)
    within = selection(view, split, fold)
    wrong = _errors(view, error)
    grouping = groups(view, by, bins)
    # counted in one pass (a column such as a subject id can have thousands of groups)
    n_groups = len(grouping.labels)
    count = np.bincount(grouping.codes[within], minlength=n_groups)
    errors = np.bincount(grouping.codes[within & wrong], minlength=n_groups)
    present = count > 0
    labels = [label for label, keep in zip(grouping.labels, present, strict=True) if keep]
    count, errors = count[present].astype(np.int64), errors[present].astype(np.int64)
    low, high = wilson_interval(errors, count, confidence=confidence)
    rate = divide(errors.astype(np.float64), count.astype(np.float64), math.nan)
    frame = pd.DataFrame(
        {"count": count, "errors": errors, "error_rate": rate, "ci_low": low, "ci_high": high},
        index=pd.Index(labels, name=by),
    )
    observed = np.stack([errors, count - errors], axis=1)
    statistic, dof, p_value, min_expected = chi_square(observed)
    test = "chi-square" if dof else "none"
    if dof == 1 and min_expected < MIN_EXPECTED:
        test, p_value = "fisher-exact", fisher_exact(observed)
    n = int(count.sum())
    return ErrorBreakdown(
        by=by,
        groups=frame,
        test=test,
        statistic=statistic,
        dof=dof,
        p_value=p_value,
        cramers_v=math.sqrt(statistic / n) if n else math.nan,
        confidence=confidence,
        approximate=test == "chi-square" and min_expected < MIN_EXPECTED,
        bin_edges=grouping.edges,
    )
