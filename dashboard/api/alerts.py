"""Alerts through the API: list and filter, the live feed, acknowledge with a note, resolve."""

from __future__ import annotations

from flask import g, request
from flask.typing import ResponseReturnValue

from dashboard import alert_feed, inputs
from dashboard.api import bp
from dashboard.auth import requires
from dashboard.context import db, now, zone
from dashboard.jsonio import body


@bp.get("/alerts")
@requires("alerts:view")
def alerts_list() -> ResponseReturnValue:
    filters = alert_feed.parse_filters(request.args, zone())
    limit = inputs.number(request.args, "limit", int, inputs.Errors(), 1, 1000) or alert_feed.PAGE_SIZE
    return {"alerts": alert_feed.listing(db(), filters, limit)}


@bp.get("/alerts/feed")
@requires("alerts:view")
def alerts_feed() -> ResponseReturnValue:
    """New alerts since event `after` (the last_id of the previous answer); polled by every open page."""
    errors = inputs.Errors()
    after = inputs.number(request.args, "after", int, errors, 0)
    errors.raise_any()
    return alert_feed.feed(db(), after)


@bp.get("/alerts/<int:alert_id>")
@requires("alerts:view")
def alerts_get(alert_id: int) -> ResponseReturnValue:
    return alert_feed.detail(db(), alert_id, now())


@bp.post("/alerts/<int:alert_id>/acknowledge")
@requires("alerts:ack")
def alerts_acknowledge(alert_id: int) -> ResponseReturnValue:
    alert = alert_feed.acknowledge(db(), alert_id, g.user, inputs.text(body(), "note"), now())
    return alert_feed.as_row(alert)


@bp.post("/alerts/<int:alert_id>/resolve")
@requires("alerts:ack")
def alerts_resolve(alert_id: int) -> ResponseReturnValue:
    alert = alert_feed.resolve(db(), alert_id, g.user, inputs.text(body(), "note"), now())
    return alert_feed.as_row(alert)
