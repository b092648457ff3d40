"""Cropping the largest face of every photograph in class folders, as the worker cuts faces out of frames.

Kept apart from modeling.datasets so that reading face folders needs no detector (facenet-pytorch): the
training commands run where only torch is installed (modeling/research/device_train.sh)."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from modeling.datasets import image_files, read_rgb
from worker.facecrop import largest_face_crop
from worker.models.detector import FaceDetector
from worker.preprocess import Framing

log = logging.getLogger(__name__)


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
