"""A camera's frames waiting to be sent as one job."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from affectwatch.queue import FramePayload


@dataclass(frozen=True)
class CapturedFrame:
    frame_id: uuid.UUID
    captured_at: datetime
    jpeg: bytes


@dataclass
class Batch:
    """Frames of one camera collected until there are `size` of them or the oldest is `max_age` old."""

    camera_id: int
    size: int
    max_age: float
    frames: list[CapturedFrame] = field(default_factory=list)
    started: float = 0.0

    def add(self, frame: CapturedFrame, now: float) -> None:
        if not self.frames:
            self.started = now
        self.frames.append(frame)

    def due(self, now: float) -> bool:
        return bool(self.frames) and (len(self.frames) >= self.size or now - self.started >= self.max_age)

    def take(self, enqueued_at: datetime) -> list[FramePayload]:
        """Empty the batch, returning its frames as queue payloads stamped with the enqueue time."""
        payloads = [FramePayload(f.frame_id, self.camera_id, f.captured_at, enqueued_at, f.jpeg) for f in self.frames]
        self.frames = []
        return payloads
