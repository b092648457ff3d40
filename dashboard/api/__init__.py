"""The JSON API, /api/v1: everything the pages do, with the same sign-in session, roles and CSRF header.

Sign in with POST /api/v1/session, then send the session cookie and, on every change (POST, PUT,
PATCH, DELETE), the X-CSRFToken header the session endpoints return. Described at /api/v1/openapi.json.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from dashboard.api import (  # noqa: E402  (the modules add their routes to bp)
    alerts,
    cameras,
    history,
    openapi,
    residents,
    session,
    system,
    tokens,
    users,
)

__all__ = ["alerts", "bp", "cameras", "history", "openapi", "residents", "session", "system", "tokens", "users"]
