"""Processed frames and detected faces, as workers write them: one transaction per job, idempotent.

Both inserts skip rows whose primary key is already there (ON CONFLICT DO NOTHING), so a job run
twice (retried after a failure, or requeued after its worker died) writes nothing twice.
Latency and processing time are taken from Postgres' clock at insert, moments before the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from affectwatch.labels import LABELS

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class FrameRow:
    frame_id: uuid.UUID
    captured_at: datetime
    camera_id: int
    status: str  # 'processed' or 'expired'
    width: int | None = None
    height: int | None = None
    n_faces: int = 0
    detect_ms: float | None = None
    classify_ms: float | None = None
    job_id: str | None = None
    worker: str | None = None


@dataclass(frozen=True)
class FaceRow:
    """One detected face; probs has all eight labels, None for a label the model does not have."""

    frame_id: uuid.UUID
    face_index: int
    captured_at: datetime
    camera_id: int
    resident_id: int | None
    box: tuple[float, float, float, float]
    det_prob: float
    expression: str
    confidence: float
    probs: dict[str, float | None]
    model: str
    identity: str = "assumed"  # assumed (the camera's resident), identified, unknown (resident_id None)
    match_distance: float | None = None  # to the nearest enrolled template, when matched
    uncounted_reason: str | None = None  # why the alert rule does not count the face (None: it counts)

    @property
    def key(self) -> tuple[uuid.UUID, int]:
        return self.frame_id, self.face_index


INSERT_FRAME = """
INSERT INTO frames (frame_id, captured_at, camera_id, status, processed_at, width, height, n_faces,
                    latency_ms, detect_ms, classify_ms, job_id, worker)
VALUES (%(frame_id)s, %(captured_at)s, %(camera_id)s, %(status)s, clock_timestamp(), %(width)s, %(height)s,
        %(n_faces)s, greatest(0, extract(epoch FROM clock_timestamp() - %(captured_at)s) * 1000),
        %(detect_ms)s, %(classify_ms)s, %(job_id)s, %(worker)s)
ON CONFLICT (frame_id, captured_at) DO NOTHING
"""

PROB_COLUMNS = ", ".join(f"p_{label}" for label in LABELS)
PROB_VALUES = ", ".join(f"%(p_{label})s" for label in LABELS)

INSERT_FACE = f"""
INSERT INTO faces (frame_id, face_index, captured_at, camera_id, resident_id, box_x1, box_y1, box_x2, box_y2,
                   det_prob, expression, confidence, {PROB_COLUMNS}, model, identity, match_distance, uncounted_reason)
VALUES (%(frame_id)s, %(face_index)s, %(captured_at)s, %(camera_id)s, %(resident_id)s, %(box_x1)s, %(box_y1)s,
        %(box_x2)s, %(box_y2)s, %(det_prob)s, %(expression)s, %(confidence)s, {PROB_VALUES}, %(model)s,
        %(identity)s, %(match_distance)s, %(uncounted_reason)s)
ON CONFLICT (frame_id, face_index, captured_at) DO NOTHING
RETURNING frame_id, face_index
"""


ENSURE_PARTITIONS = """
SELECT affectwatch_ensure_partitions((date_trunc('month', %s::timestamptz) - interval '1 day')::date, 3) AS created
"""


def insert_frames(conn: Conn, rows: Sequence[FrameRow]) -> None:
    if rows:
        with conn.cursor() as cur:
            cur.executemany(INSERT_FRAME, [vars(r) for r in rows])


def insert_faces(conn: Conn, rows: Sequence[FaceRow]) -> list[FaceRow]:
    """Insert the faces; return those inserted now (not those an earlier run of the job wrote)."""
    if not rows:
        return []
    inserted: set[tuple[uuid.UUID, int]] = set()
    with conn.cursor(row_factory=dict_row) as cur:
        cur.executemany(INSERT_FACE, [_face_params(r) for r in rows], returning=True)
        for _ in cur.results():
            inserted.update((r["frame_id"], r["face_index"]) for r in cur.fetchall())
    return [r for r in rows if r.key in inserted]


def _face_params(row: FaceRow) -> dict[str, object]:
    x1, y1, x2, y2 = row.box
    params: dict[str, object] = {k: v for k, v in vars(row).items() if k not in ("box", "probs")}
    params.update(box_x1=x1, box_y1=y1, box_x2=x2, box_y2=y2)
    params.update({f"p_{label}": row.probs.get(label) for label in LABELS})
    return params


def ensure_partitions(conn: Conn, month: datetime) -> int:
    """Create the monthly partitions of frames and faces around month (the one before, it, the one after)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(ENSURE_PARTITIONS, (month,)).fetchone()
    return int(row["created"]) if row else 0


def frames_of_camera(conn: Conn, camera_id: int) -> list[dict[str, Any]]:
    """Every frame row of a camera, oldest first (for tests and tools)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM frames WHERE camera_id = %s ORDER BY captured_at, frame_id",
                           (camera_id,)).fetchall()


def faces_of_camera(conn: Conn, camera_id: int) -> list[dict[str, Any]]:
    """Every face row of a camera, oldest first (for tests and tools)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM faces WHERE camera_id = %s ORDER BY captured_at, frame_id, face_index",
                           (camera_id,)).fetchall()
