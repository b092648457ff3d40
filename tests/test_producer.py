"""The producer's parts: sampling, pacing, back-off, capture, batching, backpressure and health rows.

Timing is checked against a fake clock (fake only the clock and cameras: Redis and Postgres are real).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
import redis
from rq.job import Job
from rq.serializers import JSONSerializer

from affectwatch.capture import ImageFolder, VideoStream, encode_jpeg, open_capture
from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.exceptions import CaptureError, FrameError
from affectwatch.queries.camera_status import HealthReport, get_status, report_health
from affectwatch.queries.cameras import add_camera, remove_camera
from affectwatch.queue import PROCESS_FRAMES, FramePayload, frame_queue
from affectwatch.sampler import Pacer, Sampler
from affectwatch.sources import validate_source
from producer.backoff import Backoff
from producer.batch import Batch, CapturedFrame
from producer.camera import CameraRunner, CameraSpec
from producer.health import CameraHealth
from producer.sender import Outgoing, Sender
from tests.conftest import write_video


class FakeClock:
    """Time that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.start = datetime.now(UTC)
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.t - 1000.0)

    def sleep(self, seconds: float, stop: threading.Event) -> bool:
        self.sleeps.append(seconds)
        self.t += max(0.0, seconds)
        return stop.is_set()


def kept(fps: float, times: list[float]) -> list[float]:
    sampler = Sampler(fps)
    return [t for t in times if sampler.take(t)]


def test_sampler_keeps_frames_at_the_target_rate() -> None:
    assert kept(2, [i / 10 for i in range(30)]) == pytest.approx([0, 0.5, 1.0, 1.5, 2.0, 2.5])
    assert len(kept(2, [i / 25 for i in range(250)])) == 20  # 10 s of 25 fps: 2 per second, no drift
    assert len(kept(3, [i / 30 for i in range(300)])) == 30
    assert kept(5, [0.0, 1.0, 2.0]) == [0.0, 1.0, 2.0]  # a slower source than the rate: every frame
    assert kept(1, [0.0, 0.1, 5.0, 5.5, 6.0]) == [0.0, 5.0, 6.0]  # after a gap the schedule restarts


def test_pacer_plays_at_media_speed_and_does_not_rush_a_backlog() -> None:
    pacer = Pacer()
    assert pacer.delay(0.0, now=100.0) == 0.0
    assert pacer.delay(0.1, now=100.0) == pytest.approx(0.1)
    assert pacer.delay(1.0, now=100.5) == pytest.approx(0.5)
    assert pacer.delay(1.1, now=105.0) == 0.0  # 3.9 s behind: re-anchor
    assert pacer.delay(1.2, now=105.0) == pytest.approx(0.1)


def test_backoff_doubles_up_to_the_maximum_and_resets() -> None:
    backoff = Backoff(maximum=10.0)
    assert [backoff.next() for _ in range(6)] == [1, 2, 4, 8, 10, 10]
    backoff.reset()
    assert backoff.next() == 1


def test_a_video_file_reports_media_time_that_continues_after_rewind(face_video: Path) -> None:
    stream = VideoStream(validate_source(str(face_video)), FakeClock())
    times = []
    while (t := stream.grab()) is not None:
        times.append(t)
    assert times == pytest.approx([i / 10 for i in range(30)])
    assert stream.rewind()
    assert stream.grab() == pytest.approx(3.0)
    assert stream.retrieve().shape == (480, 640, 3)
    stream.close()


def test_an_unreachable_stream_cannot_be_opened() -> None:
    with pytest.raises(CaptureError, match=r"cannot open rtsp://127\.0\.0\.1:9/none"):
        open_capture(validate_source("rtsp://127.0.0.1:9/none"), FakeClock(), 2.0)


def test_an_image_folder_is_read_in_sorted_order(tmp_path: Path, astronaut: np.ndarray) -> None:
    for name, width in (("b.png", 30), ("a.jpg", 20), ("c.png", 40)):
        cv2.imwrite(str(tmp_path / name), cv2.resize(astronaut, (width, 10)))
    folder = ImageFolder(tmp_path, fps=2.0)
    widths = []
    while (t := folder.grab()) is not None:
        widths.append((t, folder.retrieve().shape[1]))
    assert widths == [(0.0, 20), (0.5, 30), (1.0, 40)]
    (tmp_path / "d.jpg").write_bytes(b"not a jpeg")
    assert folder.rewind() and folder.files[-1].name == "d.jpg"
    for _ in range(4):
        folder.grab()
    with pytest.raises(FrameError, match="cannot read the image"):
        folder.retrieve()


def test_a_batch_is_due_when_full_or_old() -> None:
    batch = Batch(camera_id=7, size=3, max_age=2.0)
    frame = CapturedFrame(uuid.uuid4(), datetime.now(UTC), b"jpeg")
    assert not batch.due(0.0)
    batch.add(frame, now=10.0)
    assert not batch.due(11.9) and batch.due(12.0)
    batch.add(frame, now=11.0)
    batch.add(frame, now=11.0)
    assert batch.due(11.0)
    payloads = batch.take(datetime.now(UTC))
    assert len(payloads) == 3 and payloads[0].camera_id == 7 and batch.frames == [] and not batch.due(99.0)


def test_jpeg_encoding_follows_the_quality(astronaut: np.ndarray) -> None:
    low, high = encode_jpeg(astronaut, 20), encode_jpeg(astronaut, 95)
    assert low[:2] == b"\xff\xd8" and len(low) < len(high)
    decoded = cv2.imdecode(np.frombuffer(high, np.uint8), cv2.IMREAD_COLOR)
    assert decoded is not None and decoded.shape == astronaut.shape


# --- sending, with real Redis -------------------------------------------------------------------------------


def outgoing(camera_id: int, health: CameraHealth, n: int) -> Outgoing:
    now = datetime.now(UTC)
    jpeg = encode_jpeg(np.full((48, 64, 3), 128, np.uint8), 80)
    return Outgoing(camera_id, [FramePayload(uuid.uuid4(), camera_id, now, now, jpeg)
                                for _ in range(n)], health)


def test_backpressure_drops_and_counts_batches_when_the_queue_is_full(config: Config, redis_conn: redis.Redis) -> None:
    config = replace(config, queue_max=2, frame_ttl=30, job_retries=2)
    clock = FakeClock()
    sender, health = Sender(config, redis_conn, clock, threaded=False), CameraHealth(5, clock)
    for _ in range(5):
        sender.submit(outgoing(5, health, 3))
    queue = frame_queue(config, redis_conn)
    assert queue.count == 2
    assert (health.totals["sent"], health.totals["dropped"]) == (6, 9)
    assert sender.saturated()
    job = queue.jobs[0]
    assert job.func_name == PROCESS_FRAMES and job.args[0] == 5 and job.id.startswith("frames-5-")
    assert job.retries_left == 2 and job.retry_intervals == [5, 20] and (job.failure_ttl or 0) >= 24 * 3600
    assert redis_conn.ttl(job.key) == -1  # never vanishes unseen: the worker writes late frames as 'expired'
    raw = redis_conn.hget(job.key, "data")
    assert isinstance(raw, bytes) and json.loads(zlib.decompress(raw))[2][0] == 5  # RQ's compressed JSON, not a pickle
    frames = [FramePayload.from_json(f) for f in Job.fetch(job.id, redis_conn, serializer=JSONSerializer).args[1]]
    assert len(frames) == 3 and all(f.camera_id == 5 for f in frames)


def test_a_full_queue_makes_capture_drop_before_encoding(config: Config, redis_conn: redis.Redis,
                                                         face_video: Path) -> None:
    config = replace(config, queue_max=3, loop_files=False)
    redis_conn.rpush(frame_queue(config, redis_conn).key, "a", "b", "c")
    clock = FakeClock()
    runner = CameraRunner(CameraSpec(1, str(face_video), 2.0), config, Sender(config, redis_conn, clock, False), clock)
    runner.run()
    assert (runner.health.totals["sent"], runner.health.totals["dropped"]) == (0, 6)
    assert redis_conn.llen(frame_queue(config, redis_conn).key) == 3


def test_redis_down_drops_and_counts_without_raising(config: Config) -> None:
    config = replace(config, redis_url="redis://127.0.0.1:9/0")
    clock = FakeClock()
    dead = redis.Redis.from_url(config.redis_url, socket_connect_timeout=1)
    sender, health = Sender(config, dead, clock, threaded=False), CameraHealth(5, clock)
    sender.submit(outgoing(5, health, 2))
    report = health.take()
    assert (report.sent, report.dropped, report.errors) == (0, 2, 1) and "enqueue failed" in str(report.last_error)


def test_the_threaded_sender_enqueues_in_the_background(config: Config, redis_conn: redis.Redis) -> None:
    clock = FakeClock()
    sender, health = Sender(config, redis_conn, clock), CameraHealth(9, clock)
    sender.start()
    sender.submit(outgoing(9, health, 2))
    sender.submit(outgoing(9, health, 1))
    sender.close()
    assert frame_queue(config, redis_conn).count == 2 and health.totals["sent"] == 3
    assert not sender.thread or not sender.thread.is_alive()


# --- a camera's thread body, run synchronously on a fake clock ----------------------------------------------


def run_camera(config: Config, conn: redis.Redis, source: str, fps: float = 2.0) -> tuple[CameraRunner, FakeClock]:
    clock = FakeClock()
    runner = CameraRunner(CameraSpec(1, source, fps), config, Sender(config, conn, clock, threaded=False), clock)
    runner.run()
    return runner, clock


def queued(config: Config, conn: redis.Redis) -> list[list[FramePayload]]:
    return [[FramePayload.from_json(f) for f in job.args[1]] for job in frame_queue(config, conn).jobs]


def test_a_video_file_is_sampled_paced_batched_and_ends(config: Config, redis_conn: redis.Redis,
                                                        face_video: Path) -> None:
    config = replace(config, loop_files=False, batch_frames=4, batch_seconds=10.0)
    runner, clock = run_camera(config, redis_conn, str(face_video))
    jobs = queued(config, redis_conn)
    assert [len(j) for j in jobs] == [4, 2]
    frames = [f for job in jobs for f in job]
    gaps = [(b.captured_at - a.captured_at).total_seconds() for a, b in itertools.pairwise(frames)]
    assert gaps == pytest.approx([0.5] * 5)  # played at the file's own speed, sampled at 2 fps
    assert clock.t - 1000.0 == pytest.approx(2.9)
    assert len({f.frame_id for f in frames}) == 6
    image = cv2.imdecode(np.frombuffer(frames[-1].jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (480, 640, 3)
    assert runner.ended and runner.health.state == "ended" and runner.health.totals["sent"] == 6


def test_batches_also_close_after_batch_seconds(config: Config, redis_conn: redis.Redis, face_video: Path) -> None:
    config = replace(config, loop_files=False, batch_frames=100, batch_seconds=1.0)
    run_camera(config, redis_conn, str(face_video))
    assert [len(j) for j in queued(config, redis_conn)] == [3, 3]


def test_a_looping_file_keeps_playing(config: Config, redis_conn: redis.Redis, tmp_path: Path,
                                      astronaut: np.ndarray) -> None:
    short = write_video(tmp_path / "short.mp4", [cv2.resize(astronaut, (64, 64))] * 5, 10.0)  # 0.5 s
    config = replace(config, loop_files=True, batch_frames=1)
    clock = FakeClock()
    runner = CameraRunner(CameraSpec(1, str(short), 4.0), config, Sender(config, redis_conn, clock, False), clock)
    runner.thread.start()
    deadline = time.monotonic() + 10
    while runner.health.totals["sent"] < 12 and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.stop()
    runner.thread.join(5)
    assert runner.health.totals["sent"] >= 12 and not runner.ended  # 3 loops of 0.5 s at 4 fps, still going


def test_an_image_folder_with_a_bad_image_goes_on(config: Config, redis_conn: redis.Redis, tmp_path: Path,
                                                  astronaut: np.ndarray) -> None:
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.jpg"), astronaut)
    (tmp_path / "1b.jpg").write_bytes(b"\xff\xd8 truncated")
    config = replace(config, loop_files=False, batch_frames=10)
    runner, _ = run_camera(config, redis_conn, str(tmp_path), fps=5.0)
    assert [len(j) for j in queued(config, redis_conn)] == [3]
    assert runner.health.totals["errors"] == 1 and runner.ended
    assert "1b.jpg" in str(runner.health.last_error)


def test_a_failing_camera_backs_off_and_is_offline(config: Config, redis_conn: redis.Redis) -> None:
    config = replace(config, camera_max_backoff=8.0)
    clock = FakeClock()
    runner = CameraRunner(CameraSpec(1, "rtsp://127.0.0.1:9/none", 2.0), config,
                          Sender(config, redis_conn, clock, False), clock)
    original = clock.sleep

    def sleep(seconds: float, stop: threading.Event) -> bool:
        if len(clock.sleeps) == 5:
            runner.stop()
        return original(seconds, stop)

    clock.sleep = sleep  # type: ignore[method-assign]
    runner.run()
    assert clock.sleeps == [1, 2, 4, 8, 8, 8]
    report = runner.health.take()
    assert (report.state, report.errors) == ("offline", 6) and "cannot open" in str(report.last_error)


# --- health rows in Postgres ----------------------------------------------------------------------------------


def test_health_reports_add_up_in_camera_status(config: Config) -> None:
    now = datetime.now(UTC)
    with transaction(config) as conn:
        cam = add_camera(conn, "Hall", "0")
        report_health(conn, [HealthReport(cam.id, "online", now, sent=4, dropped=1, fps=2.0)])
        report_health(conn, [HealthReport(cam.id, "offline", None, sent=2, errors=1, last_error="read failed")])
        status = get_status(conn, cam.id)
        assert status is not None
        assert (status.state, status.frames_sent, status.frames_dropped, status.errors) == ("offline", 6, 1, 1)
        assert status.last_frame_at == now and status.last_error == "read failed" and status.fps == 0
        remove_camera(conn, cam.id)
        report_health(conn, [HealthReport(cam.id, "online", now, sent=1)])  # camera removed meanwhile: no row
        assert get_status(conn, cam.id) is None


def test_health_counters_survive_a_failed_write() -> None:
    health = CameraHealth(3, FakeClock())
    health.sent(2, datetime.now(UTC))
    health.dropped(1, "test")
    report = health.take()
    assert (report.sent, report.dropped) == (2, 1)
    health.give_back(report)
    health.sent(1, datetime.now(UTC))
    again = health.take()
    assert (again.sent, again.dropped) == (3, 1)
    health.close("ended")
    health.set_state("online")
    assert health.take().state == "ended"
