"""The alert scheduler, `affectwatch alerts scheduler`: sweeps every alert_sweep_seconds and, in
between, LISTENs for alert changes (the affectwatch_alerts channel, notified on every recorded
event when its transaction commits) so that their deliveries are queued at once."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

import redis

from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.queue import redis_connection
from notifier import dispatch
from notifier.sweep import sweep

log = logging.getLogger(__name__)
CHANNEL = "affectwatch_alerts"


def run(config: Config, stop: threading.Event | None = None) -> None:
    """Sweep and dispatch until `stop` is set (or forever)."""
    stop = stop or threading.Event()
    connection = redis_connection(config)
    try:
        while not stop.is_set():
            try:
                _listen_between_sweeps(config, connection, stop)
            except Exception:  # Postgres or Redis away: log, wait, try again; never exit on it
                log.exception("alert scheduler: a sweep failed; retrying in %gs", config.alert_sweep_seconds)
                stop.wait(config.alert_sweep_seconds)
    finally:
        connection.close()


def _listen_between_sweeps(config: Config, connection: redis.Redis, stop: threading.Event) -> None:
    with connect(config, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        while not stop.is_set():
            report = sweep(config, connection, datetime.now(UTC))
            log.info("alert sweep: %s", report)
            deadline = time.monotonic() + config.alert_sweep_seconds
            while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
                if any(True for _ in listener.notifies(timeout=min(left, 1.0), stop_after=1)):
                    _dispatch(config, connection)


def _dispatch(config: Config, connection: redis.Redis) -> None:
    with connect(config, autocommit=True) as conn:
        created, queued = dispatch.dispatch(conn, config, connection)
    if created or queued:
        log.info("alert changes: %d delivery(ies) created, %d queued", created, queued)
