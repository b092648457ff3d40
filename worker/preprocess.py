"""Pure image functions shared by the worker, training and evaluation.

No I/O here: every function takes arrays and returns arrays, so a model sees exactly
the same input in service as it saw in training.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from affectwatch.exceptions import FrameError

Image = npt.NDArray[np.uint8]
Box = tuple[float, float, float, float]

MAX_PIXELS = 40_000_000

# Where MTCNN puts its five landmarks (eyes, nose, mouth corners) in a 48 x 48 FER2013 face: the median
# over 1,142 training faces found in 1,500 drawn at random (measured by scripts/fer_template.py, a research
# script now in the git history only). Warping a detected face so its landmarks fall here frames it as the
# training faces are framed.
FER_TEMPLATE = ((14.68, 19.44), (32.90, 19.07), (23.86, 29.85), (16.36, 38.66), (31.62, 38.46))


def decode_jpeg(data: bytes) -> Image:
    """Decode encoded image bytes into an RGB uint8 array, or raise FrameError."""
    if not data:
        raise FrameError("empty frame: no bytes")
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    except cv2.error as exc:  # OpenCV refuses some headers (a side over its limit) by raising, not returning None
        raise FrameError(f"frame of {len(data)} bytes is not a decodable image: {exc}") from exc
    if bgr is None or bgr.size == 0:
        raise FrameError(f"frame of {len(data)} bytes is not a decodable image")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def to_rgb(image: npt.NDArray[np.generic]) -> Image:
    """Return an RGB uint8 copy of a grey, RGB or RGBA image."""
    img = np.asarray(image)
    if img.size == 0 or img.ndim not in (2, 3):
        raise FrameError(f"not an image: array of shape {img.shape}")
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return np.ascontiguousarray(np.repeat(img[:, :, None], 3, axis=2))
    channels = img.shape[2]
    if channels == 1:
        return np.ascontiguousarray(np.repeat(img, 3, axis=2))
    if channels == 4:
        return np.ascontiguousarray(img[:, :, :3])
    if channels == 3:
        return np.ascontiguousarray(img)
    raise FrameError(f"image with {channels} channels is not grey, RGB or RGBA")


def detection_scale(height: int, width: int, max_side: int) -> float:
    """The factor (at most 1) that brings the longer side down to max_side."""
    if height <= 0 or width <= 0:
        raise FrameError(f"empty frame of {width}x{height}")
    if height * width > MAX_PIXELS:
        raise FrameError(f"frame of {width}x{height} is larger than {MAX_PIXELS} pixels")
    longest = max(height, width)
    return 1.0 if max_side <= 0 or longest <= max_side else max_side / longest


def resize_for_detection(rgb: Image, max_side: int) -> tuple[Image, float]:
    """Scale a frame so its longer side is at most max_side; return it and the scale."""
    scale = detection_scale(rgb.shape[0], rgb.shape[1], max_side)
    if scale == 1.0:
        return rgb, 1.0
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8), scale


def fer_template(size: int) -> list[list[float]]:
    """FER_TEMPLATE for a size x size face."""
    factor = size / 48.0
    return [[x * factor, y * factor] for x, y in FER_TEMPLATE]


@dataclass(frozen=True)
class Framing:
    """How a model wants its faces cut: aligned to a landmark template (points in a size x size face),
    or, without one or without landmarks, a square around the box grown by margin."""

    margin: float = 0.2
    template: tuple[tuple[float, float], ...] | None = None
    size: int = 48


def crop_face(image: Image, box: Box, margin: float) -> Image:
    """Cut a square crop around box, grown by margin (a fraction of its side), edge-padded."""
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * (1.0 + margin)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    left, top = round(cx - side / 2), round(cy - side / 2)
    size = max(1, round(side))
    h, w = image.shape[:2]
    pad = max(0, -left, -top, left + size - w, top + size - h)
    if pad:
        mode = [(pad, pad), (pad, pad)] + ([(0, 0)] if image.ndim == 3 else [])
        image = np.pad(image, mode, mode="edge")
        left, top = left + pad, top + pad
    return np.ascontiguousarray(image[top : top + size, left : left + size])


def similarity(src: npt.ArrayLike, dst: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The 2 x 3 rotation, uniform scale and shift that best maps the points src onto dst (Umeyama, least squares)."""
    a, b = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    a0, b0 = a - a.mean(0), b - b.mean(0)
    u, sv, vt = np.linalg.svd(b0.T @ a0)
    flip = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = u @ flip @ vt
    scale = float(np.trace(np.diag(sv) @ flip) / max((a0**2).sum(), 1e-12))
    shift = b.mean(0) - scale * rotation @ a.mean(0)
    return np.hstack([scale * rotation, shift[:, None]])


def align_face(image: Image, landmarks: npt.ArrayLike, template: npt.ArrayLike, size: int) -> Image:
    """Warp image so the face's landmarks fall on template (points of a size x size face), edge-padded.

    The result keeps the face's own resolution (a square of size / scale pixels, at least size), so that
    face_input's area resampling, not the warp, does any shrinking.
    """
    matrix = similarity(landmarks, template)
    scale = float(np.hypot(matrix[0, 0], matrix[0, 1]))
    if not np.isfinite(matrix).all() or scale <= 0:
        raise FrameError("face landmarks do not fix an alignment")
    side = int(np.clip(round(size / scale), size, 16 * size))
    warp = matrix * (side / size)
    return np.asarray(
        cv2.warpAffine(image, warp, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), np.uint8
    )


def to_grey(image: Image) -> Image:
    """ITU-R BT.601 luma of an RGB image; a grey image is returned as it is."""
    if image.ndim == 2:
        return image
    if image.shape[2] == 1:
        return image[:, :, 0]
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(image[:, :, :3]), cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def face_input(crop: Image, size: int) -> npt.NDArray[np.float32]:
    """THE preprocessing: any face crop (colour or grey, any size) to a size x size grey image in [0, 1].

    Normalisation (mean and standard deviation) is part of the network, not of this function.
    """
    grey = to_grey(crop)
    if grey.size == 0:
        raise FrameError("empty face crop")
    interp = cv2.INTER_AREA if min(grey.shape) >= size else cv2.INTER_LINEAR
    resized = cv2.resize(grey, (size, size), interpolation=interp)
    return resized.astype(np.float32) / 255.0
