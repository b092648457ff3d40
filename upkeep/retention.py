"""Retention: remove data older than the configured age, per kind.

- raw faces and frames: whole monthly partitions are dropped when they end before the cutoff (instant,
  no dead rows); rows older than the cutoff in the partition that straddles it, or in a default partition,
  are deleted. The aggregates are refreshed first, so they include every raw row about to go.
- hourly aggregates: rows of hours before the cutoff are deleted.
- alerts: resolved alerts resolved before the cutoff are deleted with their events and deliveries;
  open and acknowledged alerts are always kept.
- the audit log: entries older than the cutoff are deleted (the log is append-only for the dashboard;
  only this, run as the schema owner, removes entries).

A cutoff is the start of the UTC day `days` days ago, so nothing younger than the configured age goes.
Each step commits on its own: a drop that cannot get its lock within the timeout is skipped and retried
next run, without holding up the rest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psycopg

from affectwatch.config import Config
from affectwatch.queries import history as q
from upkeep import aggregates

log = logging.getLogger(__name__)

RAW_TABLES = ("faces", "frames")
AGGREGATE_TABLES = (("face_hourly", "bucket"), ("frame_hourly", "bucket"), ("face_daily", "local_date"))
LOCK_TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class RetentionPolicy:
    """Days each kind of data is kept; 0 keeps it forever."""

    raw_days: int
    aggregate_days: int
    alert_days: int
    audit_days: int = 0

    @classmethod
    def from_config(cls, config: Config) -> RetentionPolicy:
        return cls(config.retention_raw_days, config.retention_aggregate_days, config.retention_alert_days,
                   config.retention_audit_days)


@dataclass
class RetentionReport:
    raw_cutoff: datetime | None
    aggregate_cutoff: datetime | None
    alert_cutoff: datetime | None
    dry_run: bool
    audit_cutoff: datetime | None = None
    dropped: list[str] = field(default_factory=list)
    deleted: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


def cutoff(now: datetime, days: int) -> datetime | None:
    """The start of the UTC day `days` days before now; None when the data is kept forever."""
    if days <= 0:
        return None
    moment = now.astimezone(UTC) - timedelta(days=days)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def apply(conn: q.Conn, policy: RetentionPolicy, now: datetime | None = None,
          dry_run: bool = False) -> RetentionReport:
    """Remove what the policy says is too old (with dry_run: only count it). conn must be in autocommit."""
    now = now or datetime.now(UTC)
    report = RetentionReport(cutoff(now, policy.raw_days), cutoff(now, policy.aggregate_days),
                             cutoff(now, policy.alert_days), dry_run, cutoff(now, policy.audit_days))
    if report.raw_cutoff:
        _raw(conn, report.raw_cutoff, report)
    if report.aggregate_cutoff:
        for table, column in AGGREGATE_TABLES:
            _delete(conn, report, table, column, report.aggregate_cutoff)
    if report.alert_cutoff and q.table_exists(conn, "alerts"):
        _delete(conn, report, "alerts", "resolved_at", report.alert_cutoff, "state = 'resolved'")
    if report.audit_cutoff and q.table_exists(conn, "audit_log"):
        _delete(conn, report, "audit_log", "at", report.audit_cutoff)
    return report


def _raw(conn: q.Conn, raw_cutoff: datetime, report: RetentionReport) -> None:
    if not report.dry_run:
        with conn.transaction():
            aggregates.refresh(conn)
    for part in q.list_partitions(conn):
        if part.upper_bound is not None and part.upper_bound <= raw_cutoff:
            _drop(conn, part, report)
    for table in RAW_TABLES:
        _delete(conn, report, table, "captured_at", raw_cutoff)
    if not report.dry_run:
        with conn.transaction():
            q.delete_before(conn, "history_dirty_hours", "bucket", raw_cutoff)


def _drop(conn: q.Conn, part: q.Partition, report: RetentionReport) -> None:
    if report.dry_run:  # the count of rows before the cutoff includes this partition's
        report.dropped.append(part.partition)
        return
    rows = q.count_rows(conn, part.partition)
    try:
        with conn.transaction():
            q.drop_partition(conn, part.partition, LOCK_TIMEOUT_MS)
    except psycopg.errors.LockNotAvailable:
        log.warning("partition %s is in use; not dropped this time", part.partition)
        report.skipped.append(part.partition)
        return
    log.info("dropped partition %s (%s to %s, %d rows)", part.partition, part.lower_bound, part.upper_bound, rows)
    report.dropped.append(part.partition)
    report.deleted[part.parent] = report.deleted.get(part.parent, 0) + rows


def _delete(conn: q.Conn, report: RetentionReport, table: str, column: str, before: datetime,
            where: str = "") -> None:
    with conn.transaction():
        if report.dry_run:
            n = q.count_before(conn, table, column, before, where)
        else:
            n = q.delete_before(conn, table, column, before, where)
    report.deleted[table] = report.deleted.get(table, 0) + n
    if n and not report.dry_run:
        log.info("deleted %d %s row(s) before %s", n, table, before.isoformat())
