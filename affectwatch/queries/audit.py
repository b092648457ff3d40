"""The audit log: who viewed, exported or erased which resident's data (append-only for the dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row, scalar_row

Conn = psycopg.Connection[Any]

ACTIONS = ("view", "export", "erase", "snapshot", "enrol", "unenrol")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    actor_user_id: int | None
    action: str
    subject_resident: int
    what: str
    remote_addr: str


COLUMNS = "id, at, actor, actor_user_id, action, subject_resident, what, remote_addr"

INSERT = """
INSERT INTO audit_log (actor, actor_user_id, action, subject_resident, what, remote_addr)
VALUES (%(actor)s, %(actor_user_id)s, %(action)s, %(subject_resident)s, %(what)s, %(remote_addr)s)
RETURNING id
"""


def insert_entry(conn: Conn, values: dict[str, object]) -> int:
    entry_id = conn.cursor(row_factory=scalar_row).execute(INSERT, values).fetchone()
    assert entry_id is not None, "INSERT ... RETURNING returns a row"
    return int(entry_id)


def list_entries(conn: Conn, resident_id: int | None = None, limit: int = 100) -> list[AuditEntry]:
    """The newest entries first, of one resident or of all."""
    cur = conn.cursor(row_factory=class_row(AuditEntry))
    if resident_id is None:
        return cur.execute(f"SELECT {COLUMNS} FROM audit_log ORDER BY at DESC, id DESC LIMIT %s", (limit,)).fetchall()
    return cur.execute(f"SELECT {COLUMNS} FROM audit_log WHERE subject_resident = %s ORDER BY at DESC, id DESC"
                       " LIMIT %s", (resident_id, limit)).fetchall()

