"""Every view must declare its permission; this check runs when the app is built."""

from __future__ import annotations

from flask import Flask

from dashboard.auth import PUBLIC

UNGUARDED = frozenset({"static"})


def view_permission(app: Flask, endpoint: str) -> str | None:
    return getattr(app.view_functions[endpoint], "permission", None)


def check_every_view(app: Flask) -> None:
    """Refuse to build an app with a view that does not name its permission."""
    bare = [e for e in app.view_functions if e not in UNGUARDED and view_permission(app, e) is None]
    if bare:
        raise RuntimeError(f"views without @requires(...): {', '.join(sorted(bare))}")


def public_endpoints(app: Flask) -> set[str]:
    return {e for e in app.view_functions if e in UNGUARDED or view_permission(app, e) == PUBLIC}
