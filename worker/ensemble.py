"""`affectwatch combine`: trained models joined into one, calibrated together on a validation folder.

Each member reads the face and its mirror image and the logits are averaged (worker.models.nets.Ensemble);
the joined model gets its own temperature, fitted on validation as training fits one. One model alone is
"combined" too: it then reads each face and its mirror image.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from affectwatch.exceptions import ModelError
from worker import metrics
from worker.datasets import load_faces
from worker.models.modelfile import ModelMeta, load_model, save_model
from worker.models.nets import MIRRORED, TRAINABLE, Ensemble

log = logging.getLogger(__name__)

MAX_MEMBERS = 4


def joined_arch(metas: list[ModelMeta]) -> str:
    """The ensemble architecture of these members, or a ModelError saying why they cannot be joined."""
    first = metas[0]
    if not 1 <= len(metas) <= MAX_MEMBERS or any(m.arch not in TRAINABLE for m in metas):
        raise ModelError(f"1 to {MAX_MEMBERS} single networks ({', '.join(TRAINABLE)}) can be combined, "
                         f"not {[m.arch for m in metas]}")
    for i, m in enumerate(metas[1:], start=2):
        if (m.labels, m.input_size, m.template, m.margin) != (first.labels, first.input_size, first.template,
                                                              first.margin):
            raise ModelError(f"model {i} ({m.arch}) differs from model 1 ({first.arch}) in labels or framing")
    return MIRRORED + ",".join(m.arch for m in metas)


def val_logits(net: torch.nn.Module, val: Path, meta: ModelMeta) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits of every validation face the model can label, and their label indices."""
    faces = load_faces(val, meta.input_size)
    keep = [i for i, label in enumerate(faces.labels) if label in meta.labels]
    x = torch.from_numpy(faces.images[keep]).unsqueeze(1).float() / 255.0
    with torch.no_grad():
        logits = torch.cat([net(x[i : i + 256]) for i in range(0, len(x), 256)])
    return logits, torch.tensor([meta.labels.index(faces.labels[i]) for i in keep])


def combine(members: list[Path], val: Path, out: Path) -> ModelMeta:
    loaded = [load_model(path) for path in members]
    metas = [meta for _, meta in loaded]
    arch = joined_arch(metas)
    net = Ensemble([member for member, _ in loaded]).eval()
    logits, true = val_logits(net, val, metas[0])
    temperature = metrics.fit_temperature(logits, true)
    extra: dict[str, Any] = {
        "val_accuracy": float((logits.argmax(1) == true).float().mean()),
        "ece_before": metrics.ece(torch.softmax(logits, 1).numpy(), true.tolist()),
        "ece_after": metrics.ece(torch.softmax(logits / temperature, 1).numpy(), true.tolist()),
        "validated_on": str(val),
        "members": [{"model": str(p), "val_accuracy": m.extra.get("val_accuracy"), "settings": m.extra.get("settings")}
                    for p, m in zip(members, metas, strict=True)],
    }
    first = metas[0]
    meta = ModelMeta(out.stem, arch, first.labels, first.input_size, first.colour, first.mean, first.std,
                     temperature, first.margin, first.template, extra)
    save_model(net, meta, out)
    log.info("combined %d models into %s: val acc %.4f, temperature %.3f, ECE %.4f -> %.4f", len(members), out,
             extra["val_accuracy"], temperature, extra["ece_before"], extra["ece_after"])
    return meta
