"""Reading cameras: OpenCV VideoCapture (streams, devices, files) and image folders, frames as JPEG.

The producer reads its cameras through these; grab_frame() takes one frame for a "test camera"
(the dashboard's and the command line's), so neither needs the producer.

A source is read in two steps, as OpenCV does: grab() advances to the next frame and returns its
time on the source's time line (None when a finite source ends), retrieve() decodes the grabbed
frame. Frames the sampler skips are only grabbed, never converted. Files and folders report media
time (frame index / frame rate), continuing across rewinds; live sources report the clock's time.
"""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from affectwatch.clock import Clock, SystemClock
from affectwatch.exceptions import AffectWatchError, CaptureError, FrameError, SourceError
from affectwatch.sources import Source, SourceKind, SourcePolicy, image_files, redact, validate_source

log = logging.getLogger(__name__)

OPEN_TIMEOUT_MS = 10_000
READ_TIMEOUT_MS = 10_000
DEFAULT_FILE_FPS = 25.0
TEST_JPEG_QUALITY = 90


class FrameSource(Protocol):
    finite: bool

    def grab(self) -> float | None: ...

    def retrieve(self) -> np.ndarray: ...

    def rewind(self) -> bool: ...

    def close(self) -> None: ...


def open_capture(source: Source, clock: Clock, folder_fps: float) -> FrameSource:
    """Open a validated source; CaptureError when it cannot be opened now."""
    if source.kind is SourceKind.FOLDER:
        return ImageFolder(Path(source.text), folder_fps)
    return VideoStream(source, clock)


class VideoStream:
    """cv2.VideoCapture over a URL, a device or a video file."""

    def __init__(self, source: Source, clock: Clock) -> None:
        self.source = source
        self.clock = clock
        self.finite = source.kind is SourceKind.FILE
        self.capture = _open(source)
        self.fps = _file_fps(self.capture) if self.finite else 0.0
        self.index = -1
        self.offset = 0.0

    def grab(self) -> float | None:
        if not self.capture.grab():
            if self.finite:
                return None
            raise CaptureError(f"reading from {redact(self.source.text)} failed (stream stopped or timed out)")
        self.index += 1
        return self.offset + self.index / self.fps if self.finite else self.clock.monotonic()

    def retrieve(self) -> np.ndarray:
        ok, frame = self.capture.retrieve()
        if not ok or frame is None or frame.size == 0:
            raise FrameError(f"OpenCV could not decode frame {self.index} of {redact(self.source.text)}")
        return np.asarray(frame)

    def rewind(self) -> bool:
        """Start a file again from its first frame (reopened: seeking is unreliable in some formats)."""
        if not self.finite or self.index < 0:
            return False
        self.offset += (self.index + 1) / self.fps
        self.capture.release()
        self.capture = _open(self.source)
        self.index = -1
        return True

    def close(self) -> None:
        self.capture.release()


class ImageFolder:
    """The images of a folder in sorted order, one frame each at the camera's sample rate."""

    finite = True

    def __init__(self, folder: Path, fps: float) -> None:
        self.folder = folder
        self.period = 1.0 / fps
        self.files = self._list()
        self.index = -1
        self.offset = 0.0

    def _list(self) -> list[Path]:
        files = image_files(self.folder)
        if not files:
            raise CaptureError(f"the folder {self.folder} holds no images (any more)")
        return files

    def grab(self) -> float | None:
        if self.index + 1 >= len(self.files):
            return None
        self.index += 1
        return self.offset + self.index * self.period

    def retrieve(self) -> np.ndarray:
        path = self.files[self.index]
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None or frame.size == 0:
            raise FrameError(f"cannot read the image {path} (missing, corrupt or not an image)")
        return np.asarray(frame)

    def rewind(self) -> bool:
        """Start again, re-listing the folder so images added meanwhile are included."""
        self.offset += (self.index + 1) * self.period
        self.files = self._list()
        self.index = -1
        return True

    def close(self) -> None:
        self.files = []


def _open(source: Source) -> cv2.VideoCapture:
    target = source.capture_target()
    if source.kind is SourceKind.URL:
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, READ_TIMEOUT_MS]
        capture = cv2.VideoCapture(str(target), cv2.CAP_FFMPEG, params)
    else:
        capture = cv2.VideoCapture(target)
    if not capture.isOpened():
        capture.release()
        raise CaptureError(f"OpenCV cannot open {redact(source.text)}")
    return capture


def _file_fps(capture: cv2.VideoCapture) -> float:
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    return fps if math.isfinite(fps) and 0.5 <= fps <= 240 else DEFAULT_FILE_FPS


def encode_jpeg(frame: np.ndarray, quality: int) -> bytes:
    """A BGR (or grey) frame as JPEG bytes at the given quality (clamped to 1-100)."""
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, max(1, min(100, quality))])
    if not ok:
        raise FrameError(f"JPEG encoding failed for a frame of shape {frame.shape}")
    return bytes(buf.tobytes())


def grab_frame(source: str, timeout: float = 15.0, policy: SourcePolicy | None = None) -> bytes:
    """The first frame of a source as JPEG bytes; SourceError if it is refused (by `policy` too: where a source
    may point) or gives none in time."""
    checked = validate_source(source, policy=policy)
    result: dict[str, bytes | Exception] = {}
    thread = threading.Thread(target=_grab_into, args=(checked.text, result), name="grab-frame", daemon=True)
    thread.start()
    thread.join(timeout)
    outcome = result.get("jpeg", result.get("error"))
    if isinstance(outcome, bytes):
        return outcome
    if isinstance(outcome, AffectWatchError):
        raise SourceError(f"no frame from {redact(source)}: {outcome}") from outcome
    if outcome is not None:
        raise SourceError(f"no frame from {redact(source)}: {type(outcome).__name__}: {outcome}") from outcome
    raise SourceError(f"no frame from {redact(source)} within {timeout:g} s")


def _grab_into(source: str, result: dict[str, bytes | Exception]) -> None:
    try:
        capture = open_capture(validate_source(source), SystemClock(), folder_fps=1.0)
        try:
            if capture.grab() is None:
                raise SourceError("the source holds no frames")
            result["jpeg"] = encode_jpeg(capture.retrieve(), TEST_JPEG_QUALITY)
        finally:
            capture.close()
    except Exception as exc:  # reported to the caller's thread
        result["error"] = exc
