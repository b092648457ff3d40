# ruff: noqa: F811  (fixtures imported from tests.test_worker_support)
"""`affectwatch replay --json` on a video made here from real photographs (a smiling astronaut, the
cameraman turned in profile, a blurred astronaut), against the same video through the live path:
the producer, Redis, the worker, Postgres and the alert engine. Replay writes nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import psycopg
import pytest
import redis
from psycopg.rows import dict_row

from affectwatch.cli import main
from affectwatch.config import Config
from tests.conftest import write_video
from tests.test_alerts_support import alerts_of
from tests.test_pipeline_e2e import produce
from tests.test_worker_support import (  # noqa: F401  (fixtures)
    add_test_camera,
    loaded_pipeline,
    model_path,
    pipeline,
    work,
    worker_config,
)
from worker.pipeline import Pipeline

pytestmark = pytest.mark.slow
FPS = 4.0


@pytest.fixture()
def mixed_video(tmp_path: Path, astronaut: np.ndarray) -> Path:
    """4 s at 10 fps, 640x480: 2 s of the astronaut, 1 s of the cameraman in profile, 1 s of the astronaut
    blurred."""
    from skimage import data

    cameraman = cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2RGB)
    faces = [cv2.resize(astronaut, (360, 360)), cv2.resize(cameraman, (360, 360)),
             cv2.GaussianBlur(cv2.resize(astronaut, (360, 360)), (0, 0), 5)]
    frames = []
    for i in range(40):
        canvas = np.full((480, 640, 3), 90, np.uint8)
        x = 40 + i * 3
        canvas[60:420, x : x + 360] = faces[0 if i < 20 else 1 if i < 30 else 2]
        frames.append(canvas)
    return write_video(tmp_path / "mixed.mp4", frames, 10.0)


def test_replay_json_matches_the_live_worker(config: Config, redis_conn: redis.Redis, model_path: Path,
                                             pipeline: Pipeline, mixed_video: Path,
                                             monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    cfg = replace(worker_config(config, model_path), loop_files=False, batch_frames=4, batch_seconds=1.0,
                  frame_ttl=600, camera_poll_seconds=0.5)
    camera, resident = add_test_camera(cfg, mixed_video, "dining", sample_fps=FPS)
    assert resident is not None
    with psycopg.connect(cfg.database_url, autocommit=True) as conn:
        # any negative expression at all, in a one-minute window of five counted faces, in any time span
        conn.execute("INSERT INTO resident_alert_thresholds (resident_id, window_seconds, negative_share, min_faces,"
                     " min_span_seconds, min_minutes) VALUES (%s, 60, 0.001, 5, 0, 1)", (resident,))
    for key, value in {"DATABASE_URL": cfg.database_url, "MODEL": str(model_path), "TORCH_THREADS": "1",
                       "DEVICE": "cpu", "LOG_LEVEL": "WARNING"}.items():
        monkeypatch.setenv(f"AFFECTWATCH_{key}", value)

    assert main(["replay", str(mixed_video), "--fps", str(FPS), "--resident", "Eileen", "--json"]) == 0
    replayed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    with psycopg.connect(cfg.database_url) as conn:  # replay wrote nothing
        assert conn.execute("SELECT count(*) FROM faces").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM alerts").fetchone() == (0,)

    produce(cfg, redis_conn, camera)
    work(cfg, redis_conn)
    with psycopg.connect(cfg.database_url, row_factory=dict_row) as conn:
        faces = conn.execute("SELECT uncounted_reason FROM faces WHERE resident_id = %s", (resident,)).fetchall()
    live_alerts = alerts_of(cfg, resident)

    assert replayed["faces"] == len(faces) >= 10
    assert replayed["counted_faces"] == sum(f["uncounted_reason"] is None for f in faces) >= 5
    assert 0 < replayed["counted_faces"] < replayed["faces"]  # the profile and the blurred faces do not count
    assert replayed["minutes"] == pytest.approx(4 / 60, abs=0.01)
    assert len(replayed["alerts"]) == len(live_alerts) == 1
    (got,), (live,) = replayed["alerts"], live_alerts
    assert got["n_faces"] == live["n_faces"] == 5
    assert got["share"] == pytest.approx(live["negative_share"], abs=1e-4)
    assert got["dominant_expression"] == live["dominant_expression"]
    assert set(replayed["uncounted"]) <= {"turned", "blurred", "unsure", "small", "tilted", "weak detection"}


def test_replay_refuses_what_it_cannot_play(config: Config, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                            ) -> None:
    assert main(["replay", str(tmp_path / "missing.mp4")]) == 2
    assert main(["replay", str(tmp_path), "--fps", "0"]) == 2
    assert main(["replay", str(tmp_path), "--loop", "0"]) == 2
    assert main(["replay", "rtsp://camera.local/stream"]) == 2
    assert "video file or an image folder" in capsys.readouterr().err
