"""Camera health rows (camera_status): written by the producer, read by the dashboard.

Counters are added as deltas, so totals survive a producer restart. A row for a camera deleted
meanwhile is silently not written (the INSERT selects from cameras).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

Conn = psycopg.Connection[Any]

STATES = ("starting", "online", "offline", "ended", "disabled")


@dataclass(frozen=True)
class HealthReport:
    """What the producer reports for one camera since its previous report."""

    camera_id: int
    state: str
    last_frame_at: datetime | None = None
    sent: int = 0
    dropped: int = 0
    errors: int = 0
    last_error: str | None = None
    fps: float = 0.0


@dataclass(frozen=True)
class CameraStatus:
    camera_id: int
    state: str
    last_frame_at: datetime | None
    frames_sent: int
    frames_dropped: int
    errors: int
    last_error: str | None
    fps: float
    updated_at: datetime


UPSERT = """
INSERT INTO camera_status AS s (camera_id, state, last_frame_at, frames_sent, frames_dropped, errors, last_error, fps)
SELECT c.id, %(state)s, %(last_frame_at)s, %(sent)s, %(dropped)s, %(errors)s, %(last_error)s, %(fps)s
FROM cameras c WHERE c.id = %(camera_id)s
ON CONFLICT (camera_id) DO UPDATE SET
    state = EXCLUDED.state,
    last_frame_at = coalesce(EXCLUDED.last_frame_at, s.last_frame_at),
    frames_sent = s.frames_sent + EXCLUDED.frames_sent,
    frames_dropped = s.frames_dropped + EXCLUDED.frames_dropped,
    errors = s.errors + EXCLUDED.errors,
    last_error = coalesce(EXCLUDED.last_error, s.last_error),
    fps = EXCLUDED.fps,
    updated_at = now()
"""

SELECT = ("SELECT camera_id, state, last_frame_at, frames_sent, frames_dropped, errors, last_error, fps, updated_at"
          " FROM camera_status")


def report_health(conn: Conn, reports: list[HealthReport]) -> None:
    """Upsert one row per report, adding its counters to the stored totals."""
    if reports:
        with conn.cursor() as cur:
            cur.executemany(UPSERT, [vars(r) for r in reports])


def get_status(conn: Conn, camera_id: int) -> CameraStatus | None:
    cur = conn.cursor(row_factory=class_row(CameraStatus))
    return cur.execute(SELECT + " WHERE camera_id = %(id)s", {"id": camera_id}).fetchone()


def list_status(conn: Conn) -> list[CameraStatus]:
    cur = conn.cursor(row_factory=class_row(CameraStatus))
    return cur.execute(SELECT + " ORDER BY camera_id").fetchall()
