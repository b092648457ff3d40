"""`affectwatch combine`: trained models joined into one, calibrated together on a validation folder;
`affectwatch split`: a joined model's networks taken apart again, each a model of its own.

Each member reads the face and its mirror image and the logits are averaged (worker.models.nets.Ensemble);
the joined model gets its own temperature, fitted on validation as training fits one. One model alone is
"combined" too: it then reads each face and its mirror image. A model joined before may be named among
the models: its networks join as members of their own, each with the same share of the mean as any other.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from affectwatch.exceptions import ModelError
from affectwatch.labels import LABELS
from modeling import metrics
from modeling.datasets import load_faces
from worker.models.modelfile import ModelMeta, load_model, round_to_storage, save_model
from worker.models.nets import MIRRORED, TRAINABLE, Ensemble, members

log = logging.getLogger(__name__)

MAX_MEMBERS = 4
RECORDED = ("val_accuracy", "settings")  # what a joined model keeps of each member's metadata


def networks(arch: str) -> list[str]:
    """The architectures of the single networks in a model: a joined model's members, or the model's own."""
    return members(arch) or [arch]


def joined_arch(metas: list[ModelMeta]) -> str:
    """The ensemble architecture of these models' networks, or a ModelError saying why they cannot be joined."""
    first, archs = metas[0], [a for m in metas for a in networks(m.arch)]
    if not 1 <= len(archs) <= MAX_MEMBERS or any(a not in TRAINABLE for a in archs):
        raise ModelError(f"1 to {MAX_MEMBERS} single networks ({', '.join(TRAINABLE)}, or models joined from "
                         f"them) can be combined, not {archs}")
    for i, m in enumerate(metas[1:], start=2):
        if (m.labels, m.input_size, m.template, m.margin) != (first.labels, first.input_size, first.template,
                                                              first.margin):
            raise ModelError(f"model {i} ({m.arch}) differs from model 1 ({first.arch}) in labels or framing")
    return MIRRORED + ",".join(archs)


def single_networks(net: torch.nn.Module) -> list[torch.nn.Module]:
    """A loaded model's single networks: a joined model's members, or the model itself."""
    return list(net.members) if isinstance(net, Ensemble) else [net]


def val_logits(net: torch.nn.Module, val: Path, meta: ModelMeta) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Logits of every validation face the model can label, their label indices, and what the temperature is
    fitted to: the annotators' vote shares over the model's labels (a FER+ folder), else the label indices."""
    faces = load_faces(val, meta.input_size)
    keep = [i for i, label in enumerate(faces.labels) if label in meta.labels]
    x = torch.from_numpy(faces.images[keep]).unsqueeze(1).float() / 255.0
    with torch.no_grad():
        logits = torch.cat([net(x[i : i + 256]) for i in range(0, len(x), 256)])
    true = torch.tensor([meta.labels.index(faces.labels[i]) for i in keep])
    if faces.votes is None:
        return logits, true, true
    shares = torch.from_numpy(faces.vote_shares()[keep][:, [LABELS.index(label) for label in meta.labels]])
    return logits, true, shares / shares.sum(1, keepdim=True).clamp(min=1e-9)


def member_record(path: Path, meta: ModelMeta) -> dict[str, Any]:
    """What the joined model's metadata keeps of one model named to combine (a joined one keeps its members')."""
    record = {"model": str(path), **{key: meta.extra.get(key) for key in RECORDED}}
    if "members" in meta.extra:
        record["members"] = meta.extra["members"]
    return record


def network_records(extra: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of a model's single networks, in the order of its weights: a joined model's members' records,
    nested ones (a joined model joined again) flattened; the model's own for a single network."""
    if not extra.get("members"):
        return [extra]
    return [record for member in extra["members"] for record in network_records(member)]


def combine(paths: list[Path], val: Path, out: Path, storage: str = "float32",
            label_offsets: bool = False) -> ModelMeta:
    """Join the models, fit the joined model's temperature on val (with label_offsets, and one offset a label, to
    a FER+ folder's vote shares) and save it; float16 storage halves the file, and the weights are rounded to it
    before anything is measured."""
    loaded = [load_model(path) for path in paths]
    metas = [meta for _, meta in loaded]
    arch = joined_arch(metas)
    net = Ensemble([single for member, _ in loaded for single in single_networks(member)]).eval()
    round_to_storage(net, storage)
    logits, true, target = val_logits(net, val, metas[0])
    if label_offsets and target.dim() != 2:
        raise ModelError(f"label offsets are fitted to annotators' vote shares: {val} is not a FER+ folder")
    if label_offsets:
        temperature, bias = metrics.fit_label_bias(logits, target)
    else:
        temperature, bias = metrics.fit_temperature(logits, target), None
    first = metas[0]
    meta = ModelMeta(out.stem, arch, first.labels, first.input_size, first.colour, first.mean, first.std,
                     temperature, first.margin, first.template, label_bias=bias)
    meta.extra = {
        "val_accuracy": float((meta.calibrated(logits).argmax(1) == true).float().mean()),
        "val_accuracy_before_offsets": float((logits.argmax(1) == true).float().mean()),
        "ece_before": metrics.ece(torch.softmax(logits, 1).numpy(), true.tolist()),
        "ece_after": metrics.ece(torch.softmax(meta.calibrated(logits), 1).numpy(), true.tolist()),
        "validated_on": str(val),
        "storage": storage,
        "members": [member_record(p, m) for p, m in zip(paths, metas, strict=True)],
    }
    save_model(net, meta, out, storage)
    log.info("combined %d models into %s: val acc %.4f (%.4f before the labels' offsets %s), temperature %.3f, "
             "ECE %.4f -> %.4f", len(paths), out, meta.extra["val_accuracy"], meta.extra["val_accuracy_before_offsets"],
             bias, temperature, meta.extra["ece_before"], meta.extra["ece_after"])
    return meta


def split(path: Path, out: Path) -> list[Path]:
    """Save each single network of the model at path as a model of its own in out (NAME-1, NAME-2, ...), with
    the training record its metadata keeps for it; the weights load as they did in the joined model."""
    net, meta = load_model(path)
    singles, archs = single_networks(net), networks(meta.arch)
    records = network_records(meta.extra)
    if len(records) != len(singles):
        log.warning("%s records %d networks but holds %d: the parts are saved without records", path,
                    len(records), len(singles))
        records = [{} for _ in singles]
    return [_save_part(single, arch, record, meta, path, out / f"{path.stem}-{i}.safetensors")
            for i, (single, arch, record) in enumerate(zip(singles, archs, records, strict=True), start=1)]


def _save_part(net: torch.nn.Module, arch: str, record: dict[str, Any], joined: ModelMeta, joined_path: Path,
               dest: Path) -> Path:
    extra = {key: record.get(key) for key in RECORDED}
    extra |= {"trained_as": record.get("model"), "split_from": str(joined_path)}
    save_model(net, replace(joined, name=dest.stem, arch=arch, temperature=1.0, label_bias=None, extra=extra), dest)
    log.info("saved network %s (%s, val acc %s) as %s", record.get("model"), arch, extra["val_accuracy"], dest)
    return dest
