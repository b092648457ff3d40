"""How the negative false-alarm rate and negative recall trade off against a threshold on the summed
negative probability (what the alert rule can count), on a folder of class folders.

    .venv/bin/python scripts/negative_tradeoff.py DATA [--model PATH] [--detect]
"""

from __future__ import annotations

import argparse
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


if __name__ == "__main__":
    main()
