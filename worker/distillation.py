"""Knowledge distillation: a trained model (the teacher) lends its soft labels to the network in training.

The teacher may be a joined model (`mirror:`, several members, each reading the face and its mirror image):
distilling it into one network aims to keep what the joined model gains at the cost of one network.
The loss is worker.losses.soft_loss, blended with the labels' cross-entropy by worker.losses.blend.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from affectwatch.exceptions import ModelError
from worker.models.modelfile import load_model

log = logging.getLogger(__name__)


class Teacher:
    """A saved model that scores the very faces the student trains on, without gradients."""

    def __init__(self, path: Path, labels: list[str], input_size: int, device: str) -> None:
        self.net, meta = load_model(path, device)
        if meta.labels != labels or meta.input_size != input_size:
            raise ModelError(f"teacher {path} reads {meta.input_size} px faces as {meta.labels}; the student "
                             f"trains on {input_size} px faces labelled {labels}: they must agree")
        for p in self.net.parameters():
            p.requires_grad_(False)
        log.info("distilling from %s (%s)", path, meta.arch)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():  # load_model returned the network in eval mode, and nothing trains it
            out: torch.Tensor = self.net(x)
        return out.float()
