"""Cameras: add, get, list, update, remove. Shared by the command line, the dashboard and the producer.

Every function takes an open connection and leaves the transaction to the caller. Inputs are checked
here (source, name, rate) and refused with SourceError, ValidationError or NotFoundError.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

from affectwatch.exceptions import NotFoundError, ValidationError
from affectwatch.queries.common import integrity_error, set_clause
from affectwatch.queries.identity import set_camera_residents
from affectwatch.sources import SourcePolicy, validate_source

MAX_SAMPLE_FPS = 30.0
Conn = psycopg.Connection[Any]

COLUMNS = sql.SQL("id, name, source, location, sample_fps, enabled, resident_id, created_at, updated_at")


@dataclass(frozen=True)
class Camera:
    id: int
    name: str
    source: str
    location: str
    sample_fps: float
    enabled: bool
    resident_id: int | None
    created_at: datetime
    updated_at: datetime


class Keep(enum.Enum):
    """Leave a field as it is in update_camera (None would mean 'no resident')."""

    KEEP = 0


KEEP = Keep.KEEP


def add_camera(conn: Conn, name: str, source: str, location: str = "", sample_fps: float = 2.0,
               enabled: bool = True, resident_id: int | None = None,
               resident_ids: Sequence[int] | None = None, policy: SourcePolicy | None = None) -> Camera:
    """Register a camera watching resident_ids (or the one resident_id; none: a shared space); the first
    is its main resident (cameras.resident_id), to whom every face counts while none of them is enrolled.
    `policy` (for a source a person chose) also checks where the source points."""
    watched = _watched(resident_id, resident_ids)
    resident_id = watched[0] if watched else None
    values = {"name": check_name(name), "source": validate_source(source, policy=policy).text,
              "location": check_location(location), "sample_fps": check_sample_fps(sample_fps), "enabled": enabled,
              "resident_id": resident_id}
    query = sql.SQL("INSERT INTO cameras (name, source, location, sample_fps, enabled, resident_id)"
                    " VALUES (%(name)s, %(source)s, %(location)s, %(sample_fps)s, %(enabled)s, %(resident_id)s)"
                    " RETURNING {}").format(COLUMNS)
    camera = _write(conn, query, values)
    assert camera is not None, "INSERT ... RETURNING returns a row"
    _set_residents(conn, camera.id, watched)
    return camera


def _watched(resident_id: int | None, resident_ids: Sequence[int] | None) -> list[int]:
    if resident_ids is not None:
        return list(dict.fromkeys(int(r) for r in resident_ids))
    return [resident_id] if resident_id is not None else []


def _set_residents(conn: Conn, camera_id: int, resident_ids: Sequence[int]) -> None:
    try:
        with conn.transaction():
            set_camera_residents(conn, camera_id, resident_ids)
    except psycopg.IntegrityError as exc:
        raise integrity_error(exc, "camera") from exc


def get_camera(conn: Conn, camera_id: int) -> Camera:
    query = sql.SQL("SELECT {} FROM cameras WHERE id = %(id)s").format(COLUMNS)
    camera = _cursor(conn).execute(query, {"id": camera_id}).fetchone()
    if camera is None:
        raise NotFoundError(f"camera {camera_id} does not exist")
    return camera


def get_camera_by_name(conn: Conn, name: str) -> Camera:
    query = sql.SQL("SELECT {} FROM cameras WHERE name = %(name)s").format(COLUMNS)
    camera = _cursor(conn).execute(query, {"name": name.strip()}).fetchone()
    if camera is None:
        raise NotFoundError(f"no camera is named {name!r}")
    return camera


def find_camera(conn: Conn, key: str) -> Camera:
    """A camera by id (all digits) or by name."""
    return get_camera(conn, int(key)) if key.strip().isdigit() else get_camera_by_name(conn, key)


def list_cameras(conn: Conn, enabled_only: bool = False) -> list[Camera]:
    where = sql.SQL(" WHERE enabled") if enabled_only else sql.SQL("")
    query = sql.SQL("SELECT {} FROM cameras{} ORDER BY id").format(COLUMNS, where)
    return _cursor(conn).execute(query).fetchall()


def update_camera(conn: Conn, camera_id: int, *, name: str | None = None, source: str | None = None,
                  location: str | None = None, sample_fps: float | None = None, enabled: bool | None = None,
                  resident_id: int | Keep | None = KEEP, resident_ids: Sequence[int] | Keep = KEEP,
                  policy: SourcePolicy | None = None) -> Camera:
    """Change the given fields (None or KEEP: unchanged; resident_id=None unassigns every resident;
    resident_ids replaces the residents it watches, the first being its main resident)."""
    changes = _changes(name, source, location, sample_fps, enabled, policy)
    watched: list[int] | None = None
    if not isinstance(resident_ids, Keep):
        watched = _watched(None, resident_ids)
    elif resident_id is not KEEP:
        watched = _watched(resident_id, None)
    if watched is not None:
        changes["resident_id"] = watched[0] if watched else None
        get_camera(conn, camera_id)  # NotFoundError before the residents are touched
        _set_residents(conn, camera_id, watched)
    if not changes:
        return get_camera(conn, camera_id)
    query = sql.SQL("UPDATE cameras SET {} WHERE id = %(id)s RETURNING {}").format(set_clause(changes), COLUMNS)
    camera = _write(conn, query, {**changes, "id": camera_id})
    if camera is None:
        raise NotFoundError(f"camera {camera_id} does not exist")
    return camera


def remove_camera(conn: Conn, camera_id: int) -> Camera:
    """Delete a camera; its recorded frames and faces stay, with no camera."""
    query = sql.SQL("DELETE FROM cameras WHERE id = %(id)s RETURNING {}").format(COLUMNS)
    camera = _cursor(conn).execute(query, {"id": camera_id}).fetchone()
    if camera is None:
        raise NotFoundError(f"camera {camera_id} does not exist")
    return camera


def check_name(name: str) -> str:
    clean = name.strip()
    if not 1 <= len(clean) <= 200:
        raise ValidationError("a camera name must have 1 to 200 characters")
    return clean


def check_location(location: str) -> str:
    if len(location) > 200:
        raise ValidationError("a camera location must have at most 200 characters")
    return location.strip()


def check_sample_fps(fps: float) -> float:
    if not 0 < fps <= MAX_SAMPLE_FPS:
        raise ValidationError(f"the sample rate must be above 0 and at most {MAX_SAMPLE_FPS:g} frames per second")
    return float(fps)


def _changes(name: str | None, source: str | None, location: str | None, sample_fps: float | None,
             enabled: bool | None, policy: SourcePolicy | None) -> dict[str, object]:
    checked: dict[str, object] = {
        "name": None if name is None else check_name(name),
        "source": None if source is None else validate_source(source, policy=policy).text,
        "location": None if location is None else check_location(location),
        "sample_fps": None if sample_fps is None else check_sample_fps(sample_fps),
        "enabled": enabled,
    }
    return {k: v for k, v in checked.items() if v is not None}


def _cursor(conn: Conn) -> psycopg.Cursor[Camera]:
    return conn.cursor(row_factory=class_row(Camera))


def _write(conn: Conn, query: sql.Composed, values: dict[str, object]) -> Camera | None:
    """Run an INSERT/UPDATE in a savepoint, so a refused one leaves the caller's transaction usable."""
    try:
        with conn.transaction():
            return _cursor(conn).execute(query, values).fetchone()
    except psycopg.IntegrityError as exc:
        raise integrity_error(exc, "camera") from exc
