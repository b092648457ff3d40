"""Erasure of a resident on request: every row that refers to them or names them, in one transaction.

1. Their faces (the bulk), then their resident row: foreign keys delete their aggregates, alerts (with
   events and deliveries), baselines, pauses and threshold overrides, and unassign their cameras.
2. Any other table with a resident_id column (one without a foreign key) loses their rows too.
3. Their full name, as a whole word, is replaced by "[erased resident]" in every text and JSON column of
   the plain tables (alert notes, camera names, ...); staff accounts and sign-in records are left alone.
Then `traces` checks that nothing is left. Frames carry no resident and no image; jobs in Redis expire
within AFFECTWATCH_FRAME_TTL; backups and Postgres' own files are outside this (see docs/sql.md).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from affectwatch.exceptions import NotFoundError
from affectwatch.queries import history as q

log = logging.getLogger(__name__)

REPLACEMENT = "[erased resident]"
NOT_SCRUBBED = ("schema_migrations", "users", "user_sessions", "login_failures")


@dataclass
class ErasureReport:
    resident_id: int
    deleted: dict[str, int] = field(default_factory=dict)  # table -> rows that referred to them, removed
    cameras_unassigned: int = 0
    scrubbed: dict[str, int] = field(default_factory=dict)  # table.column -> rows whose text named them


def name_pattern(name: str) -> str:
    """A Postgres regular expression for the name as a whole word; group 1 is what precedes it."""
    words = [re.escape(w) for w in name.split()]
    return r"(^|\W)" + r"\s+".join(words) + r"(?=\W|$)"


def erase_resident(conn: q.Conn, resident_id: int) -> ErasureReport:
    """Erase the resident completely (see the module docstring); NotFoundError if there is none."""
    report = ErasureReport(resident_id)
    with conn.transaction():
        name = q.lock_resident(conn, resident_id)
        if name is None:
            raise NotFoundError(f"resident {resident_id} does not exist")
        tables = [c.table for c in q.resident_columns(conn)]
        counts = {t: q.count_resident_rows(conn, t, resident_id) for t in tables if t != "faces"}
        report.deleted["faces"] = q.delete_resident_rows(conn, "faces", resident_id)
        report.deleted["residents"] = q.delete_resident(conn, resident_id)
        for table in tables:  # tables whose rows the foreign keys left (none of ours)
            q.delete_resident_rows(conn, table, resident_id)
        report.cameras_unassigned = counts.pop("cameras", 0)
        report.deleted.update(counts)
        _scrub(conn, name, report)
    log.info("erased resident %d: %s", resident_id, _summary(report))
    return report


def _scrub(conn: q.Conn, name: str, report: ErasureReport) -> None:
    pattern = name_pattern(name)
    for col in q.text_columns(conn, partitioned=False, skip=NOT_SCRUBBED):
        n = q.scrub_mentions(conn, col, pattern, REPLACEMENT)
        if n:
            report.scrubbed[f"{col.table}.{col.column}"] = n


def traces(conn: q.Conn, resident_id: int, name: str, deep: bool = False) -> list[str]:
    """Where the resident is still referred to by id or named in full: 'table.column: N rows' each.
    deep: also search the text columns of faces and frames (labels, model names; slow on a long history)."""
    found = ["residents.id: 1 row"] if q.resident_name(conn, resident_id) is not None else []
    for col in q.resident_columns(conn):
        n = q.count_resident_rows(conn, col.table, resident_id)
        if n:
            found.append(f"{col.table}.resident_id: {n} rows")
    pattern = name_pattern(name)
    for col in q.text_columns(conn, partitioned=deep, skip=("schema_migrations",)):
        n = q.count_mentions(conn, col, pattern)
        if n:
            found.append(f"{col.table}.{col.column}: {n} rows")
    return found


def _summary(report: ErasureReport) -> str:
    parts = [f"{n} {t}" for t, n in report.deleted.items() if n]
    parts += [f"{report.cameras_unassigned} cameras unassigned"] if report.cameras_unassigned else []
    parts += [f"name replaced in {n} {c}" for c, n in report.scrubbed.items()]
    return ", ".join(parts) or "nothing else referred to them"
