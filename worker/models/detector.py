"""Face detection with facenet-pytorch's MTCNN (its weights ship inside the wheel)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from affectwatch.config import Config
from worker.models.base import InferenceModel
from worker.models.mtcnn import Stages, detect
from worker.preprocess import Box, Image, resize_for_detection


@dataclass(frozen=True)
class Face:
    box: Box
    probability: float
    landmarks: tuple[tuple[float, float], ...] = ()  # MTCNN's five points (eyes, nose, mouth corners), frame pixels


@dataclass(frozen=True)
class DetectorSettings:
    min_face_size: int = 40
    max_side: int = 960
    threshold: float = 0.9
    scale_step: float = 0.65  # pyramid factor (MTCNN's own: 0.709; 0.65 found the same faces, 27% faster)
    proposal_threshold: float = 0.6  # MTCNN's P-Net threshold (its R-Net and O-Net keep 0.7)
    refine_nms: float = 0.6  # R-Net boxes overlapping more than this merge before O-Net (MTCNN's: 0.7); docs/worker.md


def detector_settings(config: Config) -> DetectorSettings:
    """The detector's settings from the configuration (AFFECTWATCH_MIN_FACE_SIZE, AFFECTWATCH_DETECT_*)."""
    return DetectorSettings(config.min_face_size, config.detect_max_side, config.face_threshold,
                            config.detect_scale_step, config.detect_proposal_threshold, config.detect_refine_nms)


class FaceDetector(InferenceModel[Image, list[Face]]):
    """MTCNN (worker.models.mtcnn) on a frame scaled down to max_side; boxes in the frame's own pixels."""

    def __init__(self, settings: DetectorSettings = DetectorSettings(), device: str = "cpu") -> None:
        super().__init__(device)
        self.settings = settings
        self.nets: tuple[Any, ...] = ()
        self.stages = Stages()

    def _load(self) -> None:
        import torch
        from facenet_pytorch import MTCNN

        nets = MTCNN(device=self.device)  # the wheel's P-Net, R-Net and O-Net weights
        self.nets = tuple(n.to(memory_format=torch.channels_last).eval() for n in (nets.pnet, nets.rnet, nets.onet))
        s = self.settings
        self.stages = Stages(s.min_face_size, s.scale_step, (s.proposal_threshold, 0.7, 0.7), s.refine_nms)

    def _predict(self, inputs: Image) -> list[Face]:
        small, scale = resize_for_detection(inputs, self.settings.max_side)
        if min(small.shape[:2]) < self.settings.min_face_size:
            return []  # MTCNN's image pyramid is empty below its minimum face size
        boxes, probs, points = detect(small, self.nets, self.stages)
        return [
            Face((b[0] / scale, b[1] / scale, b[2] / scale, b[3] / scale), p,
                 tuple((x / scale, y / scale) for x, y in marks))
            for b, p, marks in zip(boxes.tolist(), probs.tolist(), points.tolist(), strict=True)
            if p >= self.settings.threshold
        ]


def largest(faces: list[Face]) -> Face | None:
    """The face with the largest box, as evaluation with --detect uses."""
    if not faces:
        return None
    return max(faces, key=lambda f: (f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))


def box_area(box: Box) -> float:
    return float(np.clip(box[2] - box[0], 0, None) * np.clip(box[3] - box[1], 0, None))
