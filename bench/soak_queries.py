"""What the fault and soak harness (bench/soak.py, bench/throughput.py) reads and does to Postgres: frame
accounting, duplicate checks, and the database outage it fakes on a shared server (no connections, backends
terminated). Kept beside the harness, out of the shipped package: no process runs these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import class_row, scalar_row

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class FrameOutcome:
    frame_id: UUID
    camera_id: int | None
    status: str
    captured_at: datetime
    processed_at: datetime
    latency_ms: float | None
    job_id: str | None
    detect_ms: float | None = None
    classify_ms: float | None = None


FRAMES = """
SELECT frame_id, camera_id, status, captured_at, processed_at, latency_ms, job_id, detect_ms, classify_ms
FROM frames WHERE camera_id = ANY (%s)
"""

DUPLICATE_FRAMES = "SELECT count(*) FROM (SELECT frame_id FROM frames GROUP BY frame_id HAVING count(*) > 1) d"
DUPLICATE_FACES = ("SELECT count(*) FROM (SELECT 1 FROM faces GROUP BY frame_id, face_index"
                   " HAVING count(*) > 1) d")
# An alert opened twice for one episode: two 'opened' events on one alert, or two alerts of one resident
# whose lifetimes overlap (the partial unique index should make the second impossible).
DUPLICATE_ALERTS = """
SELECT (SELECT count(*) FROM (SELECT alert_id FROM alert_events WHERE kind = 'opened'
                              GROUP BY alert_id HAVING count(*) > 1) e)
     + (SELECT count(*) FROM alerts a JOIN alerts b ON a.resident_id = b.resident_id AND a.id < b.id
        AND a.kind = 'expression' AND b.kind = 'expression'
        AND b.opened_at < coalesce(a.resolved_at, 'infinity'))
"""
ALERTS_OPENED = "SELECT count(*) FROM alerts WHERE kind = 'expression'"


def frame_outcomes(conn: Conn, camera_ids: list[int]) -> list[FrameOutcome]:
    return conn.cursor(row_factory=class_row(FrameOutcome)).execute(FRAMES, (camera_ids,)).fetchall()


def _scalar(conn: Conn, query: str) -> int:
    return int(conn.cursor(row_factory=scalar_row).execute(query).fetchone() or 0)


def duplicates(conn: Conn) -> dict[str, int]:
    return {"frames": _scalar(conn, DUPLICATE_FRAMES), "faces": _scalar(conn, DUPLICATE_FACES),
            "alerts": _scalar(conn, DUPLICATE_ALERTS)}


def alerts_opened(conn: Conn) -> int:
    return _scalar(conn, ALERTS_OPENED)


def faces_written(conn: Conn, camera_ids: list[int]) -> int:
    cur = conn.cursor(row_factory=scalar_row)
    return int(cur.execute("SELECT count(*) FROM faces WHERE camera_id = ANY (%s)", (camera_ids,)).fetchone() or 0)


# Run on the server's maintenance database ("postgres"), never on the database being cut off.
def create_database(admin: Conn, name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(admin: Conn, name: str) -> None:
    admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def allow_connections(admin: Conn, name: str, allowed: bool) -> None:
    admin.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS {}").format(
        sql.Identifier(name), sql.SQL("true" if allowed else "false")))


def terminate_backends(admin: Conn, name: str) -> int:
    """End every session on the database (the workers' writes in flight roll back); how many."""
    cur = admin.cursor(row_factory=scalar_row)
    return int(cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                           " WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchone() or 0)
