"""Enqueues the cameras' batches as RQ jobs, off the capture threads, with backpressure.

Capture threads submit() batches into a small in-memory backlog and never wait on Redis. The sender
thread checks the queue's length before every job: at or above queue_max the batch is dropped and
counted, so Redis never holds more than queue_max jobs of ours. Jobs have no RQ TTL: a job whose key
expired would vanish unseen; the worker writes frames older than frame_ttl as 'expired' rows instead.
saturated() lets capture threads skip decoding and encoding frames that would be dropped anyway; it
reads the last length seen, refreshed after each job and twice a second when idle.
"""

from __future__ import annotations

import logging
import queue
import threading
import uuid
from dataclasses import dataclass

import redis
from rq import Retry

from affectwatch.clock import Clock
from affectwatch.config import Config
from affectwatch.queue import PROCESS_FRAMES, FramePayload, frame_queue
from producer import telemetry
from producer.health import CameraHealth

log = logging.getLogger(__name__)

BACKLOG_BATCHES = 64
REFRESH_SECONDS = 0.5
FAILURE_TTL = 24 * 3600  # failed jobs (with their frames) stay visible a day; see docs/producer.md
RESULT_TTL = 60  # a finished job, frames included, stays this long: enough to read its result


@dataclass(frozen=True)
class Outgoing:
    camera_id: int
    payloads: list[FramePayload]
    health: CameraHealth


def retry_policy(retries: int) -> Retry | None:
    """Retry failed jobs (Postgres down, a worker killed) after 5 s, 20 s, 80 s, … up to 10 minutes."""
    return Retry(max=retries, interval=[min(5 * 4**i, 600) for i in range(retries)]) if retries else None


class Sender:
    def __init__(self, config: Config, conn: redis.Redis, clock: Clock, threaded: bool = True) -> None:
        self.config = config
        self.queue = frame_queue(config, conn)
        self.clock = clock
        self.retry = retry_policy(config.job_retries)
        self.backlog: queue.Queue[Outgoing] = queue.Queue(maxsize=BACKLOG_BATCHES)
        self.length = 0
        self.checked_at = float("-inf")
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="sender", daemon=True) if threaded else None

    def start(self) -> None:
        if self.thread is not None:
            self.thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Send what is in the backlog (until timeout), then stop."""
        self.stopping.set()
        if self.thread is not None and self.thread.is_alive():
            self.thread.join(timeout)

    def saturated(self) -> bool:
        if self.thread is None and self.clock.monotonic() - self.checked_at >= REFRESH_SECONDS:
            self.refresh()
        return self.length >= self.config.queue_max

    def submit(self, out: Outgoing) -> None:
        out.health.batch_submitted()
        if self.thread is None:
            self.send(out)
            return
        try:
            self.backlog.put_nowait(out)
        except queue.Full:
            out.health.dropped(len(out.payloads), "the sender's backlog is full (Redis slow?)", "backlog_full")
            out.health.batch_settled()

    def run(self) -> None:
        while not (self.stopping.is_set() and self.backlog.empty()):
            try:
                out = self.backlog.get(timeout=REFRESH_SECONDS)
            except queue.Empty:
                self.refresh()
                continue
            self.send(out)

    def refresh(self) -> None:
        try:
            self.refresh_now()
        except redis.RedisError as exc:
            log.warning("cannot read the length of queue %s: %s", self.queue.name, exc)

    def send(self, out: Outgoing) -> None:
        try:
            self._send(out)
        finally:
            out.health.batch_settled()

    def _send(self, out: Outgoing) -> None:
        n = len(out.payloads)
        try:
            self.refresh_now()
            if self.length >= self.config.queue_max:
                out.health.dropped(n, f"queue {self.queue.name} holds {self.length} jobs (max {self.config.queue_max})")
                return
            job_id = self._enqueue(out)
        except redis.RedisError as exc:
            out.health.dropped(n, "Redis is unavailable", "redis_unavailable")
            out.health.error(f"enqueue failed: {exc}")
            return
        self.length += 1
        telemetry.JOBS.inc()
        telemetry.QUEUE_DEPTH.set(self.length)
        out.health.sent(n, out.payloads[-1].captured_at)
        log.debug("camera %d: job %s enqueued with %d frame(s)", out.camera_id, job_id, n)

    def refresh_now(self) -> None:
        self.length = self.queue.count
        telemetry.QUEUE_DEPTH.set(self.length)
        self.checked_at = self.clock.monotonic()

    def _enqueue(self, out: Outgoing) -> str:
        job = self.queue.enqueue_call(
            PROCESS_FRAMES, args=(out.camera_id, [p.to_json() for p in out.payloads]),
            job_id=f"frames-{out.camera_id}-{uuid.uuid4().hex}", ttl=None,
            failure_ttl=FAILURE_TTL, result_ttl=RESULT_TTL, retry=self.retry,
            description=f"camera {out.camera_id}: {len(out.payloads)} frame(s)")
        return str(job.id)
