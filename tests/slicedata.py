"""Seeded synthetic results for the slice, label-issue and leakage tests (and benchmarks): a classifier's
errors planted through the columns of a source table, reached through ``samples``."""

from __future__ import annotations

import numpy as np
from hdmf.common import DynamicTable, VectorData

import hdmf_ai

SITES = np.array(["A", "B", "C", "D", "E"])
SITE_SHARE = np.array([0.2, 0.2, 0.16, 0.22, 0.22])
SCANNERS = np.array(["siemens", "ge", "philips"])


def source_table(n: int, rng: np.random.Generator) -> DynamicTable:
    """Scans: site (C holds 16% of rows), scanner, age (uniform 20-80) and weight, independent of each other."""
    return DynamicTable(
        name="scans",
        description="one row per scan",
        columns=[
            VectorData(name="site", description="acquisition site", data=rng.choice(SITES, n, p=SITE_SHARE)),
            VectorData(name="scanner", description="scanner vendor", data=rng.choice(SCANNERS, n)),
            VectorData(name="age", description="subject age", data=rng.uniform(20, 80, n)),
            VectorData(name="weight", description="subject weight", data=rng.normal(70, 12, n)),
        ],
    )


def planted_table(
    n: int = 10_000, *, seed: int = 0, base: float = 0.05, planted: float | None = 0.35
) -> hdmf_ai.ResultsTable:
    """A classifier wrong with probability ``base``, and ``planted`` on site C with age in its top quartile
    (about 4% of rows); ``planted=None`` is the null: ``base`` everywhere. Source rows are permuted."""
    rng = np.random.default_rng(seed)
    source = source_table(n, rng)
    rows = rng.permutation(n)
    site = np.asarray(source["site"].data)[rows]
    age = np.asarray(source["age"].data)[rows]
    rate = np.full(n, base)
    if planted is not None:
        rate[(site == "C") & (age >= np.quantile(age, 0.75))] = planted
    wrong = rng.random(n) < rate
    y_true = rng.integers(0, 3, n)
    rt = hdmf_ai.ResultsTable(name="planted", description="a classifier with a planted failing slice")
    rt.add_samples(rows, table=source)
    rt.add_tvt_split(np.full(n, 2))
    rt.add_true_label(y_true)
    rt.add_predicted_class(np.where(wrong, (y_true + 1) % 3, y_true))
    return rt
