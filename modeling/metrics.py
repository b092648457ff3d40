"""Classification metrics, calibration and the charts that show them. Pure: arrays in, numbers out."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from affectwatch.labels import NEGATIVE_LABELS

Floats = npt.NDArray[np.float64]


def confusion(true: Sequence[int], pred: Sequence[int], k: int) -> npt.NDArray[np.int64]:
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (np.asarray(true, dtype=np.int64), np.asarray(pred, dtype=np.int64)), 1)
    return m


def per_class(m: npt.NDArray[np.int64], labels: Sequence[str]) -> dict[str, dict[str, float]]:
    tp = np.diag(m).astype(float)
    support, predicted = m.sum(1).astype(float), m.sum(0).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    return {
        label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                "support": int(support[i])}
        for i, label in enumerate(labels)
    }


def negative_rates(
    true: Sequence[str], pred: Sequence[str], negatives: frozenset[str] = NEGATIVE_LABELS
) -> dict[str, float | None]:
    """False alarms: non-negative faces called negative. Recall: negative faces called negative."""
    t = np.array([x in negatives for x in true], dtype=bool)
    p = np.array([x in negatives for x in pred], dtype=bool)
    fa = float(p[~t].mean()) if (~t).any() else None
    rec = float(p[t].mean()) if t.any() else None
    return {"negative_false_alarm_rate": fa, "negative_recall": rec}


def ece(probs: Floats, true: Sequence[int], bins: int = 15) -> float:
    """Expected calibration error of the top-1 confidence, in equal-width bins."""
    conf = probs.max(1)
    right = probs.argmax(1) == np.asarray(true)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            total += inside.mean() * abs(conf[inside].mean() - right[inside].mean())
    return float(total)


def fit_temperature(logits: torch.Tensor, true: torch.Tensor) -> float:
    """The temperature that minimises validation negative log-likelihood (true: labels, or target distributions
    such as annotators' vote shares)."""
    log_t = torch.zeros(1, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), true)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    opt.step(closure)  # type: ignore[no-untyped-call]
    return float(log_t.exp().item())


def fit_label_bias(logits: torch.Tensor, shares: torch.Tensor) -> tuple[float, list[float]]:
    """The temperature and one offset a label that together minimise the cross-entropy against annotators' vote
    shares: calibration to what people said of each face, which also undoes the label prior that class weights
    in training taught (offsets sum to zero)."""
    log_t = torch.zeros(1, requires_grad=True)
    bias = torch.zeros(logits.shape[1], requires_grad=True)
    opt = torch.optim.LBFGS([log_t, bias], lr=0.1, max_iter=200)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(logits / log_t.exp() + bias, shares)
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    opt.step(closure)  # type: ignore[no-untyped-call]
    offsets = bias.detach() - bias.detach().mean()
    return float(log_t.exp().item()), [round(float(b), 6) for b in offsets]


def summary(
    true: Sequence[str], pred: Sequence[str], labels: Sequence[str], negatives: frozenset[str] = NEGATIVE_LABELS
) -> dict[str, Any]:
    """Accuracy, macro-F1 (over the labels present in true), per-class figures and negative rates."""
    index = {label: i for i, label in enumerate(labels)}
    m = confusion([index[t] for t in true], [index[p] for p in pred], len(labels))
    classes = per_class(m, labels)
    present = [c for c in classes.values() if c["support"] > 0]
    return {
        "n": len(true),
        "accuracy": float(np.trace(m) / max(1, m.sum())),
        "macro_f1": float(np.mean([c["f1"] for c in present])) if present else 0.0,
        "per_class": classes,
        **negative_rates(true, pred, negatives),
        "confusion": m.tolist(),
    }
