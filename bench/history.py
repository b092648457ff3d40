"""Expression history at scale: every docs/sql.md question and the dashboard's history queries, timed on a
realistic history against the same queries on an unpartitioned, unindexed copy without aggregates, in the
same run; and the load rate of the workers' insert path (affectwatch/queries/frames.py).

The history: 50 residents, 30 cameras (25 double rooms, 5 shared spaces), 90 days, --rows faces (10 M by
default) with daytime rhythms, evening distress, one resident whose sad share rises after a medication
change, and half as many frames. It is filled in a database of its own with INSERT ... SELECT over
generate_series, day by day in capture order as workers would write it (foreign-key and history triggers
off and the indexes dropped for the fill, then the indexes and the aggregates built once, both timed).

The baseline ("naive") is schema `naive`: plain copies of the tables, no index, no partition, and the
hourly aggregates as plain views over the raw rows, so every question scans the raw faces; the views of
`naive_analytics` are the analytics views' own definitions over it. Each query's result is compared too.

    .venv/bin/python bench/history.py --rows 200000        # a quick run (about a minute)
    .venv/bin/python bench/history.py                      # 10 M faces: about half an hour on 2 cores
"""

from __future__ import annotations

import argparse
import math
import os
import re
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from affectwatch.config import Config
from affectwatch.labels import LABELS
from affectwatch.migrate import migrate
from affectwatch.queries import history as q
from affectwatch.queries.frames import FaceRow, FrameRow, insert_faces, insert_frames

DOC = Path(__file__).resolve().parent.parent / "docs" / "sql.md"
Conn = psycopg.Connection[Any]
RESIDENTS = ["Margaret Brown", "Arthur Green", "Edith Clark", "Harold Webb"]
ROOMS, SHARED = 25, 5
CALM = ["neutral"] * 50 + ["happy"] * 22 + ["surprise"] * 6 + ["sad"] * 8 + ["anger"] * 4 + ["fear"] * 4 \
    + ["disgust"] * 3 + ["contempt"] * 3
DISTRESSED = ["sad"] * 35 + ["anger"] * 20 + ["fear"] * 20 + ["disgust"] * 8 + ["contempt"] * 5 + ["neutral"] * 12

FACES_OF_DAY = f"""
INSERT INTO faces (frame_id, face_index, captured_at, camera_id, resident_id, box_x1, box_y1, box_x2, box_y2,
                   det_prob, expression, confidence, {", ".join(f"p_{x}" for x in LABELS)}, model)
SELECT gen_random_uuid(), 0, at, camera_id, resident_id, 100, 80, 180, 170, 0.99, label, p,
       {", ".join(f"CASE WHEN label = '{x}' THEN p ELSE (1 - p) / 7 END" for x in LABELS)}, 'bench-v1'
FROM (
    SELECT at, camera_id, resident_id, p,
           CASE WHEN random() < distress THEN (%(distressed)s::text[])[1 + floor(random() * %(nd)s)::int]
                ELSE (%(calm)s::text[])[1 + floor(random() * %(nc)s)::int] END AS label
    FROM (
        SELECT at, camera_id, resident_id, 0.45 + 0.5 * random() AS p,
               0.08 + 0.04 * coalesce(resident_id %% 5, 2)
               + CASE WHEN extract(hour FROM at AT TIME ZONE 'Europe/London') >= 17 THEN 0.12 ELSE 0 END
               + CASE WHEN resident_id = 1 AND at >= %(changed)s THEN 0.30 ELSE 0 END AS distress
        FROM (
            SELECT %(day)s::timestamptz + CASE WHEN random() < 0.05 THEN random() * interval '24 hours'
                                          ELSE interval '6 hours' + random() * interval '16 hours' END AS at,
                   c, room
            FROM (SELECT CASE WHEN random() < 0.85 THEN 1 + floor(random() * {ROOMS})::int
                              ELSE {ROOMS} + 1 + floor(random() * {SHARED})::int END AS c,
                         random() < 0.5 AS room
                  FROM generate_series(1, %(n)s)) g
        ) t
        CROSS JOIN LATERAL (SELECT c AS camera_id,
                                   CASE WHEN c <= {ROOMS} THEN 2 * c - room::int END AS resident_id) k
    ) s
) l
ORDER BY at
"""

FRAMES_OF_DAY = """
INSERT INTO frames (frame_id, captured_at, camera_id, status, processed_at, width, height, n_faces, latency_ms,
                    detect_ms, classify_ms, job_id, worker)
SELECT gen_random_uuid(), at, camera_id, status, at + interval '400 ms', 1280, 720,
       CASE WHEN status = 'expired' THEN 0 ELSE floor(random() * 4)::int END,
       CASE WHEN status = 'expired' THEN 65000 ELSE 150 + random() * 400 END, 90, 6, 'bench', 'bench'
FROM (SELECT %(day)s::timestamptz + random() * interval '24 hours' AS at, 1 + floor(random() * 30)::int AS camera_id,
             CASE WHEN random() < 0.02 THEN 'expired' ELSE 'processed' END AS status
      FROM generate_series(1, %(n)s)) g
ORDER BY at
"""

NEG_COUNTS = ", ".join(f"n_{x}" for x in LABELS)
NEG_PROBS = ", ".join(f"p_{x}" for x in LABELS)

# The aggregates as plain views over the raw copies: every question aggregates the raw faces again.
NAIVE_VIEWS = [f"""
CREATE VIEW naive.face_hourly AS
SELECT b.*, (b.bucket AT TIME ZONE s.timezone)::date AS local_date,
       extract(hour FROM b.bucket AT TIME ZONE s.timezone)::smallint AS local_hour,
       extract(isodow FROM b.bucket AT TIME ZONE s.timezone)::smallint AS local_weekday,
       affectwatch_negative_sum(s.negative_labels, {NEG_COUNTS})::integer AS negative_faces,
       affectwatch_negative_sum(s.negative_labels, {NEG_PROBS}) AS p_negative
FROM (SELECT date_trunc('hour', captured_at, 'UTC') AS bucket, resident_id, camera_id, count(*)::integer AS faces,
             {", ".join(f"(count(*) FILTER (WHERE expression = '{x}'))::integer AS n_{x}" for x in LABELS)},
             {", ".join(f"sum(p_{x}::float8) AS p_{x}" for x in LABELS)},
             sum(confidence::float8) AS confidence
      FROM naive.faces GROUP BY 1, 2, 3) b
CROSS JOIN history_site s
""", f"""
CREATE VIEW naive.face_daily AS
SELECT (f.captured_at AT TIME ZONE s.timezone)::date AS local_date, f.resident_id, count(*) AS faces,
       {", ".join(f"count(*) FILTER (WHERE f.expression = '{x}') AS n_{x}" for x in LABELS)},
       {", ".join(f"sum(f.p_{x}::float8) AS p_{x}" for x in LABELS)},
       count(*) FILTER (WHERE f.expression = ANY (s.negative_labels)) AS negative_faces,
       sum(affectwatch_negative_sum(s.negative_labels, {", ".join(f"f.p_{x}" for x in LABELS)})) AS p_negative
FROM naive.faces f CROSS JOIN history_site s
WHERE f.resident_id IS NOT NULL
GROUP BY 1, 2
""", """
CREATE VIEW naive.frame_hourly AS
SELECT f.*, (f.bucket AT TIME ZONE s.timezone)::date AS local_date,
       extract(hour FROM f.bucket AT TIME ZONE s.timezone)::smallint AS local_hour,
       coalesce(n.negative_faces, 0)::integer AS negative_faces
FROM (SELECT date_trunc('hour', captured_at, 'UTC') AS bucket, camera_id, count(*)::integer AS frames,
             (count(*) FILTER (WHERE status = 'processed'))::integer AS processed,
             (count(*) FILTER (WHERE status = 'expired'))::integer AS expired,
             (count(*) FILTER (WHERE n_faces > 0))::integer AS frames_with_faces,
             sum(n_faces)::integer AS faces, sum(latency_ms::float8) AS latency_ms
      FROM naive.frames GROUP BY 1, 2) f
CROSS JOIN history_site s
LEFT JOIN (SELECT date_trunc('hour', x.captured_at, 'UTC') AS bucket, x.camera_id,
                  count(*) FILTER (WHERE x.expression = ANY (s2.negative_labels)) AS negative_faces
             FROM naive.faces x CROSS JOIN history_site s2 GROUP BY 1, 2) n
       ON n.bucket = f.bucket AND n.camera_id IS NOT DISTINCT FROM f.camera_id
"""]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

# ------------------------------------------------------------------------------------------------ fill


def fresh_database(config: Config) -> None:
    admin = psycopg.conninfo.make_conninfo(config.database_url, dbname="postgres")
    name = psycopg.conninfo.conninfo_to_dict(config.database_url)["dbname"]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name))))
    migrate(config)


def register(conn: Conn) -> None:
    names = RESIDENTS + [f"Resident {i:02d}" for i in range(len(RESIDENTS) + 1, 51)]
    for i, name in enumerate(names):
        conn.execute("INSERT INTO residents (name, room) VALUES (%s, %s)", (name, str(100 + i // 2)))
    for c in range(1, ROOMS + SHARED + 1):
        floor = 1 + (c - 1) % 3
        room = c <= ROOMS
        conn.execute("INSERT INTO cameras (name, source, location, resident_id) VALUES (%s, %s, %s, %s)",
                     (f"Room {100 + c - 1}" if room else f"Lounge {c - ROOMS}", f"rtsp://10.0.0.{c}/stream",
                      f"Floor {floor} {'room' if room else 'lounge'}", 2 * c - 1 if room else None))
    q.sync_settings(conn, "Europe/London", ["anger", "contempt", "disgust", "fear", "sad"])


ALERTS = """
INSERT INTO alerts (kind, state, resident_id, camera_id, window_start, window_end, n_faces, negative_share,
                    threshold, dominant_expression, peak_share, peak_at, opened_at, acknowledged_at, resolved_at,
                    resolve_reason)
SELECT 'expression', 'resolved', r, (r + 1) / 2, at - interval '10 minutes', at, 30 + (random() * 50)::int,
       0.6 + random() * 0.3, 0.6, 'sad', 0.95, at, at, at + random() * interval '40 minutes',
       at + interval '2 hours', 'recovered'
FROM (SELECT %(first)s::timestamptz + random() * (%(days)s * interval '1 day') AS at, 1 + floor(random() * 50)::int AS r
      FROM generate_series(1, %(n)s)) g
"""


def drop_indexes(conn: Conn, tables: tuple[str, ...]) -> list[sql.Composed | sql.SQL]:
    """Drop the primary keys and indexes of the partitioned tables (a bulk load then builds each index once);
    return the statements that put them back as the migrations made them."""
    keys = conn.execute("SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
                        " WHERE contype = 'p' AND conrelid::regclass::text = ANY (%s)", (list(tables),)).fetchall()
    indexes = conn.execute("SELECT indexname, replace(indexdef, ' ON ONLY ', ' ON ') FROM pg_indexes"
                           " WHERE schemaname = 'public' AND tablename = ANY (%s)"
                           " AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype = 'p')",
                           (list(tables),)).fetchall()
    for table, name, _ in keys:
        conn.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(sql.Identifier(table), sql.Identifier(name)))
    for name, _ in indexes:
        conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
    return [sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} ").format(sql.Identifier(t), sql.Identifier(n)) + sql.SQL(d)
            for t, n, d in keys] + [sql.SQL(d) for _, d in indexes]


def fill(conn: Conn, rows: int, days: int, today: date) -> float:
    """Faces and frames day by day; returns faces per second of the fill."""
    first = today - timedelta(days=days)
    q.ensure_partitions(conn, first.replace(day=1), (today.year - first.year) * 12 + today.month - first.month + 2)
    conn.execute("SET session_replication_role = replica")  # no FK or history triggers during the bulk fill
    rebuild = drop_indexes(conn, ("faces", "frames"))
    params = {"calm": CALM, "nc": len(CALM), "distressed": DISTRESSED, "nd": len(DISTRESSED),
              "changed": datetime.combine(today - timedelta(days=42), datetime.min.time(), UTC)}
    started = time.perf_counter()
    for d in range(days):
        day = datetime.combine(first + timedelta(days=d), datetime.min.time(), UTC)
        n = rows // days + (1 if d < rows % days else 0)
        conn.execute(FACES_OF_DAY, {**params, "day": day, "n": n})
        conn.execute(FRAMES_OF_DAY, {"day": day, "n": n // 2})
        if d % 10 == 9 or d == days - 1:
            done = rows * (d + 1) // days
            log(f"filled {d + 1}/{days} days, {done:,} faces, {done / (time.perf_counter() - started):,.0f} faces/s")
    conn.execute("SET session_replication_role = origin")
    log("building the indexes")
    conn.execute("SET maintenance_work_mem = '512MB'")
    for statement in rebuild:
        conn.execute(statement)
    rate = rows / (time.perf_counter() - started)
    conn.execute(ALERTS, {"first": datetime.combine(first, datetime.min.time(), UTC), "days": days, "n": 4 * days})
    return rate


def build_naive(conn: Conn) -> None:
    conn.execute("DROP SCHEMA IF EXISTS naive_analytics CASCADE")
    conn.execute("DROP SCHEMA IF EXISTS naive CASCADE")
    conn.execute("CREATE SCHEMA naive")
    for table in ("faces", "frames", "residents", "cameras", "alerts", "alert_events"):
        conn.execute(sql.SQL("CREATE TABLE naive.{} AS SELECT * FROM public.{}").format(
            sql.Identifier(table), sql.Identifier(table)))
    for view in NAIVE_VIEWS:
        conn.execute(view)
    conn.execute("CREATE SCHEMA naive_analytics")
    conn.execute("SET search_path = public")
    views = conn.execute("SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c"
                         " WHERE c.relnamespace = 'analytics'::regnamespace AND c.relkind = 'v'").fetchall()
    conn.execute("SET search_path = naive, public")
    for name, definition in views:
        conn.execute(sql.SQL("CREATE VIEW naive_analytics.{} AS ").format(sql.Identifier(name))
                     + sql.SQL(definition))
    conn.execute("SET search_path = public")
    conn.execute("ANALYZE naive.faces")
    conn.execute("ANALYZE naive.frames")

# ---------------------------------------------------------------------------------------------- timing


@dataclass
class Timing:
    name: str
    real_ms: float
    naive_ms: float
    same: bool

    @property
    def ratio(self) -> float:
        return self.naive_ms / self.real_ms if self.real_ms else float("inf")


def median_ms(run: Callable[[], Any], repeat: int, warm: bool) -> tuple[float, Any]:
    result = run() if warm else None
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def same(a: Any, b: Any) -> bool:
    """Equal rows; floats equal to 1e-9 relative (sums added in another order differ in the last bits)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if hasattr(a, "__dataclass_fields__") and hasattr(b, "__dataclass_fields__"):
        return same(vars(a), vars(b))
    return bool(a == b)


def compare(name: str, real: Callable[[], Any], naive: Callable[[], Any], repeat: int, naive_repeat: int) -> Timing:
    real_ms, real_rows = median_ms(real, repeat, warm=True)
    if naive_repeat == 0:
        log(f"{name}: {real_ms:.1f} ms")
        return Timing(name, real_ms, float("nan"), True)
    try:
        naive_ms, naive_rows = median_ms(naive, naive_repeat, warm=False)
    except psycopg.errors.QueryCanceled:
        naive_ms, naive_rows = float("inf"), None
    timing = Timing(name, real_ms, naive_ms, same(real_rows, naive_rows))
    log(f"{name}: {real_ms:.1f} ms vs {naive_ms:.0f} ms naive ({timing.ratio:.0f}x), same rows: {timing.same}")
    return timing


def doc_queries() -> dict[str, str]:
    found = re.findall(r"^### (Q\d+)\.[^\n]*\n.*?```sql\n(.*?)```", DOC.read_text(), re.S | re.M)
    return dict(found)


def run_query(conn: Conn, text: str) -> Callable[[], Any]:
    return lambda: conn.execute(text).fetchall()


def time_doc(conn: Conn, repeat: int, naive_repeat: int) -> list[Timing]:
    return [compare(f"docs/sql.md {name}", run_query(conn, text),
                    run_query(conn, text.replace("analytics.", "naive_analytics.")), repeat, naive_repeat)
            for name, text in doc_queries().items()]


def on_path(conn: Conn, path: str, fn: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        conn.execute(sql.SQL("SET search_path = {}").format(sql.SQL(path)))
        try:
            return fn()
        finally:
            conn.execute("SET search_path = public")
    return run


def time_dashboard(conn: Conn, repeat: int, naive_repeat: int, today: date) -> list[Timing]:
    resident = 1
    month = q.Period(today - timedelta(days=29), today)
    quarter = q.Period(today - timedelta(days=89), today)
    week = q.Period(today - timedelta(days=6), today)
    now = datetime.now(UTC)
    calls: dict[str, Callable[[], Any]] = {
        "history page (30 days)": lambda: q.resident_history(conn, resident, 30, today),
        "history page (90 days)": lambda: q.resident_history(conn, resident, 90, today),
        "resident_daily 90 days": lambda: q.resident_daily(conn, resident, quarter),
        "resident_hour_of_day 30 days": lambda: q.resident_hour_of_day(conn, resident, month),
        "resident_totals 30 days": lambda: q.resident_totals(conn, resident, month),
        "camera_activity 7 days": lambda: q.camera_activity(conn, week),
        "expression_counts hourly 48 h": lambda: q.expression_counts(conn, resident, now - timedelta(hours=48),
                                                                     now, "hour"),
        "expression_counts daily 30 days": lambda: q.expression_counts(conn, resident, now - timedelta(days=30),
                                                                       now, "day"),
    }
    return [compare(f"dashboard {name}", on_path(conn, "public", fn), on_path(conn, "naive, public", fn),
                    repeat, naive_repeat) for name, fn in calls.items()]

# ------------------------------------------------------------------------------------------- load rate


def job(camera: int, resident: int, frames: int, faces_per_frame: int) -> tuple[list[FrameRow], list[FaceRow]]:
    """A job's rows as a worker writes them: frames of one camera, a few faces each."""
    now = datetime.now(UTC)
    frame_rows, face_rows = [], []
    probs: dict[str, float | None] = {label: 0.7 if label == "neutral" else 0.3 / 7 for label in LABELS}
    for i in range(frames):
        frame = FrameRow(uuid.uuid4(), now - timedelta(milliseconds=500 * i), camera, "processed", 1280, 720,
                         faces_per_frame, 90.0, 6.0, "bench", "bench")
        frame_rows.append(frame)
        face_rows += [FaceRow(frame.frame_id, k, frame.captured_at, camera, resident, (10.0 + k, 10.0, 90.0, 90.0),
                              0.99, "neutral", 0.7, probs, "bench-v1") for k in range(faces_per_frame)]
    return frame_rows, face_rows


def writer(config: Config, seconds: float, triggers: bool, counts: list[int]) -> None:
    with psycopg.connect(config.database_url) as conn:
        if not triggers:
            conn.execute("SET session_replication_role = replica")
            conn.commit()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            camera = 1 + len(counts) % ROOMS
            frames, faces = job(camera, 2 * camera - 1, 4, 2)
            with conn.transaction():
                insert_frames(conn, frames)
                inserted = insert_faces(conn, faces)
            counts.append(len(inserted))


def load_rate(config: Config, writers: int, seconds: float, triggers: bool) -> float:
    """Face rows per second written by `writers` concurrent workers' insert path (one transaction a job)."""
    counts: list[list[int]] = [[] for _ in range(writers)]
    threads = [threading.Thread(target=writer, args=(config, seconds, triggers, c)) for c in counts]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rate = sum(sum(c) for c in counts) / (time.perf_counter() - started)
    log(f"insert path, {writers} writer(s), history triggers {'on' if triggers else 'off'}: {rate:,.0f} faces/s"
        f" ({sum(len(c) for c in counts) / seconds:,.0f} jobs/s)")
    return rate

# ------------------------------------------------------------------------------------------------ main


def sizes(conn: Conn) -> dict[str, str]:
    out = {}
    for label, query in (
        ("faces rows", "SELECT count(*)::text FROM faces"),
        ("frames rows", "SELECT count(*)::text FROM frames"),
        ("face_hourly rows", "SELECT count(*)::text FROM face_hourly"),
        ("faces size (partitions + indexes)", "SELECT pg_size_pretty(sum(bytes)) FROM affectwatch_partitions"
                                              " WHERE parent = 'faces'"),
        ("naive.faces size", "SELECT pg_size_pretty(pg_total_relation_size('naive.faces'))"),
        ("face_hourly size", "SELECT pg_size_pretty(pg_total_relation_size('face_hourly'))"),
    ):
        row = conn.execute(query).fetchone()
        out[label] = str(row[0]) if row else "?"
    return out


def report(timings: list[Timing], facts: dict[str, str]) -> None:
    print("\n== bench/history ==")
    for key, value in facts.items():
        print(f"{key:44} {value}")
    print(f"\n{'query':52} {'ms':>9} {'naive ms':>10} {'ratio':>7}  same  goal")
    for t in timings:
        goal = 200.0 if "history page" in t.name else 100.0
        naive = f"{t.naive_ms:10.0f} {t.ratio:6.0f}x" if t.naive_ms == t.naive_ms else f"{'-':>10} {'-':>7}"
        print(f"{t.name:52} {t.real_ms:9.1f} {naive}  {'yes' if t.same else 'NO ':4}"
              f"  {'ok' if t.real_ms < goal else 'SLOW'} (<{goal:.0f} ms)")
    ratios = [t.ratio for t in timings if t.naive_ms == t.naive_ms]
    print(f"\nslowest query {max(t.real_ms for t in timings):.1f} ms"
          + (f"; median ratio {statistics.median(ratios):.0f}x" if ratios else ""))


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=10_000_000, help="face rows (frames: half as many)")
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--database", default="affectwatch_bench_history", help="a database of its own (recreated)")
    p.add_argument("--repeat", type=int, default=5, help="timed runs per query (median; after a warm-up)")
    p.add_argument("--naive-repeat", type=int, default=1, help="timed runs per naive query (0: no baseline)")
    p.add_argument("--load-seconds", type=float, default=8.0, help="seconds per load-rate measurement")
    p.add_argument("--naive-timeout", type=int, default=300, help="seconds a naive query may take")
    p.add_argument("--reuse", action="store_true", help="keep the filled database of an earlier run")
    p.add_argument("--drop", action="store_true", help="drop the database at the end")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    base = Config.from_env()
    config = replace(base, database_url=psycopg.conninfo.make_conninfo(base.database_url, dbname=args.database))
    today = datetime.now(UTC).date()
    facts: dict[str, str] = {}
    with psycopg.connect(psycopg.conninfo.make_conninfo(base.database_url, dbname="postgres")) as conn:
        version = conn.execute("SHOW server_version").fetchone()
    facts["postgres"] = str(version[0]) if version else "?"
    facts["load average at start (2 CPUs shared)"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    if not args.reuse:
        fresh_database(config)
        with psycopg.connect(config.database_url, autocommit=True) as conn:
            register(conn)
            log(f"filling {args.rows:,} faces over {args.days} days")
            facts["bulk fill (generate_series)"] = f"{fill(conn, args.rows, args.days, today):,.0f} faces/s"
            started = time.perf_counter()
            hours = q.mark_hours(conn, datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC))
            q.refresh_aggregates(conn)
            facts["aggregates built from scratch"] = f"{time.perf_counter() - started:.1f} s ({hours} hours)"
            log(facts["aggregates built from scratch"])
            conn.execute("VACUUM ANALYZE")
            log("building the naive copy")
            build_naive(conn)
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("SET statement_timeout = {}").format(sql.Literal(f"{args.naive_timeout}s")))
        facts.update(sizes(conn))
        timings = time_doc(conn, args.repeat, args.naive_repeat)
        timings += time_dashboard(conn, args.repeat, args.naive_repeat, today)
    for writers in (1, 4):
        on = load_rate(config, writers, args.load_seconds, triggers=True)
        off = load_rate(config, writers, args.load_seconds, triggers=False)
        facts[f"insert path, {writers} writer(s)"] = f"{on:,.0f} faces/s ({off:,.0f} without history triggers)"
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        started = time.perf_counter()
        hours = q.refresh_aggregates(conn)
        facts["incremental refresh after the load"] = f"{(time.perf_counter() - started) * 1000:.0f} ms ({hours} h)"
    facts["load average at end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    report(timings, facts)
    if args.drop:
        admin = psycopg.conninfo.make_conninfo(base.database_url, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(args.database)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
