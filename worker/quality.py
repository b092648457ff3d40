"""Faces worth reading: whether the classifier can be trusted on a face, and if not, why.

A face counts towards alerts only when it is large enough, sharp enough, frontal enough, detected
with enough probability, and read with enough confidence. A face that fails a gate is still stored,
with the first reason it failed (faces.uncounted_reason), and the alert rule skips it. The thresholds
are settings (AFFECTWATCH_QUALITY_*), chosen by measurement through this path (docs/alerts.md).

- size: the shorter side of MTCNN's box, in frame pixels;
- sharpness: variance of the Laplacian of the grey 48x48 face the classifier reads (face_input), so a
  large face blurred only at a resolution the classifier never sees is not refused;
- yaw and pitch: estimates in degrees from MTCNN's five landmarks, after undoing the roll of the eye
  line. Yaw from how far the nose tip sits off the eyes' midpoint, in half eye distances
  (atan(offset): for a nose that stands out about half an eye distance from the eyes' plane, the tangent
  of the turn); pitch from where the nose sits between the eye line and the mouth line, against a
  frontal face's 0.55 (atan((ratio - 0.55) / 0.4), the nose standing out about 0.4 eye-to-mouth heights);
- detection: MTCNN's probability;
- confidence: the calibrated probability of the label read (an abstain threshold).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from affectwatch.config import Config
from worker.models.detector import Face
from worker.preprocess import Image, face_input

SHARPNESS_SIZE = 48  # the classifier's input side: blur is measured where the classifier reads
FRONTAL_NOSE = 0.55  # nose between eye line (0) and mouth line (1) in a frontal face (the model's template)
NOSE_DEPTH = 0.4  # how far the nose stands out, in eye-to-mouth heights (pitch estimate)


@dataclass(frozen=True)
class Quality:
    size: float
    sharpness: float
    yaw: float
    pitch: float
    detection: float


def measure(face: Face, crop: Image) -> Quality:
    x1, y1, x2, y2 = face.box
    yaw, pitch = pose(face.landmarks)
    return Quality(min(x2 - x1, y2 - y1), sharpness(crop), yaw, pitch, face.probability)


def sharpness(crop: Image) -> float:
    """Variance of the Laplacian of the crop as the classifier reads it (grey, 48x48, 0-255)."""
    grey = face_input(crop, SHARPNESS_SIZE) * 255.0
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def pose(landmarks: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """(yaw, pitch) in degrees, estimated from MTCNN's five points (eyes, nose, mouth corners); (0, 0)
    without them (a model framing without landmarks: the size, blur and confidence gates still apply)."""
    if len(landmarks) != 5:
        return 0.0, 0.0
    pts = np.asarray(landmarks, dtype=np.float64)
    eye_l, eye_r = pts[0], pts[1]
    dx, dy = eye_r - eye_l
    eyes = math.hypot(dx, dy)
    if eyes <= 1e-6:
        return 90.0, 90.0
    cos, sin = dx / eyes, dy / eyes
    level = (pts - (eye_l + eye_r) / 2) @ np.array([[cos, -sin], [sin, cos]])  # eye line along x, eyes' midpoint at 0
    nose_x, nose_y = level[2]
    mouth_y = (level[3][1] + level[4][1]) / 2
    yaw = math.degrees(math.atan(nose_x / (eyes / 2)))
    if mouth_y <= 1e-6:
        return yaw, 90.0
    pitch = math.degrees(math.atan((nose_y / mouth_y - FRONTAL_NOSE) / NOSE_DEPTH))
    return yaw, pitch


def uncounted_reason(q: Quality, confidence: float, config: Config) -> str | None:
    """Why the face does not count towards alerts, or None when it does (the first gate it fails)."""
    if q.size < config.quality_min_face:
        return f"small: {q.size:.0f} px < {config.quality_min_face} px"
    if q.detection < config.quality_min_detection:
        return f"weak detection: {q.detection:.3f} < {config.quality_min_detection:g}"
    if abs(q.yaw) > config.quality_max_yaw:
        return f"turned: yaw {q.yaw:+.0f} deg beyond {config.quality_max_yaw:g}"
    if abs(q.pitch) > config.quality_max_pitch:
        return f"tilted: pitch {q.pitch:+.0f} deg beyond {config.quality_max_pitch:g}"
    if q.sharpness < config.quality_min_sharpness:
        return f"blurred: sharpness {q.sharpness:.0f} < {config.quality_min_sharpness:g}"
    if confidence < config.quality_min_confidence:
        return f"unsure: confidence {confidence:.2f} < {config.quality_min_confidence:g}"
    return None
