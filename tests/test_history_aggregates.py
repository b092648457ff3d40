"""The hourly aggregates: kept equal to the raw rows by refreshing only the hours that changed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from affectwatch.config import Config
from affectwatch.queries import history as q
from tests.historydata import Face, add_camera, add_faces, add_resident, refresh
from upkeep import aggregates

T0 = datetime(2030, 3, 10, 8, 0, tzinfo=UTC)
Conn = psycopg.Connection[Any]


def connect(config: Config) -> Conn:
    return psycopg.connect(config.database_url, autocommit=True, row_factory=dict_row)


def raw_hourly(conn: Conn) -> set[tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT date_trunc('hour', captured_at, 'UTC') AS b, resident_id, camera_id, count(*) AS n,"
        " count(*) FILTER (WHERE expression = 'sad') AS sad, round(sum(p_sad)::numeric, 4) AS p_sad"
        " FROM faces GROUP BY 1, 2, 3").fetchall()
    return {tuple(r.values()) for r in rows}


def agg_hourly(conn: Conn) -> set[tuple[Any, ...]]:
    rows = conn.execute("SELECT bucket, resident_id, camera_id, faces, n_sad, round(p_sad::numeric, 4)"
                        " FROM face_hourly").fetchall()
    return {tuple(r.values()) for r in rows}


@pytest.fixture()
def home(config: Config) -> dict[str, int]:
    with connect(config) as conn:
        conn.execute("SELECT affectwatch_ensure_partitions('2030-03-01', 1)")
        mary = add_resident(conn, "Mary Jones", "12")
        tom = add_resident(conn, "Tom Hill", "14")
        room = add_camera(conn, "room 12", "Floor 1", mary)
        lounge = add_camera(conn, "lounge", "Floor 1")
        faces = [Face(T0 + timedelta(minutes=10 * i), room, mary, "sad" if i % 3 == 0 else "neutral")
                 for i in range(18)]
        faces += [Face(T0 + timedelta(minutes=7 * i), lounge, tom if i % 2 else None, "happy") for i in range(20)]
        add_faces(conn, faces)
    return {"mary": mary, "tom": tom, "room": room, "lounge": lounge}


def test_refresh_makes_aggregates_equal_the_raw_rows(config: Config, home: dict[str, int]) -> None:
    with connect(config) as conn:
        assert conn.execute("SELECT count(*) AS n FROM face_hourly").fetchone() == {"n": 0}
        hours = refresh(conn)
        assert hours == 3  # 08:00, 09:00 and 10:00
        assert agg_hourly(conn) == raw_hourly(conn)
        assert refresh(conn) == 0  # nothing changed since
        frames = conn.execute("SELECT sum(frames) AS f, sum(faces) AS n FROM frame_hourly").fetchone()
        assert frames == {"f": 38, "n": 38}
        sums = conn.execute("SELECT sum(p_sad) AS agg, (SELECT sum(p_sad::float8) FROM faces) AS raw"
                            " FROM face_hourly").fetchone()
        assert sums is not None and sums["agg"] == pytest.approx(sums["raw"], rel=1e-12)  # added as doubles


def test_a_late_row_recomputes_only_its_hour(config: Config, home: dict[str, int]) -> None:
    with connect(config) as conn:
        refresh(conn)
        before = {r["bucket"]: r["updated"] for r in conn.execute(
            "SELECT bucket, xmin::text AS updated FROM face_hourly WHERE camera_id = %s", (home["room"],))}
        add_faces(conn, [Face(T0 + timedelta(minutes=5), home["room"], home["mary"], "anger")])
        assert refresh(conn) == 1
        assert agg_hourly(conn) == raw_hourly(conn)
        after = {r["bucket"]: r["updated"] for r in conn.execute(
            "SELECT bucket, xmin::text AS updated FROM face_hourly WHERE camera_id = %s", (home["room"],))}
        changed = {b for b in after if after[b] != before.get(b)}
        assert changed == {T0}


def test_rows_committed_during_a_refresh_are_picked_up_by_the_next(config: Config, home: dict[str, int]) -> None:
    with connect(config) as conn, psycopg.connect(config.database_url) as writer:
        refresh(conn)
        add_faces(writer, [Face(T0 + timedelta(hours=5), home["room"], home["mary"], "fear")])  # not committed
        refresh(conn)
        writer.commit()
        assert agg_hourly(conn) != raw_hourly(conn)
        assert refresh(conn) == 1
        assert agg_hourly(conn) == raw_hourly(conn)


def test_removing_a_camera_merges_its_hours_without_duplicates(config: Config, home: dict[str, int]) -> None:
    with connect(config) as conn:
        refresh(conn)
        conn.execute("DELETE FROM cameras WHERE id = %s", (home["lounge"],))  # faces.camera_id SET NULL
        refresh(conn)
        assert agg_hourly(conn) == raw_hourly(conn)
        assert conn.execute("SELECT count(*) AS n FROM face_hourly WHERE camera_id = %s",
                            (home["lounge"],)).fetchone() == {"n": 0}


def test_deleting_raw_rows_keeps_the_aggregates(config: Config, home: dict[str, int]) -> None:
    with connect(config) as conn:
        refresh(conn)
        kept = agg_hourly(conn)
        conn.execute("DELETE FROM faces")
        assert refresh(conn) == 0
        assert agg_hourly(conn) == kept


def test_full_rebuild_equals_incremental(config: Config, home: dict[str, int]) -> None:
    with connect(config) as conn:
        refresh(conn)
        incremental = agg_hourly(conn)
        conn.execute("TRUNCATE face_hourly, frame_hourly")
        done = aggregates.rebuild(conn)
        assert done.hours == 3
        assert agg_hourly(conn) == incremental


def test_views_show_local_time_of_the_configured_zone(config: Config, home: dict[str, int]) -> None:
    with connect(config) as conn:
        add_faces(conn, [Face(datetime(2030, 3, 10, 23, 30, tzinfo=UTC), home["room"], home["mary"], "sad")])
        refresh(conn)
        q.sync_settings(conn, "Europe/Berlin", ["sad"])
        late = conn.execute("SELECT local_date, local_hour, negative_faces FROM analytics.expression_hourly"
                            " WHERE hour_start = '2030-03-10 23:00+00'").fetchone()
        assert late == {"local_date": date(2030, 3, 11), "local_hour": 0, "negative_faces": 1}
        daily = conn.execute("SELECT local_date, faces, n_sad, negative_share FROM analytics.resident_daily"
                             " WHERE resident_name = 'Mary Jones' ORDER BY local_date").fetchall()
        assert daily == [{"local_date": date(2030, 3, 10), "faces": 18, "n_sad": 6, "negative_share": 6 / 18},
                         {"local_date": date(2030, 3, 11), "faces": 1, "n_sad": 1, "negative_share": 1.0}]


def test_negative_labels_come_from_the_settings(config: Config, home: dict[str, int]) -> None:
    with connect(config) as conn:
        refresh(conn)
        q.sync_settings(conn, "UTC", ["happy"])
        row = conn.execute("SELECT sum(negative_faces) AS n FROM analytics.expression_hourly").fetchone()
        assert row == {"n": 20}
        q.sync_settings(conn, "UTC", ["sad", "anger"])
        row = conn.execute("SELECT sum(negative_faces) AS n, sum(faces) AS f FROM analytics.camera_hourly").fetchone()
        assert row == {"n": 6, "f": 38}


def test_dashboard_queries_read_the_aggregates(config: Config, home: dict[str, int]) -> None:
    with connect(config) as conn:
        refresh(conn)
        period = q.Period(date(2030, 3, 1), date(2030, 3, 31))
        daily = q.resident_daily(conn, home["mary"], period)
        assert [(d["day"], d["faces"], d["n_sad"]) for d in daily] == [(date(2030, 3, 10), 18, 6)]
        assert daily[0]["mean_p_negative"] == pytest.approx((6 * (0.7 + 4 * 0.3 / 7) + 12 * 5 * 0.3 / 7) / 18, rel=1e-5)
        hours = q.resident_hour_of_day(conn, home["mary"], period)
        assert [(h["hour"], h["faces"]) for h in hours] == [(8, 6), (9, 6), (10, 6)]
        assert q.resident_totals(conn, home["mary"], period)["negative_share"] == pytest.approx(1 / 3)
        empty = q.resident_totals(conn, home["mary"], q.Period(date(2031, 1, 1), date(2031, 1, 2)))
        assert empty["faces"] == 0
        cams = q.camera_activity(conn, period)
        assert [(c["camera_name"], c["frames"], c["faces"]) for c in cams] == [("room 12", 18, 18),
                                                                             ("lounge", 20, 20)]
        counts = q.expression_counts(conn, home["mary"], T0, T0 + timedelta(days=1), "day")
        assert {(r["expression"], r["n"]) for r in counts} == {("sad", 6), ("neutral", 12)}
        history = q.resident_history(conn, home["tom"], days=31, last=date(2030, 3, 31))
        assert history.totals["faces"] == 10 and history.refreshed_at is not None


def test_a_transaction_marks_each_hour_once_and_a_rolled_back_mark_is_made_again(config: Config,
                                                                                 home: dict[str, int]) -> None:
    with connect(config) as conn:
        refresh(conn)
        late = T0 + timedelta(hours=6)
        with conn.transaction():  # frames and faces of one job, row by row, as the worker writes them
            add_faces(conn, [Face(late + timedelta(seconds=i), home["room"], home["mary"], "sad") for i in range(4)])
            with pytest.raises(psycopg.errors.DivisionByZero), conn.transaction():
                add_faces(conn, [Face(late + timedelta(hours=1), home["room"], home["mary"], "sad")])
                conn.execute("SELECT 1 / 0")
            add_faces(conn, [Face(late + timedelta(hours=1, minutes=1), home["room"], home["mary"], "sad")])
        marks = [r["bucket"] for r in conn.execute("SELECT bucket FROM history_dirty_hours ORDER BY 1")]
        assert marks == [late, late + timedelta(hours=1)]
        refresh(conn)
        assert agg_hourly(conn) == raw_hourly(conn)


def test_history_counts_the_faces_the_alert_rule_counts(config: Config, home: dict[str, int]) -> None:
    """A face not worth reading (stored with its reason) adds to the hour's uncounted faces, not to its faces and
    labels; an hour of uncounted faces alone is kept, with no share, and makes no daily row of its own."""
    t = T0 + timedelta(days=2)
    with connect(config) as conn:
        ann = add_resident(conn, "Ann Lee", "16")
        cam = add_camera(conn, "room 16", "Floor 2", ann)
        add_faces(conn, [Face(t + timedelta(minutes=1), cam, ann, "sad"),
                         Face(t + timedelta(minutes=2), cam, ann, "happy"),
                         Face(t + timedelta(minutes=3), cam, ann, "sad"),
                         Face(t + timedelta(hours=1, minutes=1), cam, ann, "sad")])
        conn.execute("UPDATE faces SET uncounted_reason = 'blurred: sharpness 12 below 50'"
                     " WHERE captured_at IN (%s, %s)", (t + timedelta(minutes=3), t + timedelta(hours=1, minutes=1)))
        refresh(conn)
        hours = conn.execute("SELECT faces, n_sad, uncounted, negative_share FROM analytics.expression_hourly"
                             " WHERE resident_id = %s ORDER BY hour_start", (ann,)).fetchall()
        daily = conn.execute("SELECT faces, n_sad FROM face_daily WHERE resident_id = %s", (ann,)).fetchall()
        assert q.uncounted_faces(conn, ann, t, t + timedelta(hours=2)) == 2
    assert [(h["faces"], h["n_sad"], h["uncounted"]) for h in hours] == [(2, 1, 1), (0, 0, 1)]
    assert hours[0]["negative_share"] == pytest.approx(0.5) and hours[1]["negative_share"] is None
    assert [(d["faces"], d["n_sad"]) for d in daily] == [(2, 1)]
