# ruff: noqa: F811  (fixtures imported from tests.test_worker_support)
"""End to end: a video of a real face -> the producer -> Redis -> the worker -> faces in Postgres -> the
alert rule, through the worker's hook. Two residents watch the same video; their rules differ by
per-resident overrides (a 1-minute window, 5 faces, and a threshold that no face misses, or that every
face misses), and each raises an alert exactly when the rule, applied to the faces written, says so.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import redis
from psycopg.rows import dict_row

from affectwatch.config import Config
from affectwatch.queries import alerts as q
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
MIN_FACES = 5


def max_window_share(config: Config, resident: int) -> tuple[float, int]:
    """The rule recomputed from the rows: the highest negative share of any 1-minute window with at
    least MIN_FACES faces, and the number of faces."""
    with psycopg.connect(config.database_url, row_factory=dict_row) as conn:
        faces = conn.execute("SELECT * FROM faces WHERE resident_id = %s ORDER BY captured_at", (resident,)).fetchall()
    scores = [(f["captured_at"], sum(f[f"p_{label}"] or 0.0 for label in config.negative_labels)) for f in faces]
    best = 0.0
    for end, _ in scores:
        inside = [s for t, s in scores if end - timedelta(minutes=1) <= t <= end]
        if len(inside) >= MIN_FACES:
            best = max(best, sum(inside) / len(inside))
    return best, len(faces)


def test_a_video_through_producer_and_worker_alerts_as_the_rule_says(config: Config, redis_conn: redis.Redis,
                                                                      model_path: Path, pipeline: Pipeline,
                                                                      face_video: Path) -> None:
    cfg = replace(worker_config(config, model_path), loop_files=False, batch_frames=4, batch_seconds=1.0,
                  frame_ttl=600, camera_poll_seconds=0.5)
    sensitive, _ = add_test_camera(cfg, face_video, "sensitive", sample_fps=4.0)
    strict, _ = add_test_camera(cfg, face_video, "strict", sample_fps=4.0)
    with psycopg.connect(cfg.database_url, autocommit=True) as conn:
        rows = conn.execute("SELECT name, resident_id FROM cameras").fetchall()
        ids = {str(name): int(resident) for name, resident in rows}
        # any negative expression at all alerts the first resident; only wholly negative faces the second
        for name, share in (("sensitive", 0.001), ("strict", 1.0)):
            # (no span or distinct minutes asked: the video lasts three seconds)
            conn.execute("INSERT INTO resident_alert_thresholds (resident_id, window_seconds, negative_share,"
                         " min_faces, min_span_seconds, min_minutes) VALUES (%s, 60, %s, %s, 0, 1)",
                         (ids[name], share, MIN_FACES))
    produce(cfg, redis_conn, strict)  # the producer plays both cameras' videos side by side

    work(cfg, redis_conn)  # the real worker (rq SimpleWorker, allowlisted jobs), in this process

    for name, threshold in (("sensitive", 0.001), ("strict", 1.0)):
        share, n_faces = max_window_share(cfg, ids[name])
        assert n_faces >= MIN_FACES
        found = alerts_of(cfg, ids[name])
        assert len(found) == (1 if share >= threshold else 0), (name, share, found)
    (alert,) = alerts_of(cfg, ids["sensitive"])
    assert alert["n_faces"] >= MIN_FACES and alert["camera_id"] == sensitive
    assert alert["window_end"] - alert["window_start"] == timedelta(minutes=1)
    assert alerts_of(cfg, ids["strict"]) == []
    with psycopg.connect(cfg.database_url, row_factory=dict_row) as conn:
        assert [e.kind for e in q.alert_events(conn, alert["id"])] == ["opened"]
