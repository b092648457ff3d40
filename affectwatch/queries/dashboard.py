"""Queries only the dashboard needs: monitoring pauses, alert-threshold overrides, the processing rate,
residents last seen, the alert list's camera filter. Cameras, residents, users, alerts and history have
their own modules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]
Row = dict[str, Any]

PAUSE_COLUMNS = "id, resident_id, starts_at, ends_at, reason, note, created_by, created_at"
THRESHOLDS = ("window_seconds", "negative_share", "min_faces", "cooldown_seconds", "close_share", "baseline",
              "baseline_margin", "offline_seconds", "min_span_seconds", "min_minutes")


def _one(row: Row | None) -> Row:
    assert row is not None, "INSERT ... RETURNING and aggregates return a row"
    return row


def add_pause(conn: Conn, resident_id: int, starts_at: datetime, ends_at: datetime, reason: str, note: str,
              user_id: int | None) -> int:
    row = conn.execute(
        "INSERT INTO monitoring_pauses (resident_id, starts_at, ends_at, reason, note, created_by)"
        " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (resident_id, starts_at, ends_at, reason, note, user_id),
    ).fetchone()
    return int(_one(row)["id"])


def list_pauses(conn: Conn, resident_id: int, ending_after: datetime) -> list[Row]:
    """The resident's pauses that end after the given time (current and planned), earliest first."""
    return list(conn.execute(
        f"SELECT {PAUSE_COLUMNS} FROM monitoring_pauses WHERE resident_id = %s AND ends_at > %s ORDER BY starts_at",
        (resident_id, ending_after),
    ).fetchall())


def current_pauses(conn: Conn, at: datetime) -> dict[int, Row]:
    """Resident id -> the pause in force at `at` (the one ending last, if several)."""
    rows = conn.execute(
        f"SELECT DISTINCT ON (resident_id) {PAUSE_COLUMNS} FROM monitoring_pauses"
        " WHERE starts_at <= %(at)s AND ends_at > %(at)s ORDER BY resident_id, ends_at DESC",
        {"at": at},
    ).fetchall()
    return {int(r["resident_id"]): r for r in rows}


def end_pause(conn: Conn, resident_id: int, pause_id: int, at: datetime) -> bool:
    """End a pause now: one in force is cut short, one not yet begun is removed. False if none."""
    cur = conn.execute(
        "DELETE FROM monitoring_pauses WHERE id = %(id)s AND resident_id = %(r)s AND starts_at >= %(at)s",
        {"id": pause_id, "r": resident_id, "at": at},
    )
    if cur.rowcount:
        return True
    cur = conn.execute(
        "UPDATE monitoring_pauses SET ends_at = %(at)s WHERE id = %(id)s AND resident_id = %(r)s AND ends_at > %(at)s",
        {"id": pause_id, "r": resident_id, "at": at},
    )
    return cur.rowcount == 1


def get_thresholds(conn: Conn, resident_id: int) -> Row:
    """The resident's overrides; a threshold not overridden is None."""
    row = conn.execute(
        f"SELECT {', '.join(THRESHOLDS)}, updated_at FROM resident_alert_thresholds WHERE resident_id = %s",
        (resident_id,),
    ).fetchone()
    return row or {**dict.fromkeys(THRESHOLDS), "updated_at": None}


UPSERT_THRESHOLDS = (
    f"INSERT INTO resident_alert_thresholds (resident_id, updated_by, {', '.join(THRESHOLDS)})"
    f" VALUES (%(r)s, %(u)s, {', '.join(f'%({k})s' for k in THRESHOLDS)})"
    " ON CONFLICT (resident_id) DO UPDATE SET updated_by = EXCLUDED.updated_by, updated_at = now(), "
    + ", ".join(f"{k} = EXCLUDED.{k}" for k in THRESHOLDS)
)


def set_thresholds(conn: Conn, resident_id: int, values: Row, user_id: int | None) -> None:
    """Store the overrides (None: use the default); all None removes the row."""
    if all(values.get(k) is None for k in THRESHOLDS):
        conn.execute("DELETE FROM resident_alert_thresholds WHERE resident_id = %s", (resident_id,))
        return
    conn.execute(UPSERT_THRESHOLDS, {**{k: values.get(k) for k in THRESHOLDS}, "r": resident_id, "u": user_id})


def processing_rate(conn: Conn, since: datetime) -> Row:
    """Frames processed since `since`, faces found in them, mean latency (ms) and the last one's time."""
    row = conn.execute(
        "SELECT count(*) AS frames, coalesce(sum(n_faces), 0) AS faces, avg(latency_ms) AS latency_ms,"
        " max(processed_at) AS last_at FROM frames WHERE processed_at >= %(since)s AND status = 'processed'"
        " AND captured_at >= %(since)s - interval '1 hour'",
        {"since": since},
    ).fetchone()
    return _one(row)


def last_seen(conn: Conn, since: datetime) -> dict[int, Row]:
    """Resident id -> time and expression of their latest face since `since`."""
    rows = conn.execute(
        "SELECT DISTINCT ON (resident_id) resident_id, captured_at, expression FROM faces"
        " WHERE resident_id IS NOT NULL AND captured_at >= %s ORDER BY resident_id, captured_at DESC",
        (since,),
    ).fetchall()
    return {int(r["resident_id"]): r for r in rows}


def alerts_for_camera(conn: Conn, camera_id: int, states: list[str], since: datetime | None,
                      until: datetime | None, limit: int) -> list[Any]:
    """Alerts raised on one camera (newest first): the alert list's camera filter, with alerts.py's columns."""
    from psycopg import sql
    from psycopg.rows import class_row

    from affectwatch.queries.alerts import ALERT_COLUMNS, ALERT_FROM, Alert

    query = sql.SQL(
        "SELECT {} FROM {} WHERE a.camera_id = %(camera)s AND (cardinality(%(states)s::text[]) = 0"
        " OR a.state = ANY(%(states)s)) AND (%(since)s::timestamptz IS NULL OR a.opened_at >= %(since)s)"
        " AND (%(until)s::timestamptz IS NULL OR a.opened_at < %(until)s)"
        " ORDER BY a.opened_at DESC, a.id DESC LIMIT %(limit)s"
    ).format(ALERT_COLUMNS, ALERT_FROM)
    params = {"camera": camera_id, "states": states, "since": since, "until": until, "limit": limit}
    return conn.cursor(row_factory=class_row(Alert)).execute(query, params).fetchall()


ALERT_PAGE_WHERE = (
    "(cardinality(%(states)s::text[]) = 0 OR a.state = ANY(%(states)s))"
    " AND (%(resident)s::bigint IS NULL OR a.resident_id = %(resident)s)"
    " AND (%(camera)s::bigint IS NULL OR a.camera_id = %(camera)s)"
    " AND (%(since)s::timestamptz IS NULL OR a.opened_at >= %(since)s)"
    " AND (%(until)s::timestamptz IS NULL OR a.opened_at < %(until)s)"
)


def alert_page(conn: Conn, filters: dict[str, Any], before: tuple[datetime, int] | None, limit: int) -> list[Any]:
    """Alerts newest first (opened_at, id), filtered like the alert list, after the key `before` (a cursor)."""
    from psycopg import sql
    from psycopg.rows import class_row

    from affectwatch.queries.alerts import ALERT_COLUMNS, ALERT_FROM, Alert

    query = sql.SQL(
        "SELECT {} FROM {} WHERE " + ALERT_PAGE_WHERE
        + " AND (%(b_at)s::timestamptz IS NULL OR (a.opened_at, a.id) < (%(b_at)s, %(b_id)s::bigint))"
        " ORDER BY a.opened_at DESC, a.id DESC LIMIT %(limit)s"
    ).format(ALERT_COLUMNS, ALERT_FROM)
    params = {**_alert_params(filters), "b_at": before[0] if before else None, "b_id": before[1] if before else None,
              "limit": limit}
    return conn.cursor(row_factory=class_row(Alert)).execute(query, params).fetchall()


def count_alert_page(conn: Conn, filters: dict[str, Any]) -> int:
    row = conn.execute("SELECT count(*) AS n FROM alerts a WHERE " + ALERT_PAGE_WHERE, _alert_params(filters))
    found = row.fetchone()
    return int(found["n"] if isinstance(found, dict) else found[0]) if found else 0


def _alert_params(f: dict[str, Any]) -> dict[str, Any]:
    return {"states": list(f["states"]), "resident": f["resident_id"], "camera": f["camera_id"], "since": f["since"],
            "until": f["until"]}
