"""The start page: at a glance, which residents need attention, and (for administrators) which cameras."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from affectwatch.queries import alerts as aq
from affectwatch.queries import dashboard as q
from affectwatch.queries import residents
from dashboard import alert_feed
from dashboard.auth import can, requires
from dashboard.context import config, db, now
from dashboard.health import camera_rows

bp = Blueprint("overview", __name__)
SEEN_WITHIN = timedelta(hours=24)
ORDER = {"alert": 0, "acknowledged": 1, "paused": 2, "unmonitored": 4, "ok": 3}
Conn = Any


def resident_board(conn: Conn) -> list[dict[str, Any]]:
    """Every resident with what needs attention first: open alert, acknowledged, paused, fine."""
    t = now()
    active = {a.resident_id: a for a in aq.active_alerts(conn, "expression")}
    pauses = q.current_pauses(conn, t)
    seen = q.last_seen(conn, t - SEEN_WITHIN)
    board = []
    for r in residents.list_residents(conn):
        alert = active.get(r.id)
        status = ("alert" if alert and alert.state == "open" else "acknowledged" if alert
                  else "unmonitored" if not r.monitored else "paused" if r.id in pauses else "ok")
        board.append({"id": r.id, "name": r.name, "room": r.room, "status": status,
                      "alert": alert_feed.as_row(alert) if alert else None, "pause": pauses.get(r.id),
                      "last_seen": seen.get(r.id)})
    return sorted(board, key=lambda b: (ORDER[b["status"]], b["name"]))


@bp.route("/")
@requires("home")
def home() -> ResponseReturnValue:
    return redirect(url_for("overview.dashboard" if can("overview") else "history.index"))


@bp.route("/overview")
@requires("overview")
def dashboard() -> ResponseReturnValue:
    problems = []
    if can("cameras:manage"):
        problems = [c for c in camera_rows(db(), now(), config()) if c["enabled"] and c["state"] != "online"]
    return render_template("overview.html", board=resident_board(db()), camera_problems=problems,
                           offline=aq.active_alerts(db(), "camera_offline"))
