"""PNG charts for people: training curves and confusion matrices (matplotlib, no display)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np


def training_curves(history: Sequence[dict[str, Any]], out: Path) -> None:
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], label="train")
    ax_loss.plot(epochs, [h["val_loss"] for h in history], label="validation")
    ax_loss.set(title="Loss", xlabel="epoch", ylabel="cross-entropy")
    ax_acc.plot(epochs, [h["train_acc"] for h in history], label="train")
    ax_acc.plot(epochs, [h["val_acc"] for h in history], label="validation")
    ax_acc.set(title="Accuracy", xlabel="epoch", ylabel="accuracy", ylim=(0, 1))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def confusion_matrix(
    matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str, out: Path,
    true_labels: Sequence[str] | None = None,
) -> None:
    """Rows: true labels (labels, or true_labels when some true labels are not predictable); columns: labels."""
    true_labels = labels if true_labels is None else true_labels
    m = np.asarray(matrix, dtype=float)
    rows = m / np.maximum(m.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(7, 6 * max(1.0, len(true_labels) / max(1, len(labels)))))
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(true_labels)), true_labels)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    for i in range(len(true_labels)):
        for j in range(len(labels)):
            colour = "white" if rows[i, j] > 0.5 else "black"
            ax.text(j, i, f"{rows[i, j]:.2f}\n{int(m[i, j])}", ha="center", va="center", fontsize=7, color=colour)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
