"""Residents: add, get, list, update, remove. Shared by the command line and the dashboard.

Every function takes an open connection and leaves the transaction to the caller. Removing a
resident also removes every expression event recorded for them (faces.resident_id cascades).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row, scalar_row

from affectwatch.exceptions import NotFoundError, ValidationError
from affectwatch.queries.common import integrity_error, set_clause

Conn = psycopg.Connection[Any]

COLUMNS = sql.SQL("id, name, room, monitored, created_at, updated_at")


@dataclass(frozen=True)
class Resident:
    id: int
    name: str
    room: str
    monitored: bool
    created_at: datetime
    updated_at: datetime


def add_resident(conn: Conn, name: str, room: str = "", monitored: bool = True) -> Resident:
    values = {"name": check_name(name), "room": check_room(room), "monitored": monitored}
    query = sql.SQL("INSERT INTO residents (name, room, monitored) VALUES (%(name)s, %(room)s, %(monitored)s)"
                    " RETURNING {}").format(COLUMNS)
    resident = _write(conn, query, values)
    assert resident is not None, "INSERT ... RETURNING returns a row"
    return resident


def get_resident(conn: Conn, resident_id: int) -> Resident:
    query = sql.SQL("SELECT {} FROM residents WHERE id = %(id)s").format(COLUMNS)
    resident = _cursor(conn).execute(query, {"id": resident_id}).fetchone()
    if resident is None:
        raise NotFoundError(f"resident {resident_id} does not exist")
    return resident


def find_resident(conn: Conn, key: str) -> Resident:
    """A resident by id (all digits) or by exact name; a name two residents share is refused."""
    if key.strip().isdigit():
        return get_resident(conn, int(key))
    query = sql.SQL("SELECT {} FROM residents WHERE name = %(name)s ORDER BY id").format(COLUMNS)
    found = _cursor(conn).execute(query, {"name": key.strip()}).fetchall()
    if not found:
        raise NotFoundError(f"no resident is named {key!r}")
    if len(found) > 1:
        raise ValidationError(f"{len(found)} residents are named {key!r}; give the id instead")
    return found[0]


def list_residents(conn: Conn, monitored_only: bool = False) -> list[Resident]:
    where = sql.SQL(" WHERE monitored") if monitored_only else sql.SQL("")
    query = sql.SQL("SELECT {} FROM residents{} ORDER BY name, id").format(COLUMNS, where)
    return _cursor(conn).execute(query).fetchall()


def update_resident(conn: Conn, resident_id: int, *, name: str | None = None, room: str | None = None,
                    monitored: bool | None = None) -> Resident:
    """Change the given fields (None: unchanged)."""
    checked = {"name": None if name is None else check_name(name),
               "room": None if room is None else check_room(room), "monitored": monitored}
    changes = {k: v for k, v in checked.items() if v is not None}
    if not changes:
        return get_resident(conn, resident_id)
    query = sql.SQL("UPDATE residents SET {} WHERE id = %(id)s RETURNING {}").format(set_clause(changes), COLUMNS)
    resident = _write(conn, query, {**changes, "id": resident_id})
    if resident is None:
        raise NotFoundError(f"resident {resident_id} does not exist")
    return resident


def count_events(conn: Conn, resident_id: int) -> int:
    """How many expression events (faces) are recorded for a resident."""
    cur = conn.cursor(row_factory=scalar_row)
    count = cur.execute("SELECT count(*) FROM faces WHERE resident_id = %(id)s", {"id": resident_id}).fetchone()
    return int(count or 0)


def remove_resident(conn: Conn, resident_id: int) -> Resident:
    """Delete a resident and all their expression events; cameras assigned to them become unassigned."""
    query = sql.SQL("DELETE FROM residents WHERE id = %(id)s RETURNING {}").format(COLUMNS)
    resident = _cursor(conn).execute(query, {"id": resident_id}).fetchone()
    if resident is None:
        raise NotFoundError(f"resident {resident_id} does not exist")
    return resident


def check_name(name: str) -> str:
    clean = name.strip()
    if not 1 <= len(clean) <= 200:
        raise ValidationError("a resident's name must have 1 to 200 characters")
    return clean


def check_room(room: str) -> str:
    clean = room.strip()
    if len(clean) > 100:
        raise ValidationError("a room must have at most 100 characters")
    return clean


def _cursor(conn: Conn) -> psycopg.Cursor[Resident]:
    return conn.cursor(row_factory=class_row(Resident))


def _write(conn: Conn, query: sql.Composed, values: dict[str, object]) -> Resident | None:
    """Run an INSERT/UPDATE in a savepoint, so a refused one leaves the caller's transaction usable."""
    try:
        with conn.transaction():
            return _cursor(conn).execute(query, values).fetchone()
    except psycopg.IntegrityError as exc:
        raise integrity_error(exc, "resident") from exc
