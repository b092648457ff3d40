"""How failures reach a person: problem JSON for the API, a page (or the sign-in page) for the browser.

API errors are RFC 9457 problem details (Content-Type: application/problem+json): `type` (about:blank:
the status says it all), `title` (the status's phrase), `status`, `detail` (what went wrong, for a
person), and as extensions `errors` (field name -> what is wrong with it) and `error` (the same text as
detail, kept for clients written before). A 401 names the scheme to use (WWW-Authenticate: Bearer).
"""

from __future__ import annotations

import logging
from http import HTTPStatus

from flask import Flask, Response, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from affectwatch.exceptions import (
    AffectWatchError,
    AlertStateError,
    AuthError,
    DatabaseUnavailable,
    FieldErrors,
    NotFoundError,
    ThrottledError,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
TITLES = {400: "Bad request", 401: "Please sign in", 403: "Not allowed", 404: "Not found", 405: "Not allowed",
          413: "Too large", 429: "Too many attempts", 500: "Something went wrong", 503: "Unavailable"}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/metrics"


def problem_response(status: int, message: str, errors: dict[str, str] | None = None,
                     **extensions: object) -> Response:
    """An RFC 9457 problem details response."""
    body: dict[str, object] = {"type": "about:blank", "title": _phrase(status), "status": status, "detail": message,
                               "error": message, **extensions}
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="affectwatch"'
    return response


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return TITLES.get(status, "Error")


def problem(status: int, message: str, errors: dict[str, str] | None = None) -> ResponseReturnValue:
    if wants_json():
        return problem_response(status, message, errors)
    return render_template("error.html", status=status, title=TITLES.get(status, "Error"), message=message,
                           errors=errors or {}), status


def http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    if status == 401 and not wants_json():
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    return problem(status, exc.description or TITLES.get(status, "Error"))


def csrf_error(exc: CSRFError) -> ResponseReturnValue:
    log.warning("CSRF check failed for %s %s: %s", request.method, request.path, exc.description)
    return problem(400, "The form had expired or was not sent by this site; please reload the page and try again.")


def app_error(exc: AffectWatchError) -> ResponseReturnValue:
    if isinstance(exc, NotFoundError):
        return problem(404, str(exc))
    if isinstance(exc, AlertStateError):
        return problem(409, str(exc))
    if isinstance(exc, ThrottledError):
        return problem(429, str(exc))
    if isinstance(exc, DatabaseUnavailable):
        log.error("database unavailable: %s", exc)
        return problem(503, "The database cannot be reached right now; try again shortly.")
    if isinstance(exc, AuthError):
        return problem(401, str(exc))
    return problem(400, str(exc), exc.errors if isinstance(exc, FieldErrors) else None)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(AffectWatchError, app_error)
