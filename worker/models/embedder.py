"""Face templates: dlib's ResNet face embedder (128-d, 99.38% on LFW as published), run by dlib-bin's wheels.

The weights ship in the `face-recognition-models` package (its 5-point shape predictor aligns each face
from the detector's box, then the ResNet describes the aligned 150x150 chip). The package's own
__init__ needs setuptools' pkg_resources, so the files are found from its location without importing it.
Two photos of one person lie closer than about 0.6 (Euclidean); see bench/identity.py for the measured
threshold. No I/O besides loading.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from affectwatch.exceptions import ModelError
from worker.models.base import InferenceModel
from worker.preprocess import Box, Image

MODEL_NAME = "dlib_face_recognition_resnet_model_v1"
DIMENSIONS = 128
Templates = npt.NDArray[np.float32]  # N x 128


@dataclass(frozen=True)
class EmbedInput:
    """One RGB frame and the boxes (frame pixels) of the faces to describe in it."""

    rgb: Image
    boxes: Sequence[Box]


def model_files() -> tuple[Path, Path]:
    """(5-point shape predictor, ResNet) from the installed face-recognition-models package."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("face identity needs the face-recognition-models package (pip install "
                         "face-recognition-models dlib-bin; the worker extra has both)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    files = (folder / "shape_predictor_5_face_landmarks.dat", folder / f"{MODEL_NAME}.dat")
    for f in files:
        if not f.is_file():
            raise ModelError(f"face-recognition-models is installed without {f.name} (looked in {folder})")
    return files


def distances(templates: Templates, descriptor: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Euclidean distance of one descriptor to each template."""
    if len(templates) == 0:
        return np.zeros(0, dtype=np.float32)
    out: npt.NDArray[np.float32] = np.linalg.norm(templates - descriptor[None, :], axis=1).astype(np.float32)
    return out


class FaceEmbedder(InferenceModel[EmbedInput, Templates]):
    """Boxes in one frame -> one 128-d descriptor per box (dlib runs on the CPU whatever the device)."""

    def __init__(self, device: str = "cpu") -> None:
        super().__init__("cpu")  # dlib-bin's wheels are CPU builds; `device` is the interface's
        self.predictor: Any = None
        self.net: Any = None

    @property
    def name(self) -> str:
        return MODEL_NAME

    def _load(self) -> None:
        try:
            import dlib
        except ImportError as exc:
            raise ModelError("face identity needs dlib (pip install dlib-bin; the worker extra has it)") from exc
        shape_file, net_file = model_files()
        self.predictor = dlib.shape_predictor(str(shape_file))
        self.net = dlib.face_recognition_model_v1(str(net_file))

    def _predict(self, inputs: EmbedInput) -> Templates:
        import dlib

        if not inputs.boxes:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        rgb = np.ascontiguousarray(inputs.rgb, dtype=np.uint8)
        h, w = rgb.shape[:2]
        shapes = dlib.full_object_detections()
        for x1, y1, x2, y2 in inputs.boxes:
            rect = dlib.rectangle(round(max(0.0, x1)), round(max(0.0, y1)),
                                  round(min(w - 1.0, x2)), round(min(h - 1.0, y2)))
            shapes.append(self.predictor(rgb, rect))
        descriptors = self.net.compute_face_descriptor(rgb, shapes)
        return np.asarray([np.asarray(d, dtype=np.float32) for d in descriptors], dtype=np.float32)
