"""How the worker cuts a detected face out of a frame, and its path for one still image (largest face).

The model lab crops whole folders with these (modeling.crops.crop_folder)."""

from __future__ import annotations

from worker.models.detector import Face, FaceDetector, largest
from worker.preprocess import Framing, Image, align_face, crop_face


def face_crop(rgb: Image, face: Face, framing: Framing) -> Image:
    if framing.template and len(face.landmarks) == len(framing.template):
        return align_face(rgb, face.landmarks, framing.template, framing.size)
    return crop_face(rgb, face.box, framing.margin)


def largest_face_crop(detector: FaceDetector, rgb: Image, framing: Framing) -> Image | None:
    face = largest(detector.predict(rgb))
    return None if face is None else face_crop(rgb, face, framing)

