"""Alerts through the API: list and filter, the live feed, acknowledge with a note, resolve."""

from __future__ import annotations

from datetime import datetime

from flask import g, request
from flask.typing import ResponseReturnValue

from affectwatch.exceptions import FieldErrors
from affectwatch.queries import dashboard as dq
from dashboard import alert_feed, inputs
from dashboard.api import bp, paging
from dashboard.auth import requires
from dashboard.context import db, now, zone
from dashboard.jsonio import body


@bp.get("/alerts")
@requires("alerts:view")
def alerts_list() -> ResponseReturnValue:
    """A page of alerts, newest first (dashboard.api.paging: limit, cursor, total, next_cursor)."""
    filters = alert_feed.parse_filters(request.args, zone())
    size = paging.limit(request.args)
    after = paging.cursor(request.args, 2)
    try:
        before = (datetime.fromisoformat(str(after[0])), int(after[1])) if after else None
    except (TypeError, ValueError):
        raise FieldErrors({"cursor": "not a cursor of this list"}) from None
    found = dq.alert_page(db(), filters, before, size + 1)
    shown = found[:size]
    next_key = [shown[-1].opened_at.isoformat(), shown[-1].id] if len(found) > size else None
    return paging.answer("alerts", [alert_feed.as_row(a) for a in shown], dq.count_alert_page(db(), filters), size,
                         next_key)


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
