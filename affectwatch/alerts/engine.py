"""The rule engine: re-decides a resident's alert from the faces just written, by capture time.

Called by the worker (worker.hooks) inside the transaction that inserts a job's faces. For each
resident among them it takes the resident's evaluation lock (one evaluation at a time per resident,
however many workers race), reads the windows of capture time those faces fall in, replays the rule
(affectwatch.alerts.rule) from the state the alerts table holds, and writes what changed. The
partial unique index on alerts makes a second unresolved alert for a resident impossible.

Faces arriving late are handled by replaying from their capture time: if they fall before the
opening of the resident's unresolved alert, its opening is decided again (moved to the first window
that meets the rule with every face known, or withdrawn when none does), so the alerts end up the
same as if every face had arrived in capture order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import psycopg

from affectwatch.alerts.baseline import baseline_share
from affectwatch.alerts.rule import Episode, Past, Rule, Span, Window, replay, scoring, windows
from affectwatch.config import Config
from affectwatch.queries import alerts as q

log = logging.getLogger(__name__)
Conn = psycopg.Connection[Any]


class FaceLike(Protocol):
    @property
    def resident_id(self) -> int | None: ...

    @property
    def captured_at(self) -> datetime: ...


@dataclass(frozen=True)
class Change:
    """Something an evaluation did to an alert: opened, moved, escalated, resolved or withdrawn."""

    alert_id: int
    what: str


@dataclass(frozen=True)
class Context:
    """What one evaluation of one resident works with."""

    config: Config
    resident_id: int
    rule: Rule
    now: datetime
    baseline: float | None


def on_faces(conn: Conn, config: Config, faces: Iterable[FaceLike], now: datetime | None = None) -> list[Change]:
    """Evaluate every resident the faces belong to, from the earliest capture time among theirs."""
    earliest: dict[int, datetime] = {}
    for face in faces:
        if face.resident_id is not None:
            known = earliest.get(face.resident_id)
            earliest[face.resident_id] = face.captured_at if known is None else min(known, face.captured_at)
    changes: list[Change] = []
    for resident_id in sorted(earliest):  # one lock order for every worker: no deadlock
        changes += _guarded(conn, config, resident_id, earliest[resident_id], now or datetime.now(UTC))
    return changes


def _guarded(conn: Conn, config: Config, resident_id: int, since: datetime, now: datetime) -> list[Change]:
    """evaluate(), where a failure of the rule loses no face: it is logged, its savepoint rolled back, and
    the faces commit; the resident's next job evaluates the same windows again. A lost connection or a
    deadlock still fails the job (rq retries it)."""
    try:
        return evaluate(conn, config, resident_id, since, now)
    except psycopg.OperationalError:
        raise
    except Exception:
        log.exception("resident %s: alert rule failed for faces from %s; faces kept", resident_id, since.isoformat())
        return []


def evaluate(conn: Conn, config: Config, resident_id: int, since: datetime, now: datetime,
             by_clock: bool = False) -> list[Change]:
    """Re-decide the resident's alerts for every window holding faces captured at or after `since`.

    Recovery and escalation are decided up to `alert_settle_seconds` before the resident's newest
    face, or, by_clock (the sweep), before `now`.
    """
    with conn.transaction():
        if not q.lock_resident(conn, resident_id):
            return []
        rule = Rule.build(config, q.overrides(conn, resident_id))
        baseline = baseline_share(conn, config, resident_id, rule, now) if rule.baseline else None
        ctx = Context(config, resident_id, rule, now, baseline)
        active = q.active_alert(conn, "expression", resident_id=resident_id)
        current = _episode(active) if active is not None and active.window_end < since else None
        # an episode that continues needs the windows of the last recover_after before it as context
        start = min(since, current.decided_until or since) - rule.recover_after if current is not None else since
        windows = _windows(conn, ctx, start)
        if not windows or windows[-1].end < since:
            return []
        settle = timedelta(seconds=config.alert_settle_seconds)
        span = Span(since, (now if by_clock else windows[-1].end) - settle)
        past = Past() if current is not None else _past(conn, ctx)
        pauses = q.pauses(conn, resident_id, since, windows[-1].end)
        episodes = replay(windows, rule, rule.threshold(baseline), current, past, pauses, span)
        return _apply(conn, ctx, active, current is not None, episodes)


def _windows(conn: Conn, ctx: Context, start: datetime) -> list[Window]:
    """The resident's windows ending at or after start (context for the hysteresis before `since`)."""
    faces = q.window_faces(conn, ctx.resident_id, start, ctx.rule.window, scoring(ctx.config))
    return windows(faces, ctx.rule.window, start, ctx.rule.by_minute)


def _episode(alert: q.Alert) -> Episode:
    """The unresolved alert as the state the replay continues from."""
    assert alert.n_faces is not None and alert.negative_share is not None and alert.peak_share is not None
    opened = Window(alert.window_end, alert.n_faces, alert.negative_share * alert.n_faces)
    peak = Window(alert.peak_at or alert.window_end, alert.n_faces, alert.peak_share * alert.n_faces)
    return Episode(opened=opened, threshold=alert.threshold or 0.0, peak=peak, alert_id=alert.id,
                   decided_until=alert.decided_until, acknowledged_at=alert.acknowledged_at,
                   ack_share=alert.ack_share)


def _past(conn: Conn, ctx: Context) -> Past:
    last = q.last_resolved_alert(conn, ctx.resident_id)
    if last is None:
        return Past()
    return Past.after(last.recovered_at or last.resolved_at, last.acknowledged_at, last.peak_share, ctx.rule)


def _apply(conn: Conn, ctx: Context, active: q.Alert | None, continued: bool,
           episodes: Sequence[Episode]) -> list[Change]:
    changes: list[Change] = []
    rest = list(episodes)
    if active is not None:
        if rest:
            changes += _update(conn, ctx, active, rest.pop(0), moved=not continued)
        else:
            changes.append(_withdraw(conn, ctx, active))
    for ep in rest:
        changes += _insert(conn, ctx, ep)
    return changes


def _opening(conn: Conn, ctx: Context, ep: Episode) -> dict[str, Any]:
    """The columns describing the window that opened the episode."""
    start = ep.opened.end - ctx.rule.window
    detail = q.window_detail(conn, ctx.resident_id, start, ep.opened.end)
    return {"window_start": start, "window_end": ep.opened.end, "n_faces": ep.opened.n,
            "negative_share": ep.opened.share, "threshold": ep.threshold, "baseline_share": ctx.baseline,
            "dominant_expression": dominant(detail, ctx.config.negative_labels), "camera_id": detail.get("camera_id")}


def dominant(detail: dict[str, Any], negatives: frozenset[str]) -> str | None:
    """The negative label with the largest summed probability (then count) in a window."""
    scored = {label: (float(detail.get(label) or 0), int(detail.get(f"n_{label}") or 0)) for label in negatives}
    best = max(sorted(scored), key=lambda label: scored[label], default=None)
    return best if best is not None and scored[best] > (0.0, 0) else None


def _progress(ep: Episode) -> dict[str, Any]:
    return {"peak_share": ep.peak.share, "peak_at": ep.peak.end, "decided_until": ep.decided_until}


def _insert(conn: Conn, ctx: Context, ep: Episode) -> list[Change]:
    values = {"kind": "expression", "resident_id": ctx.resident_id, "opened_at": ctx.now,
              **_opening(conn, ctx, ep), **_progress(ep)}
    ep.alert_id = q.insert_alert(conn, values)
    q.add_event(conn, ep.alert_id, "opened", at=ctx.now, details=_describe(values))
    log.info("resident %s: alert %s opened: negative share %.2f of %d faces in the window ending %s",
             ctx.resident_id, ep.alert_id, ep.opened.share, ep.opened.n, ep.opened.end.isoformat())
    return [Change(ep.alert_id, "opened"), *_finish(conn, ctx, ep)]


def _update(conn: Conn, ctx: Context, alert: q.Alert, ep: Episode, moved: bool) -> list[Change]:
    ep.alert_id = alert.id
    values = _progress(ep)
    changes: list[Change] = []
    if moved:  # decided again with late faces: the opening window, or what it holds, may differ
        values.update(_opening(conn, ctx, ep))
        if ep.opened.end != alert.window_end:
            changes.append(Change(alert.id, "moved"))
            log.info("resident %s: alert %s re-decided with late faces: opens at the window ending %s",
                     ctx.resident_id, alert.id, ep.opened.end.isoformat())
    if ep.escalations:
        values.update(state="open", acknowledged_at=None, acknowledged_by=None, ack_share=None)
    q.update_alert(conn, alert.id, values)
    return changes + _escalate(conn, ctx, ep) + _finish(conn, ctx, ep)


def _escalate(conn: Conn, ctx: Context, ep: Episode) -> list[Change]:
    assert ep.alert_id is not None
    for w in ep.escalations:
        q.add_event(conn, ep.alert_id, "escalated", at=ctx.now,
                    details={"negative_share": round(w.share, 4), "n_faces": w.n, "window_end": w.end.isoformat()})
        log.info("resident %s: acknowledged alert %s escalated: share rose to %.2f", ctx.resident_id, ep.alert_id,
                 w.share)
    return [Change(ep.alert_id, "escalated") for _ in ep.escalations]


def _finish(conn: Conn, ctx: Context, ep: Episode) -> list[Change]:
    """Resolve the episode's alert when the replay saw it recover."""
    if ep.recovered_at is None or ep.alert_id is None:
        return []
    peak = exact_peak(conn, ctx, ep.opened, ep.recovered_at)
    q.update_alert(conn, ep.alert_id, {"peak_share": peak.share, "peak_at": peak.end})
    close = ctx.rule.close_at(ep.threshold)
    reason = f"recovered: negative share below {close:.2f} for {ctx.rule.recover_after.total_seconds() / 60:g} min"
    q.close_alert(conn, ep.alert_id, now=ctx.now, reason=reason, recovered_at=ep.recovered_at)
    q.add_event(conn, ep.alert_id, "resolved", at=ctx.now, note=reason,
                details={"recovered_at": ep.recovered_at.isoformat(), "peak_share": round(peak.share, 4)})
    log.info("resident %s: alert %s resolved (%s)", ctx.resident_id, ep.alert_id, reason)
    return [Change(ep.alert_id, "resolved")]


def exact_peak(conn: Conn, ctx: Context, opened: Window, until: datetime | None) -> Window:
    """The highest share of any window of the episode with enough faces, read again with every face known."""
    faces = q.window_faces(conn, ctx.resident_id, opened.end, ctx.rule.window, scoring(ctx.config), until)
    full = [w for w in windows(faces, ctx.rule.window, opened.end, ctx.rule.by_minute) if w.n >= ctx.rule.min_faces]
    return max(full, key=lambda w: (w.share, -w.end.timestamp()), default=opened)


def _withdraw(conn: Conn, ctx: Context, alert: q.Alert) -> Change:
    q.close_alert(conn, alert.id, now=ctx.now, reason=q.WITHDRAWN)
    q.add_event(conn, alert.id, "resolved", at=ctx.now, note=q.WITHDRAWN)
    log.warning("resident %s: alert %s withdrawn: with late faces known no window met the rule",
                ctx.resident_id, alert.id)
    return Change(alert.id, "withdrawn")


def _describe(values: dict[str, Any]) -> dict[str, Any]:
    """An event's details: the alert's numbers as JSON."""
    return {k: (v.isoformat() if isinstance(v, datetime) else round(v, 4) if isinstance(v, float) else v)
            for k, v in values.items() if k in ("window_start", "window_end", "n_faces", "negative_share",
                                                 "threshold", "baseline_share", "dominant_expression", "camera_id")}
