"""Writing a small, known expression history for the history tests: residents, cameras, frames and faces
inserted as the workers' rows would be, with probabilities that sum to one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from affectwatch.labels import LABELS

Conn = psycopg.Connection[Any]


def add_resident(conn: Conn, name: str, room: str = "") -> int:
    row = conn.execute("INSERT INTO residents (name, room) VALUES (%s, %s) RETURNING id", (name, room)).fetchone()
    assert row is not None
    return int(row[0] if isinstance(row, tuple) else row["id"])


def add_camera(conn: Conn, name: str, location: str = "", resident_id: int | None = None) -> int:
    row = conn.execute("INSERT INTO cameras (name, source, location, resident_id) VALUES (%s, %s, %s, %s)"
                       " RETURNING id", (name, "rtsp://10.0.0.9/stream", location, resident_id)).fetchone()
    assert row is not None
    return int(row[0] if isinstance(row, tuple) else row["id"])


def probs_for(expression: str, p: float = 0.7) -> dict[str, float]:
    """The label gets p, the other seven share the rest."""
    rest = (1.0 - p) / (len(LABELS) - 1)
    return {label: (p if label == expression else rest) for label in LABELS}


@dataclass(frozen=True)
class Face:
    at: datetime
    camera_id: int
    resident_id: int | None
    expression: str
    p: float = 0.7


def add_frame(conn: Conn, at: datetime, camera_id: int | None, n_faces: int = 0, status: str = "processed",
              latency_ms: float = 50.0) -> uuid.UUID:
    frame_id = uuid.uuid4()
    conn.execute("INSERT INTO frames (frame_id, captured_at, camera_id, status, width, height, n_faces, latency_ms)"
                 " VALUES (%s, %s, %s, %s, 640, 480, %s, %s)",
                 (frame_id, at, camera_id, status, n_faces, latency_ms))
    return frame_id


def add_faces(conn: Conn, faces: list[Face]) -> None:
    """Each face in a frame of its own (frame and face rows), in one statement per table."""
    frames, rows = [], []
    for face in faces:
        frame_id = uuid.uuid4()
        probs = probs_for(face.expression, face.p)
        frames.append((frame_id, face.at, face.camera_id))
        rows.append((frame_id, face.at, face.camera_id, face.resident_id, face.expression, face.p,
                     *[probs[label] for label in LABELS]))
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO frames (frame_id, captured_at, camera_id, status, width, height, n_faces,"
                        " latency_ms) VALUES (%s, %s, %s, 'processed', 640, 480, 1, 40)", frames)
        cols = ", ".join(f"p_{label}" for label in LABELS)
        marks = ", ".join(["%s"] * len(LABELS))
        cur.executemany(f"INSERT INTO faces (frame_id, face_index, captured_at, camera_id, resident_id, box_x1,"
                        f" box_y1, box_x2, box_y2, det_prob, expression, confidence, {cols}, model)"
                        f" VALUES (%s, 0, %s, %s, %s, 10, 10, 90, 90, 0.99, %s, %s, {marks}, 'test-model')", rows)


def refresh(conn: Conn) -> int:
    row = conn.execute("SELECT affectwatch_refresh_history()").fetchone()
    assert row is not None
    return int(row[0] if isinstance(row, tuple) else row["affectwatch_refresh_history"])
