"""One camera's capture thread: open, grab, pace, sample, encode, batch; reconnect with back-off.

States it reports: starting (opening), online (frames flowing), offline (failed; retrying after a
back-off that doubles up to camera_max_backoff), ended (a file or folder finished, loop_files off).
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass

from affectwatch import logs
from affectwatch.capture import FrameSource, encode_jpeg, open_capture
from affectwatch.clock import Clock
from affectwatch.config import Config
from affectwatch.exceptions import AffectWatchError, CaptureError, FrameError, SourceError
from affectwatch.sampler import Pacer, Sampler
from affectwatch.sources import redact, validate_source
from producer.backoff import Backoff
from producer.batch import Batch, CapturedFrame
from producer.health import CameraHealth
from producer.sender import Outgoing, Sender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CameraSpec:
    """What the capture thread needs of a camera; a change to it restarts the thread."""

    id: int
    source: str
    sample_fps: float


class CameraRunner:
    def __init__(self, spec: CameraSpec, config: Config, sender: Sender, clock: Clock) -> None:
        self.spec = spec
        self.config = config
        self.sender = sender
        self.clock = clock
        self.health = CameraHealth(spec.id, clock)
        self.stop_event = threading.Event()
        self.batch = Batch(spec.id, config.batch_frames, config.batch_seconds)
        self.backoff = Backoff(config.camera_max_backoff)
        self.ended = False
        self.thread = threading.Thread(target=self.run, name=f"camera-{spec.id}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        """Capture until stopped or the source ends; never raises. Its log lines carry the camera_id."""
        with logs.fields(camera_id=self.spec.id):
            self._run()

    def _run(self) -> None:
        log.info("camera %d: capturing %s at %g fps", self.spec.id, redact(self.spec.source), self.spec.sample_fps)
        while not self.stop_event.is_set():
            try:
                if self._session():
                    self._end()
                    return
            except Exception as exc:  # one camera's failure must never stop the others
                if self._failed(exc):
                    break
        self._flush()

    def _session(self) -> bool:
        """Open the source and stream it; True when a finite source ended (and is not looped)."""
        self.health.set_state("starting")
        capture = open_capture(validate_source(self.spec.source), self.clock, self.spec.sample_fps)
        try:
            return self._stream(capture)
        finally:
            capture.close()
            self._flush()

    def _stream(self, capture: FrameSource) -> bool:
        sampler, pacer = Sampler(self.spec.sample_fps), Pacer() if capture.finite else None
        while not self.stop_event.is_set():
            t = capture.grab()
            if t is None:
                if not (self.config.loop_files and capture.rewind()):
                    return True
                continue
            self.health.captured.inc()
            if pacer and self.clock.sleep(pacer.delay(t, self.clock.monotonic()), self.stop_event):
                break
            if sampler.take(t):
                self._sample(capture)
            self._flush(due_only=True)
        return False

    def _sample(self, capture: FrameSource) -> None:
        captured_at = self.clock.now()
        self.health.sampled()
        if self.sender.saturated():
            self.health.dropped(1, "the frame queue is full")
            return
        try:
            jpeg = encode_jpeg(capture.retrieve(), self.config.jpeg_quality)
        except FrameError as exc:
            self.health.error(str(exc))
            log.warning("camera %d: %s", self.spec.id, exc)
            return
        self.batch.add(CapturedFrame(uuid.uuid4(), captured_at, jpeg), self.clock.monotonic())
        self.health.set_state("online")
        self.backoff.reset()

    def _flush(self, due_only: bool = False) -> None:
        if self.batch.frames and (not due_only or self.batch.due(self.clock.monotonic())):
            self.sender.submit(Outgoing(self.spec.id, self.batch.take(self.clock.now()), self.health))

    def _failed(self, exc: Exception) -> bool:
        """Count and log a failure, mark the camera offline, wait the back-off; True when stopped meanwhile."""
        message = str(exc) if isinstance(exc, AffectWatchError) else f"{type(exc).__name__}: {exc}"
        self.health.error(message)
        self.health.set_state("offline")
        wait = self.backoff.next()
        known = isinstance(exc, (CaptureError, SourceError))
        log.log(logging.WARNING if known else logging.ERROR, "camera %d: %s; retrying in %.0f s", self.spec.id,
                message, wait, exc_info=not known)
        return self.clock.sleep(wait, self.stop_event)

    def _end(self) -> None:
        self._flush()
        self.ended = True
        self.health.close("ended")
        log.info("camera %d: the source ended (looping is off)", self.spec.id)
