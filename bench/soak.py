"""Fault and soak harness: cameras, the real producer, two `affectwatch worker` processes, real Redis and
Postgres, faults injected while it runs, and an account of every frame at the end.

    .venv/bin/python -m bench.soak                       # about 3 minutes: each fault once
    .venv/bin/python -m bench.soak --seconds 1800 --rounds 6 --job-timeout 120 --maintenance 60

Cameras are video files (the astronaut photograph of scikit-image drifting across the frame, 25 fps),
sampled at 2 frames/s. Faults, spread evenly over the run (--faults, repeated --rounds times):
  kill      SIGKILL a worker in the middle of a job (the pool restarts it a second later, as systemd would)
  redis     restart the run's own redis-server (with AOF by default; --redis-persistence none is what a
            Redis without persistence does: the queue is lost)
  postgres  cut the run's database off: no new connections and every session terminated, --outage seconds
            (the server is shared, so it is not restarted; see bench/soak_services.py)
  vanish    a camera's video file renamed away for --vanish seconds, then back
  burst     every camera sampled ten times faster than the workers can go (--burst-factor), --burst seconds
Then the producer stops and the run waits (--drain seconds at most) until every accepted frame has a
fate. It prints the figures (bench/soak_report.py says what each means) and, with --json, writes them.
It needs the model (AFFECTWATCH_MODEL or the shipped one), redis-server, and a Postgres server
(AFFECTWATCH_DATABASE_URL names it; the run makes and drops a database of its own there).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import redis

from affectwatch.config import Config
from affectwatch.db import connect, transaction
from affectwatch.exceptions import ModelError
from affectwatch.migrate import migrate
from affectwatch.queries.cameras import add_camera, update_camera
from affectwatch.queries.residents import add_resident
from affectwatch.queue import frame_queue
from bench import soak_queries as q
from bench.soak_producer import Ledger, SoakSupervisor
from bench.soak_report import Fault, Report, drop_counts, format_report, latency_of_job, settle
from bench.soak_services import ROOT, PrivateRedis, SoakDatabase, WorkerPool, WorkerSlot

log = logging.getLogger("bench.soak")
SHIPPED_MODEL = ROOT / "worker" / "weights" / "affectwatch-fer.safetensors"
FILE_FPS = 25.0
FAULTS = ("kill", "kill", "redis", "postgres", "vanish", "burst", "kill")


@dataclass(frozen=True)
class Settings:
    seconds: float = 120.0  # of production (cameras running); the drain comes after
    rounds: int = 1
    faults: tuple[str, ...] = FAULTS
    cameras: int = 3
    fps: float = 2.0
    workers: int = 2
    size: tuple[int, int] = (640, 480)
    video_seconds: float = 4.0
    job_timeout: int = 10
    frame_ttl: int = 60
    queue_max: int = 40
    retries: int = 3
    maintenance: int = 5
    redis_down: float = 2.0
    outage: float = 5.0
    vanish: float = 8.0
    burst: float = 6.0
    burst_factor: float = 10.0
    drain: float = 240.0
    redis_persistence: bool = True
    model: Path | None = None
    server_url: str | None = None
    keep: bool = False


@dataclass
class Monitor:
    """Samples the queue's length four times a second."""

    conn: redis.Redis
    key: str
    samples: list[tuple[float, int]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.wait(0.25):
            try:
                self.samples.append((time.time(), int(self.conn.llen(self.key))))
            except redis.RedisError:
                continue

    def longest(self) -> int:
        return max((n for _, n in self.samples), default=0)

    def back_to(self, level: int, after: float) -> float | None:
        """The first time at or after `after` the queue held `level` jobs or fewer."""
        return next((t for t, n in self.samples if t >= after and n <= level), None)

    def level_before(self, t: float, seconds: float = 5.0) -> int:
        return max((n for s, n in self.samples if t - seconds <= s < t), default=0)


def model_path(settings: Settings, config: Config) -> Path:
    """The configured model, else the shipped one; a clear error when there is none (no download, ever)."""
    path = settings.model or (config.model if config.model != Path("") else SHIPPED_MODEL)
    if not path.exists():
        raise ModelError(f"no model weights at {path}: set AFFECTWATCH_MODEL or pass --model")
    return path


def make_video(path: Path, size: tuple[int, int], seconds: float, shift: int) -> Path:
    """A video of the astronaut photograph drifting across a grey frame (a real face, made at run time)."""
    from skimage import data

    w, h = size
    side = int(min(w, h) * 0.75)
    face = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (side, side))  # type: ignore[no-untyped-call]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), FILE_FPS, (w, h))
    n = int(seconds * FILE_FPS)
    for i in range(n):
        canvas = np.full((h, w, 3), 90, np.uint8)
        x = int((w - side) * (0.5 + 0.5 * math.sin(2 * math.pi * (i / n) + shift)))
        canvas[(h - side) // 2:(h - side) // 2 + side, x:x + side] = face
        writer.write(canvas)
    writer.release()
    return path


class SoakRun:
    def __init__(self, settings: Settings, folder: Path) -> None:
        self.s = settings
        self.folder = folder
        base = Config.from_env()
        self.model = model_path(settings, base)
        self.db = SoakDatabase(settings.server_url or base.database_url)
        self.redis = PrivateRedis(folder, settings.redis_persistence)
        self.ledger = Ledger()
        self.config = base
        self.camera_ids: list[int] = []
        self.videos: dict[int, Path] = {}
        self.faults: list[Fault] = []
        self.pool: WorkerPool | None = None
        self.monitor: Monitor | None = None

    # --- setting up ---------------------------------------------------------------------------------------
    def setup(self) -> None:
        self.redis.start()
        self.db.create()
        self.config = replace(
            self.config, database_url=self.db.url, redis_url=self.redis.url, queue="frames", model=self.model,
            frame_ttl=self.s.frame_ttl, queue_max=self.s.queue_max, job_timeout=self.s.job_timeout,
            job_retries=self.s.retries, worker_maintenance_seconds=self.s.maintenance, camera_poll_seconds=1.0,
            camera_max_backoff=4.0, batch_frames=4, batch_seconds=2.0, torch_threads=1, device="cpu")
        migrate(self.config)
        self._register_cameras()
        self.pool = WorkerPool(self.s.workers, self._worker_env(), self.folder)

    def _register_cameras(self) -> None:
        with transaction(self.config) as conn:
            for i in range(self.s.cameras):
                video = make_video(self.folder / f"camera-{i + 1}.mp4", self.s.size, self.s.video_seconds, i)
                resident = add_resident(conn, f"Soak Resident {i + 1}", f"S{i + 1}")
                camera = add_camera(conn, f"soak-{i + 1}", str(video), sample_fps=self.s.fps, resident_id=resident.id)
                self.camera_ids.append(camera.id)
                self.videos[camera.id] = video

    def _worker_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AFFECTWATCH_")}
        c = self.config
        env.update(AFFECTWATCH_DATABASE_URL=c.database_url, AFFECTWATCH_REDIS_URL=c.redis_url,
                   AFFECTWATCH_QUEUE=c.queue, AFFECTWATCH_MODEL=str(c.model), AFFECTWATCH_TORCH_THREADS="1",
                   AFFECTWATCH_DEVICE="cpu", AFFECTWATCH_JOB_TIMEOUT=str(c.job_timeout),
                   AFFECTWATCH_FRAME_TTL=str(c.frame_ttl), AFFECTWATCH_JOB_RETRIES=str(c.job_retries),
                   AFFECTWATCH_WORKER_MAINTENANCE_SECONDS=str(c.worker_maintenance_seconds),
                   AFFECTWATCH_LOG_LEVEL="INFO", OMP_NUM_THREADS="1")
        return env

    def conn(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url, socket_connect_timeout=2, socket_timeout=5)

    # --- running ------------------------------------------------------------------------------------------
    def run(self) -> Report:
        assert self.pool is not None
        self.pool.start()
        self._wait_workers_ready()
        self.monitor = Monitor(self.conn(), frame_queue(self.config, self.conn()).key)
        threading.Thread(target=self.monitor.run, name="monitor", daemon=True).start()
        started = time.time()
        stop = threading.Event()
        producer = threading.Thread(target=self._produce, args=(stop,), name="producer", daemon=True)
        producer.start()
        self._inject_faults(started)
        stop.set()
        producer.join(60)
        self._drain()
        report = self._account(time.time() - started)
        self.monitor.stop.set()
        return report

    def _wait_workers_ready(self, seconds: float = 180.0) -> None:
        assert self.pool is not None
        deadline = time.monotonic() + seconds
        while not self.pool.ready(self.conn()):
            if time.monotonic() > deadline:
                raise RuntimeError(f"workers not ready in {seconds:.0f} s; see {self.folder}/soak-w*.log")
            time.sleep(0.5)

    def _produce(self, stop: threading.Event) -> None:
        SoakSupervisor(self.config, self.conn(), self.ledger, status_seconds=2.0).run(stop)

    def _inject_faults(self, started: float) -> None:
        plan = [name for _ in range(self.s.rounds) for name in self.s.faults]
        spacing = self.s.seconds / (len(plan) + 1)
        for i, name in enumerate(plan):
            _sleep_until(started + spacing * (i + 1))
            log.info("fault %d/%d: %s", i + 1, len(plan), name)
            self.faults.append(self._fault(name))
        _sleep_until(started + self.s.seconds)

    def _fault(self, name: str) -> Fault:
        actions: dict[str, Callable[[], Fault]] = {
            "kill": self.kill_worker, "redis": self.restart_redis, "postgres": self.cut_postgres,
            "vanish": self.vanish_camera, "burst": self.burst}
        if name not in actions:
            raise ValueError(f"unknown fault {name!r}; choose from {', '.join(actions)}")
        return actions[name]()

    # --- faults -------------------------------------------------------------------------------------------
    def kill_worker(self, wait: float = 20.0) -> Fault:
        assert self.pool is not None
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            busy = self._busy()
            if busy:
                slot, job_id = busy[0]
                self.pool.kill(slot)
                t = time.time()
                return Fault("worker SIGKILL", t, t, f"{slot.name} mid-job {job_id[-12:]}", job_id=job_id)
            time.sleep(0.05)
        t = time.time()
        return Fault("worker SIGKILL", t, t, "skipped: no worker busy", recovered_s=0.0, recovery="nothing to do")

    def _busy(self) -> list[tuple[WorkerSlot, str]]:
        assert self.pool is not None
        try:
            return self.pool.busy(self.conn())
        except redis.RedisError:
            return []

    def restart_redis(self) -> Fault:
        t = time.time()
        self.redis.restart(self.s.redis_down)
        mode = "AOF" if self.s.redis_persistence else "no persistence"
        return Fault("Redis restart", t, time.time(), f"down {self.s.redis_down:.0f} s ({mode})")

    def cut_postgres(self) -> Fault:
        t = time.time()
        ended = self.db.outage(self.s.outage)
        return Fault("Postgres cut off", t, time.time(), f"{self.s.outage:.0f} s, {ended} sessions terminated")

    def vanish_camera(self) -> Fault:
        camera_id = self.camera_ids[0]
        video = self.videos[camera_id]
        gone = video.with_suffix(".gone")
        t = time.time()
        video.rename(gone)
        time.sleep(self.s.vanish)
        gone.rename(video)
        return Fault("camera vanished", t, time.time(), f"camera {camera_id} file gone {self.s.vanish:.0f} s",
                     camera_id=camera_id)

    def burst(self) -> Fault:
        capacity = self._capacity()
        rate = min(FILE_FPS, max(self.s.fps, self.s.burst_factor * capacity / len(self.camera_ids)))
        t = time.time()
        self._set_rate(rate)
        time.sleep(self.s.burst)
        self._set_rate(self.s.fps)
        return Fault("burst", t, time.time(), f"{rate * len(self.camera_ids):.0f} fps vs ~{capacity:.1f} fps "
                     f"capacity, {self.s.burst:.0f} s")

    def _capacity(self) -> float:
        """The frames per second the workers could do: workers / the mean model time of a frame so far,
        less 15% for decoding, Redis and Postgres (at least 1; 1 when nothing is known yet)."""
        try:
            with connect(self.config) as conn:
                rows = q.frame_outcomes(conn, self.camera_ids)
        except Exception:  # the database may be recovering from the previous fault
            return 1.0
        ms = [r.detect_ms + r.classify_ms for r in rows if r.detect_ms is not None and r.classify_ms is not None]
        return max(1.0, 0.85 * self.s.workers * 1000 / (sum(ms) / len(ms))) if ms else 1.0

    def _set_rate(self, fps: float) -> None:
        with transaction(self.config) as conn:
            for camera_id in self.camera_ids:
                update_camera(conn, camera_id, sample_fps=round(fps, 2))

    # --- after --------------------------------------------------------------------------------------------
    def _drain(self) -> None:
        """Wait until no accepted frame is pending (each has a row or a final state in Redis), or --drain s."""
        deadline = time.monotonic() + self.s.drain
        while time.monotonic() < deadline:
            if self._pending() == 0:
                return
            time.sleep(2.0)
        log.warning("drain: gave up after %.0f s with frames still pending", self.s.drain)

    def _pending(self) -> int:
        accepted, _, _ = self.ledger.snapshot()
        try:
            with connect(self.config) as conn:
                rows = q.frame_outcomes(conn, self.camera_ids)
            report = Report()
            settle(report, accepted, rows, self.conn())
        except Exception as exc:  # a service still recovering: not drained yet
            log.info("drain: cannot tell yet (%s)", exc)
            return -1
        log.info("drain: %d frame(s) pending", report.pending)
        return report.pending

    def _account(self, seconds: float) -> Report:
        assert self.monitor is not None and self.pool is not None
        accepted, dropped, failed_enqueues = self.ledger.snapshot()
        with connect(self.config) as conn:
            rows = q.frame_outcomes(conn, self.camera_ids)
            report = Report(seconds=seconds, duplicates=q.duplicates(conn),
                            faces=q.faces_written(conn, self.camera_ids), alerts_opened=q.alerts_opened(conn))
        settle(report, accepted, rows, self.conn())
        written = {r.frame_id for r in rows}
        report.duplicated = sum(report.duplicates.values())
        report.dropped = drop_counts(dropped)
        report.dropped_but_written = len(failed_enqueues & written)
        report.longest_queue = self.monitor.longest()
        report.worker_restarts = self.pool.restarts
        report.faults = [self._recovery(f, rows) for f in self.faults]
        return report

    def _recovery(self, fault: Fault, rows: list[q.FrameOutcome]) -> Fault:
        if fault.recovery:
            return fault
        if fault.job_id is not None:
            done = latency_of_job(rows, self.ledger.jobs.get(fault.job_id, []))
            fault.recovery = "until the killed job's frames were written"
            fault.recovered_s = None if done is None else max(0.0, done - fault.ended)
            if done is not None and done <= fault.ended:  # killed between its commit and RQ's acknowledgement
                fault.recovery = "committed before the kill; its requeued run wrote nothing twice"
        elif fault.camera_id is not None:
            back = [r.captured_at.timestamp() for r in rows if r.camera_id == fault.camera_id
                    and r.captured_at.timestamp() > fault.ended]
            fault.recovery = "until the camera's next frame was captured"
            fault.recovered_s = min(back) - fault.ended if back else None
        elif fault.name == "burst":
            assert self.monitor is not None
            level = self.monitor.level_before(fault.started)
            drained = self.monitor.back_to(level, fault.ended)
            fault.recovery = f"until the queue was back to {level} jobs"
            fault.recovered_s = None if drained is None else drained - fault.ended
        else:
            after = [r.processed_at.timestamp() for r in rows if r.processed_at.timestamp() > fault.ended
                     and self.ledger.accepted.get(r.frame_id) is not None
                     and self.ledger.accepted[r.frame_id].at > fault.ended]
            fault.recovery = "until a frame accepted after it was written"
            fault.recovered_s = min(after) - fault.ended if after else None
        return fault

    def close(self) -> None:
        if self.pool is not None:
            self.pool.stop()
        self.redis.stop()
        if not self.s.keep:
            self.db.drop()


def _sleep_until(t: float) -> None:
    time.sleep(max(0.0, t - time.time()))


def run_soak(settings: Settings, folder: Path | None = None) -> Report:
    """Set up, run, account and clean up; the figures."""
    with tempfile.TemporaryDirectory(prefix="affectwatch-soak-") as tmp:
        run = SoakRun(settings, folder or Path(tmp))
        try:
            run.setup()
            return run.run()
        finally:
            run.close()


def parse_args(argv: list[str] | None = None) -> tuple[Settings, Path | None, Path | None]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = Settings()
    p.add_argument("--seconds", type=float, default=d.seconds, help="seconds the cameras run (then the drain)")
    p.add_argument("--rounds", type=int, default=d.rounds, help="times the list of faults is repeated")
    p.add_argument("--faults", default=",".join(d.faults), help="comma list of kill, redis, postgres, vanish, burst")
    p.add_argument("--cameras", type=int, default=d.cameras)
    p.add_argument("--fps", type=float, default=d.fps, help="frames per second sampled from each camera")
    p.add_argument("--workers", type=int, default=d.workers)
    p.add_argument("--size", default="x".join(map(str, d.size)), help="frame size, WIDTHxHEIGHT")
    p.add_argument("--job-timeout", type=int, default=d.job_timeout,
                   help="AFFECTWATCH_JOB_TIMEOUT of the run (a killed job comes back after it + 60 s)")
    p.add_argument("--frame-ttl", type=int, default=d.frame_ttl)
    p.add_argument("--queue-max", type=int, default=d.queue_max)
    p.add_argument("--maintenance", type=int, default=d.maintenance, help="AFFECTWATCH_WORKER_MAINTENANCE_SECONDS")
    p.add_argument("--outage", type=float, default=d.outage, help="seconds Postgres is cut off")
    p.add_argument("--vanish", type=float, default=d.vanish, help="seconds a camera's file is gone")
    p.add_argument("--burst", type=float, default=d.burst, help="seconds of the burst")
    p.add_argument("--burst-factor", type=float, default=d.burst_factor)
    p.add_argument("--drain", type=float, default=d.drain, help="seconds to wait for the last frames at most")
    p.add_argument("--redis-persistence", choices=["aof", "none"], default="aof")
    p.add_argument("--model", type=Path, help="expression model (default: AFFECTWATCH_MODEL, else the shipped one)")
    p.add_argument("--server-url", help="Postgres server (default: AFFECTWATCH_DATABASE_URL's)")
    p.add_argument("--keep", action="store_true", help="keep the run's database and files")
    p.add_argument("--workdir", type=Path, help="where videos and worker logs go (default: a temporary folder)")
    p.add_argument("--json", type=Path, help="also write the figures here as JSON")
    a = p.parse_args(argv)
    w, h = (int(x) for x in a.size.lower().split("x"))
    settings = Settings(
        seconds=a.seconds, rounds=a.rounds, faults=tuple(f for f in a.faults.split(",") if f), cameras=a.cameras,
        fps=a.fps, workers=a.workers, size=(w, h), job_timeout=a.job_timeout, frame_ttl=a.frame_ttl,
        queue_max=a.queue_max, maintenance=a.maintenance, outage=a.outage, vanish=a.vanish, burst=a.burst,
        burst_factor=a.burst_factor, drain=a.drain, redis_persistence=a.redis_persistence == "aof", model=a.model,
        server_url=a.server_url, keep=a.keep)
    return settings, a.workdir, a.json


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings, workdir, json_path = parse_args(argv)
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    report = run_soak(settings, workdir)
    print(format_report(report))
    if json_path is not None:
        json_path.write_text(json.dumps(report.to_json(), indent=2, default=str))
    return 0 if report.lost == 0 and report.duplicated == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
