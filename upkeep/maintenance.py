"""One pass of history upkeep, and the loop that repeats it (`affectwatch history maintain`).

A pass: copy the settings the views use, make partitions ahead, refresh the aggregates, and, at most once
an hour, apply retention. Each step commits on its own; one failing is logged and the others still run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from affectwatch import snapshots
from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.exceptions import DatabaseUnavailable
from affectwatch.queries.history import Conn
from upkeep import aggregates, partitions, retention, settings

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 3600.0


@dataclass
class Pass:
    partitions_created: int = 0
    hours_refreshed: int = 0
    retention: retention.RetentionReport | None = None
    errors: list[str] = field(default_factory=list)


def run_once(config: Config, with_retention: bool = True, now: datetime | None = None) -> Pass:
    result = Pass()
    with connect(config, autocommit=True) as conn:
        _step(result, "settings", lambda: settings.sync_settings(conn, config))
        _step(result, "partitions", lambda: _partitions(conn, config, now, result))
        _step(result, "aggregates", lambda: _refresh(conn, result))
        _step(result, "snapshots", lambda: snapshots.purge(conn, now))  # alert snapshots past their expiry
        if with_retention:
            _step(result, "retention", lambda: _retention(conn, config, now, result))
    return result


def run_forever(config: Config, every_s: float, stop: threading.Event | None = None) -> None:
    """Repeat run_once every every_s seconds (retention hourly) until stop is set."""
    stop = stop or threading.Event()
    last_retention = float("-inf")
    while not stop.is_set():
        due = time.monotonic() - last_retention >= RETENTION_EVERY_S
        try:
            result = run_once(config, with_retention=due)
        except DatabaseUnavailable as exc:  # Postgres restarting: try again next pass
            log.error("history upkeep skipped: %s", exc)
            result = Pass(errors=["database"])
        if due and not result.errors:
            last_retention = time.monotonic()
        stop.wait(every_s)


def _step(result: Pass, name: str, action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:  # one failing step must not stop the others; the next pass tries again
        log.exception("history %s failed", name)
        result.errors.append(name)


def _partitions(conn: Conn, config: Config, now: datetime | None, result: Pass) -> None:
    result.partitions_created = partitions.ensure_ahead(conn, config.partitions_ahead, now)
    partitions.stray_rows(conn)


def _refresh(conn: Conn, result: Pass) -> None:
    result.hours_refreshed = aggregates.refresh(conn).hours


def _retention(conn: Conn, config: Config, now: datetime | None, result: Pass) -> None:
    result.retention = retention.apply(conn, retention.RetentionPolicy.from_config(config), now or datetime.now(UTC))
