"""Alert snapshots: one face crop per alert, stored with its expiry (72 hours at most) and purged after it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row, scalar_row

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Snapshot:
    alert_id: int
    resident_id: int
    frame_id: uuid.UUID
    captured_at: datetime
    taken_at: datetime
    expires_at: datetime
    jpeg: bytes


@dataclass(frozen=True)
class OpenAlert:
    alert_id: int
    resident_id: int


INSERT = """
INSERT INTO alert_snapshots (alert_id, resident_id, frame_id, captured_at, taken_at, expires_at, jpeg)
VALUES (%(alert_id)s, %(resident_id)s, %(frame_id)s, %(captured_at)s, %(taken_at)s, %(expires_at)s, %(jpeg)s)
ON CONFLICT (alert_id) DO NOTHING
"""

OPEN_WITHOUT_SNAPSHOT = """
SELECT a.id AS alert_id, a.resident_id
FROM alerts a
WHERE a.kind = 'expression' AND a.state <> 'resolved' AND a.resident_id = ANY (%s)
  AND NOT EXISTS (SELECT 1 FROM alert_snapshots s WHERE s.alert_id = a.id)
ORDER BY a.id
"""

SELECT = ("SELECT alert_id, resident_id, frame_id, captured_at, taken_at, expires_at, jpeg FROM alert_snapshots"
          " WHERE alert_id = %s AND expires_at > %s")


def open_alerts_without_snapshot(conn: Conn, resident_ids: list[int]) -> list[OpenAlert]:
    return conn.cursor(row_factory=class_row(OpenAlert)).execute(OPEN_WITHOUT_SNAPSHOT, (resident_ids,)).fetchall()


def insert_snapshot(conn: Conn, snapshot: Snapshot) -> bool:
    """Store it unless the alert has one already; True when stored now."""
    return conn.execute(INSERT, vars(snapshot)).rowcount == 1


def get_snapshot(conn: Conn, alert_id: int, now: datetime) -> Snapshot | None:
    """The alert's snapshot if it has one that has not expired at `now`."""
    return conn.cursor(row_factory=class_row(Snapshot)).execute(SELECT, (alert_id, now)).fetchone()


def snapshot_expiry(conn: Conn, alert_id: int, now: datetime) -> datetime | None:
    """When the alert's unexpired snapshot will be deleted; None if it has none (its image is not read)."""
    cur = conn.cursor(row_factory=scalar_row)
    expiry: datetime | None = cur.execute("SELECT expires_at FROM alert_snapshots WHERE alert_id = %s"
                                          " AND expires_at > %s", (alert_id, now)).fetchone()
    return expiry


def delete_expired(conn: Conn, now: datetime) -> int:
    return conn.execute("DELETE FROM alert_snapshots WHERE expires_at <= %s", (now,)).rowcount
