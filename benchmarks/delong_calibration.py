"""Type-I error of the paired tests of :func:`hdmf_ai.analysis.compare` on null data: DeLong's test of ROC AUC
(binary and one-vs-rest macro), McNemar's exact and mid-p tests, and the paired-bootstrap interval of the
accuracy difference; plus the test's power against a small real difference, for scale.

    python benchmarks/delong_calibration.py [--sims 2000] [--bootstrap-sims 500] [--figure PATH]

Null data: two models that score the same samples with equal skill and correlated errors (they share a latent
score, each adds its own noise), so their expected AUCs and accuracies are equal. Binary: labels Bernoulli(0.3),
score = 1.2 * label + shared N(0, 1) + own N(0, 1). Macro: 3 classes, softmax of logits = 1.5 * one-hot(label) +
shared + own normal noise. Each setting is simulated ``--sims`` times; the share of p < 0.05 (or of intervals
that exclude 0) is the type-I error, reported with its Wilson interval. ``--figure`` writes a QQ plot of the
null p-values against the uniform. Results: ``COMPARE.md``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import hdmf_ai
from hdmf_ai import analysis


def binary_null(n: int, rng: np.random.Generator, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = (rng.random(n) < 0.3).astype(np.int64)
    shared = rng.normal(size=n)
    scores = [1.2 * (1 + shift * k) * y + shared + rng.normal(size=n) for k in (0, 1)]
    probs = [np.column_stack([1 - p, p]) for p in (1 / (1 + np.exp(-s)) for s in scores)]
    return y, probs[0], probs[1]


def macro_null(n: int, rng: np.random.Generator, k: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y = rng.integers(0, k, n)
    shared = rng.normal(size=(n, k))
    out = []
    for _ in range(2):
        logits = 1.5 * np.eye(k)[y] + shared + rng.normal(size=(n, k))
        p = np.exp(logits)
        out.append(p / p.sum(axis=1, keepdims=True))
    return y, out[0], out[1]


def share(rejected: list[bool]) -> str:
    low, high = analysis.wilson_interval(int(np.sum(rejected)), len(rejected))
    return f"{np.mean(rejected):.4f} (Wilson {float(low):.3f}-{float(high):.3f})"


def delong_setting(name: str, make, sims: int, seed: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    p_values = []
    start = time.perf_counter()
    for _ in range(sims):
        y, a, b = make(rng)
        found = analysis.delong_test(y, a, b)
        if found is not None:
            p_values.append(found.p_value)
    p = np.array(p_values)
    took = (time.perf_counter() - start) / sims * 1e3
    print(f"| DeLong, {name} | {len(p)} | {share(list(p < 0.05))} | {np.mean(p < 0.01):.4f} | {took:.2f} ms |")
    return p


def mcnemar_setting(n: int, sims: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two classifiers right with probability 0.8 each, their errors correlated (0.5 shared)."""
    rng = np.random.default_rng(seed)
    exact, mid = [], []
    for _ in range(sims):
        shared = rng.random(n) < 0.8
        own = [rng.random(n) < 0.8 for _ in range(2)]
        pick = rng.random(n) < 0.5
        right = [np.where(pick, shared, o) for o in own]
        p, m = analysis.mcnemar(int(np.sum(right[0] & ~right[1])), int(np.sum(right[1] & ~right[0])))
        exact.append(p)
        mid.append(m)
    for label, p in (("McNemar exact", np.array(exact)), ("McNemar mid-p", np.array(mid))):
        print(f"| {label}, n = {n} | {sims} | {share(list(p < 0.05))} | {np.mean(p < 0.01):.4f} | |")
    return np.array(exact), np.array(mid)


def bootstrap_setting(n: int, sims: int, seed: int, method: str) -> None:
    """The paired-bootstrap interval of the accuracy difference, through compare() on two in-memory tables."""
    rng = np.random.default_rng(seed)
    excluded = []
    start = time.perf_counter()
    for _ in range(sims):
        y, a, b = macro_null(n, rng)
        tables = []
        for name, p in (("a", a), ("b", b)):
            rt = hdmf_ai.ResultsTable(name=name)
            rt.add_true_label(y)
            rt.add_predicted_probability(p)
            tables.append(rt)
        d = analysis.compare(tables, n_resamples=500, bootstrap=method, seed=None).pairs[0].differences[0]
        excluded.append(not d.ci_low <= 0 <= d.ci_high)
    took = (time.perf_counter() - start) / sims * 1e3
    label = f"paired bootstrap ({method}, 500 resamples), accuracy, n = {n}"
    print(f"| {label} | {sims} | {share(excluded)} | | {took:.0f} ms |")


def figure(path: Path, curves: dict[str, np.ndarray]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for label, p in curves.items():
        p = np.sort(p)
        ax.plot((np.arange(1, len(p) + 1) - 0.5) / len(p), p, label=label, lw=1.2)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
    ax.set(
        xlabel="uniform quantile", ylabel="null p-value", title="Paired tests under the null", xlim=(0, 1), ylim=(0, 1)
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"figure: {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=2000)
    parser.add_argument("--bootstrap-sims", type=int, default=500)
    parser.add_argument("--figure", type=Path, default=None)
    args = parser.parse_args()
    print("| test | simulations | share p < 0.05 (type-I error) | share p < 0.01 | time per test |")
    print("| --- | --- | --- | --- | --- |")
    curves = {
        "DeLong binary, n = 200": delong_setting("binary, n = 200", lambda r: binary_null(200, r), args.sims, 1),
        "DeLong binary, n = 60": delong_setting("binary, n = 60", lambda r: binary_null(60, r), args.sims, 2),
        "DeLong macro, n = 300": delong_setting(
            "macro (3 classes), n = 300", lambda r: macro_null(300, r), args.sims, 3
        ),
    }
    delong_setting("binary, n = 2000", lambda r: binary_null(2000, r), args.sims // 4, 4)
    exact, mid = mcnemar_setting(300, args.sims, 5)
    curves.update({"McNemar exact, n = 300": exact, "McNemar mid-p, n = 300": mid})
    if args.bootstrap_sims:
        for method in ("percentile", "bca"):
            bootstrap_setting(300, args.bootstrap_sims, 6, method)
    rng = np.random.default_rng(7)
    power = [analysis.delong_test(*binary_null(200, rng, shift=0.35)) for _ in range(args.sims // 4)]
    print(
        f"\npower of DeLong (binary, n = 200, second model's signal 35% stronger): "
        f"{np.mean([t.p_value < 0.05 for t in power if t is not None]):.3f}"
    )
    if args.figure is not None:
        figure(args.figure, curves)


if __name__ == "__main__":
    main()
