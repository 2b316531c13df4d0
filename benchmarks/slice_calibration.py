"""False discoveries of :func:`hdmf_ai.analysis.find_slices` on null data, and how often it finds a planted slice.

    python benchmarks/slice_calibration.py [--sets 200] [--rows 5000]

Null: ``tests/slicedata.planted_table(planted=None)``: a classifier wrong 5% of the time on every row, source
columns site (5 values), scanner (3), age and weight (quartiles); 4 single columns and 6 pairs, about 110
slices tested per data set. Reports the share of data sets with any slice at q <= 0.05 (the family-wise
false-discovery share; under the global null it is what Benjamini-Hochberg bounds by 0.05), with a Wilson
interval, and the share of single slices at p < 0.05 / 0.01 / 0.001 (calibration of the test itself).
Planted: error 0.35 on site C x top age quartile (about 4% of rows): the share of data sets whose top slice is
exactly that one. Results: ``SLICES.md``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from slicedata import planted_table

from hdmf_ai import analysis


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=200)
    parser.add_argument("--rows", type=int, default=5000)
    args = parser.parse_args()
    found, p_values, top = [], [], []
    for seed in range(args.sets):
        null = analysis.find_slices(planted_table(args.rows, seed=10_000 + seed, planted=None))
        found.append(bool(null["significant"].any()))
        p_values.append(null["p_value"].to_numpy())
        planted = analysis.find_slices(planted_table(args.rows, seed=20_000 + seed))
        first = dict(planted.iloc[0]["conditions"])
        top.append(first.get("site") == "C" and str(first.get("age", "")).endswith("]") and len(first) == 2)
    share = float(np.mean(found))
    low, high = analysis.wilson_interval(int(np.sum(found)), args.sets)
    p = np.concatenate(p_values)
    print(f"{args.sets} null data sets of {args.rows} rows, {len(p) / args.sets:.0f} slices each")
    print(f"share with any slice at q <= 0.05: {share:.3f} (95% Wilson {float(low):.3f}-{float(high):.3f})")
    for level in (0.05, 0.01, 0.001):
        print(f"share of single slices with p < {level}: {np.mean(p < level):.4f}")
    print(f"planted slice ranked first: {np.mean(top):.3f} of {args.sets} planted data sets")


if __name__ == "__main__":
    main()
