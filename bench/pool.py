"""Pooled Postgres connections (AFFECTWATCH_DATABASE_POOL, affectwatch.db) against a new connection each time,
measured in the same run, alternating the two ways round after round so that load changes hit both alike.

- dashboard: the alerts feed every open page polls (GET /api/v1/alerts/feed, signed in: the session's user is
  read, then the feed's three queries), served by the real app over HTTP (werkzeug's threaded server on a
  free port), from `--clients` clients polling at once; milliseconds per request, p50 and p95;
- worker: the real job function (worker.jobs.process_frames) on jobs of `--frames` frames, the two ways
  in pairs of jobs (alternating which goes first): "expired" jobs (frames that waited too long: the
  camera check and the write of their rows, no models: the database part of every job) and jobs of
  real 640x480 frames with one face each (the shipped model, on the CPU, one thread); --no-models skips both.

It makes a scratch database on the server of AFFECTWATCH_DATABASE_URL and drops it at the end; Redis at
AFFECTWATCH_REDIS_URL is used only for the dashboard's sign-in.

    .venv/bin/python -m bench.pool                     # about a minute
    .venv/bin/python -m bench.pool --requests 400 --jobs 40 --model-jobs 20 --rounds 3 --clients 8
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import requests
from werkzeug.serving import make_server

from affectwatch.config import Config
from affectwatch.db import close_pools, transaction
from affectwatch.migrate import migrate
from affectwatch.queries.cameras import add_camera
from affectwatch.queries.residents import add_resident
from affectwatch.queue import FramePayload
from bench.soak_services import SoakDatabase, free_port

log = logging.getLogger("bench.pool")
PASSWORD = "bench-pool-password-1"
WAYS = {"pool": True, "new connection": False}


@dataclass
class Timings:
    ms: dict[str, list[float]] = field(default_factory=lambda: {way: [] for way in WAYS})

    def line(self, what: str, unit: str, paired: bool = False) -> str:
        pool, new = self.ms["pool"], self.ms["new connection"]
        parts = [f"{what}:"]
        for way, values in (("new connection", new), ("pool", pool)):
            parts.append(f"{way} p50 {pct(values, 50):.2f} ms, p95 {pct(values, 95):.2f} ms "
                         f"(mean {statistics.fmean(values):.2f}, {len(values)} {unit})")
        parts.append(f"pool vs new connection: {statistics.fmean(new) / statistics.fmean(pool):.2f}x faster (mean), "
                     f"{pct(new, 50) / pct(pool, 50):.2f}x (p50)")
        if paired:  # one of each way run back to back: the load they met was alike
            saved = [n - p for n, p in zip(new, pool, strict=True)]
            parts.append(f"paired ({len(saved)} pairs): the pool saves a median {statistics.median(saved):.2f} ms "
                         f"per {unit[:-1]} (quartiles {pct(saved, 25):.2f} to {pct(saved, 75):.2f} ms)")
        return "\n  ".join(parts)


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1e3


# --- dashboard -----------------------------------------------------------------------------------------------
def signed_in(base: str) -> requests.Session:
    session = requests.Session()
    token = session.get(f"{base}/api/v1/session", timeout=30).json()["csrf_token"]
    answer = session.post(f"{base}/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token},
                          allow_redirects=False, timeout=30)
    if answer.status_code != 302:
        raise RuntimeError(f"sign-in failed: {answer.status_code} {answer.text[:200]}")
    return session


def poll(config: Config, requests_n: int, clients: int) -> list[float]:
    """Milliseconds of each of `requests_n` polls of the alerts feed, `clients` at a time, by one server."""
    from dashboard import create_app

    app = create_app(config)
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="dashboard", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        sessions = [signed_in(base) for _ in range(clients)]

        def one(i: int) -> float:
            session = sessions[i % clients]

            def get() -> None:
                answer = session.get(f"{base}/api/v1/alerts/feed", params={"after": 0}, timeout=30)
                answer.raise_for_status()

            return timed(get)

        for session in sessions:  # warm: the first request of a session, the pool's first connections
            session.get(f"{base}/api/v1/alerts/feed", params={"after": 0}, timeout=30).raise_for_status()
        with ThreadPoolExecutor(clients) as executor:
            return list(executor.map(one, range(requests_n)))
    finally:
        server.shutdown()
        thread.join(10)
        close_pools()  # this round's connections, so that each round starts alike


# --- worker --------------------------------------------------------------------------------------------------
def frames(camera_id: int, n: int, face: np.ndarray, waited: timedelta) -> list[dict[str, Any]]:
    ok, buf = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    at = datetime.now(UTC) - waited
    return [FramePayload(uuid.uuid4(), camera_id, at, at, bytes(buf.tobytes())).to_json() for _ in range(n)]


def astronaut_frame() -> np.ndarray:
    """640x480 BGR with the astronaut's face, as bench/soak's cameras show her."""
    from skimage import data

    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[60:420, 140:500] = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (360, 360))  # type: ignore[no-untyped-call]
    return canvas


def run_jobs(config: Config, camera_id: int, n_jobs: int, n_frames: int, face: np.ndarray, waited: timedelta,
             timings: Timings) -> None:
    """`n_jobs` jobs each way, in pairs (one each way, in alternating order), after one unmeasured job each way."""
    from worker import jobs

    pipeline = jobs.installed()
    configs = {way: replace(config, database_pool=pooled) for way, pooled in WAYS.items()}
    try:
        for i in range(-1, n_jobs):
            for way in (list(WAYS) if i % 2 == 0 else list(reversed(WAYS))):
                jobs.install(pipeline.with_config(configs[way]))
                batch = frames(camera_id, n_frames, face, waited)
                ms = timed(lambda: jobs.process_frames(camera_id, batch))  # noqa: B023  (called at once)
                if i >= 0:
                    timings.ms[way].append(ms)
    finally:
        jobs.install(pipeline)
        close_pools()


# --- the run -------------------------------------------------------------------------------------------------
def setup(config: Config, face: np.ndarray, folder: Path) -> int:
    """The schema, a staff account, and a camera (a folder of one image) watching a resident."""
    from dashboard.accounts import create_account

    migrate(config)
    cv2.imwrite(str(folder / "frame.jpg"), face)
    with transaction(config) as conn:
        create_account(conn, "bench", PASSWORD, "staff", "Bench", "pbkdf2:sha256:1000")
        resident = add_resident(conn, "Bench Resident", "B1")
        return add_camera(conn, "bench", str(folder), resident_id=resident.id).id


def bench(config: Config, args: argparse.Namespace, folder: Path) -> list[str]:
    face = astronaut_frame()
    camera_id = setup(config, face, folder)
    polls, expired, analysed = Timings(), Timings(), Timings()
    if not args.no_models:
        from worker import jobs
        from worker.pipeline import Pipeline

        jobs.install(Pipeline.load(replace(config, torch_threads=1), "cpu"))
    for r in range(args.rounds):
        for way, pooled in (WAYS.items() if r % 2 == 0 else reversed(WAYS.items())):
            polls.ms[way] += poll(replace(config, database_pool=pooled), args.requests, args.clients)
        if not args.no_models:
            run_jobs(config, camera_id, args.jobs, args.frames, face, timedelta(hours=1), expired)
            run_jobs(config, camera_id, args.model_jobs, args.frames, face, timedelta(0), analysed)
        log.info("round %d/%d done", r + 1, args.rounds)
    lines = [polls.line(f"dashboard, GET /api/v1/alerts/feed, {args.clients} clients at once", "requests")]
    if not args.no_models:
        lines.append(expired.line(f"worker, jobs of {args.frames} expired frames (database work only)", "jobs", True))
        lines.append(analysed.line(f"worker, jobs of {args.frames} 640x480 frames with a face (models too)", "jobs",
                                   True))
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--requests", type=int, default=200, help="dashboard polls per way and round")
    p.add_argument("--clients", type=int, default=4, help="dashboard clients polling at once")
    p.add_argument("--jobs", type=int, default=20, help="jobs of expired frames per way and round")
    p.add_argument("--model-jobs", type=int, default=10, help="jobs of real frames per way and round")
    p.add_argument("--frames", type=int, default=4, help="frames per job (AFFECTWATCH_BATCH_FRAMES)")
    p.add_argument("--rounds", type=int, default=2, help="rounds, the two ways in alternating order")
    p.add_argument("--no-models", action="store_true", help="the dashboard only")
    args = p.parse_args(argv)
    base = Config.from_env()
    db = SoakDatabase(base.database_url, name=f"affectwatch_poolbench_{os.getpid()}")
    db.create()
    try:
        with tempfile.TemporaryDirectory(prefix="affectwatch-poolbench-") as tmp:
            lines = bench(replace(base, database_url=db.url, torch_threads=1, device="cpu"), args, Path(tmp))
    finally:
        close_pools()
        db.drop()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
