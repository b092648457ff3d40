"""Optional face-crop snapshots of alerts: one per alert, kept 72 hours at most, then deleted.

Off by default (AFFECTWATCH_ALERT_SNAPSHOT_HOURS=0): no image of anybody is ever stored. When on, the
worker calls take() inside the transaction that writes a job's faces, after the alert rule has run:
for each resident of those faces whose expression alert is unresolved and has no snapshot yet, the
crop of their most negative face in this job (the box from its face row, the pixels from the job's
frame, which is never stored itself) is kept as a small JPEG until taken_at + the configured hours.

Deletion: every pass of `affectwatch history maintain` (once a minute) calls purge(), take() does too (at
most once a minute per worker), get_snapshot() never returns an expired one, and a CHECK in the schema
refuses to store one that would be kept longer than 72 hours.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np

from affectwatch.audit import Actor, record
from affectwatch.config import Config
from affectwatch.queries import snapshots as q
from affectwatch.queries.frames import FaceRow

log = logging.getLogger(__name__)

SIDE = 160  # pixels of the stored crop's longer side, at most
MARGIN = 0.25  # of the box's size, added on every side
QUALITY = 80
PURGE_EVERY_S = 60.0
_last_purge = float("-inf")


def take(conn: q.Conn, config: Config, faces: Sequence[FaceRow], frames: Mapping[uuid.UUID, bytes],
         now: datetime | None = None) -> int:
    """Snapshot the newly opened alerts of these faces' residents; the number stored."""
    now = now or datetime.now(UTC)
    _purge_now_and_then(conn, now)
    if config.alert_snapshot_hours <= 0 or not faces:
        return 0
    residents = sorted({f.resident_id for f in faces if f.resident_id is not None})
    stored = 0
    for alert in q.open_alerts_without_snapshot(conn, residents) if residents else []:
        stored += _snapshot(conn, alert, faces, frames, config, now)
    return stored


def _snapshot(conn: q.Conn, alert: q.OpenAlert, faces: Sequence[FaceRow], frames: Mapping[uuid.UUID, bytes],
              config: Config, now: datetime) -> int:
    theirs = [f for f in faces if f.resident_id == alert.resident_id and f.frame_id in frames]
    if not theirs:
        return 0
    face = max(theirs, key=lambda f: negative_score(f, config.negative_labels))
    jpeg = crop_jpeg(frames[face.frame_id], face.box)
    if jpeg is None:
        return 0
    expires = now + timedelta(hours=config.alert_snapshot_hours)
    snap = q.Snapshot(alert.alert_id, alert.resident_id, face.frame_id, face.captured_at, now, expires, jpeg)
    if not q.insert_snapshot(conn, snap):
        return 0
    log.info("alert %d: snapshot of resident %d (frame %s) kept until %s", alert.alert_id, alert.resident_id,
             face.frame_id, expires.isoformat(timespec="minutes"))
    return 1


def negative_score(face: FaceRow, negative: frozenset[str]) -> float:
    """The face's summed probability of the negative labels."""
    return sum(p or 0.0 for label, p in face.probs.items() if label in negative)


def crop_jpeg(frame_jpeg: bytes, box: tuple[float, float, float, float]) -> bytes | None:
    """The box (with a margin) cut from the frame, at most SIDE pixels, as JPEG; None if it cannot be cut."""
    frame = cv2.imdecode(np.frombuffer(frame_jpeg, np.uint8), cv2.IMREAD_COLOR)
    if frame is None:
        return None
    x1, y1, x2, y2 = box
    mx, my = (x2 - x1) * MARGIN, (y2 - y1) * MARGIN
    h, w = frame.shape[:2]
    left, top = max(0, int(x1 - mx)), max(0, int(y1 - my))
    right, bottom = min(w, int(x2 + mx) + 1), min(h, int(y2 + my) + 1)
    if right - left < 2 or bottom - top < 2:
        return None
    crop = frame[top:bottom, left:right]
    scale = SIDE / max(crop.shape[:2])
    if scale < 1:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
    return bytes(buf.tobytes()) if ok else None


def purge(conn: q.Conn, now: datetime | None = None) -> int:
    """Delete every snapshot whose time is up; the number deleted."""
    deleted = q.delete_expired(conn, now or datetime.now(UTC))
    if deleted:
        log.info("deleted %d expired alert snapshot(s)", deleted)
    return deleted


def _purge_now_and_then(conn: q.Conn, now: datetime) -> None:
    global _last_purge
    if time.monotonic() - _last_purge >= PURGE_EVERY_S:
        purge(conn, now)
        _last_purge = time.monotonic()


def shown(conn: q.Conn, alert_id: int, actor: Actor, now: datetime | None = None) -> q.Snapshot | None:
    """The alert's unexpired snapshot for a person to look at, the look recorded in the audit log."""
    snap = q.get_snapshot(conn, alert_id, now or datetime.now(UTC))
    if snap is not None:
        record(conn, actor, "snapshot", snap.resident_id, f"alert {alert_id}")
    return snap
