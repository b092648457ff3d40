"""Fixtures and helpers the worker tests share (this module holds no tests of its own).

Until the shipped model (worker/weights/affectwatch-fer.safetensors) exists, tests use a tiny model
with random weights and FER2013's seven labels, built in a temporary folder; once it exists, they
use it. Either way the pipeline code is the production code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import redis
from rq import Queue, Retry
from rq.job import Job

from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.queries.cameras import add_camera
from affectwatch.queries.residents import add_resident
from affectwatch.queue import PROCESS_FRAMES, FramePayload, frame_queue
from worker import jobs
from worker.models.modelfile import DEFAULT_MODEL, ModelMeta, save_model
from worker.models.nets import build
from worker.pipeline import Pipeline
from worker.runner import FrameWorker, build_worker

FER_LABELS = ["anger", "disgust", "fear", "happy", "neutral", "sad", "surprise"]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped model when it exists, else a tiny random-weight 7-label model (tests only)."""
    if DEFAULT_MODEL.exists():
        return DEFAULT_MODEL
    import torch

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "test-random.safetensors"
    save_model(build("facenet48", 7, 0.5, 0.25), ModelMeta("test-random-fer7", "facenet48", FER_LABELS, 48), path)
    return path


@pytest.fixture(scope="session")
def loaded_pipeline(base_config: Config, model_path: Path) -> Pipeline:
    """MTCNN and the classifier, loaded once for the whole test run, on CPU with one thread."""
    return Pipeline.load(worker_config(base_config, model_path), "cpu")


@pytest.fixture()
def pipeline(config: Config, loaded_pipeline: Pipeline) -> Iterator[Pipeline]:
    """The loaded models installed for this process's jobs, with a clean database."""
    jobs.install(loaded_pipeline)
    yield loaded_pipeline
    jobs.install(None)


def worker_config(config: Config, model: Path) -> Config:
    return replace(config, model=model, torch_threads=1, device="cpu", job_retries=2)


def worker_env(config: Config, **extra: str) -> dict[str, str]:
    """The environment of an `affectwatch worker` subprocess pointed at the test database and Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFFECTWATCH_")}
    env.update(AFFECTWATCH_DATABASE_URL=config.database_url, AFFECTWATCH_REDIS_URL=config.redis_url,
               AFFECTWATCH_QUEUE=config.queue, AFFECTWATCH_MODEL=str(config.model), AFFECTWATCH_TORCH_THREADS="1",
               AFFECTWATCH_DEVICE="cpu", AFFECTWATCH_JOB_TIMEOUT=str(config.job_timeout),
               AFFECTWATCH_FRAME_TTL=str(config.frame_ttl))
    env.update(extra)
    return env


def start_worker(config: Config, *args: str, **env: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "affectwatch.cli", "worker", *args], cwd=ROOT,
                            env=worker_env(config, **env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def add_test_camera(config: Config, source: Path, name: str = "lounge", with_resident: bool = True,
                    sample_fps: float = 2.0) -> tuple[int, int | None]:
    """A camera (and its assigned resident) registered through the camera queries; (camera id, resident id)."""
    with transaction(config) as conn:
        resident = add_resident(conn, "Eileen", "12") if with_resident else None
        camera = add_camera(conn, name, str(source), sample_fps=sample_fps,
                            resident_id=resident.id if resident else None)
    return camera.id, resident.id if resident else None


def jpeg(rgb: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]) if rgb.ndim == 3 else rgb,
                           [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return bytes(buf.tobytes())


def astronaut_frame(astronaut: np.ndarray, x: int = 40) -> np.ndarray:
    """A 640x480 frame like face_video's: the astronaut scaled to 360 px at (x, 60)."""
    canvas = np.full((480, 640, 3), 90, np.uint8)
    canvas[60:420, x : x + 360] = cv2.resize(astronaut, (360, 360))
    return canvas


# Where MTCNN finds the astronaut's face in skimage's 512x512 photo (x1, y1, x2, y2).
ASTRONAUT_FACE = (180.3, 60.7, 268.4, 172.2)


def expected_face_box(x: int) -> tuple[float, float, float, float]:
    """The face's box in a face_video / astronaut_frame frame with the photo at (x, 60), scaled 360/512."""
    s = 360 / 512
    x1, y1, x2, y2 = ASTRONAUT_FACE
    return x + x1 * s, 60 + y1 * s, x + x2 * s, 60 + y2 * s


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def payload(camera_id: int, data: bytes, captured_at: datetime | None = None,
            waited: timedelta = timedelta(0)) -> FramePayload:
    now = datetime.now(UTC)
    return FramePayload(uuid.uuid4(), camera_id, captured_at or now - waited, now - waited, data)


def enqueue(config: Config, conn: redis.Redis, camera_id: int, frames: Sequence[FramePayload | dict[str, object]],
            retries: int = 2, timeout: int | None = None, retry_interval: int = 0) -> Job:
    """A job as the producer enqueues it: JSON, with retries and the job timeout, no RQ TTL."""
    raw = [f.to_json() if isinstance(f, FramePayload) else f for f in frames]
    retry = Retry(max=retries, interval=retry_interval) if retries else None
    return frame_queue(config, conn).enqueue_call(
        PROCESS_FRAMES, args=(camera_id, raw), ttl=None, retry=retry,
        timeout=timeout or config.job_timeout, result_ttl=600, failure_ttl=3600)


def work(config: Config, conn: redis.Redis, max_jobs: int | None = None) -> FrameWorker:
    """Run an in-process worker over the queue until it is empty (or max_jobs have run)."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    worker = build_worker(config, conn)
    try:
        worker.work(burst=True, max_jobs=max_jobs)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    return worker


def returned(job: Job) -> dict[str, Any]:
    """The result a finished frame job returned."""
    value = job.return_value()
    assert isinstance(value, dict), f"job {job.id} returned {value!r}"
    return value


def queue_of(config: Config, conn: redis.Redis) -> Queue:
    return frame_queue(config, conn)
