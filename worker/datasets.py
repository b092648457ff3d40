"""Folders of class folders (train/<label>/*.jpg) read into arrays for training and evaluation."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from affectwatch.exceptions import LabelError
from affectwatch.labels import canonical
from worker.preprocess import Image, face_input

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})


@dataclass
class FaceSet:
    """Faces as uint8 grey size x size arrays, their labels, and images where no face was found."""

    images: npt.NDArray[np.uint8]
    labels: list[str]
    paths: list[Path]
    no_face: int = 0


def class_folders(root: Path) -> dict[str, list[Path]]:
    """Map each class folder onto one of the eight labels; refuse a folder that maps to nothing."""
    if not root.is_dir():
        raise LabelError(f"{root} is not a folder of class folders")
    folders: dict[str, list[Path]] = {}
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        try:
            label = canonical(sub.name)
        except LabelError as exc:
            raise LabelError(f"class folder {sub}: {exc}") from exc
        folders.setdefault(label, []).append(sub)
    if not folders:
        raise LabelError(f"{root} holds no class folders")
    return folders


def image_files(root: Path) -> Iterator[tuple[str, Path]]:
    for label, subs in class_folders(root).items():
        for sub in subs:
            for path in sorted(sub.iterdir()):
                if path.suffix.lower() in IMAGE_SUFFIXES:
                    yield label, path


def read_rgb(path: Path) -> Image | None:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    return None if bgr is None else np.ascontiguousarray(bgr[:, :, ::-1])


CropFn = Callable[[Image], Image | None]


def load_faces(root: Path, size: int, crop: CropFn | None = None, progress: bool = False) -> FaceSet:
    """Read every image; with crop (the worker's detection path) images without a face are counted apart."""
    files = list(image_files(root))
    images: list[npt.NDArray[np.uint8]] = []
    labels: list[str] = []
    paths: list[Path] = []
    no_face = 0
    for label, path in _progress(files, progress, f"reading {root.name}"):
        rgb = read_rgb(path)
        face = rgb if rgb is None or crop is None else crop(rgb)
        if rgb is None:
            log.warning("unreadable image %s skipped", path)
            continue
        if face is None:
            no_face += 1
            continue
        images.append(np.round(face_input(face, size) * 255).astype(np.uint8))
        labels.append(label)
        paths.append(path)
    stacked = np.stack(images) if images else np.zeros((0, size, size), np.uint8)
    return FaceSet(stacked, labels, paths, no_face)


def shrink_folder(src: Path, dst: Path, size: int) -> int:
    """Write every image of src's class folders to dst as the size x size grey PNG that training reads from it.

    Lossless: load_faces(dst, size) gives the very faces load_faces(src, size) gives, in a fraction of the bytes
    (the aligned wild faces: 96 px colour crops, 51 MB, become 48 px grey ones). Returns the number written.
    """
    faces = load_faces(src, size)
    names = [(label, path.stem) for label, path in zip(faces.labels, faces.paths, strict=True)]
    if len(set(names)) < len(names):
        raise LabelError(f"{src} holds two images of one name in one class folder; they would overwrite each other")
    for image, (label, stem) in zip(faces.images, names, strict=True):
        out = dst / label / (stem + ".png")
        out.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(out), image):
            raise OSError(f"could not write {out}")
    log.info("wrote %d faces of %s into %s at %d px", len(names), src, dst, size)
    return len(names)


def _progress(items: list[tuple[str, Path]], show: bool, desc: str) -> Iterable[tuple[str, Path]]:
    if not show:
        return items
    from tqdm import tqdm

    bar: Iterable[tuple[str, Path]] = tqdm(items, desc=desc, unit="img")
    return bar
