"""The fault and soak harness, briefly: nothing lost, nothing doubled, every fault recovered from.

The short run (bench/soak.py with two cameras at 1 frame/s, 320x240, about 25 s of cameras, then the
drain) uses a private redis-server, a database of its own on the test server and two `affectwatch worker`
processes. A killed worker's job must be written within 15 s of the kill: the other worker requeues it once
its lease (5 s) lapses. The accounting itself is checked against a job that vanished from Redis.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import redis

from bench.soak import Settings, run_soak
from bench.soak_producer import Accepted
from bench.soak_report import Report, format_report, settle
from tests.conftest import SERVER_URL
from tests.test_worker_support import model_path  # noqa: F401  (fixture)


def test_the_accounting_counts_a_job_gone_from_redis_as_lost(redis_conn: redis.Redis) -> None:
    frames = {uuid.uuid4(): Accepted(1, "frames-1-never-stored", 0.0) for _ in range(3)}
    report = Report()
    settle(report, frames, [], redis_conn)
    assert (report.sent, report.lost, report.processed, report.pending) == (3, 3, 0, 0)
    assert "gone from Redis" in report.lost_jobs["frames-1-never-stored"]


@pytest.mark.slow
def test_a_short_soak_with_every_fault_loses_and_doubles_nothing(model_path: Path, tmp_path: Path) -> None:  # noqa: F811
    settings = Settings(seconds=25, cameras=2, fps=1.0, size=(320, 240), faults=("kill", "redis", "postgres",
                        "vanish", "burst"), job_timeout=10, maintenance=5, frame_ttl=30, queue_max=20, outage=3,
                        vanish=5, burst=3, redis_down=1, drain=240, model=model_path, server_url=SERVER_URL)
    report = run_soak(settings, tmp_path)
    text = format_report(report)
    print(text)
    assert report.sent > 0 and report.processed > 0, text
    assert report.lost == 0 and report.duplicated == 0, text
    assert report.pending == 0 and report.failed == 0, text
    assert report.sent == report.processed + report.expired + report.rejected, text
    assert [f.name for f in report.faults] == ["worker SIGKILL", "Redis restart", "Postgres cut off",
                                               "camera vanished", "burst"], text
    assert "mid-job" in report.faults[0].detail, text  # a worker really was killed while running a job
    assert report.faults[0].recovered_s is not None and report.faults[0].recovered_s < 15, text
    assert all(f.recovered_s is not None for f in report.faults), text
