"""User pages (administrators): list, add, edit role / name / password / active, remove."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from affectwatch import accounts
from affectwatch.exceptions import AffectWatchError, NotFoundError
from affectwatch.queries import users as q
from dashboard import inputs
from dashboard.auth import requires
from dashboard.context import config, db
from dashboard.roles import ROLE_TITLES

bp = Blueprint("users", __name__, url_prefix="/users")
MANAGE = "users:manage"


def account_values(values: inputs.Values, partial: bool) -> dict[str, Any]:
    """Fields of an account form or API body; an empty password on an edit means "unchanged"."""
    out: dict[str, Any] = {}
    for key in ("username", "display_name", "role", "password"):
        if key in values or not partial:
            out[key] = inputs.text(values, key) if key != "password" else str(values.get(key) or "")
    if "active" in values or not partial:
        out["active"] = inputs.flag(values, "active")
    if partial and not out.get("password"):
        out.pop("password", None)
    return out


def form_page(user: dict[str, Any], error: str = "", errors: dict[str, str] | None = None,
              status: int = 200) -> ResponseReturnValue:
    return render_template("users/form.html", user=user, error=error, errors=errors or {}, roles=accounts.ROLES,
                           role_titles=ROLE_TITLES), status


@bp.route("/")
@requires(MANAGE)
def index() -> ResponseReturnValue:
    return render_template("users/list.html", users=q.list_users(db()), role_titles=ROLE_TITLES)


@bp.route("/new", methods=["GET", "POST"])
@requires(MANAGE)
def create() -> ResponseReturnValue:
    if request.method == "GET":
        return form_page({"role": "staff", "active": True})
    values = account_values(request.form, partial=False)
    try:
        accounts.create_account(db(), values["username"], values["password"], values["role"], values["display_name"],
                                config().password_hash)
    except AffectWatchError as exc:
        return form_page(values, str(exc), getattr(exc, "errors", None), 400)
    flash(f"Account {values['username']} created.", "success")
    return redirect(url_for("users.index"))


@bp.route("/<int:user_id>/edit", methods=["GET", "POST"])
@requires(MANAGE)
def edit(user_id: int) -> ResponseReturnValue:
    user = q.get_user(db(), user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    if request.method == "GET":
        return form_page(user)
    values = account_values(request.form, partial=True)
    values.pop("username", None)
    try:
        accounts.update_account(db(), user_id, values, int(g.user["id"]), config().password_hash)
    except NotFoundError:
        raise
    except AffectWatchError as exc:
        return form_page({**user, **values}, str(exc), getattr(exc, "errors", None), 400)
    flash(f"Account {user['username']} saved.", "success")
    return redirect(url_for("users.index"))


@bp.route("/<int:user_id>/remove", methods=["POST"])
@requires(MANAGE)
def remove(user_id: int) -> ResponseReturnValue:
    try:
        accounts.remove_account(db(), user_id, int(g.user["id"]))
        flash("Account removed.", "success")
    except NotFoundError:
        raise
    except AffectWatchError as exc:
        flash(str(exc), "error")
    return redirect(url_for("users.index"))
