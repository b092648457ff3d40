"""Face folders read into arrays for training and evaluation.

Two layouts: class folders (train/<label>/*.jpg), and FER+'s (images beside a `label.csv` holding, for each image,
its file name, its face box, and ten annotators' votes for neutral, happiness, surprise, sadness, anger, disgust,
fear, contempt, unknown and not-a-face). Images are read with Pillow: every format it reads (JPEG, PNG, TIFF, BMP,
WebP, PGM, ...).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image as PILImage
from PIL import ImageOps

from affectwatch.exceptions import DataError, LabelError
from affectwatch.labels import LABELS, canonical
from worker.preprocess import Image, face_input

log = logging.getLogger(__name__)

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".webp", ".tif", ".tiff", ".pgm", ".ppm",
                  ".pbm", ".pnm", ".gif", ".tga", ".jp2", ".j2k", ".avif", ".qoi")
IMAGE_SUFFIXES = frozenset(ext for ext in PHOTO_SUFFIXES if ext in PILImage.registered_extensions())
FERPLUS_CSV = "label.csv"
FERPLUS_VOTES = ("neutral", "happy", "surprise", "sad", "anger", "disgust", "fear", "contempt", "unknown", "not-a-face")
VOTE_INDEX = [FERPLUS_VOTES.index(label) for label in LABELS]  # FER+'s vote columns in LABELS' order


@dataclass
class FaceSet:
    """Faces as uint8 grey size x size arrays, their labels, and images where no face was found.

    From a FER+ folder, `votes` holds each face's annotators' votes over the eight LABELS (in that order; unknown
    and not-a-face dropped) and `labels` the majority; `left_out` counts faces whose votes name no expression.
    """

    images: npt.NDArray[np.uint8]
    labels: list[str]
    paths: list[Path]
    no_face: int = 0
    votes: npt.NDArray[np.float32] | None = None
    left_out: int = 0

    def vote_shares(self) -> npt.NDArray[np.float32]:
        """Each face's votes as shares over the eight LABELS; a face without votes (a class folder) is one-hot."""
        if self.votes is not None:
            shares: npt.NDArray[np.float32] = (self.votes / self.votes.sum(1, keepdims=True)).astype(np.float32)
            return shares
        shares = np.zeros((len(self.labels), len(LABELS)), np.float32)
        shares[np.arange(len(self.labels)), [LABELS.index(label) for label in self.labels]] = 1.0
        return shares


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
    """An image file as RGB uint8, in any format Pillow reads (the first frame of a multi-page TIFF); None if not."""
    try:
        with PILImage.open(path) as img:
            upright = ImageOps.exif_transpose(img)  # as a viewer shows it (and as OpenCV read it)
            return np.ascontiguousarray(np.asarray(upright.convert("RGB"), dtype=np.uint8))
    except (OSError, ValueError, PILImage.DecompressionBombError):
        return None


CropFn = Callable[[Image], Image | None]


def is_ferplus(root: Path) -> bool:
    return (root / FERPLUS_CSV).is_file()


def ferplus_rows(root: Path) -> tuple[list[tuple[str, Path]], list[npt.NDArray[np.float32]], int]:
    """(majority label, image) and the eight expressions' votes for every face of a FER+ folder whose votes'
    winner is an expression; also how many were left out (winner unknown or not-a-face, or no image)."""
    items: list[tuple[str, Path]] = []
    votes: list[npt.NDArray[np.float32]] = []
    left_out = 0
    with (root / FERPLUS_CSV).open(newline="") as f:
        for n, row in enumerate(csv.reader(f), start=1):
            if len(row) != 2 + len(FERPLUS_VOTES):
                raise DataError(f"{root / FERPLUS_CSV} line {n}: expected a file name, a face box and "
                                f"{len(FERPLUS_VOTES)} vote counts, got {len(row)} fields")
            try:
                counts = np.array([float(v) for v in row[2:]], np.float32)
            except ValueError as exc:
                raise DataError(f"{root / FERPLUS_CSV} line {n}: a vote count is not a number ({exc})") from exc
            emotions = counts[VOTE_INDEX]
            path = root / row[0]
            if emotions.max() <= 0 or emotions.max() < counts[-2:].max() or not path.is_file():
                left_out += 1
                continue
            items.append((LABELS[int(emotions.argmax())], path))
            votes.append(emotions)
    return items, votes, left_out


def load_faces(root: Path, size: int, crop: CropFn | None = None, progress: bool = False) -> FaceSet:
    """Read every image of class folders or of a FER+ folder (label.csv); with crop (the worker's detection path)
    images without a face are counted apart."""
    ferplus = is_ferplus(root)
    if ferplus:
        files, all_votes, left_out = ferplus_rows(root)
    else:
        files, all_votes, left_out = list(image_files(root)), [], 0
    images: list[npt.NDArray[np.uint8]] = []
    labels: list[str] = []
    paths: list[Path] = []
    kept: list[int] = []
    no_face = 0
    for i, (label, path) in enumerate(_progress(files, progress, f"reading {root.name}")):
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
        kept.append(i)
    stacked = np.stack(images) if images else np.zeros((0, size, size), np.uint8)
    votes = np.stack([all_votes[i] for i in kept]) if ferplus and kept else None
    if ferplus and left_out:
        log.info("%s: %d faces left out (their votes' winner is unknown or not-a-face, or no image)", root, left_out)
    return FaceSet(stacked, labels, paths, no_face, votes, left_out)


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
