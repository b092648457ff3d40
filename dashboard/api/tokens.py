"""API tokens through the API: list, make (the secret in the answer, once), read, revoke."""

from __future__ import annotations

from flask import request, url_for
from flask.typing import ResponseReturnValue

from affectwatch import tokens
from affectwatch.exceptions import NotFoundError
from affectwatch.queries import tokens as q
from dashboard.api import bp
from dashboard.api.paging import created, page
from dashboard.auth import requires
from dashboard.context import db, now
from dashboard.jsonio import body
from dashboard.tokens import PERMISSION, as_row, made_from, owner_scope


@bp.get("/tokens")
@requires(PERMISSION)
def tokens_list() -> ResponseReturnValue:
    return page("tokens", [as_row(t) for t in tokens.listing(db(), owner_scope())], request.args)


@bp.post("/tokens")
@requires(PERMISSION)
def tokens_create() -> ResponseReturnValue:
    secret, token = made_from(body())
    return created({**as_row(token), "token": secret}, url_for("api.tokens_get", token_id=token.id))


@bp.get("/tokens/<int:token_id>")
@requires(PERMISSION)
def tokens_get(token_id: int) -> ResponseReturnValue:
    token = q.get_token(db(), token_id)
    scope = owner_scope()
    if token is None or (scope is not None and token.user_id != scope):
        raise NotFoundError(f"no API token {token_id}")
    return as_row(token)


@bp.delete("/tokens/<int:token_id>")
@requires(PERMISSION)
def tokens_revoke(token_id: int) -> ResponseReturnValue:
    tokens.revoke(db(), token_id, now(), owner_scope())
    return "", 204
