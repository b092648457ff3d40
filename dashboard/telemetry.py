"""The dashboard's Prometheus metrics: requests by endpoint and status, their durations, sign-ins by
outcome, requests made with API tokens. Served by dashboard.ops at /metrics (and on
AFFECTWATCH_DASHBOARD_METRICS_PORT)."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from prometheus_client import Counter, Histogram

REQUESTS = Counter("affectwatch_dashboard_requests", "Requests answered, by method, endpoint and status",
                   ["method", "endpoint", "status"])
REQUEST_SECONDS = Histogram("affectwatch_dashboard_request_seconds", "Seconds to answer a request, by endpoint",
                            ["endpoint"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SIGN_INS = Counter("affectwatch_dashboard_sign_ins", "Sign-ins, by outcome (success, failure, throttled)",
                   ["outcome"])
TOKEN_CALLS = Counter("affectwatch_dashboard_token_requests", "Requests authenticated by an API token")
for _outcome in ("success", "failure", "throttled"):
    SIGN_INS.labels(_outcome)


def _started() -> None:
    g.telemetry_started = time.perf_counter()


def _answered(response: Response) -> Response:
    endpoint = request.endpoint or "unmatched"
    REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
    started = g.get("telemetry_started")
    if started is not None:
        REQUEST_SECONDS.labels(endpoint).observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    app.before_request(_started)
    app.after_request(_answered)
