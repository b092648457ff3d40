"""How the negative false-alarm rate and negative recall trade off against a threshold on the summed
negative probability (what the alert rule can count), on a folder of class folders.

    .venv/bin/python modeling/research/negative_tradeoff.py DATA [--model PATH] [--detect [--detections FILE]]
        [--by-person] [--bootstrap N] [--against OTHER]

With --by-person, files named PERSON_0001.jpg (as in the web photographs) are grouped by person: the
people whose faces make the most argmax false alarms, and the false-alarm rate averaged over people.
With --bootstrap N, 95% intervals of the false alarms at 80% recall and of the AUC, from N resamples of the
people (all of a person's photographs in or out together: photographs of one person are not independent).
With --against OTHER, the same figures for a second model on the same faces, and with --bootstrap the
paired intervals of the differences (OTHER minus MODEL, the same resamples for both): whether one model is
measurably better than the other on this data. With --detections FILE, MTCNN's faces are kept in FILE
(JSON) and read back on the next run, so that comparing models does not detect every image again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from affectwatch.config import Config
from affectwatch.labels import NEGATIVE_LABELS
from modeling.datasets import FaceSet, load_faces
from worker.facecrop import face_crop
from worker.models.classifier import ExpressionClassifier
from worker.models.detector import Face, FaceDetector, detector_settings, largest
from worker.models.modelfile import DEFAULT_MODEL
from worker.preprocess import Framing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--detect", action="store_true")
    parser.add_argument("--detections", type=Path, help="with --detect: keep MTCNN's faces in this JSON file")
    parser.add_argument("--by-person", action="store_true")
    parser.add_argument("--bootstrap", type=int, default=0, help="resamples of people for 95%% intervals")
    parser.add_argument("--against", type=Path, help="a second model, compared on the same faces")
    args = parser.parse_args()
    detections = Detections(args.detections) if args.detect else None
    one = scores(args.model, args.data, detections)
    report(one, args.by_person)
    if args.bootstrap:
        bootstrap(one.neg_p, one.truth, one.people, args.bootstrap)
    if args.against:
        other = scores(args.against, args.data, detections)
        if other.people != one.people or not np.array_equal(other.truth, one.truth):
            raise SystemExit("the two models were not scored on the same faces")
        report(other, args.by_person)
        if args.bootstrap:
            paired_bootstrap(one.neg_p, other.neg_p, one.truth, one.people, args.bootstrap)
    if detections:
        detections.save()


@dataclass(frozen=True)
class Scored:
    """One model on one folder: each face's summed calibrated negative probability, whether its most
    likely label is negative, whether it is truly negative, and whose face it is."""

    neg_p: np.ndarray
    argmax_neg: np.ndarray
    truth: np.ndarray
    people: list[str]


class Detections:
    """The worker's detector with its answers kept by image content (and, given a file, across runs)."""

    def __init__(self, path: Path | None) -> None:
        config = Config.from_env()
        self.detector = FaceDetector(detector_settings(config))
        self.path = path
        self.known: dict[str, list[list[float]] | None] = (
            json.loads(path.read_text()) if path and path.exists() else {})

    def largest(self, rgb: np.ndarray) -> Face | None:
        key = hashlib.sha1(rgb.tobytes()).hexdigest()
        if key not in self.known:
            face = largest(self.detector.predict(rgb))
            self.known[key] = None if face is None else [list(face.box), [face.probability],
                                                         [c for point in face.landmarks for c in point]]
        return _face(self.known[key])

    def save(self) -> None:
        if self.path:
            self.path.write_text(json.dumps(self.known))


def _face(row: list[list[float]] | None) -> Face | None:
    if row is None:
        return None
    box, (probability,), flat = row
    points = tuple((flat[i], flat[i + 1]) for i in range(0, len(flat), 2))
    return Face((box[0], box[1], box[2], box[3]), probability, points)


def scores(model: Path, data: Path, detections: Detections | None) -> Scored:
    clf = ExpressionClassifier(model)
    meta = clf.meta
    crop = None
    if detections:
        crop = lambda rgb: _cut(rgb, detections.largest(rgb), meta.framing)  # noqa: E731
    faces: FaceSet = load_faces(data, meta.input_size, crop=crop)
    if not faces.labels:
        raise SystemExit(f"no face to score in {data} ({faces.no_face} images without one)")
    x = torch.from_numpy(faces.images).unsqueeze(1).float() / 255.0
    probs = torch.softmax(meta.calibrated(clf.logits(x)), 1).numpy()
    neg_cols = [i for i, label in enumerate(meta.labels) if label in NEGATIVE_LABELS]
    truth = np.array([label in NEGATIVE_LABELS for label in faces.labels])
    print(f"--- {model}: n={len(truth)} negatives={truth.sum()} no_face={faces.no_face}")
    people = [re.sub(r"_\d+$", "", path.stem) for path in faces.paths]
    return Scored(probs[:, neg_cols].sum(1), np.isin(probs.argmax(1), neg_cols), truth, people)


def _cut(rgb: np.ndarray, face: Face | None, framing: Framing) -> np.ndarray | None:
    return None if face is None else face_crop(rgb, face, framing)


def report(scored: Scored, per_person: bool) -> None:
    """The argmax and threshold figures, the false alarms at 80% recall and the AUC (and, per_person, by person)."""
    neg_p, truth, called = scored.neg_p, scored.truth, scored.argmax_neg
    print(f"argmax: false alarms {called[~truth].mean():.3f}, negative recall {called[truth].mean():.3f}")
    print("threshold  false_alarm  negative_recall  mean_neg_prob_nonneg  mean_neg_prob_neg")
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        call = neg_p >= t
        print(f"{t:9.2f}  {call[~truth].mean():11.3f}  {call[truth].mean():15.3f}"
              f"  {neg_p[~truth].mean():20.3f}  {neg_p[truth].mean():17.3f}")
    at_recall(neg_p, truth, 0.8)
    if per_person:
        by_person(scored.people, called, truth)


def threshold_at(neg_p: np.ndarray, truth: np.ndarray, recall: float) -> float:
    """The highest threshold (in steps of 0.01) that keeps negative recall at recall or more."""
    return max((x for x in np.arange(0.01, 1.0, 0.01) if (neg_p[truth] >= x).mean() >= recall), default=0.0)


def auc(neg_p: np.ndarray, truth: np.ndarray) -> float:
    """The chance that a negative face scores above a non-negative one (ties count half)."""
    pos, neg = neg_p[truth], np.sort(neg_p[~truth])
    below, upto = np.searchsorted(neg, pos, "left"), np.searchsorted(neg, pos, "right")
    return float((below + upto).mean() / (2 * len(neg)))


def at_recall(neg_p: np.ndarray, truth: np.ndarray, recall: float) -> None:
    """The false alarms of the highest threshold that keeps negative recall at recall or more, and the AUC."""
    t = threshold_at(neg_p, truth, recall)
    fa = (neg_p[~truth] >= t).mean()
    print(f"at {recall:.0%} recall (threshold {t:.2f}): false alarms {fa:.3f}; AUC {auc(neg_p, truth):.3f}")


def resamples(people: list[str], truth: np.ndarray, n: int) -> list[np.ndarray]:
    """n resamples of the people with replacement, as row indices (a person's rows in or out together);
    those without both negative and other faces, which no figure can be computed on, left out."""
    names = np.array(people)
    rows = [np.flatnonzero(names == p) for p in np.unique(names)]
    rng = np.random.default_rng(0)
    drawn = [np.concatenate([rows[i] for i in rng.integers(0, len(rows), len(rows))]) for _ in range(n)]
    return [s for s in drawn if truth[s].any() and (~truth[s]).any()]


def figures(neg_p: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """False alarms at 80% negative recall, and the AUC."""
    return float((neg_p[~truth] >= threshold_at(neg_p, truth, 0.8)).mean()), auc(neg_p, truth)


def bootstrap(neg_p: np.ndarray, truth: np.ndarray, people: list[str], n: int) -> None:
    """95% intervals of the false alarms at 80% recall and of the AUC, resampling people with replacement."""
    got = np.array([figures(neg_p[s], truth[s]) for s in resamples(people, truth, n)])
    print(f"95% intervals over {len(got)} resamples of {len(set(people))} people: "
          f"{_interval(got, signed=False)}")


def paired_bootstrap(one: np.ndarray, other: np.ndarray, truth: np.ndarray, people: list[str], n: int) -> None:
    """95% intervals of other's figures minus one's, both scored on the same resamples of people."""
    got = np.array([np.subtract(figures(other[s], truth[s]), figures(one[s], truth[s]))
                    for s in resamples(people, truth, n)])
    print(f"paired 95% intervals of the difference (second model minus first) over {len(got)} resamples: "
          f"{_interval(got, signed=True)}")


def _interval(got: np.ndarray, signed: bool) -> str:
    """The 2.5th and 97.5th percentiles of each column: false alarms at 80% recall, then AUC."""
    (fa_lo, auc_lo), (fa_hi, auc_hi) = np.percentile(got, [2.5, 97.5], axis=0)
    sign = "+" if signed else ""
    return (f"false alarms at 80% recall {fa_lo:{sign}.3f} to {fa_hi:{sign}.3f}; "
            f"AUC {auc_lo:{sign}.3f} to {auc_hi:{sign}.3f}")


def by_person(people: list[str], called: np.ndarray, truth: np.ndarray) -> None:
    """Which people's non-negative faces are called negative, and the false-alarm rate per person."""
    faces, alarms = Counter(np.array(people)[~truth]), Counter(np.array(people)[~truth & called])
    total, per_person = sum(alarms.values()), np.mean([alarms[p] / faces[p] for p in faces])
    print(f"{len(faces)} people; false alarms averaged over people: {per_person:.3f}")
    for person, n in alarms.most_common(8):
        print(f"  {person}: {n} of {faces[person]} faces called negative ({n / total:.0%} of all false alarms)")


if __name__ == "__main__":
    main()
