"""The frame queue shared by producer and worker: job payloads as plain JSON, never pickle.

A job is `worker.jobs.process_frames(camera_id, frames)` where each frame is a FramePayload as a
dict: a producer-assigned UUID (the idempotency key), capture time, enqueue time and the JPEG
bytes in base64. RQ stores it with its JSONSerializer, so nothing taken from Redis is unpickled.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from rq import Queue
from rq.serializers import JSONSerializer

from affectwatch.config import Config
from affectwatch.exceptions import FrameError

PROCESS_FRAMES = "worker.jobs.process_frames"
DELIVER_ALERT = "notifier.delivery.deliver"  # on the alert queue (config.alert_queue)
# Where the delivery job lived before the notifier had a room of its own: deliveries queued then (or retried
# since) still name it, and the delivery worker runs them as DELIVER_ALERT (notifier/delivery_worker.py).
DELIVER_ALERT_BEFORE = "affectwatch.alerts.delivery.deliver"
ENROL_FACES = "worker.enrolment.enrol_job"  # the dashboard's enrolments, at the front of the frame queue

# The only functions a worker will run; any other job is failed unrun, its function never imported.
JOB_FUNCTIONS: frozenset[str] = frozenset({PROCESS_FRAMES, DELIVER_ALERT, ENROL_FACES})


@dataclass(frozen=True)
class FramePayload:
    frame_id: uuid.UUID
    camera_id: int
    captured_at: datetime
    enqueued_at: datetime
    jpeg: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "frame_id": str(self.frame_id),
            "camera_id": self.camera_id,
            "captured_at": self.captured_at.isoformat(),
            "enqueued_at": self.enqueued_at.isoformat(),
            "jpeg": base64.b64encode(self.jpeg).decode("ascii"),
        }

    @classmethod
    def from_json(cls, raw: Any) -> FramePayload:
        """Parse a frame dict from a job; anything malformed is a FrameError naming the field."""
        if not isinstance(raw, dict):
            raise FrameError(f"frame payload must be an object, not {type(raw).__name__}")
        try:
            return cls(
                frame_id=uuid.UUID(str(raw["frame_id"])),
                camera_id=int(raw["camera_id"]),
                captured_at=_aware(datetime.fromisoformat(str(raw["captured_at"]))),
                enqueued_at=_aware(datetime.fromisoformat(str(raw["enqueued_at"]))),
                jpeg=base64.b64decode(str(raw["jpeg"]), validate=True),
            )
        except KeyError as exc:
            raise FrameError(f"frame payload lacks {exc.args[0]!r}") from exc
        except (ValueError, TypeError) as exc:
            raise FrameError(f"frame payload is malformed: {exc}") from exc


def _aware(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError(f"time {t.isoformat()} has no time zone")
    return t


def redis_connection(config: Config) -> redis.Redis:
    """A Redis client from the configured URL (rediss:// for TLS, a password in the URL)."""
    return redis.Redis.from_url(config.redis_url, socket_connect_timeout=10, health_check_interval=30)


def frame_queue(config: Config, conn: redis.Redis) -> Queue:
    return Queue(config.queue, connection=conn, serializer=JSONSerializer, default_timeout=config.job_timeout)
