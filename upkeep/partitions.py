"""Monthly partitions of frames and faces, made months ahead so no row lands in a default partition."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from affectwatch.queries import history as q

log = logging.getLogger(__name__)


def ensure_ahead(conn: q.Conn, months_ahead: int, now: datetime | None = None) -> int:
    """Partitions from this UTC month to months_ahead months later, plus one for every month the default
    partitions caught rows of (the rows move in). Returns how many partitions were created."""
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    created = q.ensure_partitions(conn, date(today.year, today.month, 1), months_ahead + 1)
    if created:
        log.info("created %d partition(s) of frames and faces", created)
    return created


def stray_rows(conn: q.Conn) -> dict[str, int]:
    """Rows still in the default partitions (a month was missing when they arrived); logged if any."""
    found = q.default_rows(conn)
    for parent, n in found.items():
        if n:
            log.warning("%d %s row(s) are in %s_default; `affectwatch partitions` moves them", n, parent, parent)
    return found
