"""Tiny face sets made at test time from real photographs that installed packages ship.

Three faces, each found by MTCNN: scikit-image's astronaut (smiling: happy), matplotlib's Grace
Hopper portrait (neutral) and scikit-image's cameraman (labelled sad here, a stand-in), with flipped,
rotated and relit copies. Folder names use synonyms (happiness, sadness) on purpose.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from modeling.datasets import read_rgb
from worker.facecrop import largest_face_crop
from worker.models.detector import FaceDetector
from worker.preprocess import FER_TEMPLATE, Framing, Image, to_rgb

FRAMING = Framing(template=FER_TEMPLATE)  # how `affectwatch train` frames faces by default
FOLDERS = {"happiness": "astronaut", "neutral": "hopper", "sadness": "camera"}


@functools.cache
def detector() -> FaceDetector:
    return FaceDetector()


@functools.cache
def photos() -> dict[str, Image]:
    """Whole photographs, RGB uint8, by name."""
    import matplotlib.cbook
    from skimage import data

    hopper = read_rgb(Path(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)))
    assert hopper is not None
    return {
        "astronaut": rgb(data.astronaut()),  # type: ignore[no-untyped-call]
        "hopper": hopper,
        "camera": to_rgb(data.camera()),  # type: ignore[no-untyped-call]
        "coffee": rgb(data.coffee()),  # type: ignore[no-untyped-call]  # no face in it
    }


def rgb(array: npt.NDArray[np.generic]) -> Image:
    return np.ascontiguousarray(array, dtype=np.uint8)


@functools.cache
def crops() -> dict[str, Image]:
    """The worker's crop (largest MTCNN face, aligned to FER2013's framing) of each face photograph."""
    found = {}
    for name in FOLDERS.values():
        crop = largest_face_crop(detector(), photos()[name], FRAMING)
        assert crop is not None, f"MTCNN found no face in {name}"
        found[name] = crop
    return found


def lfw_faces(n: int) -> list[Image]:
    """Small grey dataset-style faces (25x25, from LFW) that scikit-image ships."""
    from skimage import data

    faces = data.lfw_subset()[:n]  # type: ignore[no-untyped-call]
    return [np.round(f * 255).astype(np.uint8) for f in faces]


def rotated(img: Image, degrees: float) -> Image:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return rgb(cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE))


def relit(img: Image, gain: float) -> Image:
    out: Image = np.clip(img.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    return out


def variants(img: Image, split: str) -> list[Image]:
    """Training copies: flips and rotations; validation copies: other angles and lighting."""
    if split == "train":
        return [v for a in (0, -12, -6, 6, 12) for v in (rotated(img, a), rotated(img[:, ::-1], a))][:8]
    return [relit(rotated(img, 3), 0.85), relit(rotated(img[:, ::-1], -3), 1.15), relit(img, 1.0)]


def write_image(path: Path, rgb: Image) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    bgr = rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    assert cv2.imwrite(str(path), bgr), path
    return path


def write_split(root: Path, split: str) -> Path:
    for folder, name in FOLDERS.items():
        for i, img in enumerate(variants(crops()[name], split)):
            write_image(root / split / folder / f"{name}-{i}.png", img)
    return root / split


def write_dataset(root: Path) -> Path:
    """root/train and root/val: 8 and 3 copies of each of the three faces."""
    write_split(root, "train")
    write_split(root, "val")
    return root
