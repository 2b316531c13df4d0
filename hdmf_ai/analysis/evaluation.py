"""Metric values with confidence intervals, as rows ready to be stored: :class:`Evaluation` and
:class:`Intervals` (how the intervals are made).

Every result of :func:`~hdmf_ai.analysis.evaluate` and :func:`~hdmf_ai.analysis.compare` converts to the same
long frame, one row per number: the columns :data:`~hdmf_ai.analysis.EVALUATION_COLUMNS` (metric, split or
fold, slice column and value, value, interval bounds, method, n, seed, and the names of the tables it was
computed from).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .grouping import require_pandas
from .resampling import BOOTSTRAP_METHODS, bootstrap
from .stats import PROPORTION_METHODS, proportion_interval

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EVALUATION_COLUMNS", "Evaluation", "Interval", "Intervals", "evaluation_frame", "is_proportion"]

#: the columns of every ``to_frame()``: one row per number, with what it was computed from and how
EVALUATION_COLUMNS = (
    "metric",
    "split",
    "slice_column",
    "slice_value",
    "value",
    "ci_low",
    "ci_high",
    "method",
    "n",
    "seed",
    "tables",
)
# metrics that are a count of successes over the rows: their intervals are those of a binomial proportion
_PROPORTION = re.compile(r"^(accuracy|top_\d+_accuracy)$")


def is_proportion(metric: str) -> bool:
    """Whether ``metric`` is a fraction of rows (accuracy, top-k accuracy), whose interval is a binomial one."""
    return bool(_PROPORTION.match(metric))


@dataclass(frozen=True)
class Interval:
    """A value, its interval and the method that made the interval."""

    value: float
    low: float
    high: float
    method: str


@dataclass(frozen=True)
class Intervals:
    """How intervals are made: ``confidence``; ``proportion`` (``"wilson"`` or ``"exact"``, Clopper-Pearson)
    for fractions of rows such as accuracy; ``bootstrap`` (``"bca"`` or ``"percentile"``) with ``n_resamples``
    resamples seeded by ``seed`` for every other metric. The same seed gives the same numbers."""

    confidence: float = 0.95
    proportion: str = "wilson"
    bootstrap: str = "bca"
    n_resamples: int = 2000
    seed: int | None = 0

    def __post_init__(self) -> None:
        if not 0 < self.confidence < 1:
            raise ValueError(f"ci (the confidence) must lie between 0 and 1; got {self.confidence}")
        if self.proportion not in PROPORTION_METHODS:
            raise ValueError(f"proportion must be one of {list(PROPORTION_METHODS)}; got {self.proportion!r}")
        if self.bootstrap not in BOOTSTRAP_METHODS:
            raise ValueError(f"bootstrap must be one of {list(BOOTSTRAP_METHODS)}; got {self.bootstrap!r}")
        if self.n_resamples < 1:
            raise ValueError(f"n_resamples must be at least 1; got {self.n_resamples}")

    def of_scores(self, score: Callable[[np.ndarray], dict[str, float]], n: int) -> dict[str, Interval]:
        """The interval of every metric ``score(rows)`` returns for the n rows (``n`` itself excluded)."""
        values = {k: float(v) for k, v in score(np.arange(n)).items() if k != "n"}
        out: dict[str, Interval] = {}
        resampled = [k for k in values if not is_proportion(k)]
        for name in values:
            if is_proportion(name):
                low, high = proportion_interval(
                    round(values[name] * n), n, confidence=self.confidence, method=self.proportion
                )
                out[name] = Interval(values[name], float(low), float(high), self.proportion)
        if resampled and n:

            def statistic(rows: np.ndarray) -> np.ndarray:
                found = score(rows)
                return np.array([found[k] for k in resampled], dtype=np.float64)

            found = bootstrap(
                statistic,
                n,
                confidence=self.confidence,
                n_resamples=self.n_resamples,
                method=self.bootstrap,
                seed=self.seed,
            )
            for j, name in enumerate(resampled):
                out[name] = Interval(values[name], float(found.low[j]), float(found.high[j]), self.bootstrap_method)
        return {name: out[name] for name in values if name in out}

    @property
    def bootstrap_method(self) -> str:
        return f"bootstrap {self.bootstrap}"


@dataclass(frozen=True, repr=False)
class Evaluation:
    """Metrics of one table with their confidence intervals, per split, fold or slice.

    Attributes
    ----------
    table
        The name of the ResultsTable evaluated.
    intervals
        How the intervals were made.
    rows
        One row per (group, metric), with the columns :data:`~hdmf_ai.analysis.EVALUATION_COLUMNS`.

    Examples
    --------
    >>> import numpy as np, hdmf_ai
    >>> from hdmf_ai import analysis
    >>> rt = hdmf_ai.ResultsTable(name="toy")
    >>> _ = rt.add_true_label([0, 1] * 20)
    >>> _ = rt.add_predicted_class([0, 1] * 15 + [1, 0] * 5)
    >>> ev = analysis.evaluate(rt, metrics=["accuracy"])
    >>> ev.to_frame()[["metric", "split", "value", "ci_low", "ci_high", "method", "n"]].round(3)
         metric split  value  ci_low  ci_high  method   n
    0  accuracy   all   0.75   0.598    0.858  wilson  40
    """

    table: str
    intervals: Intervals
    rows: Any  # a pandas DataFrame; typed loosely so that pandas stays an optional import

    def to_frame(self) -> pd.DataFrame:
        """The rows, a copy: columns :data:`~hdmf_ai.analysis.EVALUATION_COLUMNS`."""
        return self.rows.copy()

    def __repr__(self) -> str:
        i = self.intervals
        head = (
            f"Evaluation of '{self.table}': {i.confidence:.0%} intervals ({i.proportion} for proportions, "
            f"{i.bootstrap} bootstrap with {i.n_resamples} resamples, seed {i.seed})"
        )
        shown = self.rows[["metric", "split", "slice_column", "slice_value", "value", "ci_low", "ci_high", "n"]]
        shown = shown.dropna(axis=1, how="all")
        return f"{head}\n{shown.to_string(index=False, float_format=lambda v: f'{v:.4g}')}"


def evaluation_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """The long frame of :data:`~hdmf_ai.analysis.EVALUATION_COLUMNS` from one dict per number (missing keys
    become None)."""
    pd = require_pandas("hdmf_ai.analysis.evaluate")
    frame = pd.DataFrame.from_records(
        [{c: r.get(c) for c in EVALUATION_COLUMNS} for r in records], columns=list(EVALUATION_COLUMNS)
    )
    # seed: a nullable integer (no seed for intervals that do not resample)
    return frame.astype(
        {"value": np.float64, "ci_low": np.float64, "ci_high": np.float64, "n": np.int64, "seed": "Int64"}
    )
