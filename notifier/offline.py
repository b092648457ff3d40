"""Camera-offline alerts: a camera assigned to a monitored resident that sends no frames.

A camera is silent when its newest frame (the producer's camera_status, or a frame row a worker
wrote), or failing that its last change (registered, enabled, edited), is older than the offline
limit (camera_offline_minutes, or the resident's offline_seconds override). Disabled cameras,
cameras without a resident and residents not monitored right now (unmonitored, or in a pause) do not
alert; their open offline alerts resolve, as do those of cameras that send frames again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import psycopg

from affectwatch.config import Config
from affectwatch.queries import alerts as q

log = logging.getLogger(__name__)
Conn = psycopg.Connection[Any]


def check_cameras(conn: Conn, config: Config, now: datetime) -> list[tuple[int, str]]:
    """Open and resolve camera-offline alerts; return (alert id, 'opened' or 'resolved') for each change."""
    with conn.transaction():
        cameras = {row["camera_id"]: row for row in q.camera_silence(conn, now)}
        active = {a.camera_id: a for a in q.active_alerts(conn, "camera_offline")}
        changes = [_resolve(conn, a, cameras.get(a.camera_id), config, now) for a in active.values()]
        for camera_id, row in cameras.items():
            if camera_id not in active and _silent(row, config, now):
                changes.append(_open(conn, row, now))
        return [c for c in changes if c is not None]


def _limit(row: dict[str, Any], config: Config) -> timedelta:
    seconds = row["offline_seconds"]
    return timedelta(seconds=seconds) if seconds else timedelta(minutes=config.camera_offline_minutes)


def _silent(row: dict[str, Any], config: Config, now: datetime) -> bool:
    return bool(row["watched"]) and row["last_seen"] is not None and now - row["last_seen"] >= _limit(row, config)


def _open(conn: Conn, row: dict[str, Any], now: datetime) -> tuple[int, str]:
    values = {"kind": "camera_offline", "camera_id": row["camera_id"], "resident_id": row["resident_id"],
              "window_start": row["last_seen"], "window_end": now, "opened_at": now}
    alert_id = q.insert_alert(conn, values)
    silent_min = (now - row["last_seen"]).total_seconds() / 60
    q.add_event(conn, alert_id, "opened", at=now, note=f"no frames for {silent_min:.0f} min",
                details={"camera_id": row["camera_id"], "last_seen": row["last_seen"].isoformat()})
    log.warning("camera %s (%s): offline alert %s opened, no frames since %s", row["camera_id"],
                row["camera_name"], alert_id, row["last_seen"].isoformat())
    return alert_id, "opened"


def _resolve(conn: Conn, alert: q.Alert, row: dict[str, Any] | None, config: Config,
             now: datetime) -> tuple[int, str] | None:
    reason = _why_resolved(alert, row, config, now)
    if reason is None:
        return None
    q.close_alert(conn, alert.id, now=now, reason=reason)
    q.add_event(conn, alert.id, "resolved", at=now, note=reason)
    log.info("camera %s: offline alert %s resolved: %s", alert.camera_id, alert.id, reason)
    return alert.id, "resolved"


def _why_resolved(alert: q.Alert, row: dict[str, Any] | None, config: Config, now: datetime) -> str | None:
    if row is None:
        return "the camera was removed, disabled or unassigned"
    if not row["watched"]:
        return "the resident is not monitored now"
    if row["resident_id"] != alert.resident_id:
        return "the camera was assigned to another resident"
    if row["last_seen"] is not None and now - row["last_seen"] < _limit(row, config):
        return "frames resumed"
    return None
