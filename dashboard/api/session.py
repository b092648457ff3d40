"""Signing in and out through the API."""

from __future__ import annotations

from typing import Any

from flask import g
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import generate_csrf

from affectwatch.exceptions import ThrottledError
from dashboard import inputs
from dashboard.api import bp
from dashboard.auth import PUBLIC, end_session, requires, start_session
from dashboard.errors import problem_response
from dashboard.jsonio import body
from dashboard.roles import PERMISSIONS


def public_user(user: dict[str, Any] | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user["id"], "username": user["username"], "display_name": user["display_name"],
            "role": user["role"], "permissions": sorted(PERMISSIONS[user["role"]])}


@bp.get("/session")
@requires(PUBLIC)
def session_get() -> ResponseReturnValue:
    return {"user": public_user(g.user), "csrf_token": generate_csrf()}


@bp.post("/session")
@requires(PUBLIC)
def session_post() -> ResponseReturnValue:
    data = body()
    try:
        user = start_session(inputs.text(data, "username"), str(data.get("password") or ""))
    except ThrottledError as exc:
        response = problem_response(429, str(exc), retry_after=exc.retry_after)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return {"user": public_user(user), "csrf_token": generate_csrf()}


@bp.delete("/session")
@requires("home")
def session_delete() -> ResponseReturnValue:
    end_session()
    return "", 204
