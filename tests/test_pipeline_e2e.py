# ruff: noqa: F811  (fixtures imported from tests.test_worker_support)
"""End to end: a video of a real face, registered as a camera -> producer -> Redis -> `affectwatch worker` -> Postgres.

The producer is the real Supervisor (in a thread here: it never imports torch); the worker is the real
command, in burst mode, in its own process. The rows must put each face on the astronaut's face in the
video and give probabilities that sum to one over the model's labels.
"""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from affectwatch.cli import main
from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.labels import LABELS
from affectwatch.queries.camera_status import get_status
from affectwatch.queries.frames import faces_of_camera, frames_of_camera
from affectwatch.queue import frame_queue
from producer.supervisor import Supervisor
from tests.test_worker_support import (  # noqa: F401  (fixtures)
    add_test_camera,
    expected_face_box,
    iou,
    model_path,
    start_worker,
    worker_config,
    worker_env,
)

VIDEO_X = [40 + 5 * i for i in range(30)]  # where face_video puts the photo in each of its 30 frames


def produce(config: Config, conn: redis.Redis, camera_id: int, seconds: float = 30.0) -> int:
    """Run the producer until the camera's video has ended; return the frames it sent."""
    stop = threading.Event()
    supervisor = Supervisor(config, conn, status_seconds=0.5)
    thread = threading.Thread(target=supervisor.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            with connect(config) as db:
                status = get_status(db, camera_id)
            if status is not None and status.state == "ended":
                break
            time.sleep(0.2)
    finally:
        stop.set()
        thread.join(30)
    with connect(config) as db:
        status = get_status(db, camera_id)
    assert status is not None and status.state == "ended", status
    return status.frames_sent


def test_video_to_rows_on_the_face(config: Config, redis_conn: redis.Redis, model_path: Path,
                                   face_video: Path) -> None:
    # A long TTL: on a busy machine the worker process may take a while to start.
    cfg = replace(worker_config(config, model_path), loop_files=False, batch_frames=4, batch_seconds=1.0,
                  frame_ttl=600, camera_poll_seconds=0.5)
    camera_id, resident_id = add_test_camera(cfg, face_video, sample_fps=4.0)

    sent = produce(cfg, redis_conn, camera_id)
    assert sent >= 8  # 3 s of video at 4 frames/s
    assert frame_queue(cfg, redis_conn).count >= 2

    worker = start_worker(cfg, "--burst")
    out, _ = worker.communicate(timeout=600)
    assert worker.returncode == 0, out.decode(errors="replace")[-4000:]

    with connect(cfg) as db:
        frames, faces = frames_of_camera(db, camera_id), faces_of_camera(db, camera_id)
    assert len(frames) == sent
    assert all(f["status"] == "processed" and f["n_faces"] == 1 and f["latency_ms"] > 0 for f in frames)
    assert len(faces) == sent
    labels = set(_model_labels(faces[0]))
    for face in faces:
        box = (face["box_x1"], face["box_y1"], face["box_x2"], face["box_y2"])
        assert max(iou(box, expected_face_box(x)) for x in VIDEO_X) > 0.6, box
        assert face["resident_id"] == resident_id and face["camera_id"] == camera_id
        assert set(_model_labels(face)) == labels
        assert sum(face[f"p_{label}"] for label in labels) == pytest.approx(1.0, abs=1e-3)
    assert frame_queue(cfg, redis_conn).count == 0
    assert len(frame_queue(cfg, redis_conn).failed_job_registry) == 0


def _model_labels(face: dict[str, object]) -> list[str]:
    return [label for label in LABELS if face[f"p_{label}"] is not None]


def test_worker_command_refuses_to_start_without_a_model(config: Config, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.safetensors"
    for var, value in worker_env(config, AFFECTWATCH_MODEL=str(missing)).items():
        if var.startswith("AFFECTWATCH_"):
            monkeypatch.setenv(var, value)

    assert main(["worker", "--burst"]) == 2
    assert f"no model weights at {missing}" in capsys.readouterr().err
