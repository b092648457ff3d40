"""Privacy pauses honoured where faces are written: a face of a resident who is not monitored at its capture
time (marked not monitored, or inside a monitoring pause for care, a visit or privacy) is never stored.

The worker filters each job's faces through recordable() inside the job's transaction; the frame rows are
still written (that a frame was processed, and how many faces it held, is no personal data), so nothing is
lost from the accounting of frames, and no alert can open on a paused resident.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from affectwatch.queries import privacy_pauses as q
from affectwatch.queries.frames import FaceRow

log = logging.getLogger(__name__)


def recordable(conn: q.Conn, faces: Sequence[FaceRow]) -> list[FaceRow]:
    """The faces that may be stored: those of no resident, or of a resident monitored at the capture time."""
    keys = sorted({(f.resident_id, f.captured_at) for f in faces if f.resident_id is not None})
    allowed = q.monitored(conn, keys)
    kept = [f for f in faces if f.resident_id is None or allowed.get((f.resident_id, f.captured_at), False)]
    if len(kept) < len(faces):
        log.info("camera %s: %d face(s) not stored: their resident is paused or not monitored",
                 faces[0].camera_id, len(faces) - len(kept))
    return kept
