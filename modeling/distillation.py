"""Knowledge distillation: a trained model (the teacher) lends its soft labels to the network in training.

The teacher may be a joined model (`mirror:`, several members, each reading the face and its mirror image):
distilling it into one network aims to keep what the joined model gains at the cost of one network.
The loss is modeling.losses.soft_loss, blended with the labels' cross-entropy by modeling.losses.blend.

A trained model can also point the network at the faces it gets wrong (`error_weights`, for `--boost-from`):
a network trained so, to join that model, brings a view of its own where the model is weakest, as boosting does.
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

    def __init__(self, path: Path, labels: list[str], input_size: int, device: str, role: str = "teacher") -> None:
        self.net, meta = load_model(path, device)
        self.temperature = meta.temperature
        if meta.labels != labels or meta.input_size != input_size:
            raise ModelError(f"{role} {path} reads {meta.input_size} px faces as {meta.labels}; the network "
                             f"trains on {input_size} px faces labelled {labels}: they must agree")
        for p in self.net.parameters():
            p.requires_grad_(False)
        log.info("%s reads %s", path, meta.arch)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():  # load_model returned the network in eval mode, and nothing trains it
            out: torch.Tensor = self.net(x)
        return out.float()


def error_weights(logits: torch.Tensor, y: torch.Tensor, temperature: float, strength: float) -> torch.Tensor:
    """A weight per face, 1 + strength x (1 - the model's calibrated probability of the true label), scaled to a
    mean of 1: the faces a model gets wrong (or is unsure of) count up to 1 + strength times as much."""
    right = torch.softmax(logits.float() / temperature, 1).gather(1, y[:, None]).squeeze(1)
    w = 1.0 + strength * (1.0 - right)
    return w / w.mean()
