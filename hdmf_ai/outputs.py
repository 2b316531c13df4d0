"""Classifier outputs from raw scores: the plain-numpy path for PyTorch, JAX and other frameworks.

A network gives logits; a ResultsTable wants probabilities, the predicted class and the top k. This module
turns one into the other with numpy alone (a PyTorch tensor, JAX or CuPy array is converted first), so
no framework is imported here.

Example
-------
>>> import hdmf_ai
>>> from hdmf_ai.outputs import from_logits
>>> out = from_logits([[2.0, 0.5, -1.0], [0.1, 0.3, 3.0]], k=2)
>>> out.predicted_class.tolist(), out.topk_classes.tolist()
([0, 2], [[0, 1], [2, 1]])
>>> out.probabilities.sum(axis=1).round(6).tolist()
[1.0, 1.0]
>>> rt = out.add_to(hdmf_ai.ResultsTable(name="net"))
>>> rt.colnames
('predicted_probability', 'predicted_class', 'topk_probabilities', 'topk_classes')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ColumnError

if TYPE_CHECKING:
    from .results_table import ResultsTable

__all__ = ["ClassifierOutputs", "as_numpy", "from_logits", "sigmoid", "softmax", "top_k"]


def as_numpy(values: Any) -> np.ndarray:
    """A numpy array from numpy input, nested lists, or a framework's tensor (detached, moved to the CPU)."""
    if hasattr(values, "detach"):  # a PyTorch tensor that may require grad and live on a GPU
        values = values.detach()
    if hasattr(values, "cpu") and not isinstance(values, np.ndarray):
        values = values.cpu()
    if hasattr(values, "numpy") and not isinstance(values, np.ndarray):
        values = values.numpy()
    return np.asarray(values)


def _float(name: str, values: Any) -> np.ndarray:
    arr = as_numpy(values)
    if arr.dtype.kind not in "fiub":
        raise ColumnError(name, "real numbers", f"dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ColumnError(name, "finite values (no NaN or inf)", "non-finite values")
    # half precision (and bfloat16 converted by the framework) widens to float32; float32 stays
    return arr.astype(np.float32 if arr.dtype.kind == "f" and arr.dtype.itemsize <= 4 else np.float64)


def softmax(logits: Any, *, axis: int = -1) -> np.ndarray:
    """Probabilities from logits, computed stably (the row maximum is subtracted before ``exp``)."""
    z = _float("logits", logits)
    shifted = np.exp(z.astype(np.float64) - z.max(axis=axis, keepdims=True))
    probabilities: np.ndarray = (shifted / shifted.sum(axis=axis, keepdims=True)).astype(z.dtype)
    return probabilities


def sigmoid(logits: Any) -> np.ndarray:
    """The logistic function, without overflow for large negative or positive logits."""
    z = _float("logits", logits)
    e = np.exp(-np.abs(z.astype(np.float64)))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype)


def top_k(probabilities: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest probabilities of each row, descending, and their classes (ties: lower class first)."""
    probs = as_numpy(probabilities)
    if probs.ndim != 2:
        raise ColumnError("predicted_probability", "a 2-D array (n_samples, n_classes)", f"shape {probs.shape}")
    if not 1 <= k <= probs.shape[1]:
        raise ValueError(f"k must be in 1..{probs.shape[1]} (the number of classes); got {k}")
    classes = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(probs, classes, axis=1), classes


@dataclass(frozen=True)
class ClassifierOutputs:
    """A classifier's per-sample outputs, ready for a ResultsTable's ``add_*`` methods."""

    probabilities: np.ndarray
    predicted_class: np.ndarray
    topk_probabilities: np.ndarray | None = None
    topk_classes: np.ndarray | None = None

    def add_to(self, table: ResultsTable) -> ResultsTable:
        """Add the probabilities, predicted classes and (when computed) the top k to ``table``; returns it."""
        table.add_predicted_probability(self.probabilities)
        table.add_predicted_class(self.predicted_class)
        if self.topk_probabilities is not None and self.topk_classes is not None:
            table.add_topk_probabilities(self.topk_probabilities)
            table.add_topk_classes(self.topk_classes)
        return table


def from_logits(logits: Any, *, k: int | None = 5) -> ClassifierOutputs:
    """Probabilities, predicted class and top-k from a classifier's logits.

    Parameters
    ----------
    logits
        Shape ``(n_samples, n_classes)`` for a softmax classifier, or ``(n_samples,)`` for a binary one
        (one logit of the positive class, as ``BCEWithLogitsLoss`` takes: probabilities become
        ``[1 - p, p]``). A numpy array, list, or framework tensor.
    k
        How many of the most probable classes to keep (at most the number of classes); None or 0 for none.
        Two classes make top-k redundant, so binary outputs get none.
    """
    z = _float("logits", logits)
    if z.ndim == 1:
        positive = sigmoid(z)
        probs = np.stack([1 - positive, positive], axis=1)
        predicted = (z > 0).astype(np.int64)
    elif z.ndim == 2:
        probs = softmax(z)
        predicted = np.argmax(z, axis=1)  # from the logits: rounding in the softmax must not move a tie
    else:
        raise ColumnError("logits", "shape (n_samples, n_classes) or (n_samples,)", f"shape {z.shape}")
    if not k or probs.shape[1] <= 2:
        return ClassifierOutputs(probs, predicted)
    # ranked by logit, as predicted is: the softmax is monotone, so the probabilities stay descending
    top_classes = np.argsort(-z, axis=1, kind="stable")[:, : min(k, probs.shape[1])]
    return ClassifierOutputs(probs, predicted, np.take_along_axis(probs, top_classes, axis=1), top_classes)
