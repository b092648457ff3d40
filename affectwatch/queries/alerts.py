"""Alerts, their events, webhooks and deliveries (tables of migrations/0003_alerts.sql), and the face
windows the alert rule reads. Shared by the rule engine, the sweep, the command line and the dashboard.

Every function takes an open connection and leaves the transaction to the caller, except where it
says it runs in a savepoint. Staff actions (acknowledge, resolve) record an event; the alert
scheduler delivers it (webhooks, email) once it commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row, dict_row
from psycopg.types.json import Jsonb

from affectwatch.exceptions import AlertStateError, NotFoundError, ValidationError
from affectwatch.labels import LABELS

Conn = psycopg.Connection[Any]

KINDS = ("expression", "camera_offline")
STATES = ("open", "acknowledged", "resolved")
ACTIVE = ("open", "acknowledged")
NOTIFIED_EVENTS = ("opened", "escalated", "acknowledged", "resolved")
# The reason of an alert the engine took back: faces that arrived late show no window met the rule.
WITHDRAWN = "withdrawn: with late faces known, no window met the rule"


@dataclass(frozen=True)
class Alert:
    id: int
    kind: str
    state: str
    resident_id: int | None
    resident_name: str | None
    resident_room: str | None
    camera_id: int | None
    camera_name: str | None
    window_start: datetime
    window_end: datetime
    n_faces: int | None
    negative_share: float | None
    threshold: float | None
    baseline_share: float | None
    dominant_expression: str | None
    peak_share: float | None
    peak_at: datetime | None
    recovered_at: datetime | None
    decided_until: datetime | None
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_share: float | None
    resolved_at: datetime | None
    resolve_reason: str | None
    updated_at: datetime

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


@dataclass(frozen=True)
class AlertEvent:
    id: int
    alert_id: int
    kind: str
    at: datetime
    user_id: int | None
    actor: str
    note: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Delivery:
    id: int
    event_id: int
    alert_id: int
    channel: str
    webhook_id: int | None
    target: str
    state: str
    attempts: int
    max_attempts: int
    last_status: int | None
    last_error: str | None
    created_at: datetime
    enqueued_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class Webhook:
    id: int
    name: str
    url: str
    secret: str
    enabled: bool
    created_at: datetime


@dataclass(frozen=True)
class Overrides:
    """A resident's alert thresholds (resident_alert_thresholds); None: the configured default."""

    window_seconds: int | None = None
    negative_share: float | None = None
    min_faces: int | None = None
    cooldown_seconds: int | None = None
    close_share: float | None = None
    baseline: bool | None = None
    baseline_margin: float | None = None
    offline_seconds: int | None = None
    min_span_seconds: int | None = None
    min_minutes: int | None = None


ALERT_COLUMNS = sql.SQL("""a.id, a.kind, a.state, a.resident_id, r.name AS resident_name, r.room AS resident_room,
    a.camera_id, c.name AS camera_name, a.window_start, a.window_end, a.n_faces, a.negative_share, a.threshold,
    a.baseline_share, a.dominant_expression, a.peak_share, a.peak_at, a.recovered_at, a.decided_until, a.opened_at,
    a.acknowledged_at, a.acknowledged_by, a.ack_share, a.resolved_at, a.resolve_reason, a.updated_at""")
ALERT_FROM = sql.SQL("alerts a LEFT JOIN residents r ON r.id = a.resident_id LEFT JOIN cameras c ON c.id = a.camera_id")
EVENT_COLUMNS = "id, alert_id, kind, at, user_id, actor, note, details"
DELIVERY_COLUMNS = ("id, event_id, alert_id, channel, webhook_id, target, state, attempts, max_attempts, last_status,"
                    " last_error, created_at, enqueued_at, finished_at")
WEBHOOK_COLUMNS = "id, name, url, secret, enabled, created_at"


# ---- alerts as staff see them -------------------------------------------------------------------------------------

def get_alert(conn: Conn, alert_id: int, lock: bool = False) -> Alert:
    query = sql.SQL("SELECT {} FROM {} WHERE a.id = %(id)s{}").format(
        ALERT_COLUMNS, ALERT_FROM, sql.SQL(" FOR UPDATE OF a") if lock else sql.SQL(""))
    alert = _alerts(conn).execute(query, {"id": alert_id}).fetchone()
    if alert is None:
        raise NotFoundError(f"alert {alert_id} does not exist")
    return alert


def list_alerts(conn: Conn, *, states: Sequence[str] = (), kind: str | None = None, resident_id: int | None = None,
                since: datetime | None = None, until: datetime | None = None, limit: int = 100,
                offset: int = 0) -> list[Alert]:
    """Alerts, newest first, filtered by state(s), kind, resident and opening time [since, until)."""
    where, params = _filters(states, kind, resident_id, since, until)
    query = sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY a.opened_at DESC, a.id DESC LIMIT %(limit)s"
                    " OFFSET %(offset)s").format(ALERT_COLUMNS, ALERT_FROM, where)
    return _alerts(conn).execute(query, {**params, "limit": limit, "offset": offset}).fetchall()


def count_alerts(conn: Conn, *, states: Sequence[str] = (), kind: str | None = None, resident_id: int | None = None,
                 since: datetime | None = None, until: datetime | None = None) -> int:
    where, params = _filters(states, kind, resident_id, since, until)
    query = sql.SQL("SELECT count(*) AS n FROM alerts a WHERE {}").format(where)
    row = conn.cursor(row_factory=dict_row).execute(query, params).fetchone()
    return int(row["n"]) if row else 0


def _filters(states: Sequence[str], kind: str | None, resident_id: int | None, since: datetime | None,
             until: datetime | None) -> tuple[sql.Composable, dict[str, Any]]:
    bad = [s for s in states if s not in STATES] + ([kind] if kind is not None and kind not in KINDS else [])
    if bad:
        raise ValidationError(f"{bad[0]!r} is not an alert state ({', '.join(STATES)}) or kind ({', '.join(KINDS)})")
    params = {"states": list(states), "kind": kind, "resident": resident_id, "since": since, "until": until}
    tests = {"states": "a.state = ANY(%(states)s)", "kind": "a.kind = %(kind)s",
             "resident": "a.resident_id = %(resident)s", "since": "a.opened_at >= %(since)s",
             "until": "a.opened_at < %(until)s"}
    used = [sql.SQL(tests[k]) for k, v in params.items() if v not in (None, [])]
    return sql.SQL(" AND ").join([sql.SQL("true"), *used]), params


def acknowledge(conn: Conn, alert_id: int, *, actor: str, note: str = "", user_id: int | None = None,
                now: datetime | None = None) -> Alert:
    """Mark an open alert seen by `actor` (a user name) with a note; the peak it had is remembered."""
    alert = get_alert(conn, alert_id, lock=True)
    if alert.state != "open":
        raise AlertStateError(f"alert {alert_id} is {alert.state}; only an open alert can be acknowledged")
    conn.execute("UPDATE alerts SET state = 'acknowledged', acknowledged_at = coalesce(%(now)s, now()),"
                 " acknowledged_by = %(actor)s, ack_share = coalesce(peak_share, negative_share), updated_at = now()"
                 " WHERE id = %(id)s", {"id": alert_id, "now": now, "actor": _actor(actor)})
    add_event(conn, alert_id, "acknowledged", at=now, actor=actor, note=note, user_id=user_id)
    return get_alert(conn, alert_id)


def resolve(conn: Conn, alert_id: int, *, actor: str, note: str = "", user_id: int | None = None,
            now: datetime | None = None) -> Alert:
    """Close an alert by hand (the resident is fine, the camera was removed on purpose)."""
    alert = get_alert(conn, alert_id, lock=True)
    if alert.state == "resolved":
        raise AlertStateError(f"alert {alert_id} is already resolved")
    close_alert(conn, alert_id, now=now, reason=f"resolved by {_actor(actor)}" + (f": {note}" if note else ""))
    add_event(conn, alert_id, "resolved", at=now, actor=actor, note=note, user_id=user_id)
    return get_alert(conn, alert_id)


def _actor(actor: str) -> str:
    clean = actor.strip()
    if not 1 <= len(clean) <= 200:
        raise ValidationError("who acted must be named (1 to 200 characters)")
    return clean


def count_active(conn: Conn) -> int:
    row = conn.cursor(row_factory=dict_row).execute("SELECT count(*) AS n FROM alerts WHERE state <> 'resolved'"
                                                    ).fetchone()
    return int(row["n"]) if row else 0


# ---- events ---------------------------------------------------------------------------------------------------------

def add_event(conn: Conn, alert_id: int, kind: str, *, at: datetime | None = None, actor: str = "system",
              note: str = "", user_id: int | None = None, details: dict[str, Any] | None = None) -> int:
    if len(note) > 2000:
        raise ValidationError("a note may have at most 2000 characters")
    row = conn.cursor(row_factory=dict_row).execute(
        "INSERT INTO alert_events (alert_id, kind, at, user_id, actor, note, details)"
        " VALUES (%(alert)s, %(kind)s, coalesce(%(at)s, now()), %(user)s, %(actor)s, %(note)s, %(details)s)"
        " RETURNING id",
        {"alert": alert_id, "kind": kind, "at": at, "user": user_id, "actor": _actor(actor), "note": note.strip(),
         "details": Jsonb(details or {})}).fetchone()
    assert row is not None, "INSERT ... RETURNING returns a row"
    return int(row["id"])


def alert_events(conn: Conn, alert_id: int) -> list[AlertEvent]:
    """Everything that happened to an alert, oldest first."""
    return _events(conn).execute(f"SELECT {EVENT_COLUMNS} FROM alert_events WHERE alert_id = %s ORDER BY id",
                                 (alert_id,)).fetchall()


def events_after(conn: Conn, after_id: int, limit: int = 100) -> list[AlertEvent]:
    """Events recorded after the one with id after_id, oldest first: what a live view has not shown yet."""
    return _events(conn).execute(f"SELECT {EVENT_COLUMNS} FROM alert_events WHERE id > %s ORDER BY id LIMIT %s",
                                 (after_id, limit)).fetchall()


def latest_event_id(conn: Conn) -> int:
    row = conn.cursor(row_factory=dict_row).execute("SELECT coalesce(max(id), 0) AS id FROM alert_events").fetchone()
    return int(row["id"]) if row else 0


def get_event(conn: Conn, event_id: int) -> AlertEvent:
    event = _events(conn).execute(f"SELECT {EVENT_COLUMNS} FROM alert_events WHERE id = %s", (event_id,)).fetchone()
    if event is None:
        raise NotFoundError(f"alert event {event_id} does not exist")
    return event


# ---- webhooks -------------------------------------------------------------------------------------------------------

def add_webhook(conn: Conn, url: str, secret: str, name: str = "") -> Webhook:
    """Register an endpoint every alert change is posted to (runs in a savepoint)."""
    if not url.startswith(("http://", "https://")) or any(c.isspace() for c in url) or len(url) > 2000:
        raise ValidationError(f"{url!r} is not an http:// or https:// URL")
    if not 16 <= len(secret) <= 500:
        raise ValidationError("a webhook secret must have 16 to 500 characters")
    try:
        with conn.transaction():
            hook = _webhooks(conn).execute(
                f"INSERT INTO alert_webhooks (name, url, secret) VALUES (%s, %s, %s) RETURNING {WEBHOOK_COLUMNS}",
                (name.strip(), url, secret)).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise ValidationError(f"a webhook for {url} is already registered") from exc
    assert hook is not None, "INSERT ... RETURNING returns a row"
    return hook


def list_webhooks(conn: Conn, enabled_only: bool = False) -> list[Webhook]:
    where = " WHERE enabled" if enabled_only else ""
    return _webhooks(conn).execute(f"SELECT {WEBHOOK_COLUMNS} FROM alert_webhooks{where} ORDER BY id").fetchall()


def set_webhook_enabled(conn: Conn, webhook_id: int, enabled: bool) -> Webhook:
    hook = _webhooks(conn).execute(f"UPDATE alert_webhooks SET enabled = %s WHERE id = %s RETURNING {WEBHOOK_COLUMNS}",
                                   (enabled, webhook_id)).fetchone()
    if hook is None:
        raise NotFoundError(f"webhook {webhook_id} does not exist")
    return hook


def remove_webhook(conn: Conn, webhook_id: int) -> Webhook:
    hook = _webhooks(conn).execute(f"DELETE FROM alert_webhooks WHERE id = %s RETURNING {WEBHOOK_COLUMNS}",
                                   (webhook_id,)).fetchone()
    if hook is None:
        raise NotFoundError(f"webhook {webhook_id} does not exist")
    return hook


# ---- deliveries -----------------------------------------------------------------------------------------------------

def alert_deliveries(conn: Conn, alert_id: int) -> list[Delivery]:
    return _deliveries(conn).execute(f"SELECT {DELIVERY_COLUMNS} FROM alert_deliveries WHERE alert_id = %s"
                                     " ORDER BY id", (alert_id,)).fetchall()


def undispatched_events(conn: Conn, limit: int = 100) -> list[AlertEvent]:
    """Changes staff are told about whose deliveries are not yet created, locked (others skip them)."""
    return _events(conn).execute(
        f"SELECT {EVENT_COLUMNS} FROM alert_events WHERE dispatched_at IS NULL AND kind = ANY(%s)"
        " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED", (list(NOTIFIED_EVENTS), limit)).fetchall()


def mark_dispatched(conn: Conn, event_id: int) -> None:
    conn.execute("UPDATE alert_events SET dispatched_at = now() WHERE id = %s", (event_id,))


def add_delivery(conn: Conn, event: AlertEvent, channel: str, target: str, webhook_id: int | None,
                 max_attempts: int) -> int | None:
    """A delivery of the event to one destination; None when that one exists already."""
    row = conn.cursor(row_factory=dict_row).execute(
        "INSERT INTO alert_deliveries (event_id, alert_id, channel, webhook_id, target, max_attempts)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (event_id, channel, target) DO NOTHING RETURNING id",
        (event.id, event.alert_id, channel, webhook_id, target, max_attempts)).fetchone()
    return int(row["id"]) if row else None


def deliveries_to_enqueue(conn: Conn, stale: timedelta, limit: int = 500) -> list[int]:
    """Unfinished deliveries never put on the queue, or put there longer ago than `stale` (their job was lost)."""
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT id FROM alert_deliveries WHERE state IN ('pending', 'retrying')"
        " AND (enqueued_at IS NULL OR enqueued_at < now() - %s) ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
        (stale, limit)).fetchall()
    return [int(r["id"]) for r in rows]


def mark_enqueued(conn: Conn, delivery_id: int) -> None:
    conn.execute("UPDATE alert_deliveries SET enqueued_at = now() WHERE id = %s", (delivery_id,))


def lock_delivery(conn: Conn, delivery_id: int) -> Delivery | None:
    """The delivery, locked for sending; None when it is gone or another job is sending it right now."""
    return _deliveries(conn).execute(f"SELECT {DELIVERY_COLUMNS} FROM alert_deliveries WHERE id = %s"
                                     " FOR UPDATE SKIP LOCKED", (delivery_id,)).fetchone()


def get_delivery(conn: Conn, delivery_id: int) -> Delivery:
    found = _deliveries(conn).execute(f"SELECT {DELIVERY_COLUMNS} FROM alert_deliveries WHERE id = %s",
                                      (delivery_id,)).fetchone()
    if found is None:
        raise NotFoundError(f"delivery {delivery_id} does not exist")
    return found


def record_attempt(conn: Conn, delivery_id: int, state: str, status: int | None, error: str | None) -> None:
    conn.execute(
        "UPDATE alert_deliveries SET attempts = attempts + 1, state = %(state)s, last_status = %(status)s,"
        " last_error = %(error)s, finished_at = CASE WHEN %(state)s IN ('delivered', 'failed') THEN now() END"
        " WHERE id = %(id)s",
        {"id": delivery_id, "state": state, "status": status, "error": None if error is None else error[:2000]})


def get_webhook(conn: Conn, webhook_id: int) -> Webhook | None:
    return _webhooks(conn).execute(f"SELECT {WEBHOOK_COLUMNS} FROM alert_webhooks WHERE id = %s",
                                   (webhook_id,)).fetchone()


# ---- the rule engine's reads and writes -----------------------------------------------------------------------------

# The first key of the advisory locks that serialise evaluations of one resident ("Alrt").
RESIDENT_LOCK = 0x416C7274


def lock_resident(conn: Conn, resident_id: int) -> bool | None:
    """Take the resident's evaluation lock until the transaction ends; whether they are monitored, None
    if gone.

    A transaction-scoped advisory lock keyed by the resident: evaluations of one resident run one at a
    time, whichever workers race. It blocks nothing else (inserting the resident's faces takes KEY SHARE
    locks on their row, which a row lock could deadlock with) and needs no UPDATE privilege on residents.
    """
    conn.execute("SELECT pg_advisory_xact_lock(%s, %s::integer)", (RESIDENT_LOCK, resident_id % 2**31))
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT monitored FROM residents WHERE id = %s", (resident_id,)).fetchone()
    return None if row is None else bool(row["monitored"])


def overrides(conn: Conn, resident_id: int) -> Overrides:
    found = conn.cursor(row_factory=class_row(Overrides)).execute(
        "SELECT window_seconds, negative_share, min_faces, cooldown_seconds, close_share, baseline, baseline_margin,"
        " offline_seconds, min_span_seconds, min_minutes"
        " FROM resident_alert_thresholds WHERE resident_id = %s", (resident_id,)).fetchone()
    return found or Overrides()


def pauses(conn: Conn, resident_id: int, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The resident's monitoring pauses overlapping [start, end], as (starts_at, ends_at)."""
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT starts_at, ends_at FROM monitoring_pauses WHERE resident_id = %s AND starts_at <= %s AND ends_at > %s"
        " ORDER BY starts_at", (resident_id, end, start)).fetchall()
    return [(r["starts_at"], r["ends_at"]) for r in rows]


def active_alert(conn: Conn, kind: str, *, resident_id: int | None = None, camera_id: int | None = None
                 ) -> Alert | None:
    """The unresolved alert of a resident (expression) or camera (offline), locked."""
    key = sql.SQL("a.resident_id = %(key)s" if kind == "expression" else "a.camera_id = %(key)s")
    query = sql.SQL("SELECT {} FROM {} WHERE a.kind = %(kind)s AND a.state <> 'resolved' AND {} FOR UPDATE OF a"
                    ).format(ALERT_COLUMNS, ALERT_FROM, key)
    key_value = resident_id if kind == "expression" else camera_id
    return _alerts(conn).execute(query, {"kind": kind, "key": key_value}).fetchone()


def active_alerts(conn: Conn, kind: str) -> list[Alert]:
    query = sql.SQL("SELECT {} FROM {} WHERE a.kind = %(kind)s AND a.state <> 'resolved' ORDER BY a.id"
                    ).format(ALERT_COLUMNS, ALERT_FROM)
    return _alerts(conn).execute(query, {"kind": kind}).fetchall()


def last_resolved_alert(conn: Conn, resident_id: int) -> Alert | None:
    """The resident's most recently closed expression alert: where a new episode may begin, its cool-down."""
    query = sql.SQL("SELECT {} FROM {} WHERE a.kind = 'expression' AND a.resident_id = %(r)s AND a.state = 'resolved'"
                    " AND a.resolve_reason IS DISTINCT FROM %(withdrawn)s"
                    " ORDER BY coalesce(a.recovered_at, a.resolved_at) DESC, a.id DESC LIMIT 1"
                    ).format(ALERT_COLUMNS, ALERT_FROM)
    return _alerts(conn).execute(query, {"r": resident_id, "withdrawn": WITHDRAWN}).fetchone()


def _negative_score() -> str:
    """A face's negative score: its summed probability of the negative labels, or 1/0 by its label when
    %(label_mode)s, counting the label only when its confidence reaches %(floor)s."""
    probs = " + ".join(f"CASE WHEN '{label}' = ANY(%(negatives)s) THEN coalesce(p_{label}, 0) ELSE 0 END"
                       for label in LABELS)
    by_label = "CASE WHEN expression = ANY(%(negatives)s) AND confidence >= %(floor)s THEN 1 ELSE 0 END"
    return f"CASE WHEN %(label_mode)s THEN {by_label} ELSE least(1, {probs}) END"


WINDOW_FACES = f"""
SELECT captured_at, {_negative_score()}::double precision AS negative
FROM faces
WHERE resident_id = %(resident)s AND uncounted_reason IS NULL
  AND captured_at >= %(start)s::timestamptz - %(window)s
  AND (%(until)s::timestamptz IS NULL OR captured_at <= %(until)s)
ORDER BY captured_at
"""


def scoring(negatives: frozenset[str], label_mode: bool, floor: float) -> dict[str, Any]:
    """The parameters of _negative_score()."""
    return {"negatives": sorted(negatives), "label_mode": label_mode, "floor": floor}


def window_faces(conn: Conn, resident_id: int, start: datetime, window: timedelta, score: dict[str, Any],
                 until: datetime | None = None) -> list[tuple[datetime, float]]:
    """(capture time, negative score) of the resident's counted faces that windows ending in [start, until]
    hold (from start - window on), oldest first; affectwatch.alerts.rule.windows makes the windows."""
    params = {**score, "resident": resident_id, "start": start, "window": window, "until": until}
    rows = conn.cursor(row_factory=dict_row).execute(WINDOW_FACES, params).fetchall()
    return [(r["captured_at"], float(r["negative"])) for r in rows]


WINDOW_DETAIL = f"""
SELECT mode() WITHIN GROUP (ORDER BY camera_id) AS camera_id,
       {", ".join(f"sum(coalesce(p_{label}, 0)) AS {label}" for label in LABELS)},
       {", ".join(f"count(*) FILTER (WHERE expression = '{label}') AS n_{label}" for label in LABELS)}
FROM faces WHERE resident_id = %(resident)s AND uncounted_reason IS NULL
  AND captured_at BETWEEN %(start)s AND %(end)s
"""


def window_detail(conn: Conn, resident_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    """The camera that saw most of a window's faces, and per label the summed probability and count."""
    row = conn.cursor(row_factory=dict_row).execute(
        WINDOW_DETAIL, {"resident": resident_id, "start": start, "end": end}).fetchone()
    return dict(row or {})


def last_face_at(conn: Conn, resident_id: int) -> datetime | None:
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT max(captured_at) AS t FROM faces WHERE resident_id = %s AND uncounted_reason IS NULL",
        (resident_id,)).fetchone()
    return row["t"] if row else None


def insert_alert(conn: Conn, values: dict[str, Any]) -> int:
    """A new alert; the partial unique indexes refuse a second unresolved one for the resident or camera."""
    cols = sql.SQL(", ").join(sql.Identifier(k) for k in values)
    marks = sql.SQL(", ").join(sql.Placeholder(k) for k in values)
    row = conn.cursor(row_factory=dict_row).execute(
        sql.SQL("INSERT INTO alerts ({}) VALUES ({}) RETURNING id").format(cols, marks), values).fetchone()
    assert row is not None, "INSERT ... RETURNING returns a row"
    return int(row["id"])


def update_alert(conn: Conn, alert_id: int, values: dict[str, Any]) -> None:
    sets = sql.SQL(", ").join([*(sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in values),
                               sql.SQL("updated_at = now()")])
    conn.execute(sql.SQL("UPDATE alerts SET {} WHERE id = %(alert_id)s").format(sets), {**values, "alert_id": alert_id})


def close_alert(conn: Conn, alert_id: int, *, now: datetime | None, reason: str,
                recovered_at: datetime | None = None) -> None:
    conn.execute("UPDATE alerts SET state = 'resolved', resolved_at = coalesce(%s, now()), resolve_reason = %s,"
                 " recovered_at = %s, updated_at = now() WHERE id = %s", (now, reason[:500], recovered_at, alert_id))


# ---- baselines ------------------------------------------------------------------------------------------------------

BASELINE = f"""
SELECT count(*) AS n, coalesce(avg({_negative_score()}), 0) AS share
FROM faces WHERE resident_id = %(resident)s AND uncounted_reason IS NULL
  AND captured_at >= %(start)s AND captured_at < %(end)s
"""


def get_baseline(conn: Conn, resident_id: int) -> dict[str, Any] | None:
    row: dict[str, Any] | None = conn.cursor(row_factory=dict_row).execute(
        "SELECT negative_share, n_faces, period_start, period_end, computed_at FROM alert_baselines"
        " WHERE resident_id = %s", (resident_id,)).fetchone()
    return row


def compute_baseline(conn: Conn, resident_id: int, start: datetime, end: datetime, score: dict[str, Any],
                     computed_at: datetime) -> dict[str, Any]:
    """The resident's mean negative score over [start, end), stored as their baseline."""
    row = conn.cursor(row_factory=dict_row).execute(
        BASELINE, {**score, "resident": resident_id, "start": start, "end": end}).fetchone()
    assert row is not None, "an aggregate returns a row"
    values = {"resident": resident_id, "share": min(1.0, float(row["share"])), "n": int(row["n"]), "start": start,
              "end": end, "at": computed_at}
    conn.execute("INSERT INTO alert_baselines (resident_id, negative_share, n_faces, period_start, period_end,"
                 " computed_at) VALUES (%(resident)s, %(share)s, %(n)s, %(start)s, %(end)s, %(at)s)"
                 " ON CONFLICT (resident_id) DO UPDATE SET negative_share = EXCLUDED.negative_share,"
                 " n_faces = EXCLUDED.n_faces, period_start = EXCLUDED.period_start,"
                 " period_end = EXCLUDED.period_end, computed_at = EXCLUDED.computed_at", values)
    return {"negative_share": values["share"], "n_faces": values["n"], "computed_at": computed_at}


def baseline_residents(conn: Conn, default_on: bool) -> list[int]:
    """Monitored residents whose rule uses a baseline (their override, else the default)."""
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT r.id FROM residents r LEFT JOIN resident_alert_thresholds t ON t.resident_id = r.id"
        " WHERE r.monitored AND coalesce(t.baseline, %s) ORDER BY r.id", (default_on,)).fetchall()
    return [int(r["id"]) for r in rows]


# ---- cameras --------------------------------------------------------------------------------------------------------

CAMERA_SILENCE = """
SELECT c.id AS camera_id, c.name AS camera_name, c.resident_id, t.offline_seconds,
       greatest(s.last_frame_at, c.updated_at,
                (SELECT max(f.captured_at) FROM frames f WHERE f.camera_id = c.id)) AS last_seen,
       affectwatch_resident_monitored(c.resident_id, %(now)s) AS watched
FROM cameras c
LEFT JOIN camera_status s ON s.camera_id = c.id
LEFT JOIN resident_alert_thresholds t ON t.resident_id = c.resident_id
WHERE c.enabled AND c.resident_id IS NOT NULL
ORDER BY c.id
"""


def camera_silence(conn: Conn, now: datetime) -> list[dict[str, Any]]:
    """Each enabled camera assigned to a resident: when it last sent a frame (or was last changed), and
    whether its resident is monitored right now."""
    return list(conn.cursor(row_factory=dict_row).execute(CAMERA_SILENCE, {"now": now}).fetchall())


# ---- cursors --------------------------------------------------------------------------------------------------------

def _alerts(conn: Conn) -> psycopg.Cursor[Alert]:
    return conn.cursor(row_factory=class_row(Alert))


def _events(conn: Conn) -> psycopg.Cursor[AlertEvent]:
    return conn.cursor(row_factory=class_row(AlertEvent))


def _deliveries(conn: Conn) -> psycopg.Cursor[Delivery]:
    return conn.cursor(row_factory=class_row(Delivery))


def _webhooks(conn: Conn) -> psycopg.Cursor[Webhook]:
    return conn.cursor(row_factory=class_row(Webhook))
