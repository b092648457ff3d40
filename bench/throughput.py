"""Frames per second through `affectwatch worker` processes: one worker against two, and torch thread counts.

Each setup gets a fresh queue of JSON jobs (4 frames of 640x480 with one real face each, as the producer
sends them) on a private redis-server, K worker processes with T torch threads each (started and ready
before the first job is queued), and a scratch database. Throughput is frames over the span from the first
committed row to the last; CPU is the workers' user + system time over the same work, per frame. The first
setup (one worker, one thread) is the baseline the others are divided by, in the same run.

    .venv/bin/python -m bench.throughput --model PATH [--frames 48] [--setups 1x1,1x2,2x1]

On a shared machine, wall-clock figures move with the load (printed); CPU ms per frame moves much less.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import redis

from affectwatch.config import Config
from affectwatch.db import connect, transaction
from affectwatch.migrate import migrate
from affectwatch.queries.cameras import add_camera
from affectwatch.queue import PROCESS_FRAMES, FramePayload, frame_queue
from bench import soak_queries as q
from bench.soak import make_video, model_path
from bench.soak_services import PrivateRedis, SoakDatabase, WorkerPool

log = logging.getLogger("bench.throughput")


@dataclass(frozen=True)
class Result:
    workers: int
    threads: int
    frames: int
    seconds: float
    cpu_s: float
    load: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_ms(self) -> float:
        return 1000 * self.cpu_s / self.frames


def frame_jpeg() -> bytes:
    from skimage import data

    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[60:420, 140:500] = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (360, 360))  # type: ignore[no-untyped-call]
    ok, buf = cv2.imencode(".jpg", canvas, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return bytes(buf.tobytes())


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


class Bench:
    def __init__(self, config: Config, folder: Path, frames: int) -> None:
        self.config = config
        self.folder = folder
        self.frames = frames
        self.jpeg = frame_jpeg()

    def run(self, workers: int, threads: int) -> Result:
        db, rds = SoakDatabase(self.config.database_url, f"affectwatch_bench_{os.getpid()}"), PrivateRedis(self.folder)
        rds.start()
        db.create()
        try:
            cfg = replace(self.config, database_url=db.url, redis_url=rds.url, queue="frames", frame_ttl=3600)
            migrate(cfg)
            return self._measure(cfg, workers, threads)
        finally:
            rds.stop()
            db.drop()

    def _measure(self, cfg: Config, workers: int, threads: int) -> Result:
        with transaction(cfg) as tx:
            camera = add_camera(tx, "bench", str(make_video(self.folder / "c.mp4", (320, 240), 1.0, 0))).id
        env = {k: v for k, v in os.environ.items() if not k.startswith("AFFECTWATCH_")}
        env.update(AFFECTWATCH_DATABASE_URL=cfg.database_url, AFFECTWATCH_REDIS_URL=cfg.redis_url,
                   AFFECTWATCH_QUEUE=cfg.queue, AFFECTWATCH_MODEL=str(cfg.model), AFFECTWATCH_DEVICE="cpu",
                   AFFECTWATCH_TORCH_THREADS=str(threads), AFFECTWATCH_FRAME_TTL="3600", OMP_NUM_THREADS=str(threads))
        pool = WorkerPool(workers, env, self.folder)
        pool.start()
        try:
            conn = redis.Redis.from_url(cfg.redis_url)
            while not pool.ready(conn):
                time.sleep(0.5)
            pids = [s.proc.pid for s in pool.slots if s.proc is not None]
            before = cpu_seconds(pids)
            self._enqueue(cfg, conn, camera)
            rows = self._wait_rows(cfg, camera)
            cpu = cpu_seconds(pids) - before
        finally:
            pool.stop()
        times = sorted(r.processed_at.timestamp() for r in rows)
        first_job = times[min(len(times) - 1, 3)]  # the first job's frames commit together: start after it
        done = len(times) - min(len(times), 4)
        return Result(workers, threads, done, times[-1] - first_job, cpu * done / len(times), os.getloadavg()[0])

    def _enqueue(self, cfg: Config, conn: redis.Redis, camera: int) -> None:
        queue = frame_queue(cfg, conn)
        for _ in range(self.frames // 4):
            now = datetime.now(UTC)
            frames = [FramePayload(uuid.uuid4(), camera, now, now, self.jpeg).to_json() for _ in range(4)]
            queue.enqueue_call(PROCESS_FRAMES, args=(camera, frames), result_ttl=60)

    def _wait_rows(self, cfg: Config, camera: int, seconds: float = 1800.0) -> list[q.FrameOutcome]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with connect(cfg) as conn:
                rows = q.frame_outcomes(conn, [camera])
            if len(rows) >= self.frames // 4 * 4:
                return rows
            time.sleep(0.5)
        raise RuntimeError(f"only {len(rows)} of {self.frames} frames in {seconds:.0f} s")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING)
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", type=Path, help="expression model (default: AFFECTWATCH_MODEL, else the shipped one)")
    p.add_argument("--frames", type=int, default=48, help="frames per setup (jobs of 4)")
    p.add_argument("--setups", default="1x1,1x2,2x1",
                   help="WORKERSxTHREADS, comma-separated; the first is the baseline")
    a = p.parse_args(argv)
    base = Config.from_env()
    from bench.soak import Settings

    config = replace(base, model=model_path(Settings(model=a.model), base))
    results = []
    with tempfile.TemporaryDirectory(prefix="affectwatch-throughput-") as tmp:
        bench = Bench(config, Path(tmp), a.frames)
        for setup in a.setups.split(","):
            workers, threads = (int(x) for x in setup.split("x"))
            results.append(bench.run(workers, threads))
            r = results[-1]
            print(f"{r.workers} worker(s) x {r.threads} thread(s): {r.fps:5.2f} frames/s, {r.cpu_ms:5.0f} CPU ms/frame"
                  f"  ({r.frames} frames in {r.seconds:.1f} s, load {r.load:.1f})", flush=True)
    first = results[0]
    for r in results[1:]:
        print(f"{r.workers}x{r.threads} vs {first.workers}x{first.threads}: {r.fps / first.fps:.2f}x frames/s, "
              f"{r.cpu_ms / first.cpu_ms:.2f}x CPU per frame")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
