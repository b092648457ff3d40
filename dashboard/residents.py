"""Resident pages: add, edit, assign cameras, monitored or not, pauses, alert-threshold overrides, and face
enrolment (photos uploaded by an administrator become templates; the photos are not kept)."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from affectwatch import audit
from affectwatch import identity as shared_identity
from affectwatch.exceptions import AffectWatchError, NotFoundError, ValidationError
from affectwatch.queries import cameras, identity, residents
from affectwatch.queries import dashboard as q
from affectwatch.queue import ENROL_FACES, frame_queue
from dashboard import inputs
from dashboard.auth import requires
from dashboard.context import config, db, now, redis_conn, zone

bp = Blueprint("residents", __name__, url_prefix="/residents")
MANAGE = "residents:manage"
Conn = Any


def assign_cameras(conn: Conn, resident_id: int, camera_ids: list[int]) -> None:
    """Make the resident one of the residents of exactly these cameras (their other residents stay)."""
    with conn.transaction():
        watched = identity.camera_residents(conn)
        for cam in cameras.list_cameras(conn):
            theirs = watched.get(cam.id, [])
            if cam.id in camera_ids and resident_id not in theirs:
                cameras.update_camera(conn, cam.id, resident_ids=[*theirs, resident_id])
            elif cam.id not in camera_ids and resident_id in theirs:
                cameras.update_camera(conn, cam.id, resident_ids=[r for r in theirs if r != resident_id])
        unknown = set(camera_ids) - {c.id for c in cameras.list_cameras(conn)}
        if unknown:
            raise NotFoundError(f"no camera {', '.join(map(str, sorted(unknown)))}")


def save_resident(conn: Conn, resident_id: int | None, values: inputs.Values, partial: bool) -> residents.Resident:
    fields = inputs.resident(values, partial)
    with conn.transaction():
        if resident_id is None:
            person = residents.add_resident(conn, **fields)
        else:
            person = residents.update_resident(conn, resident_id, **fields)
        if "camera_ids" in values or not partial:
            assign_cameras(conn, person.id, inputs.camera_ids(values))
    return person


def summary(conn: Conn, person: residents.Resident, pauses: dict[int, Any]) -> dict[str, Any]:
    pause = pauses.get(person.id)
    watched = identity.camera_residents(conn)
    return {**asdict(person), "paused_until": pause["ends_at"] if pause else None,
            "pause_reason": pause["reason"] if pause else None,
            "cameras": [{"id": c.id, "name": c.name} for c in cameras.list_cameras(conn)
                        if person.id in watched.get(c.id, [])]}


def detail(conn: Conn, resident_id: int) -> dict[str, Any]:
    """Everything about one resident the page and the API show."""
    person = residents.get_resident(conn, resident_id)
    t = now()
    return {**summary(conn, person, q.current_pauses(conn, t)),
            "pauses": q.list_pauses(conn, resident_id, t), "thresholds": q.get_thresholds(conn, resident_id),
            "enrolment": asdict(identity.enrolment(conn, resident_id))}


def all_residents(conn: Conn) -> list[dict[str, Any]]:
    pauses = q.current_pauses(conn, now())
    return [summary(conn, p, pauses) for p in residents.list_residents(conn)]


def add_pause(conn: Conn, resident_id: int, values: inputs.Values) -> int:
    residents.get_resident(conn, resident_id)
    p = inputs.pause(values, now(), zone())
    return q.add_pause(conn, resident_id, p["starts_at"], p["ends_at"], p["reason"], p["note"], int(g.user["id"]))


def form_page(resident: dict[str, Any], error: str = "", status: int = 200) -> ResponseReturnValue:
    return render_template("residents/form.html", resident=resident, error=error,
                           cameras=cameras.list_cameras(db())), status


@bp.route("/")
@requires(MANAGE)
def index() -> ResponseReturnValue:
    return render_template("residents/list.html", residents=all_residents(db()))


@bp.route("/<int:resident_id>")
@requires(MANAGE)
def show(resident_id: int) -> ResponseReturnValue:
    return render_template("residents/show.html", resident=detail(db(), resident_id),
                           reasons=inputs.PAUSE_REASONS, defaults=inputs.threshold_defaults(config()))


@bp.route("/new", methods=["GET", "POST"])
@requires(MANAGE)
def create() -> ResponseReturnValue:
    if request.method == "GET":
        return form_page({"monitored": True, "cameras": []})
    values = {**inputs.echoed(request.form), "camera_ids": request.form.getlist("camera_ids")}
    try:
        person = save_resident(db(), None, values, partial=False)
    except AffectWatchError as exc:
        return form_page({**values, "cameras": _picked(values)}, str(exc), 400)
    flash(f"Resident {person.name} added.", "success")
    return redirect(url_for("residents.show", resident_id=person.id))


@bp.route("/<int:resident_id>/edit", methods=["GET", "POST"])
@requires(MANAGE)
def edit(resident_id: int) -> ResponseReturnValue:
    if request.method == "GET":
        return form_page(detail(db(), resident_id))
    values = {**inputs.echoed(request.form), "camera_ids": request.form.getlist("camera_ids")}
    try:
        person = save_resident(db(), resident_id, values, partial=False)
    except NotFoundError:
        raise
    except AffectWatchError as exc:
        return form_page({**values, "id": resident_id, "cameras": _picked(values)}, str(exc), 400)
    flash(f"Resident {person.name} saved.", "success")
    return redirect(url_for("residents.show", resident_id=person.id))


def _picked(values: dict[str, Any]) -> list[dict[str, int]]:
    return [{"id": int(x)} for x in values.get("camera_ids", []) if str(x).isdigit()]


@bp.route("/<int:resident_id>/remove", methods=["POST"])
@requires(MANAGE)
def remove(resident_id: int) -> ResponseReturnValue:
    person = residents.remove_resident(db(), resident_id)
    flash(f"Resident {person.name} and their recorded expressions removed.", "success")
    return redirect(url_for("residents.index"))


@bp.route("/<int:resident_id>/pauses", methods=["POST"])
@requires(MANAGE)
def pause(resident_id: int) -> ResponseReturnValue:
    try:
        add_pause(db(), resident_id, request.form)
        flash("Monitoring paused.", "success")
    except NotFoundError:
        raise
    except AffectWatchError as exc:
        flash(f"Pause not saved: {exc}", "error")
    return redirect(url_for("residents.show", resident_id=resident_id))


@bp.route("/<int:resident_id>/pauses/<int:pause_id>/end", methods=["POST"])
@requires(MANAGE)
def end_pause(resident_id: int, pause_id: int) -> ResponseReturnValue:
    if not q.end_pause(db(), resident_id, pause_id, now()):
        raise NotFoundError(f"resident {resident_id} has no current or planned pause {pause_id}")
    flash("Monitoring resumed.", "success")
    return redirect(url_for("residents.show", resident_id=resident_id))


@bp.route("/<int:resident_id>/thresholds", methods=["POST"])
@requires(MANAGE)
def thresholds(resident_id: int) -> ResponseReturnValue:
    residents.get_resident(db(), resident_id)
    try:
        q.set_thresholds(db(), resident_id, inputs.thresholds(request.form), int(g.user["id"]))
        flash("Alert thresholds saved.", "success")
    except AffectWatchError as exc:
        flash(f"Thresholds not saved: {exc}", "error")
    return redirect(url_for("residents.show", resident_id=resident_id))


UPLOAD_BYTES = 30 * 1024 * 1024  # an enrolment's photos together (other requests keep the app's 2 MB)


@bp.url_value_preprocessor
def allow_photos(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """Enrolment uploads may be larger than other requests: set before the CSRF check reads the form."""
    if endpoint == "residents.enrol":
        request.max_content_length = UPLOAD_BYTES


ENROL_WAIT_SECONDS = 120  # how long the page waits for a worker to take the templates


@bp.route("/<int:resident_id>/enrolment", methods=["POST"])
@requires(MANAGE)
def enrol(resident_id: int) -> ResponseReturnValue:
    """Face templates from uploaded photos, under the consent typed in the form; the photos are not kept.

    The dashboard runs no models: the photos go to a worker as a job at the front of the frame queue, and the
    page waits for its answer (the photos live in Redis only until the job is done)."""
    residents.get_resident(db(), resident_id)
    db().commit()  # nothing of this request's transaction is held while a worker stores the templates
    try:
        consent = identity.check_consent(identity.Consent(
            inputs.text(request.form, "consent_by"), datetime.now(UTC),
            inputs.text(request.form, "on_behalf_of") or "the resident", str(g.user["username"])))
        photos = [shared_identity.Photo(f.filename or f"photo {i + 1}", f.read(shared_identity.MAX_PHOTO_BYTES + 1))
                  for i, f in enumerate(request.files.getlist("photos")) if f.filename]
        if any(len(p.data) > shared_identity.MAX_PHOTO_BYTES for p in photos):
            raise ValidationError(f"a photo is larger than {shared_identity.MAX_PHOTO_BYTES // 1_000_000} MB")
        if not photos:
            raise ValidationError("no photos to enrol")
        answer = _by_a_worker(shared_identity.EnrolmentRequest(resident_id, consent, audit.request_actor(), photos))
        flash(f"{answer} face template(s) taken from {len(photos)} photo(s); the photos were not kept.", "success")
    except AffectWatchError as exc:
        flash(f"Not enrolled: {exc}", "error")
    return redirect(url_for("residents.show", resident_id=resident_id))


def _by_a_worker(req: shared_identity.EnrolmentRequest) -> int:
    """Have a worker carry out the enrolment; the number of templates stored, or the worker's refusal raised."""
    job = frame_queue(config(), redis_conn()).enqueue(
        ENROL_FACES, req.to_json(), at_front=True, result_ttl=300, failure_ttl=300,
        job_timeout=ENROL_WAIT_SECONDS, ttl=ENROL_WAIT_SECONDS)
    deadline = time.monotonic() + ENROL_WAIT_SECONDS
    result = job.latest_result()
    while result is None and time.monotonic() < deadline:
        time.sleep(0.25)
        result = job.latest_result()
    job.delete()  # the photos leave Redis with it: answered, or given up on
    if result is None:
        raise ValidationError(f"no worker answered within {ENROL_WAIT_SECONDS} s (is a worker running?); the "
                              "photos were dropped: see the template count below before trying again")
    if result.type != result.Type.SUCCESSFUL or not isinstance(result.return_value, dict):
        raise ValidationError(f"the worker failed: {(result.exc_string or '').strip().splitlines()[-1:]}")
    if "error" in result.return_value:
        raise ValidationError(str(result.return_value["error"]))
    return int(result.return_value["templates"])


@bp.route("/<int:resident_id>/enrolment/remove", methods=["POST"])
@requires(MANAGE)
def unenrol(resident_id: int) -> ResponseReturnValue:
    from affectwatch.identity import unenrol as remove_templates

    residents.get_resident(db(), resident_id)
    n = remove_templates(db(), resident_id, audit.request_actor())
    flash(f"{n} face template(s) removed; faces are no longer matched to this resident.", "success")
    return redirect(url_for("residents.show", resident_id=resident_id))
