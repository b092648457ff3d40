"""The expression classifier: face crops in, calibrated probabilities over the eight labels out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from affectwatch.labels import to_eight
from worker.models.base import InferenceModel
from worker.models.modelfile import DEFAULT_MODEL, ModelMeta, load_model
from worker.models.nets import fold_batch_norms
from worker.preprocess import Image, face_input


@dataclass(frozen=True)
class Expression:
    label: str
    confidence: float
    probs: dict[str, float | None]


def batch_tensor(crops: Sequence[Image], size: int) -> torch.Tensor:
    """Stack preprocessed crops into an N x 1 x size x size tensor."""
    arr = np.stack([face_input(c, size) for c in crops])[:, None, :, :]
    return torch.from_numpy(arr)


class ExpressionClassifier(InferenceModel[Sequence[Image], list[Expression]]):
    """Classifies a batch of face crops in one forward pass."""

    def __init__(self, weights: Path = DEFAULT_MODEL, device: str = "cpu") -> None:
        super().__init__(device)
        self.weights = weights
        self.net: torch.nn.Module | None = None
        self._meta: ModelMeta | None = None

    @property
    def meta(self) -> ModelMeta:
        self.load()
        assert self._meta is not None
        return self._meta

    def _load(self) -> None:
        net, self._meta = load_model(self.weights, self.device)
        self.net = fold_batch_norms(net).to(memory_format=torch.channels_last)  # inference only: never trained here

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        assert self.net is not None
        with torch.inference_mode():
            out: torch.Tensor = self.net(batch.to(self.device)).float().cpu()
            return out

    def _predict(self, inputs: Sequence[Image]) -> list[Expression]:
        if not inputs:
            return []
        meta = self.meta
        probs = torch.softmax(meta.calibrated(self.logits(batch_tensor(inputs, meta.input_size))), 1)
        return [self._expression(row.tolist(), meta) for row in probs]

    @staticmethod
    def _expression(row: list[float], meta: ModelMeta) -> Expression:
        best = int(np.argmax(row))
        return Expression(meta.labels[best], row[best], to_eight(meta.labels, row))
