"""A resident's expression history through the API, as JSON or CSV."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from affectwatch import audit
from dashboard import history as pages
from dashboard.api import bp
from dashboard.auth import requires
from dashboard.context import db


@bp.get("/residents/<int:resident_id>/history")
@requires("history:view")
def history_get(resident_id: int) -> ResponseReturnValue:
    data = pages.history(db(), resident_id, request.args)
    audit.record(db(), audit.request_actor(), "view", resident_id, "history API")
    return data


@bp.get("/residents/<int:resident_id>/history.csv")
@requires("history:export")
def history_csv(resident_id: int) -> ResponseReturnValue:
    return pages.audited_csv(resident_id, pages.history(db(), resident_id, request.args))
