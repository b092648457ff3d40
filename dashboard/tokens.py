"""API tokens in the dashboard: each user makes, sees and revokes their own (/tokens); administrators
(users:manage) see and revoke everyone's. The secret is shown once, on the page that made it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from affectwatch import tokens
from affectwatch.exceptions import FieldErrors
from affectwatch.queries.tokens import Token
from dashboard import inputs
from dashboard.auth import can, requires
from dashboard.context import db, now

bp = Blueprint("tokens", __name__, url_prefix="/tokens")
PERMISSION = "home"  # every role: a token carries its user's role, no more
ADMIN = "users:manage"


def owner_scope() -> int | None:
    """Whose tokens the user may see and revoke: everyone's for an administrator (None), else their own."""
    return None if can(ADMIN) else int(g.user["id"])


def as_row(token: Token) -> dict[str, Any]:
    return {"id": token.id, "name": token.name, "prefix": token.prefix, "user_id": token.user_id,
            "username": token.username, "state": tokens.state(token, now()), "created_at": token.created_at,
            "expires_at": token.expires_at, "last_used_at": token.last_used_at, "revoked_at": token.revoked_at}


def made_from(values: inputs.Values) -> tuple[str, Token]:
    """Make a token for the signed-in user from a form or JSON body (name, expires_in_days)."""
    if g.get("token_id") is not None:
        abort(403, description="An API token cannot make tokens: sign in to make one.")
    errors = inputs.Errors()
    days = inputs.number(values, "expires_in_days", int, errors, 1, tokens.MAX_DAYS)
    errors.raise_any()
    return tokens.create(db(), int(g.user["id"]), inputs.text(values, "name"), now(), days)


@bp.route("/")
@requires(PERMISSION)
def index() -> ResponseReturnValue:
    return _page()


def _page(secret: str = "", made: Token | None = None, errors: dict[str, str] | None = None,
          status: int = 200) -> ResponseReturnValue:
    found = [as_row(t) for t in tokens.listing(db(), owner_scope())]
    return render_template("tokens/list.html", tokens=found, secret=secret, made=made, errors=errors or {},
                           everyone=owner_scope() is None, max_days=tokens.MAX_DAYS), status


@bp.route("/", methods=["POST"])
@requires(PERMISSION)
def create() -> ResponseReturnValue:
    try:
        secret, token = made_from(request.form)
    except FieldErrors as exc:
        return _page(errors=exc.errors, status=400)
    return _page(secret=secret, made=token, status=201)


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@requires(PERMISSION)
def revoke(token_id: int) -> ResponseReturnValue:
    token = tokens.revoke(db(), token_id, now(), owner_scope())
    flash(f"The token {token.name} ({token.prefix}…) no longer works.", "info")
    return redirect(url_for("tokens.index"))
