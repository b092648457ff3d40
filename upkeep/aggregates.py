"""The hourly aggregates (face_hourly, frame_hourly) behind the history views and the dashboard's charts.

Workers' inserts mark their hours changed (a statement trigger appends to history_dirty_hours); a refresh
recomputes just those hours from the raw rows. A full rebuild marks every hour that still has raw rows.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from affectwatch.queries import history as q

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
END_OF_TIME = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Refresh:
    hours: int
    seconds: float


def refresh(conn: q.Conn) -> Refresh:
    """Recompute every hour marked changed since the last refresh."""
    started = time.perf_counter()
    hours = q.refresh_aggregates(conn)
    took = time.perf_counter() - started
    if hours:
        log.info("refreshed the aggregates of %d hour(s) in %.2f s", hours, took)
    return Refresh(hours, took)


def rebuild(conn: q.Conn, since: datetime | None = None, until: datetime | None = None) -> Refresh:
    """Recompute every hour with raw rows in [since, until) (default: all). Hours whose raw rows retention
    already removed keep their aggregates."""
    marked = q.mark_hours(conn, since or EPOCH, until or END_OF_TIME)
    log.info("marked %d hour(s) with raw rows for recomputation", marked)
    return refresh(conn)
