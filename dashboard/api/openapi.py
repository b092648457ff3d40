"""The OpenAPI 3.1 document of /api/v1, generated, served at /api/v1/openapi.json and browsable at /api-docs.

apispec with its marshmallow plugin writes the document: the paths, methods and path parameters come
from the app's own routes, each operation's permission (x-permission, and the roles that have it) from
the view's @requires, and request bodies, query parameters and typed answers from the schemas in
dashboard.api.schemas, named per endpoint in OPERATIONS. A route without an entry there stops the
document from being built (and a test), so the document cannot silently fall behind the routes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, render_template
from flask.typing import ResponseReturnValue
from marshmallow import Schema

from affectwatch.labels import LABELS
from dashboard import vendor
from dashboard.api import bp
from dashboard.api import schemas as s
from dashboard.auth import PUBLIC, requires
from dashboard.roles import PERMISSIONS

PREFIX = "/api/v1"
CSV = "csv"
DOCS_ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css")


@dataclass(frozen=True)
class Op:
    summary: str
    answer: type[Schema] | str | None = None  # a schema, CSV, or None: 204 No Content
    body: type[Schema] | None = None
    query: type[Schema] | None = None
    status: int = 200


OPERATIONS: dict[str, Op] = {
    "api.session_get": Op("The signed-in user (or null) and a CSRF token", s.Session),
    "api.session_post": Op("Sign in (sets the session cookie)", s.Session, s.SignIn),
    "api.session_delete": Op("Sign out", None, status=204),
    "api.openapi_json": Op("This document", s.OpenAPIDocument),
    "api.cameras_list": Op("Cameras with live health, by name", s.CameraPage, query=s.PageQuery),
    "api.cameras_create": Op("Register a camera", s.Camera, s.CameraIn, status=201),
    "api.cameras_get": Op("One camera with its health", s.Camera),
    "api.cameras_update": Op("Change a camera (fields given)", s.Camera, s.CameraIn),
    "api.cameras_delete": Op("Remove a camera (its expressions are kept)", None, status=204),
    "api.cameras_test": Op("Grab one frame (base64 JPEG)", s.Shot),
    "api.cameras_test_source": Op("Grab one frame from a source not yet saved", s.Shot, s.SourceIn),
    "api.residents_list": Op("Residents with monitoring state and cameras, by name", s.ResidentPage,
                             query=s.PageQuery),
    "api.residents_create": Op("Add a resident", s.ResidentDetail, s.ResidentIn, status=201),
    "api.residents_get": Op("One resident, pauses, thresholds and their defaults", s.ResidentWithDefaults),
    "api.residents_update": Op("Change a resident (fields given)", s.ResidentDetail, s.ResidentIn),
    "api.residents_delete": Op("Remove a resident and their expressions", None, status=204),
    "api.residents_pause": Op("Pause monitoring", s.PauseCreated, s.PauseIn, status=201),
    "api.residents_end_pause": Op("End (or cancel) a pause", None, status=204),
    "api.residents_thresholds": Op("Alert-threshold overrides and defaults", s.ThresholdsAnswer),
    "api.residents_set_thresholds": Op("Set alert-threshold overrides", s.ThresholdsAnswer, s.ThresholdsIn),
    "api.history_get": Op("Expression shares per bucket, distribution, alerts", s.History, query=s.HistoryQuery),
    "api.history_csv": Op("The same history as CSV", CSV, query=s.HistoryQuery),
    "api.alerts_list": Op("Alerts, newest first, filtered", s.AlertPage, query=s.AlertQuery),
    "api.alerts_feed": Op("Alerts opened or escalated after event `after` (poll this)", s.AlertFeed,
                          query=s.FeedQuery),
    "api.alerts_get": Op("One alert and what happened to it", s.AlertDetail),
    "api.alerts_acknowledge": Op("Acknowledge an open alert with a note", s.Alert, s.NoteIn),
    "api.alerts_resolve": Op("Resolve an alert with a note", s.Alert, s.NoteIn),
    "api.system_get": Op("Queue, workers, processing rate, failed jobs", s.System),
    "api.system_requeue": Op("Put a failed job back on the queue", s.Requeued),
    "api.users_list": Op("Accounts, by user name", s.UserPage, query=s.PageQuery),
    "api.users_create": Op("Add an account", s.User, s.UserIn, status=201),
    "api.users_get": Op("One account", s.User),
    "api.users_update": Op("Change an account (ends its sessions when access changes)", s.User, s.UserIn),
    "api.users_delete": Op("Remove an account", None, status=204),
    "api.tokens_list": Op("API tokens: your own (an administrator's: everyone's), newest first", s.TokenPage,
                          query=s.PageQuery),
    "api.tokens_create": Op("Make an API token for yourself (signed in, not with a token); its secret is in "
                            "this answer only", s.TokenCreated, s.TokenIn, status=201),
    "api.tokens_get": Op("One API token (never its secret)", s.Token),
    "api.tokens_revoke": Op("Revoke an API token", None, status=204),
}

DESCRIPTION = (
    "Authenticate with an API token (`Authorization: Bearer aw_...`; make one on the dashboard's API tokens "
    "page, with POST /tokens or `affectwatch token create`): it acts with its user's role and needs no CSRF "
    "token. Or sign in with POST /session, keep the cookie, and send the csrf_token it returns as the "
    "X-CSRFToken header on every change. Errors are RFC 9457 problem details (application/problem+json). "
    "Lists come in pages: `limit` and `cursor` (the previous page's next_cursor), with `total`. A create "
    f"answers 201 with the new item's address in Location. Expression labels: {', '.join(LABELS)}."
)


def _roles(permission: str) -> list[str]:
    return list(PERMISSIONS) if permission == PUBLIC else [r for r, p in PERMISSIONS.items() if permission in p]


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    """/alerts/<int:alert_id> as /alerts/{alert_id}, with its path parameters."""
    params = []
    for kind, name in re.findall(r"<(?:(\w+):)?(\w+)>", rule):
        schema = {"type": "integer", "minimum": 1} if kind == "int" else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.removeprefix(PREFIX)), params


def _operation(op: Op, permission: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"summary": op.summary, "x-permission": permission, "x-roles": _roles(permission),
                           "parameters": [*params, *([{"in": "query", "schema": op.query}] if op.query else [])]}
    if op.answer is None:
        ok: dict[str, Any] = {"description": "done"}
    elif op.answer == CSV:
        ok = {"description": "ok", "content": {"text/csv": {"schema": {"type": "string"}}}}
    else:
        ok = {"description": "ok", "content": {"application/json": {"schema": op.answer}}}
    if op.status == 201:
        ok["headers"] = {"Location": {"description": "the new item's address", "schema": {"type": "string"}}}
    out["responses"] = {str(op.status): ok, **{str(code): "Problem" for code in (400, 401, 403, 404)}}
    if permission == PUBLIC:
        out["security"] = []
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
    return out


def document(app: Flask) -> dict[str, Any]:
    """The document for this app's /api/v1 routes; KeyError naming a route without an OPERATIONS entry."""
    spec = APISpec(title="AffectWatch dashboard API", version="1", openapi_version="3.1.0",
                   plugins=[MarshmallowPlugin()], info={"description": DESCRIPTION}, servers=[{"url": PREFIX}],
                   security=[{"token": []}, {"session": [], "csrf": []}])
    spec.components.security_scheme("token", {"type": "http", "scheme": "bearer",
                                              "description": "an API token (aw_...)"})
    spec.components.security_scheme("session", {"type": "apiKey", "in": "cookie", "name": "affectwatch_session"})
    spec.components.security_scheme("csrf", {"type": "apiKey", "in": "header", "name": "X-CSRFToken"})
    spec.components.response("Problem", {"description": "a problem a person can read", "content": {
        "application/problem+json": {"schema": s.Problem}}})
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        if rule.endpoint not in OPERATIONS:
            raise KeyError(f"{rule.endpoint} ({rule.rule}) has no entry in dashboard.api.openapi.OPERATIONS")
        path, params = _path(rule.rule)
        permission = getattr(app.view_functions[rule.endpoint], "permission", PUBLIC)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(OPERATIONS[rule.endpoint], permission, params)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def cached_document() -> dict[str, Any]:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found: dict[str, Any] | None = app.extensions.get("affectwatch_openapi")
    if found is None:
        found = app.extensions["affectwatch_openapi"] = document(app)
    return found


@bp.get("/openapi.json")
@requires("home")
def openapi_json() -> ResponseReturnValue:
    return cached_document()


docs_bp = Blueprint("apidocs", __name__)


@docs_bp.get("/api-docs")
@requires("home")
def docs() -> ResponseReturnValue:
    """The document in Swagger UI, served from this site (dashboard/vendor.py), no CDN."""
    return render_template("api_docs.html", missing=[n for n in DOCS_ASSETS if n in vendor.missing()])
