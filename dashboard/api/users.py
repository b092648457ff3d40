"""Accounts through the API (administrators)."""

from __future__ import annotations

from flask import g, request, url_for
from flask.typing import ResponseReturnValue

from affectwatch import accounts
from affectwatch.exceptions import NotFoundError
from affectwatch.queries import users as q
from dashboard.api import bp, paging
from dashboard.auth import requires
from dashboard.context import config, db
from dashboard.jsonio import body
from dashboard.users import MANAGE, account_values


def one(user_id: int) -> dict[str, object]:
    user = q.get_user(db(), user_id)
    if user is None:
        raise NotFoundError(f"no user {user_id}")
    return user


@bp.get("/users")
@requires(MANAGE)
def users_list() -> ResponseReturnValue:
    return paging.page("users", q.list_users(db()), request.args, lambda r: [str(r["username"]).lower(), r["id"]])


@bp.post("/users")
@requires(MANAGE)
def users_create() -> ResponseReturnValue:
    values = account_values({"active": True, **body()}, partial=False)
    user_id = accounts.create_account(db(), values["username"], values["password"], values["role"],
                                      values["display_name"], config().password_hash)
    return paging.created(one(user_id), url_for("api.users_get", user_id=user_id))


@bp.get("/users/<int:user_id>")
@requires(MANAGE)
def users_get(user_id: int) -> ResponseReturnValue:
    return one(user_id)


@bp.patch("/users/<int:user_id>")
@requires(MANAGE)
def users_update(user_id: int) -> ResponseReturnValue:
    values = account_values(body(), partial=True)
    values.pop("username", None)
    accounts.update_account(db(), user_id, values, int(g.user["id"]), config().password_hash)
    return one(user_id)


@bp.delete("/users/<int:user_id>")
@requires(MANAGE)
def users_delete(user_id: int) -> ResponseReturnValue:
    accounts.remove_account(db(), user_id, int(g.user["id"]))
    return "", 204
