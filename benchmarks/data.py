"""Seeded, realistic result arrays for the benchmarks: what a 100-class classifier writes for N samples.

Two kinds of probabilities: ``peaked`` (softmax of logits where the true class stands out, as a trained
model gives: most mass on one class, the rest tiny) and ``entropy`` (softmax of plain Gaussian logits with
a small temperature spread, close to uniform: the hard case for compression).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Arrays", "make_arrays"]

EMBEDDING_DIMS = 16
TOP_K = 5


@dataclass(frozen=True)
class Arrays:
    """The columns of one benchmark table, as numpy arrays in the dtypes hdmf-ai stores."""

    tvt_split: np.ndarray  # uint8 codes 0/1/2
    true_label: np.ndarray  # smallest unsigned type
    predicted_class: np.ndarray
    predicted_probability: np.ndarray  # float32 (n, C)
    topk_probabilities: np.ndarray  # float32 (n, k)
    topk_classes: np.ndarray  # smallest unsigned (n, k)
    embedding: np.ndarray  # float32 (n, EMBEDDING_DIMS)

    def columns(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.columns().values())


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits


def make_arrays(n: int, n_classes: int, *, kind: str = "peaked", seed: int = 0, block: int = 100_000) -> Arrays:
    """``n`` rows of results of an ``n_classes`` classifier, generated in blocks to bound memory."""
    rng = np.random.default_rng(seed)
    label_type = np.min_scalar_type(n_classes - 1)
    true = rng.integers(0, n_classes, n).astype(label_type)
    probs = np.empty((n, n_classes), dtype=np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        logits = rng.normal(0.0, 1.0, (stop - start, n_classes)).astype(np.float32)
        if kind == "peaked":  # a trained model: the true class (80% of the time) or a confusion stands out
            correct = rng.random(stop - start) < 0.8
            winner = np.where(correct, true[start:stop], rng.integers(0, n_classes, stop - start))
            logits *= 1.5
            logits[np.arange(stop - start), winner] += rng.uniform(6.0, 14.0, stop - start).astype(np.float32)
        elif kind == "entropy":
            logits *= 0.3
        else:
            raise ValueError(f"unknown kind {kind!r}; use 'peaked' or 'entropy'")
        probs[start:stop] = _softmax(logits)
    order = np.argsort(-probs, axis=1, kind="stable")[:, :TOP_K].astype(label_type)
    topk = np.take_along_axis(probs, order.astype(np.intp), axis=1)
    embedding = np.cumsum(rng.normal(0, 0.1, (n, EMBEDDING_DIMS)).astype(np.float32), axis=1)
    return Arrays(
        tvt_split=rng.choice(np.array([0, 1, 2], dtype=np.uint8), n, p=[0.7, 0.15, 0.15]),
        true_label=true,
        predicted_class=order[:, 0].copy(),
        predicted_probability=probs,
        topk_probabilities=topk,
        topk_classes=order,
        embedding=embedding,
    )
