"""Cameras through the API: list with health, register, change, remove, test one frame."""

from __future__ import annotations

from dataclasses import asdict

from flask import g, request, url_for
from flask.typing import ResponseReturnValue

from affectwatch.queries import cameras
from dashboard import camera_test, inputs
from dashboard.api import bp, paging
from dashboard.auth import requires
from dashboard.cameras import MANAGE, camera_values, with_source_kept
from dashboard.context import config, db, now
from dashboard.health import camera_rows, one_camera
from dashboard.jsonio import body


def shot_json(shot: camera_test.Shot) -> dict[str, object]:
    return asdict(shot)


@bp.get("/cameras")
@requires(MANAGE)
def cameras_list() -> ResponseReturnValue:
    return paging.page("cameras", camera_rows(db(), now(), config()), request.args,
                       lambda r: [str(r["name"]).lower(), r["id"]])


@bp.post("/cameras")
@requires(MANAGE)
def cameras_create() -> ResponseReturnValue:
    cam = cameras.add_camera(db(), **camera_values(body(), partial=False))
    return paging.created(one_camera(db(), cam.id, now(), config()), url_for("api.cameras_get", camera_id=cam.id))


@bp.get("/cameras/<int:camera_id>")
@requires(MANAGE)
def cameras_get(camera_id: int) -> ResponseReturnValue:
    return one_camera(db(), camera_id, now(), config())


@bp.patch("/cameras/<int:camera_id>")
@requires(MANAGE)
def cameras_update(camera_id: int) -> ResponseReturnValue:
    current = cameras.get_camera(db(), camera_id)
    cameras.update_camera(db(), camera_id, **with_source_kept(camera_values(body(), partial=True), current))
    return one_camera(db(), camera_id, now(), config())


@bp.delete("/cameras/<int:camera_id>")
@requires(MANAGE)
def cameras_delete(camera_id: int) -> ResponseReturnValue:
    cameras.remove_camera(db(), camera_id)
    return "", 204


@bp.post("/cameras/<int:camera_id>/test")
@requires(MANAGE)
def cameras_test(camera_id: int) -> ResponseReturnValue:
    cam = cameras.get_camera(db(), camera_id)
    return shot_json(camera_test.take(cam.source, camera_id=cam.id, user_id=int(g.user["id"])))


@bp.post("/cameras/test")
@requires(MANAGE)
def cameras_test_source() -> ResponseReturnValue:
    source = inputs.text(body(), "source")
    return shot_json(camera_test.take(source, camera_id=None, user_id=int(g.user["id"])))
