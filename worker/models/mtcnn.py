"""MTCNN's three stages for one frame, with facenet-pytorch's networks and weights, resampled by OpenCV.

facenet-pytorch's own `detect_face` resizes the image pyramid and every candidate box with torch's
area interpolation (`adaptive_avg_pool2d`), one call per box: on a CPU that was about as costly as
the three networks themselves. Here the same algorithm (pyramid, P-Net, NMS, R-Net, O-Net, box
regression, "Min" NMS) runs with `cv2.resize(INTER_AREA)`, OpenCV's area resampling, and the
networks see each stage's candidates in one batch. Two departures, for speed, measured to find the same
faces (docs/worker.md, Speed): the pyramid's small levels are resampled from halvings of the image (`level`),
and the worker merges R-Net's boxes at a lower overlap than MTCNN's 0.7 (`Stages.refine_nms`), so O-Net reads
fewer of them. Pure: an RGB array in, boxes and probabilities out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
import torch
from facenet_pytorch.models.utils.detect_face import batched_nms_numpy, bbreg, generateBoundingBox, pad, rerec
from torchvision.ops import nms

Array = npt.NDArray[Any]


@dataclass(frozen=True)
class Stages:
    """MTCNN's knobs: smallest face, pyramid step, each stage's probability threshold, and the overlap (IoU)
    above which R-Net's boxes are merged before O-Net (MTCNN's 0.7; lower sends O-Net fewer boxes)."""

    min_face_size: int = 20
    factor: float = 0.709
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    refine_nms: float = 0.7


def net_device(net: Any) -> torch.device:
    return next(net.parameters()).device  # type: ignore[no-any-return]


def pyramid(height: int, width: int, min_face_size: int, factor: float) -> list[float]:
    """The scales at which P-Net (a 12-pixel window) sees faces from min_face_size up to the frame."""
    scale, side, scales = 12.0 / min_face_size, min(height, width) * 12.0 / min_face_size, []
    while side >= 12:
        scales.append(scale)
        scale, side = scale * factor, side * factor
    return scales


def normalise(pixels: Array, device: torch.device) -> torch.Tensor:
    """H x W x 3 (or N x H x W x 3) float pixels to MTCNN's N x 3 x H x W input in [-1, 1].

    The permuted view keeps the pixels' memory order (channels-last): about a third faster on a CPU
    than a contiguous copy, mostly in max-pooling.
    """
    batch = pixels if pixels.ndim == 4 else pixels[None]
    return torch.from_numpy((batch - 127.5) * 0.0078125).permute(0, 3, 1, 2).to(device)


def crops(image: Array, boxes: torch.Tensor, side: int) -> Array:
    """Each box cut from the image (clamped to it, as facenet-pytorch does) and resized to side x side."""
    h, w = image.shape[:2]
    y, ey, x, ex = pad(boxes, w, h)
    y0, x0 = np.clip(y - 1, 0, h - 1), np.clip(x - 1, 0, w - 1)
    y1, x1 = np.maximum(ey, y0 + 1), np.maximum(ex, x0 + 1)
    out = np.empty((len(y), side, side, 3), np.float32)
    for k in range(len(y)):
        out[k] = cv2.resize(image[y0[k] : y1[k], x0[k] : x1[k]], (side, side), interpolation=cv2.INTER_AREA)
    return out


def level(halves: list[Array], size: tuple[int, int]) -> Array:
    """One pyramid level (width, height) by area resampling, read from a halving of the image when one is large enough.

    halves[0] is the image; halvings (each an exact 2 x 2 mean, OpenCV's fast integer path) are appended as the
    levels, asked for largest first, need them: a level is read from the smallest one still at least 4 times its
    size, so every level after the first two reads a quarter, a sixteenth... of the pixels, and the pyramid's
    resampling takes about half the time. The region of the frame each level pixel covers is unchanged (area
    resampling takes its scale from the two sizes); only the pixels on a window's edge are weighed by their
    block instead of one by one. A side of odd length is never halved.
    """
    source = halves[-1]
    while all(n % 2 == 0 and 4 * want <= n for n, want in zip(source.shape[1::-1], size, strict=True)):
        source = cv2.resize(source, (source.shape[1] // 2, source.shape[0] // 2), interpolation=cv2.INTER_AREA)
        halves.append(source)
    return np.asarray(cv2.resize(source, size, interpolation=cv2.INTER_AREA))


def proposals(image: Array, pnet: Any, stages: Stages) -> torch.Tensor:
    """Stage one: P-Net over the pyramid, NMS per scale and over all, regressed square boxes."""
    h, w = image.shape[:2]
    found = []
    halves = [image]
    for scale in pyramid(h, w, stages.min_face_size, stages.factor):
        small = level(halves, (int(w * scale + 1), int(h * scale + 1)))
        reg, probs = pnet(normalise(small, net_device(pnet)))
        boxes, _ = generateBoundingBox(reg, probs[:, 1], scale, stages.thresholds[0])
        found.append(boxes[nms(boxes[:, :4], boxes[:, 4], 0.5)])
    boxes = torch.cat(found)
    boxes = boxes[nms(boxes[:, :4], boxes[:, 4], 0.7)]
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    moved = boxes[:, :4] + boxes[:, 5:9] * torch.stack([width, height, width, height], 1)
    squared: torch.Tensor = rerec(torch.cat([moved, boxes[:, 4:5]], 1))
    return squared


def refine(image: Array, boxes: torch.Tensor, rnet: Any, threshold: float, nms_threshold: float = 0.7) -> torch.Tensor:
    """Stage two: R-Net on 24 x 24 crops of every proposal at once; keep, NMS (nms_threshold), regress, square."""
    if len(boxes) == 0:
        return boxes
    reg, probs = rnet(normalise(crops(image, boxes, 24), boxes.device))
    keep = probs[:, 1] > threshold
    boxes = torch.cat([boxes[keep, :4], probs[keep, 1:2]], 1)
    pick = nms(boxes[:, :4], boxes[:, 4], nms_threshold)
    squared: torch.Tensor = rerec(bbreg(boxes[pick], reg[keep][pick]))
    return squared


def landmarks(boxes: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """O-Net's five points (eyes, nose, mouth corners), relative to each box, in image pixels: N x 10 (x..., y...)."""
    width, height = boxes[:, 2:3] - boxes[:, 0:1] + 1, boxes[:, 3:4] - boxes[:, 1:2] + 1
    return torch.cat([width * points[:, :5] + boxes[:, 0:1] - 1, height * points[:, 5:] + boxes[:, 1:2] - 1], 1)


def output(image: Array, boxes: torch.Tensor, onet: Any, threshold: float) -> torch.Tensor:
    """Stage three: O-Net on 48 x 48 crops; keep, regress, and NMS by the smaller box's area.

    Each row: x1, y1, x2, y2, probability, then the ten landmark coordinates (see `landmarks`).
    """
    if len(boxes) == 0:
        return torch.zeros((0, 15))
    reg, points, probs = onet(normalise(crops(image, boxes, 48), boxes.device))
    keep = probs[:, 1] > threshold
    marks = landmarks(boxes[keep], points[keep])
    boxes = bbreg(torch.cat([boxes[keep, :4], probs[keep, 1:2]], 1), reg[keep])
    pick = batched_nms_numpy(boxes[:, :4], boxes[:, 4], torch.zeros(len(boxes), dtype=torch.long), 0.7, "Min")
    return torch.cat([boxes[pick], marks[pick]], 1)


def detect(rgb: Array, nets: tuple[Any, Any, Any], stages: Stages) -> tuple[Array, Array, Array]:
    """Boxes (x1, y1, x2, y2), probabilities and 5 x 2 landmarks (x, y) of the faces in one uint8 RGB frame.

    Landmarks are in MTCNN's order: left eye, right eye (as seen in the image), nose, mouth's left and right.
    """
    image = np.asarray(rgb, np.float32)
    pnet, rnet, onet = nets
    with torch.inference_mode():
        boxes = proposals(image, pnet, stages)
        boxes = refine(image, boxes, rnet, stages.thresholds[1], stages.refine_nms)
        found = output(image, boxes, onet, stages.thresholds[2]).cpu().numpy()
    points = found[:, 5:].reshape(-1, 2, 5).transpose(0, 2, 1)
    return found[:, :4], found[:, 4], points
