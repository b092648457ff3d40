"""The camera "test" action: grab one frame from a source and show it, so an installer sees where it points."""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass

import cv2
import numpy as np

from affectwatch.capture import grab_frame
from affectwatch.exceptions import AffectWatchError
from affectwatch.sources import SourcePolicy, redact

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10.0
MAX_SIDE = 960


@dataclass(frozen=True)
class Shot:
    ok: bool
    error: str = ""
    jpeg_base64: str = ""
    width: int = 0
    height: int = 0
    took_ms: float = 0.0

    @property
    def data_url(self) -> str:
        return f"data:image/jpeg;base64,{self.jpeg_base64}"


def take(source_text: str, camera_id: int | None, user_id: int) -> Shot:
    """One frame from the source, as a JPEG; never raises for a bad or unreachable source."""
    from dashboard.context import config

    started = time.monotonic()
    try:
        frame = _decode(grab_frame(source_text, TIMEOUT_SECONDS, SourcePolicy.from_config(config())))
    except AffectWatchError as exc:
        log.info("camera %s test by user %d failed: %s", camera_id, user_id, exc)
        return Shot(False, str(exc))
    took = (time.monotonic() - started) * 1000
    log.info("camera %s test by user %d: %s gave %dx%d in %.0f ms", camera_id, user_id, redact(source_text),
             frame.shape[1], frame.shape[0], took)
    return Shot(True, jpeg_base64=_jpeg(frame), width=frame.shape[1], height=frame.shape[0], took_ms=took)


def _decode(jpeg: bytes) -> np.ndarray:
    frame = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        raise AffectWatchError("the source gave a frame that is not an image")
    return frame


def _jpeg(frame: np.ndarray) -> str:
    """A BGR frame as base64 JPEG, scaled down to at most MAX_SIDE pixels."""
    scale = MAX_SIDE / max(frame.shape[:2])
    if scale < 1:
        frame = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise AffectWatchError("the frame could not be encoded as JPEG")
    return base64.b64encode(buf.tobytes()).decode("ascii")
