"""Expression history: site settings, partitions, aggregate refresh, retention, erasure, and the dashboard's
history queries (read from the hourly aggregates, never from raw faces).

Every function takes an open connection and leaves the transaction to the caller. Times are timestamptz;
"local" dates and hours are in the care home's time zone as stored in history_settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row, dict_row, scalar_row

from affectwatch.labels import LABELS

Conn = psycopg.Connection[Any]
Row = dict[str, Any]

# ----------------------------------------------------------------------------------------------- settings

SYNC_SETTINGS = """
INSERT INTO history_settings (id, timezone, negative_labels, updated_at)
VALUES (true, %(timezone)s, %(negative)s, now())
ON CONFLICT (id) DO UPDATE SET timezone = excluded.timezone, negative_labels = excluded.negative_labels,
                               updated_at = excluded.updated_at
WHERE history_settings.timezone IS DISTINCT FROM excluded.timezone
   OR history_settings.negative_labels IS DISTINCT FROM excluded.negative_labels
"""


def timezone_known(conn: Conn, name: str) -> bool:
    return bool(conn.cursor(row_factory=scalar_row).execute(
        "SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = %s)", (name,)).fetchone())


def sync_settings(conn: Conn, timezone: str, negative_labels: Sequence[str]) -> bool:
    """Store the time zone and negative labels the views use; True if they changed."""
    return conn.execute(SYNC_SETTINGS, {"timezone": timezone, "negative": sorted(negative_labels)}).rowcount == 1


def site(conn: Conn) -> Row:
    """timezone, negative_labels and refreshed_at (when the aggregates were last refreshed)."""
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT timezone, negative_labels, refreshed_at FROM history_site").fetchone()
    assert row is not None, "history_site always has one row"
    return row

# --------------------------------------------------------------------------------------------- partitions


@dataclass(frozen=True)
class Partition:
    parent: str
    partition: str
    is_default: bool
    lower_bound: datetime | None
    upper_bound: datetime | None
    estimated_rows: int
    bytes: int


def ensure_partitions(conn: Conn, first_month: date, months: int) -> int:
    """Create the monthly partitions from first_month's month for `months` months, and one for every month
    the default partitions hold rows of (moving those rows in); returns how many were created."""
    cur = conn.cursor(row_factory=scalar_row)
    return int(cur.execute("SELECT affectwatch_ensure_partitions(%s, %s)", (first_month, months)).fetchone() or 0)


def list_partitions(conn: Conn) -> list[Partition]:
    return conn.cursor(row_factory=class_row(Partition)).execute(
        "SELECT parent, partition, is_default, lower_bound, upper_bound, estimated_rows, bytes"
        " FROM affectwatch_partitions ORDER BY parent, is_default, lower_bound").fetchall()


def default_rows(conn: Conn) -> dict[str, int]:
    """Rows caught by each default partition (they belong in a monthly partition)."""
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT 'faces' AS parent, count(*) AS n FROM faces_default"
        " UNION ALL SELECT 'frames', count(*) FROM frames_default").fetchall()
    return {str(r["parent"]): int(r["n"]) for r in rows}


def drop_partition(conn: Conn, name: str, lock_timeout_ms: int) -> None:
    """Drop one partition, waiting at most lock_timeout_ms for readers and writers of its table."""
    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(f"{int(lock_timeout_ms)}ms")))
    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))


def count_rows(conn: Conn, table: str) -> int:
    query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
    return int(conn.cursor(row_factory=scalar_row).execute(query).fetchone() or 0)

# ------------------------------------------------------------------------------------------- aggregates


def refresh_aggregates(conn: Conn) -> int:
    """Recompute the hourly aggregates of every hour marked changed; returns how many hours."""
    return int(conn.cursor(row_factory=scalar_row).execute("SELECT affectwatch_refresh_history()").fetchone() or 0)


MARK_HOURS = """
INSERT INTO history_dirty_hours (bucket)
SELECT date_trunc('hour', captured_at, 'UTC') FROM faces
 WHERE captured_at >= %(since)s AND captured_at < %(until)s
UNION
SELECT date_trunc('hour', captured_at, 'UTC') FROM frames
 WHERE captured_at >= %(since)s AND captured_at < %(until)s
"""


def mark_hours(conn: Conn, since: datetime, until: datetime) -> int:
    """Mark every hour with raw rows in [since, until) for recomputation; returns how many hours."""
    return conn.execute(MARK_HOURS, {"since": since, "until": until}).rowcount


def dirty_status(conn: Conn) -> Row:
    """hours (distinct hours waiting), marks (rows in the log) and oldest (when the oldest was marked)."""
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT count(DISTINCT bucket) AS hours, count(*) AS marks, min(marked_at) AS oldest"
        " FROM history_dirty_hours").fetchone()
    assert row is not None, "an aggregate without GROUP BY returns one row"
    return row

# -------------------------------------------------------------------------------------------- retention


def delete_before(conn: Conn, table: str, column: str, cutoff: datetime, where: str = "") -> int:
    """Delete rows of table whose column is before cutoff (and matching the fixed condition `where`)."""
    query = sql.SQL("DELETE FROM {} WHERE {} < %(cutoff)s{}").format(
        sql.Identifier(table), sql.Identifier(column), sql.SQL(f" AND {where}" if where else ""))
    return conn.execute(query, {"cutoff": cutoff}).rowcount


def count_before(conn: Conn, table: str, column: str, cutoff: datetime, where: str = "") -> int:
    query = sql.SQL("SELECT count(*) FROM {} WHERE {} < %(cutoff)s{}").format(
        sql.Identifier(table), sql.Identifier(column), sql.SQL(f" AND {where}" if where else ""))
    return int(conn.cursor(row_factory=scalar_row).execute(query, {"cutoff": cutoff}).fetchone() or 0)


def table_exists(conn: Conn, name: str) -> bool:
    cur = conn.cursor(row_factory=scalar_row)
    return cur.execute("SELECT to_regclass(format('public.%%I', %s::text)) IS NOT NULL", (name,)).fetchone() is True

# --------------------------------------------------------------------------------------------- erasure


@dataclass(frozen=True)
class Column:
    table: str
    column: str
    type: str


RESIDENT_COLUMNS = """
SELECT c.relname::text AS table, a.attname::text AS column, t.typname::text AS type
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_type t ON t.oid = a.atttypid
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped AND a.attname = 'resident_id' AND c.relname <> 'residents'
ORDER BY 1
"""

TEXT_COLUMNS = """
SELECT c.relname::text AS table, a.attname::text AS column, t.typname::text AS type
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_type t ON t.oid = a.atttypid
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = ANY (%(kinds)s) AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped AND t.typname IN ('text', 'varchar', 'json', 'jsonb')
  AND NOT c.relname = ANY (%(skip)s)
ORDER BY 1, 2
"""


def resident_columns(conn: Conn) -> list[Column]:
    """Every table (not partition) with a resident_id column, residents itself excepted."""
    return conn.cursor(row_factory=class_row(Column)).execute(RESIDENT_COLUMNS).fetchall()


def text_columns(conn: Conn, partitioned: bool, skip: Sequence[str]) -> list[Column]:
    """Text and JSON columns of plain tables (and of partitioned ones if asked), tables in skip excepted."""
    kinds = ["r", "p"] if partitioned else ["r"]
    return conn.cursor(row_factory=class_row(Column)).execute(
        TEXT_COLUMNS, {"kinds": kinds, "skip": list(skip)}).fetchall()


def lock_resident(conn: Conn, resident_id: int) -> str | None:
    """The resident's name, their row locked until the transaction ends; None if there is none."""
    cur = conn.cursor(row_factory=scalar_row)
    name = cur.execute("SELECT name FROM residents WHERE id = %s FOR UPDATE", (resident_id,)).fetchone()
    return None if name is None else str(name)


def resident_name(conn: Conn, resident_id: int) -> str | None:
    name = conn.cursor(row_factory=scalar_row).execute("SELECT name FROM residents WHERE id = %s",
                                                       (resident_id,)).fetchone()
    return None if name is None else str(name)


def count_resident_rows(conn: Conn, table: str, resident_id: int) -> int:
    query = sql.SQL("SELECT count(*) FROM {} WHERE resident_id = %s").format(sql.Identifier(table))
    return int(conn.cursor(row_factory=scalar_row).execute(query, (resident_id,)).fetchone() or 0)


def delete_resident_rows(conn: Conn, table: str, resident_id: int) -> int:
    query = sql.SQL("DELETE FROM {} WHERE resident_id = %s").format(sql.Identifier(table))
    return conn.execute(query, (resident_id,)).rowcount


def delete_resident(conn: Conn, resident_id: int) -> int:
    """Delete the resident's row; foreign keys delete or unassign what refers to it."""
    return conn.execute("DELETE FROM residents WHERE id = %s", (resident_id,)).rowcount


def _as_text(col: Column) -> sql.Composable:
    ident = sql.Identifier(col.column)
    return sql.SQL("{}::text").format(ident) if col.type in ("json", "jsonb") else ident


def count_mentions(conn: Conn, col: Column, pattern: str) -> int:
    """Rows whose column matches the (case-insensitive, advanced) regular expression."""
    query = sql.SQL("SELECT count(*) FROM {} WHERE {} ~* %s").format(sql.Identifier(col.table), _as_text(col))
    return int(conn.cursor(row_factory=scalar_row).execute(query, (pattern,)).fetchone() or 0)


def scrub_mentions(conn: Conn, col: Column, pattern: str, replacement: str) -> int:
    """Replace every match of pattern (whose first group is kept) with the replacement; returns rows changed."""
    value = sql.SQL("regexp_replace({}, %(pattern)s, %(replacement)s, 'gi')").format(_as_text(col))
    if col.type in ("json", "jsonb"):
        value = sql.SQL("{}::{}").format(value, sql.Identifier(col.type))
    query = sql.SQL("UPDATE {} SET {} = {} WHERE {} ~* %(pattern)s").format(
        sql.Identifier(col.table), sql.Identifier(col.column), value, _as_text(col))
    return conn.execute(query, {"pattern": pattern, "replacement": "\\1" + replacement}).rowcount

# ------------------------------------------------------------------------- the dashboard's history page

COUNT_COLUMNS = ", ".join(f"d.n_{label}" for label in LABELS)
SUM_COLUMNS = ", ".join(f"coalesce(sum(d.n_{label}), 0)::bigint AS n_{label}" for label in LABELS)

# Local dates [first, last]: the exact test on the stored local date, and a UTC range a day wider on each
# side (no zone is a day off UTC) that an index on bucket can use.
LOCAL_DATES = """
{t}.local_date BETWEEN %(first)s AND %(last)s
AND {t}.bucket >= %(first)s::date - 1 AND {t}.bucket < %(last)s::date + 2
"""

RESIDENT_DAILY = f"""
SELECT d.local_date AS day, d.faces, {COUNT_COLUMNS},
       d.negative_faces::double precision / d.faces AS negative_share, d.p_negative / d.faces AS mean_p_negative
FROM face_daily d
WHERE d.resident_id = %(resident)s AND d.local_date BETWEEN %(first)s AND %(last)s
ORDER BY 1
"""

RESIDENT_HOUR_OF_DAY = f"""
SELECT h.local_hour::integer AS hour, sum(h.faces)::bigint AS faces,
       sum(h.negative_faces)::double precision / nullif(sum(h.faces), 0) AS negative_share,
       sum(h.p_negative) / nullif(sum(h.faces), 0) AS mean_p_negative
FROM face_hourly h
WHERE h.resident_id = %(resident)s AND {LOCAL_DATES.format(t="h")}
GROUP BY 1
ORDER BY 1
"""

RESIDENT_TOTALS = f"""
SELECT coalesce(sum(d.faces), 0)::bigint AS faces, {SUM_COLUMNS},
       sum(d.negative_faces)::double precision / sum(d.faces) AS negative_share,
       min(d.local_date) AS first_day, max(d.local_date) AS last_day
FROM face_daily d
WHERE d.resident_id = %(resident)s AND d.local_date BETWEEN %(first)s AND %(last)s
"""

CAMERA_ACTIVITY = f"""
SELECT f.camera_id, c.name AS camera_name, c.location, sum(f.frames)::bigint AS frames,
       sum(f.frames_with_faces)::bigint AS frames_with_faces, sum(f.faces)::bigint AS faces,
       sum(f.frames_with_faces)::double precision / sum(f.frames) AS face_frame_share
FROM frame_hourly f LEFT JOIN cameras c ON c.id = f.camera_id
WHERE {LOCAL_DATES.format(t="f")}
GROUP BY f.camera_id, c.name, c.location
ORDER BY face_frame_share, f.camera_id
"""

# The dashboard's older interface (dashboard.expression_counts), from the aggregates: hour resolution.
EXPRESSION_COUNTS = """
SELECT date_trunc(%(bucket)s, h.bucket, s.timezone) AS bucket, e.expression, sum(e.n)::bigint AS n
FROM face_hourly h
CROSS JOIN history_site s
CROSS JOIN LATERAL (VALUES ('anger', h.n_anger), ('contempt', h.n_contempt), ('disgust', h.n_disgust),
                           ('fear', h.n_fear), ('happy', h.n_happy), ('neutral', h.n_neutral), ('sad', h.n_sad),
                           ('surprise', h.n_surprise)) AS e (expression, n)
WHERE h.resident_id = %(resident)s AND h.bucket >= date_trunc('hour', %(start)s::timestamptz, 'UTC')
  AND h.bucket < %(end)s AND e.n > 0
GROUP BY 1, 2
ORDER BY 1, 2
"""

UNCOUNTED = """
SELECT coalesce(sum(h.uncounted), 0)::bigint
FROM face_hourly h
WHERE h.resident_id = %(resident)s AND h.bucket >= date_trunc('hour', %(start)s::timestamptz, 'UTC')
  AND h.bucket < %(end)s
"""


@dataclass(frozen=True)
class Period:
    """Local dates, both included."""

    first: date
    last: date

    def params(self, resident_id: int | None = None) -> dict[str, object]:
        return {"first": self.first, "last": self.last, "resident": resident_id}


def local_today(conn: Conn) -> date:
    cur = conn.cursor(row_factory=scalar_row)
    today = cur.execute("SELECT (now() AT TIME ZONE timezone)::date FROM history_site").fetchone()
    assert isinstance(today, date)
    return today


def resident_daily(conn: Conn, resident_id: int, period: Period) -> list[Row]:
    """One row per local day with faces: day, faces, n_<label> for the eight labels, negative_share
    (share of faces whose label is negative) and mean_p_negative (mean calibrated negative probability)."""
    return conn.cursor(row_factory=dict_row).execute(RESIDENT_DAILY, period.params(resident_id)).fetchall()


def resident_hour_of_day(conn: Conn, resident_id: int, period: Period) -> list[Row]:
    """One row per local hour of day (0-23) with faces: hour, faces, negative_share, mean_p_negative."""
    return conn.cursor(row_factory=dict_row).execute(RESIDENT_HOUR_OF_DAY, period.params(resident_id)).fetchall()


def resident_totals(conn: Conn, resident_id: int, period: Period) -> Row:
    """faces, n_<label>, negative_share, first_day and last_day with faces, over the period (faces 0 if none)."""
    row = conn.cursor(row_factory=dict_row).execute(RESIDENT_TOTALS, period.params(resident_id)).fetchone()
    assert row is not None, "an aggregate without GROUP BY returns one row"
    return row


def camera_activity(conn: Conn, period: Period) -> list[Row]:
    """Per camera: frames, frames_with_faces, faces and face_frame_share, least often seeing faces first."""
    return conn.cursor(row_factory=dict_row).execute(CAMERA_ACTIVITY, period.params()).fetchall()


def uncounted_faces(conn: Conn, resident_id: int, start: datetime, end: datetime) -> int:
    """The resident's faces the alert rule did not count (not worth reading), in whole hours from start to end."""
    n = conn.cursor(row_factory=scalar_row).execute(UNCOUNTED, {"resident": resident_id, "start": start,
                                                                 "end": end}).fetchone()
    return int(n or 0)


def expression_counts(conn: Conn, resident_id: int, start: datetime, end: datetime, bucket: str) -> list[Row]:
    """(bucket, expression, n) for the resident, buckets being local hours or days ('hour' or 'day');
    hours are whole: the hour holding `start` is included."""
    if bucket not in ("hour", "day"):
        raise ValueError("bucket must be 'hour' or 'day'")
    return conn.cursor(row_factory=dict_row).execute(
        EXPRESSION_COUNTS, {"bucket": bucket, "resident": resident_id, "start": start, "end": end}).fetchall()


@dataclass(frozen=True)
class ResidentHistory:
    """Everything the dashboard's history page shows for one resident."""

    resident_id: int
    period: Period
    daily: list[Row]
    hour_of_day: list[Row]
    totals: Row
    refreshed_at: datetime | None


def resident_history(conn: Conn, resident_id: int, days: int = 30, last: date | None = None) -> ResidentHistory:
    """The last `days` local days up to `last` (default: today in the care home's time zone)."""
    end = last or local_today(conn)
    period = Period(date.fromordinal(end.toordinal() - days + 1), end)
    return ResidentHistory(resident_id, period, resident_daily(conn, resident_id, period),
                           resident_hour_of_day(conn, resident_id, period),
                           resident_totals(conn, resident_id, period), site(conn)["refreshed_at"])
