# ruff: noqa: F811  (fixtures imported from tests.test_worker_support)
"""Faces worth reading (issue 31), on real photographs through the worker's path: a sharp frontal face
counts; a blurred copy of it and a real profile photograph (scikit-image's cameraman, turned about 50
degrees) are stored with the reason they do not count, in faces and in analytics.faces."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import psycopg
import pytest

from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.queue import FramePayload
from tests.test_worker_support import (  # noqa: F401  (fixtures)
    add_test_camera,
    jpeg,
    loaded_pipeline,
    model_path,
    pipeline,
    worker_config,
)
from worker import jobs
from worker.pipeline import Pipeline
from worker.quality import Quality, pose, uncounted_reason


@pytest.fixture(scope="module")
def cameraman() -> np.ndarray:
    """A real photograph of a man in near-profile (scikit-image ships it), as RGB."""
    from skimage import data

    return np.ascontiguousarray(cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2RGB))


def payload(camera: int, rgb: np.ndarray) -> FramePayload:
    now = datetime.now(UTC)
    return FramePayload(uuid.uuid4(), camera, now, now, jpeg(rgb))


def test_blur_and_profile_do_not_count_and_are_stored_with_the_reason(config: Config, pipeline: Pipeline,
                                                                      astronaut: np.ndarray, cameraman: np.ndarray,
                                                                      tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "still.jpg"), astronaut[..., ::-1])  # a camera source: a folder of images
    camera, resident = add_test_camera(config, tmp_path)
    frames = [payload(camera, astronaut), payload(camera, cv2.GaussianBlur(astronaut, (0, 0), 6)),
              payload(camera, cameraman)]
    analysis = pipeline.with_config(config).analyse(frames)
    assert [len(f.faces) for f in analysis.frames] == [1, 1, 1]
    sharp, blurred, profile = (f.uncounted[0] for f in analysis.frames)
    assert sharp is None
    assert blurred is not None and blurred.startswith("blurred")
    assert profile is not None and profile.startswith("turned")
    with connect(config, autocommit=True) as conn:
        jobs.store(conn, pipeline, jobs.JobInfo(camera, "job-1", "test"), [], analysis)
    with psycopg.connect(config.database_url) as conn:
        rows = conn.execute("SELECT frame_id, counted, uncounted_reason FROM analytics.faces WHERE resident_id = %s",
                            (resident,)).fetchall()
    by_frame = {r[0]: (r[1], r[2]) for r in rows}
    assert [by_frame[f.frame_id] for f in frames] == [(True, None), (False, blurred), (False, profile)]


def test_pose_from_landmarks() -> None:
    frontal = ((30.0, 40.0), (70.0, 40.0), (50.0, 51.0), (35.0, 60.0), (65.0, 60.0))
    yaw, pitch = pose(frontal)
    assert abs(yaw) < 1 and abs(pitch) < 1
    turned = ((30.0, 40.0), (70.0, 40.0), (70.0, 51.0), (35.0, 60.0), (65.0, 60.0))  # nose under an eye
    assert pose(turned)[0] == pytest.approx(45.0)
    rolled = tuple((50 + (y - 50), 50 - (x - 50)) for x, y in frontal)  # the same face rolled 90 degrees
    assert abs(pose(rolled)[0]) < 1 and abs(pose(rolled)[1]) < 1
    assert pose(()) == (0.0, 0.0)


def test_each_gate_names_its_reason() -> None:
    config = Config.from_env({})
    good = Quality(size=120, sharpness=500, yaw=5, pitch=5, detection=0.999)
    assert uncounted_reason(good, 0.9, config) is None
    cases = {"small": replace(good, size=config.quality_min_face - 1),
             "weak detection": replace(good, detection=config.quality_min_detection - 0.01),
             "turned": replace(good, yaw=-config.quality_max_yaw - 1),
             "tilted": replace(good, pitch=config.quality_max_pitch + 1),
             "blurred": replace(good, sharpness=config.quality_min_sharpness - 1)}
    for reason, quality in cases.items():
        found = uncounted_reason(quality, 0.9, config)
        assert found is not None and found.startswith(reason), (reason, found)
    unsure = uncounted_reason(good, config.quality_min_confidence - 0.01, config)
    assert unsure is not None and unsure.startswith("unsure")
