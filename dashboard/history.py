"""Resident history: the share of each expression per hour or day, the distribution over a range,
the alerts on the same time axis (charts drawn by Chart.js in static/history.js), and CSV export.

Counts come from the hourly aggregates of migrations/0004 (affectwatch.queries.history), refreshed
every minute or so by the history upkeep; buckets are hours or days in the home's time zone as the
aggregates know it (history_site), so the dashboard and analysts' SQL agree.
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, render_template, request
from flask.typing import ResponseReturnValue

from affectwatch import audit
from affectwatch.exceptions import FieldErrors
from affectwatch.labels import LABELS
from affectwatch.queries import history as hq
from affectwatch.queries import residents
from dashboard import alert_feed, inputs
from dashboard.auth import requires
from dashboard.context import db, now

bp = Blueprint("history", __name__, url_prefix="/history")
HOURLY_MAX_DAYS = 31
BUCKETS = ("hour", "day")
Conn = Any


def bucket_starts(start: datetime, end: datetime, bucket: str, tz: ZoneInfo) -> list[datetime]:
    """Every hour or local day that overlaps [start, end), as aware local times."""
    local = start.astimezone(tz)
    t = local.replace(minute=0, second=0, microsecond=0)
    if bucket == "day":
        t = t.replace(hour=0)
    out = []
    while t < end:
        out.append(t)
        t = _next(t, bucket, tz)
    return out


def _next(t: datetime, bucket: str, tz: ZoneInfo) -> datetime:
    if bucket == "hour":
        return (t.astimezone(ZoneInfo("UTC")) + timedelta(hours=1)).astimezone(tz)
    day = (t.replace(tzinfo=None) + timedelta(days=1)).replace(hour=0)
    return day.replace(tzinfo=tz)


def parse_request(values: inputs.Values, tz: ZoneInfo) -> tuple[datetime, datetime, str]:
    start, end = inputs.time_range(values, now(), tz)
    bucket = inputs.choice(values, "bucket", BUCKETS, "hour" if end - start <= timedelta(days=3) else "day")
    if bucket == "hour" and end - start > timedelta(days=HOURLY_MAX_DAYS):
        raise FieldErrors({"bucket": f"hourly buckets cover at most {HOURLY_MAX_DAYS} days; choose day"})
    return start, end, bucket


def series(conn: Conn, resident_id: int, start: datetime, end: datetime, bucket: str, tz: ZoneInfo
           ) -> dict[str, Any]:
    """Counts and shares of each label per bucket (gaps filled with zeros) and the alerts per bucket."""
    starts = bucket_starts(start, end, bucket, tz)
    index = {t: i for i, t in enumerate(starts)}
    counts = {label: [0] * len(starts) for label in LABELS}
    for row in hq.expression_counts(conn, resident_id, start, end, bucket):
        i = index.get(row["bucket"].astimezone(tz))
        if i is not None:
            counts[row["expression"]][i] += int(row["n"])
    totals = [sum(counts[label][i] for label in LABELS) for i in range(len(starts))]
    shares = {label: [round(n / t, 4) if t else None for n, t in zip(c, totals, strict=True)]
              for label, c in counts.items()}
    alerts = alert_feed.in_range(conn, resident_id, start, end)
    per_bucket = [0] * len(starts)
    for a in alerts:
        i = _bucket_of(a["started_at"], starts)
        if i is not None:
            per_bucket[i] += 1
    return {"buckets": [t.isoformat() for t in starts], "counts": counts, "totals": totals, "shares": shares,
            "alerts_per_bucket": per_bucket, "alerts": alerts,
            "uncounted": hq.uncounted_faces(conn, resident_id, start, end),
            "distribution": {label: sum(counts[label]) for label in LABELS}}


def _bucket_of(t: datetime, starts: list[datetime]) -> int | None:
    i = bisect_right(starts, t) - 1
    return i if i >= 0 else None


def history(conn: Conn, resident_id: int, values: inputs.Values) -> dict[str, Any]:
    person = residents.get_resident(conn, resident_id)
    site = hq.site(conn)
    tz = ZoneInfo(str(site["timezone"]))
    start, end, bucket = parse_request(values, tz)
    return {"resident": {"id": person.id, "name": person.name, "room": person.room},
            "from": start, "to": end, "bucket": bucket, "timezone": str(site["timezone"]), "labels": list(LABELS),
            "aggregates_refreshed_at": site["refreshed_at"], **series(conn, resident_id, start, end, bucket, tz)}


def csv_response(data: dict[str, Any]) -> Response:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["bucket_start", "faces", *[f"n_{x}" for x in LABELS], *[f"share_{x}" for x in LABELS],
                     "alerts"])
    for i, start in enumerate(data["buckets"]):
        shares = [data["shares"][x][i] for x in LABELS]
        writer.writerow([start, data["totals"][i], *[data["counts"][x][i] for x in LABELS],
                         *["" if s is None else f"{s:.4f}" for s in shares], data["alerts_per_bucket"][i]])
    name = f"resident-{data['resident']['id']}-{data['bucket']}-{data['from']:%Y%m%d}-{data['to']:%Y%m%d}.csv"
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def audited_csv(resident_id: int, data: dict[str, Any]) -> Response:
    """The CSV export, recorded in the audit log."""
    response = csv_response(data)
    what = f"CSV by {data['bucket']}, {data['from']:%Y-%m-%d %H:%M} to {data['to']:%Y-%m-%d %H:%M}"
    audit.record(db(), audit.request_actor(), "export", resident_id, what)
    return response


@bp.route("/")
@requires("history:view")
def index() -> ResponseReturnValue:
    return render_template("history/index.html", residents=residents.list_residents(db()))


@bp.route("/<int:resident_id>")
@requires("history:view")
def resident(resident_id: int) -> ResponseReturnValue:
    try:
        data = history(db(), resident_id, request.args)
    except FieldErrors as exc:
        person = residents.get_resident(db(), resident_id)
        return render_template("history/resident.html", data=None, resident=person, error=str(exc)), 400
    audit.record(db(), audit.request_actor(), "view", resident_id, "history page")
    return render_template("history/resident.html", data=data, resident=data["resident"], error="")


@bp.route("/<int:resident_id>.csv")
@requires("history:export")
def export(resident_id: int) -> ResponseReturnValue:
    return audited_csv(resident_id, history(db(), resident_id, request.args))
