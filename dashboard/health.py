"""Camera health as a person reads it: online, offline or silent, the last frame's age, rates and errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from affectwatch import identity
from affectwatch.config import Config
from affectwatch.queries import camera_status, cameras, residents
from affectwatch.queries import identity as identity_q
from affectwatch.queries.camera_status import CameraStatus
from affectwatch.queries.cameras import Camera
from affectwatch.sources import redact

Conn = Any


def stale_after(config: Config) -> timedelta:
    """A status not refreshed for this long means the producer is not running (or not reporting)."""
    return timedelta(seconds=max(30.0, 6 * config.camera_poll_seconds))


def shown_state(cam: Camera, status: CameraStatus | None, now: datetime, config: Config) -> str:
    if not cam.enabled:
        return "disabled"
    if status is None:
        return "waiting"
    if now - status.updated_at > stale_after(config):
        return "silent"
    return status.state


def camera_row(cam: Camera, status: CameraStatus | None, resident_names: dict[int, str], now: datetime,
               config: Config, who: dict[str, list[int]] | None = None) -> dict[str, Any]:
    watched = who or {"resident_ids": [cam.resident_id] if cam.resident_id else [], "enrolled": []}
    age = None if status is None or status.last_frame_at is None else (now - status.last_frame_at).total_seconds()
    return {
        "id": cam.id, "name": cam.name, "source": redact(cam.source), "location": cam.location,
        "sample_fps": cam.sample_fps, "enabled": cam.enabled, "resident_id": cam.resident_id,
        "resident": resident_names.get(cam.resident_id) if cam.resident_id else None,
        "resident_ids": watched["resident_ids"],
        "residents": [resident_names.get(r, f"resident {r}") for r in watched["resident_ids"]],
        "identity": identity.mode(watched["resident_ids"], watched["enrolled"]),
        "state": shown_state(cam, status, now, config),
        "last_frame_at": status.last_frame_at if status else None,
        "last_frame_age_s": None if age is None else round(max(age, 0.0), 1),
        "fps": round(status.fps, 2) if status else 0.0,
        "frames_sent": status.frames_sent if status else 0,
        "frames_dropped": status.frames_dropped if status else 0,
        "errors": status.errors if status else 0,
        "last_error": status.last_error if status else None,
        "status_updated_at": status.updated_at if status else None,
    }


def camera_rows(conn: Conn, now: datetime, config: Config) -> list[dict[str, Any]]:
    statuses = {s.camera_id: s for s in camera_status.list_status(conn)}
    names = {r.id: r.name for r in residents.list_residents(conn)}
    who = identity_q.camera_identity(conn)
    return [camera_row(c, statuses.get(c.id), names, now, config, who.get(c.id)) for c in cameras.list_cameras(conn)]


def one_camera(conn: Conn, camera_id: int, now: datetime, config: Config) -> dict[str, Any]:
    cam = cameras.get_camera(conn, camera_id)
    names = {r.id: r.name for r in residents.list_residents(conn)}
    return camera_row(cam, camera_status.get_status(conn, camera_id), names, now, config,
                      identity_q.camera_identity(conn).get(camera_id))
