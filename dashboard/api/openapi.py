"""The OpenAPI 3.1 document of /api/v1, served at /api/v1/openapi.json.

Each operation names the permission it needs (x-permission); a test checks that the document and the
app's routes describe the same operations.
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue

from affectwatch.labels import LABELS
from dashboard.api import bp
from dashboard.auth import PUBLIC, requires
from dashboard.roles import PERMISSIONS

OBJ = {"type": "object"}
ID = {"type": "integer", "minimum": 1}
TIME = {"type": "string", "format": "date-time"}
TEXT = {"type": "string"}
NULLABLE_ID = {"type": ["integer", "null"], "minimum": 1}

CAMERA_IN = {"type": "object", "properties": {
    "name": TEXT, "source": {"type": "string", "description": "rtsp/http(s) URL, device, video file or image folder"},
    "location": TEXT, "sample_fps": {"type": "number", "exclusiveMinimum": 0, "maximum": 30},
    "enabled": {"type": "boolean"}, "resident_id": NULLABLE_ID}}
RESIDENT_IN = {"type": "object", "properties": {
    "name": TEXT, "room": TEXT, "monitored": {"type": "boolean"},
    "camera_ids": {"type": "array", "items": ID, "description": "exactly the cameras watching this resident"}}}
PAUSE_IN = {"type": "object", "properties": {
    "reason": {"enum": ["care", "visit", "privacy", "other"]}, "note": TEXT,
    "minutes": {"type": "integer", "minimum": 1}, "starts_at": TIME, "ends_at": TIME},
    "description": "give minutes (from starts_at, default now) or ends_at"}
THRESHOLDS_IN = {"type": "object", "description": "null or absent: use the configured default", "properties": {
    "window_seconds": {"type": ["integer", "null"]}, "negative_share": {"type": ["number", "null"]},
    "min_faces": {"type": ["integer", "null"]}, "cooldown_seconds": {"type": ["integer", "null"]},
    "close_share": {"type": ["number", "null"]}, "baseline": {"type": ["boolean", "null"]},
    "baseline_margin": {"type": ["number", "null"]}, "offline_seconds": {"type": ["integer", "null"]},
    "min_span_seconds": {"type": ["integer", "null"]}, "min_minutes": {"type": ["integer", "null"]}}}
USER_IN = {"type": "object", "properties": {
    "username": TEXT, "display_name": TEXT, "password": {"type": "string", "minLength": 10},
    "role": {"enum": list(PERMISSIONS)}, "active": {"type": "boolean"}}}
NOTE_IN = {"type": "object", "properties": {"note": {"type": "string", "maxLength": 2000}}}
SIGN_IN = {"type": "object", "required": ["username", "password"],
           "properties": {"username": TEXT, "password": TEXT}}

Q_RANGE = [("from", "date (YYYY-MM-DD) or date-time; default: 7 days before 'to'"),
           ("to", "date (whole day included) or date-time; default: now")]
Q_ALERTS = [("state", "active (default), open, acknowledged, resolved or all"), ("resident_id", "resident"),
            ("camera_id", "camera"), *Q_RANGE, ("limit", "at most this many (default 100)")]
Q_HISTORY = [*Q_RANGE, ("bucket", "hour or day (default: hour up to 3 days, else day)")]

# (method, path, summary, permission, request body schema, query parameters, success status)
OPERATIONS: list[tuple[str, str, str, str, dict[str, Any] | None, list[tuple[str, str]], int]] = [
    ("get", "/session", "The signed-in user (or null) and a CSRF token", PUBLIC, None, [], 200),
    ("post", "/session", "Sign in (sets the session cookie)", PUBLIC, SIGN_IN, [], 200),
    ("delete", "/session", "Sign out", "home", None, [], 204),
    ("get", "/openapi.json", "This document", "home", None, [], 200),
    ("get", "/cameras", "Cameras with live health", "cameras:manage", None, [], 200),
    ("post", "/cameras", "Register a camera", "cameras:manage", CAMERA_IN, [], 201),
    ("get", "/cameras/{camera_id}", "One camera with its health", "cameras:manage", None, [], 200),
    ("patch", "/cameras/{camera_id}", "Change a camera (fields given)", "cameras:manage", CAMERA_IN, [], 200),
    ("delete", "/cameras/{camera_id}", "Remove a camera (its expressions are kept)", "cameras:manage", None, [], 204),
    ("post", "/cameras/{camera_id}/test", "Grab one frame (base64 JPEG)", "cameras:manage", None, [], 200),
    ("post", "/cameras/test", "Grab one frame from a source not yet saved", "cameras:manage",
     {"type": "object", "properties": {"source": TEXT}}, [], 200),
    ("get", "/residents", "Residents with monitoring state and cameras", "residents:manage", None, [], 200),
    ("post", "/residents", "Add a resident", "residents:manage", RESIDENT_IN, [], 201),
    ("get", "/residents/{resident_id}", "One resident, pauses and thresholds", "residents:manage", None, [], 200),
    ("patch", "/residents/{resident_id}", "Change a resident (fields given)", "residents:manage", RESIDENT_IN, [],
     200),
    ("delete", "/residents/{resident_id}", "Remove a resident and their expressions", "residents:manage", None, [],
     204),
    ("post", "/residents/{resident_id}/pauses", "Pause monitoring", "residents:manage", PAUSE_IN, [], 201),
    ("delete", "/residents/{resident_id}/pauses/{pause_id}", "End (or cancel) a pause", "residents:manage", None,
     [], 204),
    ("get", "/residents/{resident_id}/thresholds", "Alert-threshold overrides and defaults", "residents:manage",
     None, [], 200),
    ("put", "/residents/{resident_id}/thresholds", "Set alert-threshold overrides", "residents:manage",
     THRESHOLDS_IN, [], 200),
    ("get", "/residents/{resident_id}/history", "Expression shares per bucket, distribution, alerts",
     "history:view", None, Q_HISTORY, 200),
    ("get", "/residents/{resident_id}/history.csv", "The same history as CSV", "history:export", None, Q_HISTORY,
     200),
    ("get", "/alerts", "Alerts, newest first, filtered", "alerts:view", None, Q_ALERTS, 200),
    ("get", "/alerts/feed", "Alerts opened or escalated after event `after` (poll this)", "alerts:view", None,
     [("after", "last_id of the previous answer; omit on the first call")], 200),
    ("get", "/alerts/{alert_id}", "One alert and what happened to it", "alerts:view", None, [], 200),
    ("post", "/alerts/{alert_id}/acknowledge", "Acknowledge an open alert with a note", "alerts:ack", NOTE_IN, [],
     200),
    ("post", "/alerts/{alert_id}/resolve", "Resolve an alert with a note", "alerts:ack", NOTE_IN, [], 200),
    ("get", "/system", "Queue, workers, processing rate, failed jobs", "system:view", None, [], 200),
    ("post", "/system/failed/{job_id}/requeue", "Put a failed job back on the queue", "system:requeue", None, [],
     200),
    ("get", "/users", "Accounts", "users:manage", None, [], 200),
    ("post", "/users", "Add an account", "users:manage", USER_IN, [], 201),
    ("get", "/users/{user_id}", "One account", "users:manage", None, [], 200),
    ("patch", "/users/{user_id}", "Change an account (ends its sessions when access changes)", "users:manage",
     USER_IN, [], 200),
    ("delete", "/users/{user_id}", "Remove an account", "users:manage", None, [], 204),
]


def _roles(permission: str) -> list[str]:
    return list(PERMISSIONS) if permission == PUBLIC else [r for r, p in PERMISSIONS.items() if permission in p]


def _parameters(path: str, query: list[tuple[str, str]]) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    found: list[dict[str, Any]] = [
        {"name": n, "in": "path", "required": True, "schema": TEXT if n == "job_id" else ID} for n in names]
    return found + [{"name": n, "in": "query", "required": False, "description": d, "schema": TEXT}
                    for n, d in query]


def _operation(method: str, path: str, summary: str, permission: str, request: dict[str, Any] | None,
               query: list[tuple[str, str]], status: int) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary, "x-permission": permission, "x-roles": _roles(permission),
        "parameters": _parameters(path, query),
        "responses": {str(status): {"description": "done"} if status == 204 else
                      {"description": "ok", "content": {"text/csv" if path.endswith(".csv") else
                                                        "application/json": {"schema": OBJ}}},
                      "400": {"$ref": "#/components/responses/Problem"},
                      "401": {"$ref": "#/components/responses/Problem"},
                      "403": {"$ref": "#/components/responses/Problem"},
                      "404": {"$ref": "#/components/responses/Problem"}},
    }
    if permission == PUBLIC:
        op["security"] = []
    if request is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": request}}}
    return op


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, *rest in OPERATIONS:
        paths.setdefault(path, {})[method] = _operation(method, path, *rest)  # type: ignore[arg-type]
    return {
        "openapi": "3.1.0",
        "info": {"title": "AffectWatch dashboard API", "version": "1",
                 "description": "Sign in with POST /session, keep the cookie, and send the csrf_token it returns "
                                f"as the X-CSRFToken header on every change. Labels: {', '.join(LABELS)}."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"session": [], "csrf": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "affectwatch_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"}},
            "responses": {"Problem": {"description": "an error a person can read", "content": {"application/json": {
                "schema": {"type": "object", "properties": {"error": TEXT, "status": {"type": "integer"},
                                                             "errors": {"type": "object"}}}}}}},
        },
    }


@bp.get("/openapi.json")
@requires("home")
def openapi_json() -> ResponseReturnValue:
    return document()
