"""False discoveries of :func:`hdmf_ai.analysis.find_slices` on null data, and how often it finds a planted slice.

    python benchmarks/slice_calibration.py [--sets 200] [--rows 5000]

Null: ``tests/slicedata.planted_table(planted=None)``: a classifier wrong 5% of the time on every row, source
columns site (5 values), scanner (3), age and weight (quartiles); 4 single columns and 6 pairs, about 110
slices tested per data set. Reports the share of data sets with any slice at q <= 0.05 (the family-wise
false-discovery share; under the global null it is what Benjamini-Hochberg bounds by 0.05), with a Wilson
interval, and the share of single slices at p < 0.05 / 0.01 / 0.001 (calibration of the test itself).
Planted: error 0.35 on site C x top age quartile (about 4% of rows): the share of data sets whose top slice is
exactly that one. Regression null: the same source tables, absolute errors of Student t (3 dof) noise, the
Mann-Whitney test. Results: ``SLICES.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

import hdmf_ai

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from slicedata import planted_table

from hdmf_ai import analysis


def null_regression(rows: int, seed: int) -> hdmf_ai.ResultsTable:
    rng = np.random.default_rng(seed)
    rt = planted_table(rows, seed=seed, planted=None)
    truth = rng.normal(size=rows)
    reg = hdmf_ai.ResultsTable(name="reg")
    reg.add_samples(np.asarray(rt.samples.data), table=rt.samples.table)
    reg.add_column("true_label", "the true value", data=truth)
    reg.add_predicted_value(truth + rng.standard_t(3, size=rows))
    return reg


def report(title: str, found: list[bool], p_values: list[np.ndarray]) -> None:
    sets = len(found)
    low, high = analysis.wilson_interval(int(np.sum(found)), sets)
    p = np.concatenate(p_values)
    print(f"{title}: {sets} null data sets, {len(p) / sets:.0f} slices each")
    print(f"  share with any slice at q <= 0.05: {np.mean(found):.3f} (95% Wilson {float(low):.3f}-{float(high):.3f})")
    print(
        "  share of single slices with p < 0.05 / 0.01 / 0.001: "
        + " / ".join(f"{np.mean(p < a):.4f}" for a in (0.05, 0.01, 0.001))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=200)
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    found, p_values, top, reg_found, reg_p = [], [], [], [], []
    for seed in range(args.sets):
        null = analysis.find_slices(planted_table(args.rows, seed=10_000 + seed, planted=None))
        found.append(bool(null["significant"].any()))
        p_values.append(null["p_value"].to_numpy())
        planted = analysis.find_slices(planted_table(args.rows, seed=20_000 + seed))
        first = dict(planted.iloc[0]["conditions"])
        top.append(first.get("site") == "C" and str(first.get("age", "")).endswith("]") and len(first) == 2)
        regression = analysis.find_slices(null_regression(args.rows, 30_000 + seed))
        reg_found.append(bool(regression["significant"].any()))
        reg_p.append(regression["p_value"].to_numpy())
    print(f"rows per data set: {args.rows}")
    report("classifier (Fisher)", found, p_values)
    report("regression (Mann-Whitney)", reg_found, reg_p)
    print(f"planted slice ranked first: {np.mean(top):.3f} of {args.sets} planted data sets")


if __name__ == "__main__":
    main()
