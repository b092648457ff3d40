"""A resident's expression history through the API, as JSON or CSV."""

from __future__ import annotations

from flask import request
from flask.typing import ResponseReturnValue

from dashboard import history as pages
from dashboard.api import bp
from dashboard.auth import requires
from dashboard.context import db


@bp.get("/residents/<int:resident_id>/history")
@requires("history:view")
def history_get(resident_id: int) -> ResponseReturnValue:
    return pages.history(db(), resident_id, request.args)


@bp.get("/residents/<int:resident_id>/history.csv")
@requires("history:export")
def history_csv(resident_id: int) -> ResponseReturnValue:
    return pages.csv_response(pages.history(db(), resident_id, request.args))
