"""Camera pages: list with live health, register, edit, enable or disable, remove, and test one frame."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from affectwatch.exceptions import AffectWatchError, NotFoundError
from affectwatch.queries import cameras, residents
from affectwatch.queries.identity import camera_residents
from affectwatch.sources import SourcePolicy, redact
from dashboard import camera_test, inputs
from dashboard.auth import requires
from dashboard.context import config, db, now
from dashboard.health import camera_rows, one_camera

bp = Blueprint("cameras", __name__, url_prefix="/cameras")
MANAGE = "cameras:manage"


def camera_values(values: inputs.Values, partial: bool) -> dict[str, Any]:
    """inputs.camera's keyword arguments, with the policy on where a source may point (AFFECTWATCH_MEDIA_ROOT...)."""
    return {**inputs.camera(values, partial), "policy": SourcePolicy.from_config(config())}


def with_source_kept(values: dict[str, Any], current: cameras.Camera) -> dict[str, Any]:
    """An edit that sends back the redacted source (password shown as ***) keeps the stored one."""
    if values.get("source") == redact(current.source):
        values = {k: v for k, v in values.items() if k != "source"}
    return values


def form_page(camera: dict[str, Any] | None, error: str = "", status: int = 200, **extra: Any) -> ResponseReturnValue:
    return render_template("cameras/form.html", camera=camera or {}, error=error,
                           residents=residents.list_residents(db()), **extra), status


def form_values() -> dict[str, Any]:
    """The camera form's fields, with the residents' multi-select as a list (none chosen: an empty one)."""
    return {**request.form.to_dict(), "resident_ids": request.form.getlist("resident_ids")}


@bp.route("/")
@requires(MANAGE)
def index() -> ResponseReturnValue:
    return render_template("cameras/list.html", cameras=camera_rows(db(), now(), config()))


@bp.route("/<int:camera_id>")
@requires(MANAGE)
def show(camera_id: int) -> ResponseReturnValue:
    return render_template("cameras/show.html", camera=one_camera(db(), camera_id, now(), config()))


@bp.route("/new", methods=["GET", "POST"])
@requires(MANAGE)
def create() -> ResponseReturnValue:
    if request.method == "GET":
        return form_page({"enabled": True, "sample_fps": config().sample_fps})
    try:
        cam = cameras.add_camera(db(), **camera_values(form_values(), partial=False))
    except AffectWatchError as exc:
        return form_page(inputs.echoed(form_values()), str(exc), 400)
    flash(f"Camera {cam.name} registered.", "success")
    return redirect(url_for("cameras.show", camera_id=cam.id))


@bp.route("/<int:camera_id>/edit", methods=["GET", "POST"])
@requires(MANAGE)
def edit(camera_id: int) -> ResponseReturnValue:
    current = cameras.get_camera(db(), camera_id)
    if request.method == "GET":
        return form_page({**vars(current), "source": redact(current.source),
                          "resident_ids": camera_residents(db(), [camera_id]).get(camera_id, [])})
    try:
        values = with_source_kept(camera_values(form_values(), partial=False), current)
        cam = cameras.update_camera(db(), camera_id, **values)
    except NotFoundError:
        raise
    except AffectWatchError as exc:
        return form_page({**inputs.echoed(form_values()), "id": camera_id}, str(exc), 400)
    flash(f"Camera {cam.name} saved.", "success")
    return redirect(url_for("cameras.show", camera_id=cam.id))


@bp.route("/<int:camera_id>/enabled", methods=["POST"])
@requires(MANAGE)
def set_enabled(camera_id: int) -> ResponseReturnValue:
    cam = cameras.update_camera(db(), camera_id, enabled=inputs.flag(request.form, "enabled"))
    flash(f"Camera {cam.name} {'enabled' if cam.enabled else 'disabled'}.", "success")
    return redirect(url_for("cameras.index"))


@bp.route("/<int:camera_id>/remove", methods=["POST"])
@requires(MANAGE)
def remove(camera_id: int) -> ResponseReturnValue:
    cam = cameras.remove_camera(db(), camera_id)
    flash(f"Camera {cam.name} removed; the expressions it recorded are kept.", "success")
    return redirect(url_for("cameras.index"))


@bp.route("/<int:camera_id>/test", methods=["POST"])
@requires(MANAGE)
def test(camera_id: int) -> ResponseReturnValue:
    cam = cameras.get_camera(db(), camera_id)
    shot = camera_test.take(cam.source, camera_id=cam.id, user_id=int(g.user["id"]))
    return render_template("cameras/test.html", camera=cam, source=redact(cam.source), shot=shot)


@bp.route("/test-source", methods=["POST"])
@requires(MANAGE)
def test_source() -> ResponseReturnValue:
    """The registration form's "Test" button: one frame from the source typed, before saving."""
    source = inputs.text(request.form, "source")
    known = inputs.optional_id(request.form, "id", inputs.Errors())
    if known is not None:
        current = cameras.get_camera(db(), known)
        source = current.source if source == redact(current.source) else source
    shot = camera_test.take(source, camera_id=None, user_id=int(g.user["id"]))
    return form_page(form_values(), "" if shot.ok else shot.error, 200 if shot.ok else 400, shot=shot)
