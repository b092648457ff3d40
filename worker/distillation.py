"""Knowledge distillation: a trained model (the teacher) lends its soft labels to the network in training.

The teacher may be a joined model (`mirror:`, several members, each reading the face and its mirror image):
distilling it into one network aims to keep what the joined model gains at the cost of one network.
The loss is Hinton et al.'s: the KL divergence between the teacher's and the student's distributions,
both softened by a temperature, scaled by its square so that its gradients keep their size.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
import torch.nn.functional as F

from affectwatch.exceptions import ModelError
from worker.models.modelfile import load_model

log = logging.getLogger(__name__)


def soft_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Per face: T² · KL(teacher ‖ student), both logits divided by the temperature T."""
    log_p = F.log_softmax(student.float() / temperature, dim=1)
    log_q = F.log_softmax(teacher.float() / temperature, dim=1)
    return (log_q.exp() * (log_q - log_p)).sum(1) * temperature**2


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
        self.net.eval()
        with torch.no_grad():
            out: torch.Tensor = self.net(x)
        return out.float()


def blend(hard: torch.Tensor, soft: torch.Tensor, weight: float) -> torch.Tensor:
    """The training loss: the labels' share (1 - weight) and the teacher's (weight)."""
    return (1.0 - weight) * hard + weight * soft

