"""The producer's main loop: keep one capture thread per enabled camera and report their health.

Every camera_poll_seconds it re-reads the cameras: new enabled cameras start, disabled or removed
ones stop, and a changed source or sample rate restarts the camera's thread. Every status_seconds it
adds each camera's health changes to camera_status. Postgres being down only delays both.
"""

from __future__ import annotations

import logging
import threading

import psycopg
import redis

from affectwatch.clock import Clock, SystemClock
from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.exceptions import DatabaseUnavailable
from affectwatch.queries.camera_status import HealthReport, report_health
from affectwatch.queries.cameras import Camera, list_cameras
from producer import telemetry
from producer.camera import CameraRunner, CameraSpec
from producer.sender import Sender

log = logging.getLogger(__name__)

STATUS_SECONDS = 2.0
JOIN_SECONDS = 15.0


class Supervisor:
    def __init__(self, config: Config, conn: redis.Redis, clock: Clock | None = None,
                 status_seconds: float = STATUS_SECONDS) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.sender = Sender(config, conn, self.clock)
        self.status_seconds = max(0.1, status_seconds)
        self.runners: dict[int, CameraRunner] = {}
        self.retiring: list[CameraRunner] = []
        self.disabled: set[int] = set()

    def run(self, stop: threading.Event) -> None:
        """Supervise until `stop` is set, then stop every camera and write their final health."""
        self.sender.start()
        log.info("producer started: queue %s, max %d jobs, %d frames or %.1f s per job", self.config.queue,
                 self.config.queue_max, self.config.batch_frames, self.config.batch_seconds)
        next_poll = next_status = self.clock.monotonic()
        while not stop.is_set():
            now = self.clock.monotonic()
            if now >= next_poll:
                self.sync()
                next_poll = now + self.config.camera_poll_seconds
            if now >= next_status:
                self.write_health()
                next_status = now + self.status_seconds
            self.clock.sleep(min(next_poll, next_status) - self.clock.monotonic(), stop)
        self.shutdown()

    def sync(self) -> None:
        cameras = self._read_cameras()
        if cameras is None:
            return
        wanted = {c.id: _spec(c) for c in cameras if c.enabled}
        for camera_id in list(self.runners):
            if wanted.get(camera_id) != self.runners[camera_id].spec:
                self._retire(camera_id, "disabled" if camera_id not in wanted else None)
        for camera_id, spec in wanted.items():
            if camera_id not in self.runners:
                self._start(spec)
        telemetry.CAMERAS.set(len(self.runners))
        self.disabled = {c.id for c in cameras if not c.enabled}

    def _read_cameras(self) -> list[Camera] | None:
        try:
            with transaction(self.config) as conn:
                return list_cameras(conn)
        except (DatabaseUnavailable, psycopg.Error) as exc:
            log.warning("cannot read the cameras (keeping the current ones): %s", exc)
            return None

    def _start(self, spec: CameraSpec) -> None:
        runner = CameraRunner(spec, self.config, self.sender, self.clock)
        self.runners[spec.id] = runner
        runner.start()

    def _retire(self, camera_id: int, state: str | None) -> None:
        runner = self.runners.pop(camera_id)
        runner.stop()
        if state:
            runner.health.close(state)
        log.info("camera %d: stopping (%s)", camera_id, state or "changed")
        self.retiring.append(runner)

    def write_health(self) -> None:
        finished = [r for r in self.retiring if not r.thread.is_alive() and r.health.settled()]  # final counters
        runners = [*self.retiring, *self.runners.values()]  # a restarted camera's new state wins
        reports = [r.health.take() for r in runners]
        reports += [HealthReport(camera_id, "disabled") for camera_id in self.disabled]
        try:
            with transaction(self.config) as conn:
                report_health(conn, reports)
        except (DatabaseUnavailable, psycopg.Error) as exc:
            log.warning("cannot write camera health (will retry): %s", exc)
            for runner, report in zip(runners, reports, strict=False):
                runner.health.give_back(report)
            return
        self.retiring = [r for r in self.retiring if r not in finished]

    def shutdown(self) -> None:
        log.info("producer stopping: %d camera(s)", len(self.runners))
        for runner in self.runners.values():
            runner.stop()
            if not runner.ended:
                runner.health.close("offline")
        for runner in [*self.runners.values(), *self.retiring]:
            runner.thread.join(JOIN_SECONDS)
        self.sender.close()
        self.write_health()
        log.info("producer stopped")


def _spec(camera: Camera) -> CameraSpec:
    return CameraSpec(camera.id, camera.source, round(camera.sample_fps, 3))
