"""The real producer (producer.supervisor), run inside the harness so that it can keep a ledger: the id of
every frame the producer accepted into the queue, with its job, and every frame it dropped, by reason.

Nothing of the producer is replaced: SoakSupervisor only hands its cameras a CameraHealth that also counts
drops by reason, and a Sender that writes each job's frame ids in the ledger once RQ accepted the job.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID

import redis

from affectwatch.clock import Clock
from affectwatch.config import Config
from producer.camera import CameraRunner, CameraSpec
from producer.health import CameraHealth
from producer.sender import Outgoing, Sender
from producer.supervisor import Supervisor


@dataclass(frozen=True)
class Accepted:
    camera_id: int
    job_id: str
    at: float  # time.time() when RQ accepted the job


@dataclass
class Ledger:
    """What the producer did with each frame, written by its threads, read by the harness."""

    accepted: dict[UUID, Accepted] = field(default_factory=dict)
    dropped: Counter[str] = field(default_factory=Counter)
    enqueue_failed: set[UUID] = field(default_factory=set)  # counted dropped; RQ may have stored them anyway
    jobs: dict[str, list[UUID]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accept(self, job_id: str, out: Outgoing) -> None:
        now = time.time()
        with self.lock:
            self.jobs[job_id] = [p.frame_id for p in out.payloads]
            for p in out.payloads:
                self.accepted[p.frame_id] = Accepted(out.camera_id, job_id, now)

    def failed(self, out: Outgoing) -> None:
        with self.lock:
            self.enqueue_failed.update(p.frame_id for p in out.payloads)

    def drop(self, n: int, reason: str) -> None:
        with self.lock:
            self.dropped[reason_key(reason)] += n

    def snapshot(self) -> tuple[dict[UUID, Accepted], Counter[str], set[UUID]]:
        with self.lock:
            return dict(self.accepted), Counter(self.dropped), set(self.enqueue_failed)


def reason_key(reason: str) -> str:
    """A drop reason without its numbers and names, so that like reasons add up."""
    if reason.startswith("queue ") and " holds " in reason:
        return "queue full when enqueueing"
    return re.sub(r"\d+", "N", reason)


class CountingHealth(CameraHealth):
    def __init__(self, camera_id: int, clock: Clock, ledger: Ledger) -> None:
        super().__init__(camera_id, clock)
        self.ledger = ledger

    def dropped(self, n: int, reason: str, kind: str = "queue_full") -> None:
        self.ledger.drop(n, reason)
        super().dropped(n, reason, kind)


class RecordingSender(Sender):
    def __init__(self, config: Config, conn: redis.Redis, clock: Clock, ledger: Ledger) -> None:
        super().__init__(config, conn, clock)
        self.ledger = ledger

    def _enqueue(self, out: Outgoing) -> str:
        try:
            job_id = super()._enqueue(out)
        except redis.RedisError:
            self.ledger.failed(out)
            raise
        self.ledger.accept(job_id, out)
        return job_id


class SoakSupervisor(Supervisor):
    def __init__(self, config: Config, conn: redis.Redis, ledger: Ledger, status_seconds: float = 2.0) -> None:
        super().__init__(config, conn, status_seconds=status_seconds)
        self.ledger = ledger
        self.sender = RecordingSender(config, conn, self.clock, ledger)

    def _start(self, spec: CameraSpec) -> None:
        runner = CameraRunner(spec, self.config, self.sender, self.clock)
        runner.health = CountingHealth(spec.id, self.clock, self.ledger)
        self.runners[spec.id] = runner
        runner.start()
