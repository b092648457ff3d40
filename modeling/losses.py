"""Training losses beyond the labels' cross-entropy: pure functions of logits, per face."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def soft_loss(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """Distillation (Hinton et al.): T² · KL(teacher ‖ student), both logits divided by the temperature T.

    Scaling by T² keeps the gradients' size as the temperature softens the distributions.
    """
    log_p = F.log_softmax(student.float() / temperature, dim=1)
    log_q = F.log_softmax(teacher.float() / temperature, dim=1)
    return (log_q.exp() * (log_q - log_p)).sum(1) * temperature**2


def group_log_odds(logits: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
    """log(P(group) / P(not group)) from the logits: the summed probability of the group, as log-odds."""
    inside = torch.logsumexp(logits.float().masked_fill(~group, float("-inf")), dim=1)
    outside = torch.logsumexp(logits.float().masked_fill(group, float("-inf")), dim=1)
    return inside - outside


def group_loss(logits: torch.Tensor, y: torch.Tensor, group: torch.Tensor) -> torch.Tensor:
    """Per face: the binary cross-entropy of "its label is in the group" on the group's summed probability.

    With the negative labels as the group, it trains the decision the alerts make (negative or not) apart
    from which negative label it is: calling a sad face fearful costs nothing here, calling it neutral does.
    """
    return F.binary_cross_entropy_with_logits(group_log_odds(logits, group), group[y].float(), reduction="none")


def blend(hard: torch.Tensor, soft: torch.Tensor, weight: float) -> torch.Tensor:
    """The labels' share (1 - weight) and the teacher's (weight) of the loss."""
    return (1.0 - weight) * hard + weight * soft
