"""Alert pages: open, acknowledged and resolved alerts, filtered; acknowledge with a note; resolve."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from affectwatch import audit, snapshots
from affectwatch.exceptions import AffectWatchError, NotFoundError
from affectwatch.queries import cameras, residents
from dashboard import alert_feed, inputs
from dashboard.auth import requires
from dashboard.context import db, now, zone

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


def back() -> str:
    target = request.form.get("back", "")
    return target if target.startswith("/") and not target.startswith("//") else url_for("alerts.index")


@bp.route("/")
@requires("alerts:view")
def index() -> ResponseReturnValue:
    filters = alert_feed.parse_filters(request.args, zone())
    return render_template("alerts/list.html", alerts=alert_feed.listing(db(), filters), filters=filters,
                           residents=residents.list_residents(db()), cameras=cameras.list_cameras(db()))


@bp.route("/<int:alert_id>")
@requires("alerts:view")
def show(alert_id: int) -> ResponseReturnValue:
    return render_template("alerts/show.html", alert=alert_feed.detail(db(), alert_id, now()))


@bp.route("/<int:alert_id>/snapshot.jpg")
@requires("alerts:view")
def snapshot(alert_id: int) -> ResponseReturnValue:
    """The alert's face-crop snapshot (until it expires); each look is written to the audit log."""
    shot = snapshots.shown(db(), alert_id, audit.request_actor(), now())
    if shot is None:
        abort(404)
    return Response(shot.jpeg, mimetype="image/jpeg", headers={"Cache-Control": "no-store, private"})


@bp.route("/<int:alert_id>/acknowledge", methods=["POST"])
@requires("alerts:ack")
def acknowledge(alert_id: int) -> ResponseReturnValue:
    try:
        alert_feed.acknowledge(db(), alert_id, g.user, inputs.text(request.form, "note"), now())
        flash(f"Alert {alert_id} acknowledged.", "success")
    except NotFoundError:
        raise
    except AffectWatchError as exc:
        flash(str(exc), "error")
    return redirect(back())


@bp.route("/<int:alert_id>/resolve", methods=["POST"])
@requires("alerts:ack")
def resolve(alert_id: int) -> ResponseReturnValue:
    try:
        alert_feed.resolve(db(), alert_id, g.user, inputs.text(request.form, "note"), now())
        flash(f"Alert {alert_id} resolved.", "success")
    except NotFoundError:
        raise
    except AffectWatchError as exc:
        flash(str(exc), "error")
    return redirect(back())
