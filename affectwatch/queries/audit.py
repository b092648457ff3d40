"""The audit log: who viewed, exported or erased which resident's data, and who changed accounts, cameras,
residents and settings or signed in (append-only for the dashboard; migrations 0005 and 0011)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row, scalar_row

Conn = psycopg.Connection[Any]

ACTIONS = ("view", "export", "erase", "snapshot", "enrol", "unenrol", "create", "update", "remove", "role", "disable",
           "enable", "password", "sign-in", "sign-in-failed")
KINDS = ("resident", "user", "camera", "setting")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    actor_user_id: int | None
    action: str
    subject_resident: int | None
    what: str
    remote_addr: str
    subject_kind: str = "resident"
    subject_id: int | None = None


COLUMNS = "id, at, actor, actor_user_id, action, subject_resident, what, remote_addr, subject_kind, subject_id"

INSERT = """
INSERT INTO audit_log (actor, actor_user_id, action, subject_kind, subject_id, subject_resident, what, remote_addr)
VALUES (%(actor)s, %(actor_user_id)s, %(action)s, %(subject_kind)s, %(subject_id)s::bigint,
        CASE WHEN %(subject_kind)s::text = 'resident' THEN %(subject_id)s::bigint END, %(what)s, %(remote_addr)s)
RETURNING id
"""

BIND = """
SELECT set_config('affectwatch.actor', %(actor)s, false), set_config('affectwatch.actor_id', %(actor_id)s, false),
       set_config('affectwatch.remote_addr', %(remote_addr)s, false)
"""


def insert_entry(conn: Conn, values: dict[str, object]) -> int:
    entry_id = conn.cursor(row_factory=scalar_row).execute(INSERT, values).fetchone()
    assert entry_id is not None, "INSERT ... RETURNING returns a row"
    return int(entry_id)


def bind_actor(conn: Conn, actor: str, actor_id: int | None, remote_addr: str) -> None:
    """Declare who acts on this connection, for the audit triggers of migration 0011 (until declared again)."""
    conn.execute(BIND, {"actor": actor, "actor_id": "" if actor_id is None else str(actor_id),
                        "remote_addr": remote_addr})


def list_entries(conn: Conn, resident_id: int | None = None, limit: int = 100,
                 kind: str | None = None) -> list[AuditEntry]:
    """The newest entries first: of one resident, of one kind of subject, or all."""
    cur = conn.cursor(row_factory=class_row(AuditEntry))
    if resident_id is not None:
        return cur.execute(f"SELECT {COLUMNS} FROM audit_log WHERE subject_resident = %s ORDER BY at DESC, id DESC"
                           " LIMIT %s", (resident_id, limit)).fetchall()
    if kind is not None:
        return cur.execute(f"SELECT {COLUMNS} FROM audit_log WHERE subject_kind = %s ORDER BY at DESC, id DESC"
                           " LIMIT %s", (kind, limit)).fetchall()
    return cur.execute(f"SELECT {COLUMNS} FROM audit_log ORDER BY at DESC, id DESC LIMIT %s", (limit,)).fetchall()

