"""Helpers for the alert tests (no tests here): synthetic face streams written as the worker writes
them (frame and face rows in one transaction, then worker.hooks.after_faces_committed), residents,
cameras, and reading the alerts back."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.labels import LABELS
from affectwatch.queries.frames import FaceRow, FrameRow, insert_faces, insert_frames
from worker import hooks

Profile = Callable[[float], float]  # minutes since the stream's start -> the face's negative probability


def rule_config(config: Config, **changes: Any) -> Config:
    """The test run's config with the default alert rule spelled out (10 min, 20 faces, 0.6 / 0.4)."""
    base = {"alert_window_minutes": 10.0, "alert_min_faces": 20, "alert_open_share": 0.6, "alert_close_share": 0.4,
            "alert_recover_minutes": 10.0, "alert_cooldown_minutes": 30.0, "alert_rise_margin": 0.1,
            "alert_baseline": False, "alert_counting": "probability", "alert_settle_seconds": 120.0,
            "alert_stale_minutes": 60.0}
    return replace(config, **{**base, **changes})


def add_resident(conn: psycopg.Connection[Any], name: str = "Ada", monitored: bool = True) -> int:
    row = conn.execute("INSERT INTO residents (name, monitored) VALUES (%s, %s) RETURNING id",
                       (name, monitored)).fetchone()
    assert row is not None
    return int(row[0] if isinstance(row, tuple) else row["id"])


def add_camera(conn: psycopg.Connection[Any], resident_id: int | None, name: str = "room") -> int:
    row = conn.execute("INSERT INTO cameras (name, source, resident_id) VALUES (%s, %s, %s) RETURNING id",
                       (name, "/dev/video0", resident_id)).fetchone()
    assert row is not None
    return int(row[0] if isinstance(row, tuple) else row["id"])


def face(t: datetime, resident_id: int, camera_id: int, p_negative: float, label: str = "sad") -> FaceRow:
    """A face whose negative probability (all on `label`) is p_negative, the rest neutral."""
    probs: dict[str, float | None] = dict.fromkeys(LABELS, 0.0)
    probs["contempt"] = None  # a 7-label model, like the shipped one
    probs[label] = p_negative
    probs["neutral"] = 1.0 - p_negative
    top = label if p_negative >= 0.5 else "neutral"
    return FaceRow(uuid.uuid4(), 0, t, camera_id, resident_id, (10.0, 10.0, 90.0, 90.0), 0.99, top,
                   max(p_negative, 1 - p_negative), probs, "test-model")


def stream(start: datetime, minutes: float, profile: Profile, resident_id: int, camera_id: int,
           every_s: float = 15.0, label: str = "sad") -> list[FaceRow]:
    """One face every `every_s` seconds of capture time for `minutes`, negative as the profile says."""
    n = int(minutes * 60 / every_s)
    return [face(start + timedelta(seconds=i * every_s), resident_id, camera_id, profile(i * every_s / 60), label)
            for i in range(n)]


def jobs(faces: Sequence[FaceRow], per_job: int = 8) -> list[list[FaceRow]]:
    """The faces cut into jobs as the producer batches frames: consecutive frames, per_job at a time."""
    return [list(faces[i : i + per_job]) for i in range(0, len(faces), per_job)]


def write_job(config: Config, faces: Sequence[FaceRow], role: str | None = None) -> None:
    """Write a job's frames and faces as worker.jobs.store does, calling the worker's hook before commit
    (as the database role `role` when given)."""
    frames = [FrameRow(f.frame_id, f.captured_at, f.camera_id, "processed", 640, 480, 1) for f in faces]
    with transaction(config) as conn:
        if role:
            conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        insert_frames(conn, frames)
        inserted = insert_faces(conn, faces)
        hooks.after_faces_committed(conn, config, inserted)


def write_history(config: Config, faces: Sequence[FaceRow]) -> None:
    """Faces recorded before this test's story begins, in one transaction and without the hook."""
    frames = [FrameRow(f.frame_id, f.captured_at, f.camera_id, "processed", 640, 480, 1) for f in faces]
    with transaction(config) as conn:
        conn.execute("SELECT affectwatch_ensure_partitions((%s::timestamptz - interval '1 month')::date, 3)",
                     (min(f.captured_at for f in faces),))
        insert_frames(conn, frames)
        insert_faces(conn, faces)


def write_all(config: Config, batches: Sequence[Sequence[FaceRow]]) -> None:
    for batch in batches:
        write_job(config, batch)


def alerts_of(config: Config, resident_id: int) -> list[dict[str, Any]]:
    with psycopg.connect(config.database_url, row_factory=dict_row) as conn:
        return list(conn.execute("SELECT * FROM alerts WHERE resident_id = %s AND kind = 'expression' ORDER BY id",
                                 (resident_id,)).fetchall())


def events_of(config: Config, alert_id: int) -> list[str]:
    with psycopg.connect(config.database_url, row_factory=dict_row) as conn:
        return [r["kind"] for r in conn.execute("SELECT kind FROM alert_events WHERE alert_id = %s ORDER BY id",
                                                (alert_id,))]


def base_time() -> datetime:
    """A start of capture time two hours ago, whole minutes (inside this month's partitions or the last)."""
    return (datetime.now(UTC) - timedelta(hours=2)).replace(second=0, microsecond=0)


def steps(*parts: tuple[float, float]) -> Profile:
    """A profile made of (minutes, negative probability) parts in sequence; the last part continues."""
    def profile(minute: float) -> float:
        elapsed = 0.0
        for length, p in parts:
            elapsed += length
            if minute < elapsed:
                return p
        return parts[-1][1]
    return profile
