# ruff: noqa: F811  (fixtures imported from tests.test_worker_support)
"""`affectwatch worker` as a process: killed mid-job, its job is requeued by another worker as soon as its lease
lapses and written once; through a Redis outage mid-job, it keeps its models."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import redis
from rq import Worker
from rq.job import Job, JobStatus

from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.queries.frames import faces_of_camera, frames_of_camera
from affectwatch.queue import frame_queue
from tests.test_worker_support import (  # noqa: F401  (fixtures)
    add_test_camera,
    astronaut_frame,
    enqueue,
    jpeg,
    model_path,
    payload,
    start_worker,
    worker_config,
)


def wait_for(what: str, check: Callable[[], bool], seconds: float,
             proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"worker exited ({proc.returncode}) before {what}:\n{output(proc)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {seconds} s")
        time.sleep(0.1)


def output(proc: subprocess.Popen[bytes]) -> str:
    assert proc.stdout is not None
    return proc.stdout.read().decode(errors="replace")[-4000:]


def stop(proc: subprocess.Popen[bytes]) -> str:
    """SIGTERM, as a supervisor stops a worker; one that ignores it is killed (never left behind) and fails."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        raise AssertionError(f"the worker ignored SIGTERM for 60 s:\n{output(proc)}") from None
    return output(proc)


@pytest.fixture()
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Worker processes a test starts; any still running at its end is killed, pass or fail."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def counts(config: Config, camera_id: int) -> tuple[int, int]:
    with connect(config) as conn:
        return len(frames_of_camera(conn, camera_id)), len(faces_of_camera(conn, camera_id))


def test_a_worker_killed_mid_job_has_its_job_written_once_by_another_within_15_seconds(
        config: Config, redis_conn: redis.Redis, model_path: Path, astronaut: np.ndarray, face_video: Path,
        workers: list[subprocess.Popen[bytes]]) -> None:
    # A long frame TTL: worker processes start slowly on a busy machine, and their frames must not expire meanwhile.
    cfg = replace(worker_config(config, model_path), job_timeout=60, frame_ttl=600)
    camera_id, _ = add_test_camera(cfg, face_video)
    big = np.zeros((720, 1280, 3), np.uint8)
    big[120:600, 320:960] = astronaut_frame(astronaut)
    queue = frame_queue(cfg, redis_conn)
    names = [f"lease-test-{i}" for i in (1, 2)]
    for name in names:
        workers.append(start_worker(cfg, "--name", name))
    registered = lambda: {w.name for w in Worker.all(connection=redis_conn, serializer=queue.serializer)} >= set(names)  # noqa: E731
    wait_for("both workers ready", registered, 180, workers[0])

    # Seconds of work: killed as soon as it starts, the job is mid-job; the retry after the 60 s interval
    # would be far too late: the other worker requeues it as soon as the killed worker's lease lapses.
    job = enqueue(cfg, redis_conn, camera_id, [payload(camera_id, jpeg(big)) for _ in range(6)], retries=2,
                  retry_interval=60)
    wait_for("job start", lambda: job.get_status() == JobStatus.STARTED, 60, workers[0])
    running = Job.fetch(job.id, connection=redis_conn, serializer=queue.serializer)
    victim = workers[names.index(str(running.worker_name))]
    os.kill(victim.pid, signal.SIGKILL)
    killed = time.monotonic()
    victim.wait(30)
    assert counts(cfg, camera_id) == (0, 0), "the job finished before the kill"

    survivor = next(w for w in workers if w is not victim)
    wait_for("the killed job's rows", lambda: counts(cfg, camera_id) == (6, 6), 15, survivor)
    recovered = time.monotonic() - killed
    wait_for("the job finished", lambda: job.get_status() == JobStatus.FINISHED, 15, survivor)
    log = stop(survivor)
    assert counts(cfg, camera_id) == (6, 6), log  # written once, nothing doubled
    assert Job.fetch(job.id, connection=redis_conn, serializer=queue.serializer).retries_left == 1, log
    assert "lapsed" in log and "requeued at the front" in log, log
    print(f"killed worker's job written {recovered:.1f} s after the kill")


def test_a_worker_keeps_its_models_through_a_redis_outage_mid_job(
        config: Config, model_path: Path, astronaut: np.ndarray, face_video: Path, tmp_path: Path,
        workers: list[subprocess.Popen[bytes]]) -> None:
    from bench.soak_services import PrivateRedis

    server = PrivateRedis(tmp_path, persistent=True)
    server.start()
    conn = redis.Redis.from_url(server.url)
    try:
        cfg = replace(worker_config(config, model_path), redis_url=server.url, job_timeout=30, frame_ttl=600)
        camera_id, _ = add_test_camera(cfg, face_video)
        big = np.zeros((720, 1280, 3), np.uint8)
        big[120:600, 320:960] = astronaut_frame(astronaut)
        job = enqueue(cfg, conn, camera_id, [payload(camera_id, jpeg(big)) for _ in range(12)],
                      retries=2, retry_interval=1)
        worker = start_worker(cfg)
        workers.append(worker)
        wait_for("job start", lambda: job.get_status() == JobStatus.STARTED, 120, worker)
        server.stop()  # Redis goes while the job runs: the job's rows commit, its result cannot be saved
        wait_for("the job's rows", lambda: counts(cfg, camera_id) == (12, 12), 120, worker)
        time.sleep(3)
        server.start()
        # Its lease lapsed while Redis was away: the worker, working again, requeues it and runs it again.
        wait_for("retried job", lambda: job.get_status() == JobStatus.FINISHED, 120, worker)
        assert worker.poll() is None, "the worker process exited"
        log = stop(worker)
    finally:
        conn.close()
        server.stop()
    assert "models stay loaded, starting over" in log, log  # one process throughout: the models loaded once
    assert counts(cfg, camera_id) == (12, 12)
