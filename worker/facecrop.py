"""How the worker cuts a detected face out of a frame, and its path for one still image (largest face)."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from worker.datasets import image_files, read_rgb
from worker.models.detector import Face, FaceDetector, largest
from worker.preprocess import Framing, Image, align_face, crop_face

log = logging.getLogger(__name__)


def face_crop(rgb: Image, face: Face, framing: Framing) -> Image:
    if framing.template and len(face.landmarks) == len(framing.template):
        return align_face(rgb, face.landmarks, framing.template, framing.size)
    return crop_face(rgb, face.box, framing.margin)


def largest_face_crop(detector: FaceDetector, rgb: Image, framing: Framing) -> Image | None:
    face = largest(detector.predict(rgb))
    return None if face is None else face_crop(rgb, face, framing)


def crop_folder(src: Path, dst: Path, detector: FaceDetector, framing: Framing, size: int = 96) -> tuple[int, int]:
    """Write the largest face of every image in src's class folders to dst; return (written, no face)."""
    written = missing = 0
    for label, path in image_files(src):
        rgb = read_rgb(path)
        crop = None if rgb is None else largest_face_crop(detector, rgb, framing)
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
