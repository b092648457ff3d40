"""Grab one frame from a source, for the dashboard's and the command line's "test camera"."""

from __future__ import annotations

import threading

from affectwatch.exceptions import AffectWatchError, SourceError
from affectwatch.sources import SourcePolicy, redact, validate_source
from producer.batch import encode_jpeg
from producer.capture import open_capture
from producer.clock import SystemClock

TEST_JPEG_QUALITY = 90


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
