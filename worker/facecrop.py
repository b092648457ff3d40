"""The worker's face path for one still image: detect, keep the largest face, crop with the margin."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from worker.datasets import image_files, read_rgb
from worker.models.detector import FaceDetector, largest
from worker.preprocess import Image, crop_face

log = logging.getLogger(__name__)


def largest_face_crop(detector: FaceDetector, rgb: Image, margin: float) -> Image | None:
    face = largest(detector.predict(rgb))
    return None if face is None else crop_face(rgb, face.box, margin)


def crop_folder(src: Path, dst: Path, detector: FaceDetector, margin: float, size: int = 96) -> tuple[int, int]:
    """Write the largest face of every image in src's class folders to dst; return (written, no face)."""
    written = missing = 0
    for label, path in image_files(src):
        rgb = read_rgb(path)
        crop = None if rgb is None else largest_face_crop(detector, rgb, margin)
        if crop is None:
            missing += 1
            continue
        out = dst / label / (path.stem + ".png")
        out.parent.mkdir(parents=True, exist_ok=True)
        small = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(out), cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
        written += 1
    log.info("cropped %d faces from %s into %s; %d without a face", written, src, dst, missing)
    return written, missing
