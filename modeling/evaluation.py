"""`affectwatch evaluate`: a model measured on a folder of class folders, or a FER+ folder (images with label.csv:
scored against the annotators' majority, with how far they agreed on the faces the model missed).

Faces go through the very preprocessing the worker uses (modeling.datasets.load_faces calls
worker.preprocess.face_input); with detect, each image first goes through the worker's face path
(MTCNN, the largest face, cut as the model's framing says) and images without a face are counted apart.
Faces whose label the model cannot output (contempt for a FER2013 model) are reported, not scored.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from affectwatch.config import Config
from affectwatch.exceptions import DataError, ModelError
from affectwatch.labels import LABELS
from modeling import charts, metrics
from modeling.datasets import CropFn, FaceSet, load_faces
from worker.facecrop import largest_face_crop
from worker.models.classifier import ExpressionClassifier
from worker.models.detector import FaceDetector, detector_settings
from worker.models.modelfile import DEFAULT_MODEL, ModelMeta
from worker.preprocess import Framing

log = logging.getLogger(__name__)

BATCH = 256


def resolve_model(model: Path | None, config: Config) -> Path:
    """The weights to evaluate: --model, else AFFECTWATCH_MODEL, else the shipped model; missing is an error."""
    configured = config.model if config.model != Path("") else None
    path = model or configured or DEFAULT_MODEL
    if not path.exists():
        hint = " (the shipped model is missing: pass --model or set AFFECTWATCH_MODEL)" if path == DEFAULT_MODEL else ""
        raise ModelError(f"no model weights at {path}{hint}")
    return path


def worker_crop(config: Config, device: str, framing: Framing) -> CropFn:
    """The worker's face path for one image: MTCNN with the configured settings, the largest face, cut by framing."""
    detector = FaceDetector(detector_settings(config), device)
    return lambda rgb: largest_face_crop(detector, rgb, framing)


def predict_logits(classifier: ExpressionClassifier, faces: FaceSet) -> torch.Tensor:
    """Logits for every face, in batches; faces are uint8 face_input images, so /255 restores them exactly."""
    classifier.load()
    x = torch.from_numpy(faces.images).unsqueeze(1)
    parts = [classifier.logits(x[i : i + BATCH].float() / 255.0) for i in range(0, len(x), BATCH)]
    return torch.cat(parts) if parts else torch.zeros((0, len(classifier.meta.labels)))


def outside_model(true: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> dict[str, dict[str, Any]]:
    """For each label the model cannot output: how many faces carry it and what the model called them."""
    found: dict[str, Counter[str]] = {}
    for t, p in zip(true, pred, strict=True):
        if t not in labels:
            found.setdefault(t, Counter())[p] += 1
    return {t: {"n": sum(c.values()), "predicted": dict(c.most_common())} for t, c in sorted(found.items())}


def calibration(logits: torch.Tensor, true: Sequence[int], meta: ModelMeta) -> dict[str, float]:
    """Expected calibration error with the model's temperature (and label offsets), and without them."""
    probs = torch.softmax(meta.calibrated(logits), 1).numpy()
    raw = torch.softmax(logits, 1).numpy()
    return {"ece": metrics.ece(probs, true), "ece_uncalibrated": metrics.ece(raw, true),
            "mean_confidence": float(probs.max(1).mean())}


def score(true: Sequence[str], logits: torch.Tensor, meta: ModelMeta, negatives: frozenset[str]) -> dict[str, Any]:
    """Every figure over the faces whose label the model can output; the others reported apart."""
    pred = [meta.labels[i] for i in meta.calibrated(logits).argmax(1).tolist()]
    keep = [i for i, label in enumerate(true) if label in meta.labels]
    if not keep:
        raise DataError(f"none of the faces carries a label the model can output ({', '.join(meta.labels)})")
    kept_true, kept_pred = [true[i] for i in keep], [pred[i] for i in keep]
    result = metrics.summary(kept_true, kept_pred, meta.labels, negatives)
    index = [meta.labels.index(label) for label in kept_true]
    result.update(calibration(logits[keep], index, meta))
    result["not_in_model"] = outside_model(true, pred, meta.labels)
    return result


def evaluate_folder(
    data: Path, model: Path | None, detect: bool, config: Config, device: str, confusion_png: Path,
    progress: bool = False,
) -> dict[str, Any]:
    """Measure a model on DIR's class folders; write the confusion matrix; return every figure as JSON-ready data."""
    weights = resolve_model(model, config)
    classifier = ExpressionClassifier(weights, device)
    meta = classifier.meta
    log.info("evaluating %s (%s, labels %s) on %s%s", weights, meta.arch, meta.labels, data,
             " through MTCNN" if detect else "")
    crop = worker_crop(config, device, meta.framing) if detect else None
    faces = load_faces(data, meta.input_size, crop=crop, progress=progress)
    if not faces.labels:
        raise DataError(f"no face to score in {data}" + (f" ({faces.no_face} images without a face)" if detect else ""))
    logits = predict_logits(classifier, faces)
    result = score(faces.labels, logits, meta, config.negative_labels)
    if faces.votes is not None:
        result["annotators"] = agreement(faces, [meta.labels[i] for i in meta.calibrated(logits).argmax(1).tolist()])
    result.update(model=str(weights), data=str(data), labels=meta.labels, temperature=meta.temperature,
                  detect=detect, confusion_png=str(confusion_png))
    if detect:
        result["no_face"] = faces.no_face
    draw_confusion(result, confusion_png)
    return result


def agreement(faces: FaceSet, pred: Sequence[str]) -> dict[str, Any]:
    """How far FER+'s annotators agreed (the majority's share of a face's votes) on the faces the model called as
    the majority did and on those it missed, and how often its call was one at least one annotator made."""
    assert faces.votes is not None
    shares = faces.votes / faces.votes.sum(1, keepdims=True)
    majority = shares.max(1)
    hit = [p == t for p, t in zip(pred, faces.labels, strict=True)]
    voted = [shares[i, LABELS.index(p)] > 0 if p in LABELS else False for i, p in enumerate(pred)]
    missed = [i for i, h in enumerate(hit) if not h]
    right = [i for i, h in enumerate(hit) if h]
    return {
        "majority_share_right": float(majority[right].mean()) if right else None,
        "majority_share_missed": float(majority[missed].mean()) if missed else None,
        "missed_with_an_annotators_vote": (sum(voted[i] for i in missed) / len(missed)) if missed else None,
        "left_out": faces.left_out,
    }


def draw_confusion(result: dict[str, Any], out: Path) -> None:
    """The scored faces' matrix, with a row below it for each label the model cannot output."""
    out.parent.mkdir(parents=True, exist_ok=True)
    labels, outside = result["labels"], result["not_in_model"]
    extra = [[outside[t]["predicted"].get(p, 0) for p in labels] for t in outside]
    name, data = Path(result["model"]).stem, Path(result["data"]).name
    title = f"{name} on {data}: accuracy {result['accuracy']:.3f}, n={result['n']}"
    rows = [*labels, *(f"{t} (not scored)" for t in outside)]
    charts.confusion_matrix(result["confusion"] + extra, labels, title, out, rows)


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def render_text(result: dict[str, Any]) -> str:
    """The result for a person: headline figures, a per-class table, what was left out, where the PNG is."""
    lines = [
        f"model {result['model']}  labels {', '.join(result['labels'])}  temperature {result['temperature']:.3f}",
        f"data  {result['data']}  faces scored {result['n']}"
        + (f"  images without a face {result['no_face']}" if "no_face" in result else ""),
        f"accuracy {result['accuracy']:.4f}   macro-F1 {result['macro_f1']:.4f}",
        f"negative false-alarm rate {_rate(result['negative_false_alarm_rate'])}  (non-negative faces called negative)",
        f"negative recall           {_rate(result['negative_recall'])}  (negative faces called negative)",
        f"ECE {result['ece']:.4f} at the model's temperature, {result['ece_uncalibrated']:.4f} without;"
        f" mean confidence {result['mean_confidence']:.3f}",
        "",
        f"{'label':<10} {'precision':>9} {'recall':>7} {'F1':>6} {'faces':>6}",
    ]
    lines += [_class_row(label, c) for label, c in result["per_class"].items()]
    lines += [_outside_row(label, o) for label, o in result["not_in_model"].items()]
    if "annotators" in result:
        a = result["annotators"]
        lines.append(f"annotators: the majority held {_rate(a['majority_share_right'])} of the votes on the faces "
                     f"called as they called them, {_rate(a['majority_share_missed'])} on the faces missed; "
                     f"{_rate(a['missed_with_an_annotators_vote'])} of the misses are a label some annotator chose"
                     f" ({a['left_out']} faces left out: no expression won their votes)")
    lines.append(f"confusion matrix: {result['confusion_png']}")
    return "\n".join(lines)


def _class_row(label: str, c: dict[str, float]) -> str:
    return f"{label:<10} {c['precision']:>9.3f} {c['recall']:>7.3f} {c['f1']:>6.3f} {int(c['support']):>6d}"


def _outside_row(label: str, o: dict[str, Any]) -> str:
    called = ", ".join(f"{p} {k}" for p, k in o["predicted"].items())
    return f"not scored: {o['n']} {label} faces, a label the model cannot output (it called them: {called})"
