"""Two models' accuracy on the same folder of class folders, and the paired 95% interval of the difference.

    .venv/bin/python modeling/research/paired_accuracy.py DATA MODEL OTHER [--bootstrap 2000]

Faces are resampled with replacement (the same resamples for both models), so the interval is of OTHER's
accuracy minus MODEL's: one that excludes zero is a difference this folder can show. Faces are read as
`affectwatch evaluate` reads them without --detect (for FER2013's faces, whose photographs are of different
people). Faces of labels a model cannot output count as wrong for it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from modeling.datasets import load_faces
from modeling.evaluation import predict_logits
from worker.models.classifier import ExpressionClassifier


def correct(model: Path, data: Path) -> np.ndarray:
    """Whether the model's most likely label is each face's label, in the folder's file order."""
    clf = ExpressionClassifier(model)
    faces = load_faces(data, clf.meta.input_size)
    predicted = [clf.meta.labels[i] for i in clf.meta.calibrated(predict_logits(clf, faces)).argmax(1).tolist()]
    return np.array([p == t for p, t in zip(predicted, faces.labels, strict=True)])


def paired_interval(one: np.ndarray, other: np.ndarray, n: int) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of other's accuracy minus one's over n resamples of the faces."""
    rng = np.random.default_rng(0)
    diffs = [(other[s].mean() - one[s].mean()) for s in (rng.integers(0, len(one), len(one)) for _ in range(n))]
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return float(lo), float(hi)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("model", type=Path)
    parser.add_argument("other", type=Path)
    parser.add_argument("--bootstrap", type=int, default=2000, help="resamples of the faces")
    args = parser.parse_args()
    one, other = correct(args.model, args.data), correct(args.other, args.data)
    lo, hi = paired_interval(one, other, args.bootstrap)
    print(f"{args.model}: {one.mean():.4f}; {args.other}: {other.mean():.4f} (n={len(one)})")
    print(f"second minus first: {other.mean() - one.mean():+.4f}, paired 95% interval {lo:+.4f} to {hi:+.4f}")


if __name__ == "__main__":
    main()
