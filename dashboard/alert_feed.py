"""Alerts as the dashboard shows them: one-line summaries, filters, the live feed and the history axis.

Built on affectwatch.queries.alerts (the alert engine's module); the dashboard adds no alert SQL of its
own beyond the camera filter in affectwatch.queries.dashboard.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from affectwatch.alerts import telemetry
from affectwatch.queries import alerts as aq
from affectwatch.queries import dashboard as dq
from affectwatch.queries.snapshots import snapshot_expiry
from dashboard import inputs

Conn = Any
FEED_EVENTS = ("opened", "escalated")
PAGE_SIZE = 100


def summary(a: aq.Alert) -> str:
    who = a.resident_name or "an unassigned camera"
    if a.kind == "camera_offline":
        return f"camera {a.camera_name or a.camera_id} sends no frames ({who})"
    share = f"{a.peak_share or a.negative_share or 0:.0%}"
    mood = f", mostly {a.dominant_expression}" if a.dominant_expression else ""
    return f"{who}: {share} negative expressions over {a.n_faces} faces{mood}"


def as_row(a: aq.Alert) -> dict[str, Any]:
    return {**asdict(a), "summary": summary(a), "started_at": a.window_start}


def parse_filters(values: inputs.Values, zone: ZoneInfo) -> dict[str, Any]:
    errors = inputs.Errors()
    state = inputs.text(values, "state", "active") or "active"
    states = {"active": list(aq.ACTIVE), "all": []}.get(state, [state])
    if state not in (*aq.STATES, "active", "all"):
        errors["state"] = "must be active, open, acknowledged, resolved or all"
    filters = {"state": state, "states": states,
               "resident_id": inputs.optional_id(values, "resident_id", errors),
               "camera_id": inputs.optional_id(values, "camera_id", errors),
               "since": inputs.moment(values, "from", zone, errors),
               "until": inputs.moment(values, "to", zone, errors, end_of_day=True)}
    errors.raise_any()
    return filters


def listing(conn: Conn, f: dict[str, Any], limit: int = PAGE_SIZE) -> list[dict[str, Any]]:
    if f["camera_id"] is not None:
        found = dq.alerts_for_camera(conn, f["camera_id"], f["states"], f["since"], f["until"], limit)
        found = [a for a in found if f["resident_id"] is None or a.resident_id == f["resident_id"]]
    else:
        found = aq.list_alerts(conn, states=f["states"], resident_id=f["resident_id"], since=f["since"],
                               until=f["until"], limit=limit)
    return [as_row(a) for a in found]


def detail(conn: Conn, alert_id: int, now: datetime) -> dict[str, Any]:
    """The alert, its events, and when its face-crop snapshot expires (None: it has none)."""
    return {**as_row(aq.get_alert(conn, alert_id)), "events": [asdict(e) for e in aq.alert_events(conn, alert_id)],
            "snapshot_expires": snapshot_expiry(conn, alert_id, now)}


def feed(conn: Conn, after: int | None) -> dict[str, Any]:
    """Alerts opened or escalated after event `after` (none on the first call, which only gives the mark)."""
    last = aq.latest_event_id(conn)
    new: dict[int, dict[str, Any]] = {}
    if after is not None:
        for event in aq.events_after(conn, after, limit=200):
            if event.kind in FEED_EVENTS and event.alert_id not in new:
                new[event.alert_id] = as_row(aq.get_alert(conn, event.alert_id))
    return {"last_id": last, "open_count": aq.count_alerts(conn, states=["open"]),
            "active_count": aq.count_active(conn), "alerts": sorted(new.values(), key=lambda r: -r["id"])}


def in_range(conn: Conn, resident_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The resident's alerts opened in [start, end), oldest first, for the history chart."""
    found = aq.list_alerts(conn, resident_id=resident_id, since=start, until=end, limit=1000)
    return [{"id": a.id, "state": a.state, "started_at": a.window_start, "opened_at": a.opened_at,
             "summary": summary(a)} for a in reversed(found)]


def acknowledge(conn: Conn, alert_id: int, user: dict[str, Any], note: str, at: datetime) -> aq.Alert:
    with conn.transaction():
        alert = aq.acknowledge(conn, alert_id, actor=user["username"], note=note, user_id=int(user["id"]), now=at)
    telemetry.count_changes(alert.kind, ["acknowledged"])
    return alert


def resolve(conn: Conn, alert_id: int, user: dict[str, Any], note: str, at: datetime) -> aq.Alert:
    with conn.transaction():
        alert = aq.resolve(conn, alert_id, actor=user["username"], note=note, user_id=int(user["id"]), now=at)
    telemetry.count_changes(alert.kind, ["resolved"])
    return alert
