"""Speed of :func:`hdmf_ai.analysis.find_slices` on N rows x 20 source columns, against a plain pandas groupby
of the same slices measured in the same run.

    python benchmarks/slices.py [--rows N] [--repeat R]

The source table has 10 text columns (2 to 50 categories) and 10 float columns (cut into quartiles), and the
classifier is wrong 5% of the time. ``find_slices`` is timed from the table in memory to the sorted frame:
reading and coding the columns, counting all 20 single columns and 190 pairs, Fisher's exact tests,
Benjamini-Hochberg; and the same for a regression (absolute errors ranked, Mann-Whitney tests). The baseline
only counts: ``DataFrame.groupby(columns)["error"].agg(["size", "sum"])`` for
each column and pair, on a frame whose float columns are already cut with ``pd.qcut`` (so it does less work
than ``find_slices``: no coding, no tests). Results: ``SLICES.md``.
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
import pandas as pd
from hdmf.common import DynamicTable, VectorData

import hdmf_ai
from hdmf_ai import analysis

N_TEXT, N_FLOAT = 10, 10


def make_tables(n: int, seed: int = 0) -> tuple[hdmf_ai.ResultsTable, hdmf_ai.ResultsTable, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for i in range(N_TEXT):
        k = int(np.linspace(2, 50, N_TEXT)[i])
        columns[f"cat{i}"] = rng.choice(np.array([f"v{j}" for j in range(k)]), n)
    for i in range(N_FLOAT):
        columns[f"num{i}"] = rng.normal(size=n)
    source = DynamicTable(
        name="source",
        description="20 columns",
        columns=[VectorData(name=name, description=name, data=values) for name, values in columns.items()],
    )
    y_true = rng.integers(0, 3, n)
    wrong = rng.random(n) < 0.05
    rt = hdmf_ai.ResultsTable(name="bench")
    rt.add_samples(np.arange(n), table=source)
    rt.add_true_label(y_true)
    rt.add_predicted_class(np.where(wrong, (y_true + 1) % 3, y_true))
    reg = hdmf_ai.ResultsTable(name="bench_regression")
    reg.add_samples(np.arange(n), table=source)
    truth = rng.normal(size=n)
    reg.add_column("true_label", "the true value", data=truth)
    reg.add_predicted_value(truth + rng.standard_t(3, size=n))
    frame = pd.DataFrame(columns).assign(error=wrong)
    for i in range(N_FLOAT):
        frame[f"num{i}"] = pd.qcut(frame[f"num{i}"], 4)
    return rt, reg, frame


def pandas_groupby(frame: pd.DataFrame) -> int:
    names = [c for c in frame.columns if c != "error"]
    counted = 0
    for key in [*([c] for c in names), *(list(p) for p in itertools.combinations(names, 2))]:
        counted += len(frame.groupby(key, observed=True)["error"].agg(["size", "sum"]))
    return counted


def best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rt, reg, frame = make_tables(args.rows)
    slices = analysis.find_slices(rt)
    ours = best(lambda: analysis.find_slices(rt), args.repeat)
    theirs = best(lambda: pandas_groupby(frame), args.repeat)
    regression = best(lambda: analysis.find_slices(reg), args.repeat)
    print(f"rows {args.rows:,}, columns {N_TEXT + N_FLOAT}, slices tested {len(slices):,}")
    print(f"find_slices      {ours:8.2f} s")
    print(f"pandas groupby   {theirs:8.2f} s  (counts only)")
    print(f"ratio            {ours / theirs:8.2f}  (find_slices / groupby)")
    print(f"find_slices, regression (absolute errors, ranks, Mann-Whitney) {regression:8.2f} s")


if __name__ == "__main__":
    main()
