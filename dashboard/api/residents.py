"""Residents through the API: list, add, change (cameras too), remove, pauses, alert thresholds."""

from __future__ import annotations

from flask import g, request, url_for
from flask.typing import ResponseReturnValue

from affectwatch.exceptions import NotFoundError
from affectwatch.queries import dashboard as q
from affectwatch.queries import residents
from dashboard import inputs
from dashboard.api import bp, paging
from dashboard.auth import requires
from dashboard.context import config, db, now
from dashboard.jsonio import body
from dashboard.residents import MANAGE, add_pause, all_residents, detail, save_resident


@bp.get("/residents")
@requires(MANAGE)
def residents_list() -> ResponseReturnValue:
    return paging.page("residents", all_residents(db()), request.args, lambda r: [str(r["name"]).lower(), r["id"]])


@bp.post("/residents")
@requires(MANAGE)
def residents_create() -> ResponseReturnValue:
    data = body()
    person = save_resident(db(), None, {"camera_ids": [], **data}, partial=False)
    return paging.created(detail(db(), person.id), url_for("api.residents_get", resident_id=person.id))


@bp.get("/residents/<int:resident_id>")
@requires(MANAGE)
def residents_get(resident_id: int) -> ResponseReturnValue:
    return {**detail(db(), resident_id), "threshold_defaults": inputs.threshold_defaults(config())}


@bp.patch("/residents/<int:resident_id>")
@requires(MANAGE)
def residents_update(resident_id: int) -> ResponseReturnValue:
    save_resident(db(), resident_id, body(), partial=True)
    return detail(db(), resident_id)


@bp.delete("/residents/<int:resident_id>")
@requires(MANAGE)
def residents_delete(resident_id: int) -> ResponseReturnValue:
    residents.remove_resident(db(), resident_id)
    return "", 204


@bp.post("/residents/<int:resident_id>/pauses")
@requires(MANAGE)
def residents_pause(resident_id: int) -> ResponseReturnValue:
    pause_id = add_pause(db(), resident_id, body())
    return paging.created({"id": pause_id, "pauses": q.list_pauses(db(), resident_id, now())},
                          url_for("api.residents_get", resident_id=resident_id))


@bp.delete("/residents/<int:resident_id>/pauses/<int:pause_id>")
@requires(MANAGE)
def residents_end_pause(resident_id: int, pause_id: int) -> ResponseReturnValue:
    if not q.end_pause(db(), resident_id, pause_id, now()):
        raise NotFoundError(f"resident {resident_id} has no current or planned pause {pause_id}")
    return "", 204


@bp.get("/residents/<int:resident_id>/thresholds")
@requires(MANAGE)
def residents_thresholds(resident_id: int) -> ResponseReturnValue:
    residents.get_resident(db(), resident_id)
    return {"overrides": q.get_thresholds(db(), resident_id), "defaults": inputs.threshold_defaults(config())}


@bp.put("/residents/<int:resident_id>/thresholds")
@requires(MANAGE)
def residents_set_thresholds(resident_id: int) -> ResponseReturnValue:
    residents.get_resident(db(), resident_id)
    q.set_thresholds(db(), resident_id, inputs.thresholds(body()), int(g.user["id"]))
    return {"overrides": q.get_thresholds(db(), resident_id), "defaults": inputs.threshold_defaults(config())}
