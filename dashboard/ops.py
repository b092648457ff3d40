"""Liveness, readiness and metrics of the dashboard.

- GET /healthz: 200 while the process answers (no database or Redis needed): for a container's
  healthcheck and restarts.
- GET /readyz: 200 when Postgres and Redis answer, else 503 with which one failed: for a load
  balancer or proxy deciding where to send people.
- GET /metrics: Prometheus text (dashboard.telemetry's metrics, the alerts acknowledged and resolved
  here, process metrics). It needs the system:view permission (an administrator's API token:
  Authorization: Bearer ...). Prometheus inside the deployment scrapes AFFECTWATCH_DASHBOARD_METRICS_PORT
  instead, a second port serving only the metrics, kept off the proxy.
"""

from __future__ import annotations

import logging

import psycopg
import redis
from flask import Blueprint, Response
from flask.typing import ResponseReturnValue
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from affectwatch.exceptions import DatabaseUnavailable
from dashboard.auth import PUBLIC, requires
from dashboard.context import db, redis_conn

log = logging.getLogger(__name__)
bp = Blueprint("ops", __name__)


@bp.get("/healthz")
@requires(PUBLIC)
def healthz() -> ResponseReturnValue:
    return {"status": "ok"}


@bp.get("/readyz")
@requires(PUBLIC)
def readyz() -> ResponseReturnValue:
    checks: dict[str, str] = {}
    try:
        db().execute("SELECT 1")
        checks["database"] = "ok"
    except (DatabaseUnavailable, psycopg.Error, OSError) as exc:
        log.warning("readyz: the database does not answer: %s", exc)
        checks["database"] = "unreachable"
    try:
        redis_conn().ping()
        checks["redis"] = "ok"
    except (redis.RedisError, OSError) as exc:
        log.warning("readyz: Redis does not answer: %s", exc)
        checks["redis"] = "unreachable"
    ready = all(v == "ok" for v in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


@bp.get("/metrics")
@requires("system:view")
def metrics() -> ResponseReturnValue:
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)

