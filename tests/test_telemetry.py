# ruff: noqa: F811  (fixtures imported from tests.test_worker_support and tests.test_alerts_delivery)
"""Every process serves Prometheus metrics that parse, and real work moves them: the producer (a video
camera), a worker (real MTCNN and classifier on a real face), the alert scheduler (an offline camera and
a delivered webhook) and the dashboard (its own /metrics, and its metrics port); JSON logs carry ids."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import psycopg
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families
from rq.job import JobStatus

from affectwatch import telemetry
from affectwatch.config import Config
from affectwatch.exceptions import ConfigError
from tests.test_alerts_delivery import SECRET, Receiver, dc, open_alert, receiver  # noqa: F401  (fixtures)
from tests.test_alerts_support import add_camera, add_resident
from tests.test_worker_support import (  # noqa: F401  (fixtures)
    ROOT,
    add_test_camera,
    astronaut_frame,
    enqueue,
    jpeg,
    model_path,
    payload,
    start_worker,
    worker_config,
    worker_env,
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int, path: str = "/metrics") -> Samples:
    """Every sample at http://127.0.0.1:port/metrics, parsed by prometheus_client's own parser."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
        text = reply.read().decode()
    return samples(text)


def samples(text: str) -> Samples:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: Samples, name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for(what: str, check: Callable[[], bool], seconds: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except (OSError, urllib.error.URLError):
            pass  # the process is still starting its exporter
        if proc.poll() is not None:
            raise AssertionError(f"the process exited ({proc.returncode}) before {what}:\n{finish(proc)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {seconds} s")
        time.sleep(0.2)


def finish(proc: subprocess.Popen[bytes]) -> str:
    """Stop the process with SIGTERM (killed after 60 s) and return its output."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate(timeout=10)
    return out.decode(errors="replace")


@pytest.fixture()
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def command(config: Config, *args: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "affectwatch.cli", *args], cwd=ROOT, env=worker_env(config, **env),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_serve_takes_the_next_free_port_only_when_allowed_to() -> None:
    port = free_port()
    first = telemetry.serve("worker", port, "127.0.0.1", spread=4)
    second = telemetry.serve("worker", port, "127.0.0.1", spread=4)
    try:
        taken = telemetry.port_of(second)
        assert telemetry.port_of(first) == port and port < taken < port + 4
        assert "python_info" in {name for name, _ in scrape(taken)}
        with pytest.raises(ConfigError, match="AFFECTWATCH_PRODUCER_METRICS_PORT"):
            telemetry.serve("producer", port, "127.0.0.1")
        assert telemetry.serve("producer", 0, "127.0.0.1") is None
    finally:
        for server in (first, second):
            assert server is not None
            server.shutdown()
            server.server_close()


def test_producer_metrics_count_captured_sampled_sent_and_dropped_frames(
        config: Config, redis_conn: redis.Redis, face_video: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    camera_id, _ = add_test_camera(config, face_video, sample_fps=5.0)
    port = free_port()
    # One job at most in the queue and no worker: the first batch is sent, the rest dropped as queue_full.
    proc = command(config, "producer", "--duration", "60", AFFECTWATCH_PRODUCER_METRICS_PORT=str(port),
                   AFFECTWATCH_QUEUE_MAX="1", AFFECTWATCH_BATCH_FRAMES="2", AFFECTWATCH_BATCH_SECONDS="0.5",
                   AFFECTWATCH_LOG_FORMAT="json")
    processes.append(proc)
    cam = str(camera_id)
    wait_for("dropped frames", lambda: value(scrape(port), "affectwatch_producer_frames_dropped_total", camera=cam,
                                             reason="queue_full") >= 2, 60, proc)
    found = scrape(port)
    captured = value(found, "affectwatch_producer_frames_captured_total", camera=cam)
    sampled = value(found, "affectwatch_producer_frames_sampled_total", camera=cam)
    sent = value(found, "affectwatch_producer_frames_sent_total", camera=cam)
    assert captured >= sampled >= sent + 2 and sent == 2, found
    assert value(found, "affectwatch_producer_jobs_enqueued_total") == 1
    assert value(found, "affectwatch_producer_queue_depth") == 1
    assert value(found, "affectwatch_producer_cameras") == 1
    lines = [json.loads(line) for line in finish(proc).splitlines()]  # every line is JSON
    capturing = [x for x in lines if x["message"].startswith(f"camera {camera_id}: capturing")]
    assert capturing and capturing[0]["camera_id"] == camera_id and capturing[0]["logger"] == "producer.camera"


def test_worker_metrics_count_faces_and_latency_and_its_json_logs_carry_ids(
        config: Config, redis_conn: redis.Redis, model_path: Path, astronaut: np.ndarray, face_video: Path,
        processes: list[subprocess.Popen[bytes]]) -> None:
    cfg = replace(worker_config(config, model_path), frame_ttl=600)
    camera_id, _ = add_test_camera(cfg, face_video)
    job = enqueue(cfg, redis_conn, camera_id, [payload(camera_id, jpeg(astronaut_frame(astronaut))) for _ in range(2)])
    port = free_port()
    proc = start_worker(cfg, AFFECTWATCH_WORKER_METRICS_PORT=str(port), AFFECTWATCH_LOG_FORMAT="json")
    processes.append(proc)
    wait_for("the job done", lambda: job.get_status() == JobStatus.FINISHED, 180, proc)
    found = scrape(port)
    assert value(found, "affectwatch_worker_faces_total") == 2, found
    assert value(found, "affectwatch_worker_faces_stored_total") == 2
    assert value(found, "affectwatch_worker_jobs_total", outcome="done") == 1
    assert value(found, "affectwatch_worker_jobs_total", outcome="failed") == 0
    assert value(found, "affectwatch_worker_frames_total", status="processed") == 2
    assert value(found, "affectwatch_worker_capture_to_row_seconds_count") == 2
    assert 0 < value(found, "affectwatch_worker_capture_to_row_seconds_sum") < 600
    for stage in ("decode", "detect", "classify"):
        assert value(found, "affectwatch_worker_stage_seconds_count", stage=stage) == 2, stage
    assert value(found, "affectwatch_worker_stage_seconds_count", stage="write") == 1
    out = finish(proc)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    done = [x for x in lines if "frame(s) processed" in x["message"]]
    assert done and done[0]["camera_id"] == camera_id and done[0]["job_id"] == job.id, out[-3000:]
    assert {"time", "level", "logger"} <= set(done[0])


def test_alert_scheduler_metrics_count_an_offline_camera_and_a_delivered_webhook(
        dc: Config, redis_conn: redis.Redis, receiver: Receiver, processes: list[subprocess.Popen[bytes]]) -> None:
    with psycopg.connect(dc.database_url, autocommit=True) as conn:
        silent = add_camera(conn, add_resident(conn, "Bea"), "Bea room")
        conn.execute("UPDATE cameras SET updated_at = now() - interval '1 hour' WHERE id = %s", (silent,))
    port = free_port()
    proc = command(dc, "alerts", "scheduler", AFFECTWATCH_ALERTS_METRICS_PORT=str(port),
                   AFFECTWATCH_ALERT_QUEUE=dc.alert_queue, AFFECTWATCH_ALERT_WEBHOOK_URLS=receiver.url,
                   AFFECTWATCH_ALERT_WEBHOOK_SECRET=SECRET, AFFECTWATCH_ALERT_SWEEP_SECONDS="1",
                   AFFECTWATCH_CAMERA_OFFLINE_MINUTES="5")
    processes.append(proc)
    wait_for("the offline alert", lambda: value(scrape(port), "affectwatch_alert_changes_total",
                                                kind="camera_offline", change="opened") == 1, 60, proc)
    open_alert(dc)
    wait_for("deliveries", lambda: value(scrape(port), "affectwatch_alert_deliveries_total", channel="webhook",
                                         outcome="delivered") >= 2, 60, proc)
    assert len(receiver.requests) >= 2
    finish(proc)


def test_the_dashboard_process_serves_health_and_its_metrics_port(
        config: Config, redis_conn: redis.Redis, processes: list[subprocess.Popen[bytes]]) -> None:
    web, metrics = free_port(), free_port()
    proc = command(config, "dashboard", "--port", str(web), AFFECTWATCH_DASHBOARD_METRICS_PORT=str(metrics))
    processes.append(proc)
    wait_for("/healthz", lambda: json.loads(urllib.request.urlopen(
        f"http://127.0.0.1:{web}/healthz", timeout=5).read())["status"] == "ok", 60, proc)
    with urllib.request.urlopen(f"http://127.0.0.1:{web}/readyz", timeout=5) as reply:
        assert json.loads(reply.read()) == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"http://127.0.0.1:{web}/metrics", timeout=5)
    assert refused.value.code == 401  # the dashboard's own port: only with a token or session
    found = scrape(metrics)
    assert value(found, "affectwatch_dashboard_requests_total", method="GET", endpoint="ops.healthz",
                 status="200") >= 1
    assert value(found, "affectwatch_dashboard_requests_total", method="GET", endpoint="ops.readyz",
                 status="200") == 1
    assert value(found, "affectwatch_dashboard_request_seconds_count", endpoint="ops.readyz") == 1
    finish(proc)


def test_readyz_says_which_dependency_is_down(config: Config, redis_conn: redis.Redis) -> None:
    from dashboard import create_app

    down = create_app(replace(config, redis_url="redis://127.0.0.1:9/0")).test_client()
    reply = down.get("/readyz")
    assert reply.status_code == 503
    assert reply.get_json() == {"status": "not ready", "checks": {"database": "ok", "redis": "unreachable"}}
    assert down.get("/healthz").status_code == 200
    no_db = create_app(replace(config, database_url="postgresql://postgres@127.0.0.1:9/none")).test_client()
    assert no_db.get("/readyz").get_json()["checks"] == {"database": "unreachable", "redis": "ok"}
