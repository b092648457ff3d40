"""How the negative false-alarm rate and negative recall trade off against a threshold on the summed
negative probability (what the alert rule can count), on a folder of class folders.

    .venv/bin/python scripts/negative_tradeoff.py DATA [--model PATH] [--detect] [--by-person] [--bootstrap N]

With --by-person, files named PERSON_0001.jpg (as in the web photographs) are grouped by person: the
people whose faces make the most argmax false alarms, and the false-alarm rate averaged over people.
With --bootstrap N, 95% intervals of the false alarms at 80% recall and of the AUC, from N resamples of the
people (all of a person's photographs in or out together: photographs of one person are not independent).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from affectwatch.config import Config
from affectwatch.labels import NEGATIVE_LABELS
from worker.datasets import load_faces
from worker.facecrop import largest_face_crop
from worker.models.classifier import ExpressionClassifier
from worker.models.detector import DetectorSettings, FaceDetector
from worker.models.modelfile import DEFAULT_MODEL


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--detect", action="store_true")
    parser.add_argument("--by-person", action="store_true")
    parser.add_argument("--bootstrap", type=int, default=0, help="resamples of people for 95%% intervals")
    args = parser.parse_args()
    config = Config.from_env()
    clf = ExpressionClassifier(args.model)
    meta = clf.meta
    crop = None
    if args.detect:
        det = FaceDetector(DetectorSettings(config.min_face_size, config.detect_max_side, config.face_threshold))
        crop = lambda rgb: largest_face_crop(det, rgb, meta.framing)  # noqa: E731
    faces = load_faces(args.data, meta.input_size, crop=crop)
    x = torch.from_numpy(faces.images).unsqueeze(1).float() / 255.0
    probs = torch.softmax(clf.logits(x) / meta.temperature, 1).numpy()
    neg_cols = [i for i, label in enumerate(meta.labels) if label in NEGATIVE_LABELS]
    neg_p = probs[:, neg_cols].sum(1)
    truth = np.array([label in NEGATIVE_LABELS for label in faces.labels])
    argmax_neg = np.isin(probs.argmax(1), neg_cols)
    print(f"n={len(truth)} negatives={truth.sum()} no_face={faces.no_face}")
    print(f"argmax: false alarms {argmax_neg[~truth].mean():.3f}, negative recall {argmax_neg[truth].mean():.3f}")
    print("threshold  false_alarm  negative_recall  mean_neg_prob_nonneg  mean_neg_prob_neg")
    for t in (0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        call = neg_p >= t
        print(f"{t:9.2f}  {call[~truth].mean():11.3f}  {call[truth].mean():15.3f}"
              f"  {neg_p[~truth].mean():20.3f}  {neg_p[truth].mean():17.3f}")
    at_recall(neg_p, truth, 0.8)
    people = [re.sub(r"_\d+$", "", path.stem) for path in faces.paths]
    if args.by_person:
        by_person(people, argmax_neg, truth)
    if args.bootstrap:
        bootstrap(neg_p, truth, people, args.bootstrap)


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


def bootstrap(neg_p: np.ndarray, truth: np.ndarray, people: list[str], n: int) -> None:
    """95% intervals of the false alarms at 80% recall and of the AUC, resampling people with replacement."""
    names = np.array(people)
    rows = [np.flatnonzero(names == p) for p in np.unique(names)]
    rng, fas, aucs = np.random.default_rng(0), [], []
    for _ in range(n):
        s = np.concatenate([rows[i] for i in rng.integers(0, len(rows), len(rows))])
        p, t = neg_p[s], truth[s]
        if t.any() and (~t).any():
            fas.append((p[~t] >= threshold_at(p, t, 0.8)).mean())
            aucs.append(auc(p, t))
    (fa_lo, fa_hi), (auc_lo, auc_hi) = np.percentile(fas, [2.5, 97.5]), np.percentile(aucs, [2.5, 97.5])
    print(f"95% intervals over {len(fas)} resamples of {len(rows)} people: false alarms at 80% recall "
          f"{fa_lo:.3f}-{fa_hi:.3f}; AUC {auc_lo:.3f}-{auc_hi:.3f}")


def by_person(people: list[str], called: np.ndarray, truth: np.ndarray) -> None:
    """Which people's non-negative faces are called negative, and the false-alarm rate per person."""
    faces, alarms = Counter(np.array(people)[~truth]), Counter(np.array(people)[~truth & called])
    total, per_person = sum(alarms.values()), np.mean([alarms[p] / faces[p] for p in faces])
    print(f"{len(faces)} people; false alarms averaged over people: {per_person:.3f}")
    for person, n in alarms.most_common(8):
        print(f"  {person}: {n} of {faces[person]} faces called negative ({n / total:.0%} of all false alarms)")


if __name__ == "__main__":
    main()
