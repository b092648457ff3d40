"""Recent expression events (face rows with camera and resident names), for `affectwatch events`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

RECENT = """
SELECT f.captured_at, f.frame_id, f.face_index, c.name AS camera,
       CASE WHEN f.identity = 'unknown' THEN '(unknown)' ELSE r.name END AS resident,
       f.expression, f.confidence, f.det_prob, f.box_x1, f.box_y1, f.box_x2, f.box_y2
FROM faces f
LEFT JOIN cameras c ON c.id = f.camera_id
LEFT JOIN residents r ON r.id = f.resident_id
WHERE f.captured_at > %(after)s
ORDER BY f.captured_at, f.frame_id, f.face_index
LIMIT %(limit)s
"""


def recent_faces(conn: psycopg.Connection[Any], after: datetime, limit: int) -> list[dict[str, Any]]:
    return list(conn.execute(RECENT, {"after": after, "limit": limit}).fetchall())
