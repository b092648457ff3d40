# ruff: noqa: F811  (fixtures imported from tests.test_worker_support)
"""The frame job in a real worker (in this process): real Redis, real Postgres, real MTCNN.

Every kind of bad input from the issue: each is rejected or recorded with its reason, the other
frames of the job go on, and nothing is lost or written twice.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
import redis
from PIL import Image
from rq.job import JobStatus

from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.labels import LABELS
from affectwatch.queries.cameras import remove_camera
from affectwatch.queries.frames import faces_of_camera, frames_of_camera
from tests.test_worker_support import (  # noqa: F401  (fixtures)
    add_test_camera,
    astronaut_frame,
    enqueue,
    expected_face_box,
    iou,
    jpeg,
    loaded_pipeline,
    model_path,
    payload,
    pipeline,
    returned,
    work,
)
from worker import hooks, jobs
from worker.jobs import split_expired
from worker.pipeline import Pipeline


def rows(config: Config, camera_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with connect(config) as conn:
        return frames_of_camera(conn, camera_id), faces_of_camera(conn, camera_id)


@pytest.fixture()
def camera(config: Config, face_video: Path) -> tuple[int, int | None]:
    return add_test_camera(config, face_video)


def test_job_writes_a_frame_row_and_a_face_row_on_the_face(config: Config, redis_conn: redis.Redis,
                                                          pipeline: Pipeline, astronaut: np.ndarray,
                                                          camera: tuple[int, int | None]) -> None:
    camera_id, resident_id = camera
    frames = [payload(camera_id, jpeg(astronaut_frame(astronaut, x))) for x in (40, 180)]
    job = enqueue(config, redis_conn, camera_id, frames)
    work(config, redis_conn)

    assert job.get_status() == JobStatus.FINISHED
    assert returned(job)["faces_inserted"] == 2
    frame_rows, face_rows = rows(config, camera_id)
    shapes = [(f["status"], f["n_faces"], f["width"], f["height"]) for f in frame_rows]
    assert shapes == [("processed", 1, 640, 480)] * 2
    assert all(f["latency_ms"] > 0 and f["detect_ms"] > 0 and f["job_id"] == job.id for f in frame_rows)
    for face, x in zip(face_rows, (40, 180), strict=True):
        box = (face["box_x1"], face["box_y1"], face["box_x2"], face["box_y2"])
        assert iou(box, expected_face_box(x)) > 0.6, (box, expected_face_box(x))
        assert face["resident_id"] == resident_id and face["det_prob"] > 0.9
        assert face["model"] == pipeline.model_name


def test_probabilities_cover_the_models_labels_and_a_missing_label_is_null(
        config: Config, redis_conn: redis.Redis, pipeline: Pipeline, astronaut: np.ndarray,
        camera: tuple[int, int | None]) -> None:
    camera_id, _ = camera
    enqueue(config, redis_conn, camera_id, [payload(camera_id, jpeg(astronaut_frame(astronaut)))])
    work(config, redis_conn)

    (face,) = rows(config, camera_id)[1]
    model_labels = pipeline.classifier.meta.labels
    probs = {label: face[f"p_{label}"] for label in LABELS}
    assert sum(probs[label] for label in model_labels) == pytest.approx(1.0, abs=1e-3)
    assert all(probs[label] is None for label in LABELS if label not in model_labels)
    assert face["expression"] == max(model_labels, key=lambda label: probs[label])
    assert face["confidence"] == pytest.approx(probs[face["expression"]])


def grey_jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("L").save(buf, "JPEG")
    return buf.getvalue()


def cmyk_jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("CMYK").save(buf, "JPEG")
    return buf.getvalue()


def rgba_png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).convert("RGBA").save(buf, "PNG")
    return buf.getvalue()


def huge_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("L", (10_000, 10_000), 128).save(buf, "JPEG", quality=50)
    return buf.getvalue()


def test_bad_frames_are_rejected_with_their_reason_and_the_others_processed(
        config: Config, redis_conn: redis.Redis, pipeline: Pipeline, astronaut: np.ndarray,
        camera: tuple[int, int | None], caplog: pytest.LogCaptureFixture) -> None:
    camera_id, _ = camera
    good = jpeg(astronaut_frame(astronaut))
    bad = {
        "corrupt": payload(camera_id, b"\xff\xd8 these bytes are not an image"),
        "truncated": payload(camera_id, good[: len(good) // 2]),
        "empty": payload(camera_id, b""),
        "huge": payload(camera_id, huge_jpeg()),
        "other camera": payload(camera_id + 1, good),
    }
    malformed = {"frame_id": "not-a-uuid", "camera_id": camera_id}
    fine = [payload(camera_id, data) for data in (good, grey_jpeg(astronaut_frame(astronaut)),
                                                  cmyk_jpeg(astronaut_frame(astronaut)),
                                                  rgba_png(astronaut_frame(astronaut)),
                                                  jpeg(np.full((480, 640, 3), 90, np.uint8)))]
    caplog.set_level(logging.WARNING, logger="worker.jobs")
    job = enqueue(config, redis_conn, camera_id, [*bad.values(), malformed, *fine])
    work(config, redis_conn)

    assert job.get_status() == JobStatus.FINISHED
    reasons = {r["frame_id"]: r["reason"] for r in returned(job)["rejected"]}
    assert "not a decodable image" in reasons[str(bad["corrupt"].frame_id)]
    assert "truncated" in reasons[str(bad["truncated"].frame_id)]
    assert "empty frame" in reasons[str(bad["empty"].frame_id)]
    assert "10000x10000 is larger than" in reasons[str(bad["huge"].frame_id)]
    assert "in a job for camera" in reasons[str(bad["other camera"].frame_id)]
    assert "malformed" in reasons["not-a-uuid"] or "lacks" in reasons["not-a-uuid"]
    assert len(reasons) == 6
    for frame_id, reason in reasons.items():
        assert any(frame_id in m and reason in m and f"camera {camera_id}" in m for m in caplog.messages)
    frame_rows, face_rows = rows(config, camera_id)
    assert {f["frame_id"] for f in frame_rows} == {p.frame_id for p in fine}
    by_id = {f["frame_id"]: f["n_faces"] for f in frame_rows}
    assert [by_id[p.frame_id] for p in fine] == [1, 1, 1, 1, 0]  # colour, grey, CMYK, RGBA; no face
    assert len(face_rows) == 4


def test_a_frame_that_waited_past_its_ttl_is_recorded_expired_not_analysed(
        config: Config, redis_conn: redis.Redis, pipeline: Pipeline, astronaut: np.ndarray,
        camera: tuple[int, int | None]) -> None:
    camera_id, _ = camera
    stale = payload(camera_id, jpeg(astronaut_frame(astronaut)))
    job = enqueue(config, redis_conn, camera_id, [stale])
    time.sleep(1.2)  # in the queue longer than the TTL below
    jobs.install(pipeline.with_config(replace(pipeline.config, frame_ttl=1)))
    work(config, redis_conn)

    assert returned(job)["expired"] == 1
    frame_rows, face_rows = rows(config, camera_id)
    assert [(f["frame_id"], f["status"], f["n_faces"], f["detect_ms"]) for f in frame_rows] == [
        (stale.frame_id, "expired", 0, None)]
    assert face_rows == []


def test_expiry_counts_the_wait_since_the_latest_enqueueing() -> None:
    now = datetime.now(UTC)
    old = payload(1, b"x", waited=timedelta(seconds=100))
    new = payload(1, b"x", waited=timedelta(seconds=10))
    assert split_expired([old, new], 60, now) == ([new], [old])
    assert split_expired([old, new], 60, now, requeued_at=now - timedelta(seconds=5)) == ([old, new], [])


def test_a_job_for_a_removed_camera_fails_with_the_reason_and_is_not_retried(
        config: Config, redis_conn: redis.Redis, pipeline: Pipeline, astronaut: np.ndarray,
        camera: tuple[int, int | None]) -> None:
    camera_id, _ = camera
    with connect(config) as conn:
        remove_camera(conn, camera_id)
        conn.commit()
    job = enqueue(config, redis_conn, camera_id, [payload(camera_id, jpeg(astronaut_frame(astronaut)))], retries=2)
    work(config, redis_conn)

    assert job.get_status() == JobStatus.FAILED
    assert job.id in job.failed_job_registry
    result = job.latest_result()
    assert result is not None and f"camera {camera_id} no longer exists" in (result.exc_string or "")
    assert len(job.results()) == 1  # failed once, not retried
    assert rows(config, camera_id) == ([], [])


def test_postgres_unreachable_fails_the_job_and_the_retry_writes_it_once(
        config: Config, redis_conn: redis.Redis, pipeline: Pipeline, astronaut: np.ndarray,
        camera: tuple[int, int | None], caplog: pytest.LogCaptureFixture) -> None:
    camera_id, _ = camera
    frames = [payload(camera_id, jpeg(astronaut_frame(astronaut, x))) for x in (40, 200)]
    job = enqueue(config, redis_conn, camera_id, frames, retries=2)
    down = replace(pipeline.config, database_url=psycopg.conninfo.make_conninfo(config.database_url, port="1"))
    jobs.install(pipeline.with_config(down))
    work(config, redis_conn, max_jobs=1)

    assert job.get_status() == JobStatus.QUEUED  # failed, requeued by RQ's retry
    assert any(job.id in m and "cannot connect to Postgres at 127.0.0.1:1/" in m for m in caplog.messages)
    jobs.install(pipeline)
    work(config, redis_conn)
    assert job.get_status() == JobStatus.FINISHED
    frame_rows, face_rows = rows(config, camera_id)
    assert sorted(f["frame_id"] for f in frame_rows) == sorted(p.frame_id for p in frames)
    assert len(face_rows) == 2


def test_postgres_failing_mid_write_rolls_back_and_the_retry_writes_it_once(
        config: Config, redis_conn: redis.Redis, pipeline: Pipeline, astronaut: np.ndarray,
        camera: tuple[int, int | None], monkeypatch: pytest.MonkeyPatch) -> None:
    camera_id, _ = camera
    calls: list[int] = []

    def terminate_once(conn: psycopg.Connection[Any], cfg: Config, faces: Any) -> None:
        calls.append(len(faces))
        if len(calls) == 1:  # the rows are inserted, not committed: kill this connection's backend
            conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    monkeypatch.setattr(hooks, "after_faces_committed", terminate_once)
    job = enqueue(config, redis_conn, camera_id, [payload(camera_id, jpeg(astronaut_frame(astronaut)))], retries=2)
    work(config, redis_conn)

    assert job.get_status() == JobStatus.FINISHED
    assert calls == [1, 1]  # the retry inserted (and passed on) the same face again
    frame_rows, face_rows = rows(config, camera_id)
    assert len(frame_rows) == 1 and len(face_rows) == 1


def test_a_job_run_twice_writes_nothing_twice(config: Config, pipeline: Pipeline, astronaut: np.ndarray,
                                              camera: tuple[int, int | None]) -> None:
    camera_id, _ = camera
    frames = [payload(camera_id, jpeg(astronaut_frame(astronaut))).to_json()]
    first = jobs.process_frames(camera_id, frames)
    again = jobs.process_frames(camera_id, frames)

    assert (first["faces_inserted"], again["faces_inserted"]) == (1, 0)
    frame_rows, face_rows = rows(config, camera_id)
    assert len(frame_rows) == 1 and len(face_rows) == 1


def test_a_job_past_its_timeout_fails_and_the_worker_goes_on(
        config: Config, redis_conn: redis.Redis, pipeline: Pipeline, astronaut: np.ndarray,
        camera: tuple[int, int | None]) -> None:
    camera_id, _ = camera
    big = np.zeros((720, 1280, 3), np.uint8)
    big[:480, :640] = astronaut_frame(astronaut)
    # 1 s is rq's shortest timeout; MTCNN takes ~50 ms a frame here, so 80 frames take several seconds.
    slow = enqueue(config, redis_conn, camera_id, [payload(camera_id, jpeg(big)) for _ in range(80)],
                   retries=0, timeout=1)
    quick = enqueue(config, redis_conn, camera_id, [payload(camera_id, jpeg(astronaut_frame(astronaut)))])
    work(config, redis_conn)

    assert slow.get_status() == JobStatus.FAILED
    assert "JobTimeoutException" in (slow.latest_result().exc_string or "")  # type: ignore[union-attr]
    assert quick.get_status() == JobStatus.FINISHED
    frame_rows, _ = rows(config, camera_id)
    assert len(frame_rows) == 1
