"""`affectwatch retention`, `affectwatch partitions`, `affectwatch aggregates refresh|status`,
`affectwatch history maintain|settings`, and `affectwatch resident erase` (registered by residents)."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from datetime import UTC, datetime
from typing import Any, TypeAlias

from affectwatch import audit, erasure
from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.exceptions import ValidationError
from affectwatch.queries import history as q
from upkeep import aggregates, maintenance, partitions, retention, settings

Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def register(sub: Sub) -> None:
    _retention_parser(sub)
    _partitions_parser(sub)
    _aggregates_parser(sub)
    _history_parser(sub)


def _retention_parser(sub: Sub) -> None:
    p = sub.add_parser("retention", help="remove history older than the configured age, per kind of data")
    p.add_argument("--dry-run", action="store_true", help="count what would go; remove nothing")
    p.add_argument("--raw-days", type=int, help="override AFFECTWATCH_RETENTION_RAW_DAYS")
    p.add_argument("--aggregate-days", type=int, help="override AFFECTWATCH_RETENTION_AGGREGATE_DAYS")
    p.add_argument("--alert-days", type=int, help="override AFFECTWATCH_RETENTION_ALERT_DAYS")
    p.add_argument("--audit-days", type=int, help="override AFFECTWATCH_RETENTION_AUDIT_DAYS")
    p.add_argument("--json", action="store_true", help="one JSON object")
    p.set_defaults(handler=run_retention)


def run_retention(args: argparse.Namespace, config: Config) -> int:
    policy = _policy(args, config)
    with connect(config, autocommit=True) as conn:
        report = retention.apply(conn, policy, datetime.now(UTC), dry_run=args.dry_run)
    if args.json:
        print(json.dumps(asdict(report), default=str))
        return 1 if report.skipped else 0
    verb = "would remove" if report.dry_run else "removed"
    print(f"cutoffs: raw {_day(report.raw_cutoff)}, aggregates {_day(report.aggregate_cutoff)},"
          f" alerts {_day(report.alert_cutoff)}, audit log {_day(report.audit_cutoff)}")
    for table, n in report.deleted.items():
        print(f"  {verb} {n} {table} row(s)")
    for part in report.dropped:
        print(f"  {'would drop' if report.dry_run else 'dropped'} partition {part}")
    for part in report.skipped:
        print(f"  skipped partition {part} (in use; retried next run)")
    return 1 if report.skipped else 0


def _policy(args: argparse.Namespace, config: Config) -> retention.RetentionPolicy:
    policy = retention.RetentionPolicy.from_config(config)
    overrides = {"raw_days": args.raw_days, "aggregate_days": args.aggregate_days, "alert_days": args.alert_days,
                 "audit_days": args.audit_days}
    if any(v is not None and v < 0 for v in overrides.values()):
        raise ValidationError("retention days must not be negative (0 keeps data forever)")
    return replace(policy, **{k: v for k, v in overrides.items() if v is not None})


def _day(moment: datetime | None) -> str:
    return "kept forever" if moment is None else f"before {moment.isoformat()}"


def _partitions_parser(sub: Sub) -> None:
    p = sub.add_parser("partitions", help="create the monthly partitions of faces and frames ahead; list them")
    p.add_argument("--ahead", type=int, help="months ahead (default AFFECTWATCH_PARTITIONS_AHEAD)")
    p.add_argument("--list", action="store_true", help="list every partition with its bounds and size")
    p.set_defaults(handler=run_partitions)


def run_partitions(args: argparse.Namespace, config: Config) -> int:
    ahead = config.partitions_ahead if args.ahead is None else args.ahead
    if ahead < 0:
        raise ValidationError("--ahead must not be negative")
    with connect(config, autocommit=True) as conn:
        created = partitions.ensure_ahead(conn, ahead)
        stray = partitions.stray_rows(conn)
        found = q.list_partitions(conn) if args.list else []
    print(f"created {created} partition(s); rows in default partitions: {stray}")
    for part in found:
        bounds = "DEFAULT" if part.is_default else f"{_short(part.lower_bound)} .. {_short(part.upper_bound)}"
        print(f"  {part.partition:24} {bounds:44} ~{part.estimated_rows} rows  {part.bytes // 1024} KiB")
    return 0


def _short(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat()


def _aggregates_parser(sub: Sub) -> None:
    p = sub.add_parser("aggregates", help="the hourly expression aggregates behind the views and charts")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    r = actions.add_parser("refresh", help="recompute the hours changed since the last refresh")
    r.add_argument("--full", action="store_true", help="recompute every hour that still has raw rows")
    r.set_defaults(handler=run_refresh)
    s = actions.add_parser("status", help="when they were refreshed and how many hours wait")
    s.set_defaults(handler=run_status)


def run_refresh(args: argparse.Namespace, config: Config) -> int:
    with connect(config) as conn, conn.transaction():
        settings.sync_settings(conn, config)
        done = aggregates.rebuild(conn) if args.full else aggregates.refresh(conn)
    print(f"refreshed {done.hours} hour(s) in {done.seconds:.2f} s")
    return 0


def run_status(args: argparse.Namespace, config: Config) -> int:
    with connect(config) as conn:
        state: dict[str, Any] = {**q.dirty_status(conn), **q.site(conn)}
    print(json.dumps(state, default=str))
    return 0


def _history_parser(sub: Sub) -> None:
    p = sub.add_parser("history", help="history upkeep: settings, partitions, aggregates, retention")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    m = actions.add_parser("maintain", help="settings, partitions and aggregates every --every seconds,"
                                            " retention hourly (for the scheduler)")
    m.add_argument("--every", type=float, help="seconds between passes (default AFFECTWATCH_HISTORY_REFRESH_SECONDS)")
    m.add_argument("--once", action="store_true", help="one pass, retention included, then exit")
    m.set_defaults(handler=run_maintain)
    s = actions.add_parser("settings", help="copy the time zone and negative labels to the views; show them")
    s.set_defaults(handler=run_settings)


def run_maintain(args: argparse.Namespace, config: Config) -> int:
    if args.once:
        result = maintenance.run_once(config)
        print(json.dumps(asdict(result), default=str))
        return 1 if result.errors else 0
    maintenance.run_forever(config, args.every or config.history_refresh_seconds)
    return 0


def run_settings(args: argparse.Namespace, config: Config) -> int:
    with connect(config) as conn, conn.transaction():
        changed = settings.sync_settings(conn, config)
        state = q.site(conn)
    print(json.dumps({**state, "changed": changed}, default=str))
    return 0


def add_erase_parser(actions: Sub) -> None:
    """`affectwatch resident erase ID`: called by affectwatch.cli.residents.register."""
    p = actions.add_parser("erase", help="erase a resident completely: every row that refers to or names them")
    p.add_argument("resident", type=int, help="the resident's id")
    p.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    p.set_defaults(handler=run_erase)


def run_erase(args: argparse.Namespace, config: Config) -> int:
    if not args.yes:
        raise ValidationError("erasing a resident cannot be undone; add --yes to confirm")
    with connect(config) as conn:
        name = q.resident_name(conn, args.resident)
        report = erasure.erase_resident(conn, args.resident)
        audit.record(conn, audit.cli_actor(), "erase", args.resident, "affectwatch resident erase")
        conn.commit()
        left = erasure.traces(conn, args.resident, name or "")
    print(f"erased resident {args.resident}: " + ", ".join(f"{n} {t}" for t, n in report.deleted.items()))
    if report.cameras_unassigned:
        print(f"  {report.cameras_unassigned} camera(s) no longer assigned")
    for column, n in report.scrubbed.items():
        print(f"  name replaced in {n} row(s) of {column}")
    print("  check: no row refers to or names them" if not left else "  STILL FOUND: " + "; ".join(left))
    return 0 if not left else 1
