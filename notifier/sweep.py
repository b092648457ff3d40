"""The periodic sweep (`affectwatch alerts sweep`, and every alert_sweep_seconds in the scheduler).

Faces drive the rule as they are written; the sweep does what needs the clock instead:
- decides recovery and escalation of unresolved alerts up to now - alert_settle_seconds (the rule
  decides them only that far behind a resident's newest face, which stops when faces stop);
- resolves an alert whose resident has shown no face for alert_stale_minutes;
- opens and resolves camera-offline alerts;
- refreshes the baselines of residents whose rule uses one;
- creates and queues the deliveries of every recorded change (also done at once on each NOTIFY).
Each step runs in its own transaction: one failing does not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
import redis

from affectwatch.alerts import baseline, engine, telemetry
from affectwatch.alerts.rule import Rule
from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.queries import alerts as q
from notifier import dispatch, offline

log = logging.getLogger(__name__)
Conn = psycopg.Connection[Any]


@dataclass
class Report:
    changes: list[tuple[int, str]] = field(default_factory=list)
    baselines: int = 0
    deliveries_created: int = 0
    deliveries_queued: int = 0
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        counts: dict[str, int] = {}
        for _, what in self.changes:
            counts[what] = counts.get(what, 0) + 1
        changed = ", ".join(f"{n} {what}" for what, n in sorted(counts.items())) or "no alert changed"
        failed = f"; FAILED: {'; '.join(self.failed)}" if self.failed else ""
        return (f"{changed}; {self.baselines} baseline(s) refreshed; {self.deliveries_created} delivery(ies) created,"
                f" {self.deliveries_queued} queued{failed}")


def sweep(config: Config, connection: redis.Redis | None, now: datetime) -> Report:
    """One sweep; connection None leaves deliveries for later (no Redis)."""
    report = Report()
    with connect(config, autocommit=True) as conn:
        _step(report, "settle alerts", lambda: _changed(report, "expression", settle_alerts(conn, config, now)))
        _step(report, "stale alerts", lambda: _changed(report, "expression", resolve_stale(conn, config, now)))
        _step(report, "cameras", lambda: _changed(report, "camera_offline", offline.check_cameras(conn, config, now)))
        _step(report, "baselines", lambda: setattr(report, "baselines", refresh_baselines(conn, config, now)))
        if connection is not None:
            _step(report, "deliveries", lambda: _dispatch(report, conn, config, connection))
    return report


def _changed(report: Report, kind: str, changes: list[tuple[int, str]]) -> None:
    report.changes.extend(changes)
    telemetry.count_changes(kind, (what for _, what in changes))


def _step(report: Report, name: str, run: Callable[[], object]) -> None:
    try:
        run()
    except Exception as exc:  # one step failing must not stop the others; it is reported and logged
        log.exception("alert sweep: %s failed", name)
        report.failed.append(f"{name}: {exc}")


def _dispatch(report: Report, conn: Conn, config: Config, connection: redis.Redis) -> None:
    report.deliveries_created, report.deliveries_queued = dispatch.dispatch(conn, config, connection)


def settle_alerts(conn: Conn, config: Config, now: datetime) -> list[tuple[int, str]]:
    """Decide recovery and escalation of every unresolved expression alert up to the settled past."""
    changes: list[tuple[int, str]] = []
    for alert in q.active_alerts(conn, "expression"):
        if alert.resident_id is not None:
            since = alert.decided_until or alert.window_end + timedelta(microseconds=1)  # after its opening
            found = engine.evaluate(conn, config, alert.resident_id, since, now, by_clock=True)
            changes += [(c.alert_id, c.what) for c in found]
    return changes


def resolve_stale(conn: Conn, config: Config, now: datetime) -> list[tuple[int, str]]:
    """Resolve unresolved expression alerts whose resident has shown no face for alert_stale_minutes."""
    changes: list[tuple[int, str]] = []
    for alert in q.active_alerts(conn, "expression"):
        if alert.resident_id is not None:
            with conn.transaction():
                changes += _resolve_if_stale(conn, config, alert.resident_id, now)
    return changes


def _resolve_if_stale(conn: Conn, config: Config, resident_id: int, now: datetime) -> list[tuple[int, str]]:
    q.lock_resident(conn, resident_id)
    alert = q.active_alert(conn, "expression", resident_id=resident_id)
    limit = timedelta(minutes=config.alert_stale_minutes)
    last = q.last_face_at(conn, resident_id)
    if alert is None or now - (last or alert.window_end) < limit:
        return []
    seen = f"last {last.isoformat()}" if last else "none"
    reason = f"no face of the resident seen for {limit.total_seconds() / 60:g} min ({seen})"
    q.close_alert(conn, alert.id, now=now, reason=reason)
    q.add_event(conn, alert.id, "resolved", at=now, note=reason)
    log.info("resident %s: alert %s resolved: %s", resident_id, alert.id, reason)
    return [(alert.id, "resolved")]


def refresh_baselines(conn: Conn, config: Config, now: datetime) -> int:
    refreshed = 0
    for resident_id in q.baseline_residents(conn, config.alert_baseline):
        with conn.transaction():
            row = q.get_baseline(conn, resident_id)
            if row is None or now - row["computed_at"] >= baseline.REFRESH:
                baseline.refresh(conn, config, resident_id, Rule.build(config, q.overrides(conn, resident_id)), now)
                refreshed += 1
    return refreshed
