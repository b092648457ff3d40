"""How failures reach a person: JSON for the API, a page (or the sign-in page) for the browser."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, redirect, render_template, request, url_for
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

TITLES = {400: "Bad request", 401: "Please sign in", 403: "Not allowed", 404: "Not found", 405: "Not allowed",
          413: "Too large", 429: "Too many attempts", 500: "Something went wrong", 503: "Unavailable"}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/metrics"


def problem(status: int, message: str, errors: dict[str, str] | None = None) -> ResponseReturnValue:
    if wants_json():
        body: dict[str, object] = {"error": message, "status": status}
        if errors:
            body["errors"] = errors
        return jsonify(body), status
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
