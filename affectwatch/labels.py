"""The label set: AffectNet's eight expressions, and the mapping of other names onto them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from affectwatch.exceptions import LabelError

LABELS: tuple[str, ...] = (
    "anger",
    "contempt",
    "disgust",
    "fear",
    "happy",
    "neutral",
    "sad",
    "surprise",
)

NEGATIVE_LABELS: frozenset[str] = frozenset({"anger", "contempt", "disgust", "fear", "sad"})

SYNONYMS: dict[str, str] = {
    "angry": "anger",
    "anger": "anger",
    "contempt": "contempt",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "scared": "fear",
    "happy": "happy",
    "happiness": "happy",
    "joy": "happy",
    "neutral": "neutral",
    "calm": "neutral",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
}


def canonical(name: str) -> str:
    """Map a folder or label name (any case, common synonyms) onto one of the eight labels."""
    key = name.strip().lower()
    if key not in SYNONYMS:
        raise LabelError(f"{name!r} is not one of {', '.join(LABELS)} nor a known synonym")
    return SYNONYMS[key]


def to_eight(model_labels: Sequence[str], probs: Iterable[float]) -> dict[str, float | None]:
    """Spread a model's probabilities over the eight labels; a label it lacks gets None."""
    mapped: dict[str, float | None] = dict.fromkeys(LABELS)
    for label, p in zip(model_labels, probs, strict=True):
        mapped[canonical(label)] = float(p)
    return mapped


def is_negative(label: str, negatives: frozenset[str] = NEGATIVE_LABELS) -> bool:
    return canonical(label) in negatives
