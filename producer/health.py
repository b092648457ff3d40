"""One camera's health as the producer sees it: state, counters, last error, sampled frame rate.

Capture and sender threads update it; the supervisor takes the changes every few seconds and adds
them to the camera_status row (affectwatch.queries.camera_status), giving them back if the write fails.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from affectwatch.clock import Clock
from affectwatch.queries.camera_status import HealthReport
from producer import telemetry

log = logging.getLogger(__name__)

DROP_LOG_EVERY = 100


class CameraHealth:
    def __init__(self, camera_id: int, clock: Clock) -> None:
        self.camera_id = camera_id
        self.clock = clock
        self._lock = threading.Lock()
        self.state = "starting"
        self.closed = False
        self.last_frame_at: datetime | None = None
        self.last_error: str | None = None
        self.pending = {"sent": 0, "dropped": 0, "errors": 0}
        self.totals = {"sent": 0, "dropped": 0, "errors": 0, "sampled": 0}
        self._sampled = 0
        self._since = clock.monotonic()
        self._in_flight = 0
        label = str(camera_id)
        self.captured = telemetry.CAPTURED.labels(label)  # the capture loop counts each frame read
        self._sampled_metric = telemetry.SAMPLED.labels(label)
        self._sent_metric = telemetry.SENT.labels(label)
        self._errors_metric = telemetry.ERRORS.labels(label)
        self._dropped_metric = {r: telemetry.DROPPED.labels(label, r) for r in telemetry.DROP_REASONS}

    def set_state(self, state: str) -> None:
        with self._lock:
            if not self.closed and state != self.state:
                log.info("camera %d: %s -> %s", self.camera_id, self.state, state)
                self.state = state

    def close(self, state: str, reason: str | None = None) -> None:
        """Set the final state; later set_state calls (from a thread winding down) are ignored."""
        with self._lock:
            self.state, self.closed = state, True
            self.last_error = reason or self.last_error

    def sampled(self) -> None:
        with self._lock:
            self._sampled += 1
            self.totals["sampled"] += 1
        self._sampled_metric.inc()

    def sent(self, n: int, last_frame_at: datetime) -> None:
        with self._lock:
            self._count("sent", n)
            self.last_frame_at = max(last_frame_at, self.last_frame_at or last_frame_at)
        self._sent_metric.inc(n)

    def dropped(self, n: int, reason: str, kind: str = "queue_full") -> None:
        """n frames dropped; `reason` for the log, `kind` (one of telemetry.DROP_REASONS) for the metric."""
        with self._lock:
            before = self.totals["dropped"]
            self._count("dropped", n)
        self._dropped_metric[kind].inc(n)
        if before // DROP_LOG_EVERY != (before + n) // DROP_LOG_EVERY or before == 0:
            log.warning("camera %d: dropped %d frame(s): %s (%d dropped so far)", self.camera_id, n, reason,
                        before + n)

    def error(self, message: str) -> None:
        with self._lock:
            self._count("errors", 1)
            self.last_error = message[:1000]
        self._errors_metric.inc()

    def _count(self, key: str, n: int) -> None:
        self.pending[key] += n
        self.totals[key] += n

    def batch_submitted(self) -> None:
        with self._lock:
            self._in_flight += 1

    def batch_settled(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def settled(self) -> bool:
        """No batch of this camera is waiting in the sender, so its counters are final once capture stops."""
        with self._lock:
            return self._in_flight == 0

    def take(self) -> HealthReport:
        """The changes since the previous take(), as a report to add to the stored row."""
        with self._lock:
            now = self.clock.monotonic()
            fps = self._sampled / (now - self._since) if now > self._since else 0.0
            report = HealthReport(self.camera_id, self.state, self.last_frame_at, self.pending["sent"],
                                  self.pending["dropped"], self.pending["errors"], self.last_error, round(fps, 3))
            self.pending = dict.fromkeys(self.pending, 0)
            self._sampled, self._since = 0, now
            return report

    def give_back(self, report: HealthReport) -> None:
        """Restore the counters of a report that could not be written, so they are reported next time."""
        with self._lock:
            self.pending["sent"] += report.sent
            self.pending["dropped"] += report.dropped
            self.pending["errors"] += report.errors
