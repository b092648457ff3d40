"""Photos of three real people, made at test time from photographs installed packages ship (tests/faceset.py):
scikit-image's astronaut (Eileen Collins), matplotlib's Grace Hopper and scikit-image's cameraman. Each
person's "photos" are the one photograph turned, mirrored, relit and reframed: enough to tell an enrolled
person's other pictures from other people's, which is what the tests ask."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from tests import faceset
from tests.test_worker_support import jpeg
from worker.preprocess import Image

PEOPLE = ("astronaut", "hopper", "camera")


def variants(name: str) -> list[Image]:
    """Eight pictures of one person: the first five for enrolment, the rest to recognise."""
    img = faceset.photos()[name]
    return [img, np.ascontiguousarray(img[:, ::-1]), faceset.rotated(img, 6), faceset.relit(img, 0.7),
            reframed(img, 0.8), faceset.rotated(img, -7), faceset.relit(img, 1.3),
            reframed(np.ascontiguousarray(img[:, ::-1]), 0.65)]


def reframed(img: Image, scale: float) -> Image:
    """The photograph smaller, on a grey canvas of the original's size."""
    h, w = img.shape[:2]
    small = cv2.resize(img, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
    canvas = np.full_like(img, 110)
    y, x = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
    canvas[y : y + small.shape[0], x : x + small.shape[1]] = small
    return canvas


def frame(*people: Image, height: int = 420) -> Image:
    """A camera frame: the pictures side by side, each scaled to the frame's height."""
    parts = [cv2.resize(p, (int(p.shape[1] * height / p.shape[0]), height)) for p in people]
    return np.ascontiguousarray(np.concatenate(parts, axis=1))


def write(folder: Path, images: Sequence[Image], prefix: str = "photo") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, img in enumerate(images):
        path = folder / f"{prefix}{i}.jpg"
        path.write_bytes(jpeg(img))
        paths.append(path)
    return paths
