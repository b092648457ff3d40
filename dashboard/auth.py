"""Signing in and out, the signed-in user on `g`, and the permission every view declares.

A view is wrapped by `requires("permission")`; the app refuses to start if a view lacks it
(dashboard.access.check_every_view), so no page is reachable by accident. Anonymous page requests
are sent to the sign-in page; anonymous API requests get 401, forbidden ones 403.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from affectwatch import accounts, tokens
from affectwatch.exceptions import AuthError, ThrottledError
from dashboard import telemetry
from dashboard.context import config, db, now
from dashboard.roles import allowed

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])
PUBLIC = "public"
TOUCH_EVERY = timedelta(seconds=30)


def requires(permission: str) -> Callable[[F], F]:
    """Let only signed-in users whose role has `permission` reach the view."""

    def decorate(view: F) -> F:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if permission != PUBLIC:
                _check(permission)
            return view(*args, **kwargs)

        guarded.permission = permission  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def _check(permission: str) -> None:
    if g.get("user") is None:
        abort(401)
    if not allowed(g.user["role"], permission):
        abort(403)


def can(permission: str) -> bool:
    """For templates: whether the signed-in user may do this."""
    return g.get("user") is not None and allowed(g.user["role"], permission)


def policy() -> accounts.SignInPolicy:
    cfg = config()
    return accounts.SignInPolicy(cfg.login_max_failures, timedelta(minutes=cfg.session_idle_minutes),
                                 timedelta(hours=cfg.session_max_hours), cfg.password_hash)


def bearer() -> str | None:
    """The API token of an `Authorization: Bearer ...` header on an API (or /metrics) request, else None."""
    scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not (request.path.startswith("/api/") or request.path == "/metrics"):
        return None
    return secret.strip()


def load_user() -> None:
    """Before each request: the user of a valid API token or session, or None (and the stale cookie dropped).

    A request with a token is the token's alone: the session cookie is not read, and no CSRF token is
    needed (a browser never adds an Authorization header to another site's request by itself)."""
    g.user = None
    g.token_id = None
    secret = bearer()
    if secret is not None:
        user = tokens.authenticate(db(), secret, now())
        if user is None:
            abort(401, description="The API token is unknown, revoked or expired.")
        g.token_id = user.pop("token_id")
        g.user = user
        telemetry.TOKEN_CALLS.inc()
        return
    token = session.get("token")
    if not isinstance(token, str) or request.endpoint == "static":
        return
    t = now()
    user = accounts.session_user(db(), token, t, policy())
    if user is None:
        session.clear()
        return
    g.user = user
    if not _background() and t - user["last_seen_at"] > TOUCH_EVERY:
        accounts.touch(db(), token, t)


def _background() -> bool:
    """Polling by an open page does not count as activity, so an unattended screen still times out."""
    return request.headers.get("X-AffectWatch-Poll") == "1"


def client_addr() -> str:
    return request.remote_addr or "unknown"


def start_session(username: str, password: str) -> dict[str, Any]:
    """Check the credentials and put a new session token in the cookie; raises AuthError."""
    try:
        user = accounts.sign_in(db(), username, password, client_addr(), now(), policy())
    except ThrottledError:
        telemetry.SIGN_INS.labels("throttled").inc()
        raise
    except AuthError:
        telemetry.SIGN_INS.labels("failure").inc()
        raise
    telemetry.SIGN_INS.labels("success").inc()
    token = accounts.open_session(db(), int(user["id"]), client_addr(), request.user_agent.string, now(), policy())
    session.clear()
    session.permanent = True
    session["token"] = token
    g.user = user
    return user


def end_session() -> None:
    token = session.get("token")
    if isinstance(token, str):
        accounts.close_session(db(), token)
    session.clear()
    g.user = None


def safe_next(target: str | None) -> str:
    """Only a path on this site (never //host or a scheme) may be the place to return to."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("overview.home")


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    try:
        start_session(request.form.get("username", "").strip(), request.form.get("password", ""))
    except ThrottledError as exc:
        return render_template("login.html", error=str(exc), next=request.form.get("next", "")), 429
    except AuthError as exc:
        return render_template("login.html", error=str(exc), next=request.form.get("next", "")), 401
    return redirect(safe_next(request.form.get("next")))


@bp.route("/logout", methods=["POST"])
@requires("home")
def logout() -> ResponseReturnValue:
    end_session()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


def check_csrf() -> None:
    """After load_user: every change made with a session cookie needs the CSRF token; with an API token not."""
    if g.get("token_id") is None and current_app.config.get("WTF_CSRF_ENABLED", True):
        current_app.extensions["csrf"].protect(apply_exemptions=True)


def init_app(app: Flask) -> None:
    app.before_request(load_user)
    app.before_request(check_csrf)
    app.jinja_env.globals["can"] = can
