"""The producer as a whole: the supervisor in a thread, the `affectwatch producer` process, grab_frame.

Real Redis, real Postgres, real OpenCV on video files made from a real photograph; real time, kept short.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import redis

from affectwatch.capture import grab_frame
from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.exceptions import SourceError
from affectwatch.queries.camera_status import CameraStatus, get_status
from affectwatch.queries.cameras import add_camera, update_camera
from affectwatch.queue import FramePayload, frame_queue
from producer.supervisor import Supervisor
from tests.conftest import write_video

ROOT = Path(__file__).resolve().parents[1]


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def status(config: Config, camera_id: int) -> CameraStatus | None:
    with transaction(config) as conn:
        return get_status(conn, camera_id)


def has(config: Config, camera_id: int, state: str, min_sent: int = 0) -> bool:
    row = status(config, camera_id)
    return row is not None and row.state == state and row.frames_sent >= min_sent


@contextmanager
def supervising(config: Config, conn: redis.Redis) -> Iterator[Supervisor]:
    stop = threading.Event()
    supervisor = Supervisor(config, conn, status_seconds=0.25)
    thread = threading.Thread(target=supervisor.run, args=(stop,), name="supervisor")
    thread.start()
    try:
        yield supervisor
    finally:
        stop.set()
        thread.join(30)
        assert not thread.is_alive(), "the supervisor did not stop"


def queued_frames(config: Config, conn: redis.Redis) -> list[FramePayload]:
    return [FramePayload.from_json(f) for job in frame_queue(config, conn).jobs for f in job.args[1]]


def test_cameras_run_side_by_side_and_changes_are_picked_up(config: Config, redis_conn: redis.Redis,
                                                            face_video: Path) -> None:
    config = replace(config, camera_poll_seconds=0.25, batch_frames=2, batch_seconds=0.5, loop_files=True)
    with transaction(config) as conn:
        lounge = add_camera(conn, "Lounge", str(face_video), sample_fps=4)
        gate = add_camera(conn, "Gate", "rtsp://127.0.0.1:9/none")
        attic = add_camera(conn, "Attic", str(face_video), sample_fps=4, enabled=False)
    with supervising(config, redis_conn) as supervisor:
        wait_for(lambda: has(config, lounge.id, "online", 4) and has(config, gate.id, "offline"), 15,
                 "the lounge to send frames while the gate is offline")
        assert has(config, attic.id, "disabled") and set(supervisor.runners) == {lounge.id, gate.id}
        with transaction(config) as conn:
            update_camera(conn, lounge.id, enabled=False)
            update_camera(conn, attic.id, enabled=True)
        wait_for(lambda: has(config, lounge.id, "disabled") and has(config, attic.id, "online", 2), 15,
                 "the lounge to be disabled and the attic to start, without a restart")
    gate_row = status(config, gate.id)
    assert gate_row is not None and gate_row.errors >= 1 and "cannot open" in str(gate_row.last_error)
    assert gate_row.frames_sent == 0 and gate_row.last_frame_at is None
    frames = queued_frames(config, redis_conn)
    assert {f.camera_id for f in frames} == {lounge.id, attic.id}
    for frame in frames[:3]:
        image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape == (480, 640, 3)
        assert frame.enqueued_at >= frame.captured_at
    lounge_row = status(config, lounge.id)
    assert lounge_row is not None
    sent = sum(1 for f in frames if f.camera_id == lounge.id)
    assert lounge_row.frames_sent == sent and lounge_row.frames_dropped == 0


def test_a_file_that_ends_is_marked_ended_and_not_restarted(config: Config, redis_conn: redis.Redis,
                                                             tmp_path: Path, astronaut: np.ndarray) -> None:
    short = write_video(tmp_path / "short.mp4", [cv2.resize(astronaut, (128, 128))] * 4, 8.0)  # 0.5 s
    config = replace(config, camera_poll_seconds=0.2, loop_files=False)
    with transaction(config) as conn:
        camera = add_camera(conn, "Short", str(short), sample_fps=4)
    with supervising(config, redis_conn):
        wait_for(lambda: has(config, camera.id, "ended"), 15, "the camera to end")
        time.sleep(0.6)  # a few more polls: it must stay ended
    row = status(config, camera.id)
    assert row is not None and row.state == "ended" and row.frames_sent == 2
    assert len(queued_frames(config, redis_conn)) == 2


def test_the_producer_command_stops_cleanly_on_sigterm(config: Config, redis_conn: redis.Redis,
                                                       face_video: Path) -> None:
    with transaction(config) as conn:
        camera = add_camera(conn, "Lounge", str(face_video), sample_fps=4)
    env = {**os.environ, "AFFECTWATCH_DATABASE_URL": config.database_url, "AFFECTWATCH_REDIS_URL": config.redis_url,
           "AFFECTWATCH_QUEUE": config.queue, "AFFECTWATCH_CAMERA_POLL_SECONDS": "0.5", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "affectwatch.cli", "producer", "--status-seconds", "0.3"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: has(config, camera.id, "online", 1) or proc.poll() is not None, 30, "frames to flow")
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "received SIGTERM" in out and "producer stopped" in out
    row = status(config, camera.id)
    assert row is not None and row.state == "offline" and row.frames_sent == len(queued_frames(config, redis_conn))


def test_the_producer_does_not_import_torch() -> None:
    code = ("import sys, affectwatch.cli as c; c.build_parser(); import producer.supervisor, affectwatch.capture;"
            " print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'facenet_pytorch', 'worker')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_grab_frame_returns_a_jpeg_or_says_why_not(face_video: Path, tmp_path: Path,
                                                   astronaut: np.ndarray) -> None:
    jpeg = grab_frame(str(face_video), timeout=10)
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (480, 640, 3)
    cv2.imwrite(str(tmp_path / "a.png"), astronaut)
    folder_image = cv2.imdecode(np.frombuffer(grab_frame(str(tmp_path), 10), np.uint8), cv2.IMREAD_COLOR)
    assert folder_image is not None and folder_image.shape == astronaut.shape
    with pytest.raises(SourceError, match="scheme file://"):
        grab_frame("file:///etc/passwd", 5)
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"no frame from rtsp://127\.0\.0\.1:9/none"):
        grab_frame("rtsp://127.0.0.1:9/none", 5)
    assert time.monotonic() - started < 5
