"""`affectwatch health producer|worker|dashboard|alerts|history`: exit 0 when that process on this host is alive."""

from __future__ import annotations

import argparse
import socket
import urllib.request
from datetime import UTC, datetime, timedelta

from rq import Worker

from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.queries.camera_status import list_status
from affectwatch.queries.cameras import list_cameras
from affectwatch.queries.history import site
from affectwatch.queue import redis_connection

STALE = timedelta(seconds=60)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("health", help="check that a process is alive: exit 0 if healthy, 1 if not")
    p.add_argument("process", choices=["producer", "worker", "dashboard", "alerts", "history"])
    p.set_defaults(handler=health)


def health(args: argparse.Namespace, config: Config) -> int:
    check = {"producer": producer_alive, "worker": worker_alive, "dashboard": dashboard_alive,
             "alerts": alerts_alive, "history": history_alive}[args.process]
    ok, why = check(config)
    print(("healthy: " if ok else "unhealthy: ") + why)
    return 0 if ok else 1


def producer_alive(config: Config) -> tuple[bool, str]:
    """The producer writes every enabled camera's status every few seconds."""
    with connect(config, autocommit=True) as conn:
        enabled = {c.id for c in list_cameras(conn, enabled_only=True)}
        fresh = [s for s in list_status(conn) if s.camera_id in enabled and _age(s.updated_at) < STALE]
    if not enabled:
        return True, "no enabled cameras"
    return bool(fresh), f"{len(fresh)} of {len(enabled)} enabled cameras reported in the last {STALE.seconds} s"


def worker_alive(config: Config) -> tuple[bool, str]:
    return _rq_worker_here(config, config.queue)


def alerts_alive(config: Config) -> tuple[bool, str]:
    """The scheduler runs the delivery worker in its main thread: it is registered on the alert queue."""
    return _rq_worker_here(config, config.alert_queue)


def _rq_worker_here(config: Config, queue: str) -> tuple[bool, str]:
    host = socket.gethostname()
    mine = [w for w in Worker.all(connection=redis_connection(config))
            if w.hostname == host and queue in w.queue_names()]
    return bool(mine), f"{len(mine)} RQ worker(s) on queue {queue} registered from {host}"


def history_alive(config: Config) -> tuple[bool, str]:
    """`history maintain` refreshes the aggregates every AFFECTWATCH_HISTORY_REFRESH_SECONDS."""
    limit = timedelta(seconds=max(120.0, 3 * config.history_refresh_seconds))
    with connect(config, autocommit=True) as conn:
        refreshed = site(conn)["refreshed_at"]
    if refreshed is None:
        return False, "the history aggregates were never refreshed"
    return _age(refreshed) < limit, f"aggregates refreshed {_age(refreshed).total_seconds():.0f} s ago"


def dashboard_alive(config: Config) -> tuple[bool, str]:
    url = f"http://127.0.0.1:{config.dashboard_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:  # a fixed loopback URL
            return reply.status == 200, f"{url} answered {reply.status}"
    except OSError as exc:
        return False, f"{url}: {exc}"


def _age(moment: datetime) -> timedelta:
    return datetime.now(UTC) - moment
