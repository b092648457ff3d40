"""Measure where MTCNN puts its five landmarks in FER2013's 48 x 48 faces: worker.preprocess.FER_TEMPLATE.

Each face is scaled up 4x (MTCNN misses most faces at 48 px), detected, and its landmarks scaled back.
Aligning the worker's faces to the median of these points frames them as the training faces are framed.

    .venv/bin/python scripts/fer_template.py ../shared/datasets/fer2013/train [--n 1500]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import cv2
import numpy as np

from worker.datasets import image_files, read_rgb
from worker.models.detector import DetectorSettings, FaceDetector, largest

SCALE = 4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("--n", type=int, default=1500)
    args = parser.parse_args()
    files = list(image_files(args.data))
    random.Random(0).shuffle(files)
    detector = FaceDetector(DetectorSettings(min_face_size=60))
    points = []
    for _, path in files[: args.n]:
        rgb = read_rgb(path)
        big = None if rgb is None else cv2.resize(rgb, None, fx=SCALE, fy=SCALE, interpolation=cv2.INTER_CUBIC)
        face = None if big is None else largest(detector.predict(big))
        if face is not None:
            points.append(np.array(face.landmarks) / SCALE)
    median = np.median(np.array(points), 0)
    sys.stdout.write(f"{len(points)} faces of {min(args.n, len(files))} found; median landmarks in a 48 x 48 face:\n")
    sys.stdout.write(repr(tuple(tuple(round(float(v), 2) for v in p) for p in median)) + "\n")


if __name__ == "__main__":
    main()
