"""Frames in, labelled faces out: decode, detect one frame at a time, crop, classify every face of a job at once,
and say of each face whether it is worth reading (worker.quality: the faces the alert rule counts).

MTCNN runs frame by frame (batching frames through it measured slower on CPU); the face crops of all
the job's frames go through the classifier in one forward pass. A frame that cannot be used is
rejected with its reason and the job's other frames go on. No I/O here besides loading the models.
"""

from __future__ import annotations

import io
import logging
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image as PILImage

from affectwatch.config import Config
from affectwatch.exceptions import ConfigError, FrameError, ModelError
from affectwatch.queue import FramePayload
from worker.facecrop import face_crop
from worker.identity import Gallery, Identity, Tracker
from worker.models.classifier import Expression, ExpressionClassifier
from worker.models.detector import Face, FaceDetector, detector_settings
from worker.models.embedder import EmbedInput, FaceEmbedder, Templates
from worker.models.modelfile import DEFAULT_MODEL
from worker.preprocess import MAX_PIXELS, Box, Image, decode_jpeg, to_rgb
from worker.quality import Quality, measure, uncounted_reason

log = logging.getLogger(__name__)

JPEG_END = b"\xff\xd9"


@dataclass
class AnalysedFrame:
    """One frame's faces and their expressions, and what each step cost."""

    payload: FramePayload
    width: int
    height: int
    faces: list[Face]
    crops: list[Image] = field(repr=False)
    expressions: list[Expression] = field(default_factory=list)
    identities: list[Identity] = field(default_factory=list)  # empty: no gallery, every face is assumed
    quality: list[Quality] = field(default_factory=list)
    uncounted: list[str | None] = field(default_factory=list)  # why each face does not count (None: it counts)
    decode_ms: float = 0.0
    detect_ms: float = 0.0
    classify_ms: float = 0.0
    identify_ms: float = 0.0


@dataclass(frozen=True)
class Rejected:
    """A frame that could not be processed, and why."""

    frame_id: str
    reason: str


@dataclass(frozen=True)
class IdentityJob:
    """Whom a job's faces may be: its camera's enrolled residents (an empty gallery: nobody is matched)."""

    camera_id: int
    gallery: Gallery


@dataclass
class Analysis:
    frames: list[AnalysedFrame]
    rejected: list[Rejected]


def resolve_device(requested: str) -> str:
    """auto: CUDA when present, else CPU; cpu, cuda and cuda:N as given (cuda must exist)."""
    name = requested.strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return name
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise ConfigError(f"device {requested!r} asked for, but torch sees no CUDA device")
        return name
    raise ConfigError(f"device {requested!r} is not one of auto, cpu, cuda, cuda:N")


def model_weights(config: Config) -> Path:
    """AFFECTWATCH_MODEL, else the shipped model; a missing file is an error, never random weights.

    (modeling.evaluation.resolve_model does the same for `affectwatch evaluate`, but the worker never imports
    the model lab: pyproject.toml's import rules.)
    """
    path = config.model if config.model != Path("") else DEFAULT_MODEL
    if not path.exists():
        hint = " (the shipped model is missing; set AFFECTWATCH_MODEL)" if path == DEFAULT_MODEL else ""
        raise ModelError(f"no model weights at {path}{hint}")
    return path


def frame_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the image header alone, so an absurd frame is refused before it is decoded."""
    if not data:
        raise FrameError("empty frame: no bytes")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)  # the size is checked below
            img = PILImage.open(io.BytesIO(data))
        with img:
            width, height = img.size
            kind = img.format
    except (OSError, ValueError, PILImage.DecompressionBombError) as exc:
        raise FrameError(f"frame of {len(data)} bytes is not a decodable image: {exc}") from exc
    if kind == "JPEG" and not data.rstrip(b"\0").endswith(JPEG_END):
        raise FrameError(f"JPEG of {len(data)} bytes is truncated: no end-of-image marker")
    if width * height > MAX_PIXELS:
        raise FrameError(f"frame of {width}x{height} is larger than {MAX_PIXELS} pixels; refused unread")
    return width, height


def decode(data: bytes) -> Image:
    """Checked size, decoded, RGB (a grey or four-channel image comes out as RGB)."""
    frame_size(data)
    return to_rgb(decode_jpeg(data))


class Pipeline:
    """The models of one worker process, loaded once, and the per-job analysis."""

    def __init__(self, config: Config, detector: FaceDetector, classifier: ExpressionClassifier,
                 embedder: FaceEmbedder | None = None, tracker: Tracker | None = None) -> None:
        self.config = config
        self.detector = detector
        self.classifier = classifier
        self.embedder = embedder or FaceEmbedder()  # loaded on its first face unless load() loaded it
        self.tracker = tracker or Tracker(config.identity_threshold, config.identity_recheck_seconds)
        self.pid = os.getpid()

    @classmethod
    def load(cls, config: Config, device: str | None = None) -> Pipeline:
        """Load MTCNN and the configured (else the shipped) classifier on the device, once."""
        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        dev = resolve_device(device or config.device)
        settings = detector_settings(config)
        pipeline = cls(config, FaceDetector(settings, dev), ExpressionClassifier(model_weights(config), dev))
        pipeline.detector.load()
        pipeline.classifier.load()
        pipeline.embedder.load()
        log.info("pipeline ready on %s: model %s (%s), %d torch threads", dev, pipeline.model_name,
                 ",".join(pipeline.classifier.meta.labels), torch.get_num_threads())
        return pipeline

    @property
    def model_name(self) -> str:
        return self.classifier.meta.name

    def with_config(self, config: Config) -> Pipeline:
        """The same loaded models under another configuration (its database, its TTL)."""
        tracker = Tracker(config.identity_threshold, config.identity_recheck_seconds, self.tracker.cameras)
        return type(self)(config, self.detector, self.classifier, self.embedder, tracker)

    def detect(self, rgb: Image) -> list[Face]:
        return self.detector.predict(rgb)

    def classify(self, crops: Sequence[Image]) -> list[Expression]:
        return self.classifier.predict(crops)

    def embed(self, rgb: Image, boxes: Sequence[Box]) -> Templates:
        return self.embedder.predict(EmbedInput(rgb, boxes))

    def analyse(self, payloads: Sequence[FramePayload], identity: IdentityJob | None = None) -> Analysis:
        """Every usable frame with its faces classified (and identified, given the camera's gallery); the
        others rejected with their reason (frames come in capture order, as the producer batches them)."""
        frames: list[AnalysedFrame] = []
        rejected: list[Rejected] = []
        for payload in payloads:
            try:
                frames.append(self.analyse_frame(payload, identity))
            except FrameError as exc:
                rejected.append(Rejected(str(payload.frame_id), str(exc)))
        self.classify_frames(frames)
        return Analysis(frames, rejected)

    def analyse_frame(self, payload: FramePayload, identity: IdentityJob | None = None) -> AnalysedFrame:
        """Decode, detect and identify one frame; keep only its face crops (cut as the model's framing says),
        not the frame."""
        start = time.perf_counter()
        rgb = decode(payload.jpeg)
        decoded = time.perf_counter()
        faces = self.detect(rgb)
        detected = time.perf_counter()
        identities: list[Identity] = []
        if identity is not None and not identity.gallery.empty and faces:
            boxes = [f.box for f in faces]
            identities = self.tracker.identify(identity.camera_id, payload.captured_at, boxes, identity.gallery,
                                               lambda todo: self.embed(rgb, [boxes[i] for i in todo]))
        identified = time.perf_counter()
        framing = self.classifier.meta.framing
        crops = [face_crop(rgb, face, framing) for face in faces]
        return AnalysedFrame(payload, rgb.shape[1], rgb.shape[0], faces, crops, identities=identities,
                             quality=[measure(face, crop) for face, crop in zip(faces, crops, strict=True)],
                             decode_ms=(decoded - start) * 1e3, detect_ms=(detected - decoded) * 1e3,
                             identify_ms=(identified - detected) * 1e3)

    def classify_frames(self, frames: list[AnalysedFrame]) -> None:
        """One classifier batch for all faces; each frame is charged its share of the batch time."""
        crops = [crop for frame in frames for crop in frame.crops]
        start = time.perf_counter()
        expressions = self.classify(crops)
        per_face_ms = (time.perf_counter() - start) * 1e3 / max(1, len(crops))
        rest = iter(expressions)
        for frame in frames:
            frame.expressions = [next(rest) for _ in frame.crops]
            frame.uncounted = [uncounted_reason(q, e.confidence, self.config)
                               for q, e in zip(frame.quality, frame.expressions, strict=True)]
            frame.classify_ms = per_face_ms * len(frame.crops)
            frame.crops = []
