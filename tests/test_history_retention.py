"""Retention: exactly the data older than each kind's age goes, whole partitions dropped where possible.

The history here lies in 2001-2002 (a fake clock), before any other test's partitions, so dropping
old partitions touches only this test's."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from affectwatch import cli
from affectwatch.config import Config
from tests.historydata import Face, add_camera, add_faces, add_resident, refresh
from upkeep import retention
from upkeep.retention import RetentionPolicy

Conn = psycopg.Connection[Any]
NOW = datetime(2002, 5, 15, 12, 0, tzinfo=UTC)
RAW_CUTOFF = datetime(2002, 3, 16, tzinfo=UTC)  # 60 days before NOW, at the start of that day
TIMES = [datetime(2001, 12, 20, 9, tzinfo=UTC),  # no partition: in faces_default
         datetime(2002, 1, 10, 9, tzinfo=UTC), datetime(2002, 2, 10, 9, tzinfo=UTC),
         datetime(2002, 3, 10, 9, tzinfo=UTC), RAW_CUTOFF - timedelta(microseconds=1),
         RAW_CUTOFF, datetime(2002, 4, 10, 9, tzinfo=UTC), datetime(2002, 5, 15, 11, tzinfo=UTC)]


def connect(config: Config) -> Conn:
    return psycopg.connect(config.database_url, autocommit=True, row_factory=dict_row)


def scalar(conn: Conn, query: str, *params: Any) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return next(iter(row.values()))


@pytest.fixture()
def history(config: Config) -> dict[str, int]:
    with connect(config) as conn:
        conn.execute("SELECT affectwatch_ensure_partitions('2002-01-01', 5)")
        ann = add_resident(conn, "Ann Old")
        bob = add_resident(conn, "Bob Old")
        cam = add_camera(conn, "room 3", "Floor 1", ann)
        add_faces(conn, [Face(t + timedelta(seconds=s), cam, ann, "sad") for t in TIMES for s in (0, 0)])
    return {"ann": ann, "bob": bob, "cam": cam}


def test_raw_rows_older_than_the_cutoff_go_and_nothing_newer(config: Config, history: dict[str, int]) -> None:
    policy = RetentionPolicy(raw_days=60, aggregate_days=0, alert_days=0)
    with connect(config) as conn:
        dry = retention.apply(conn, policy, NOW, dry_run=True)
        assert scalar(conn, "SELECT count(*) FROM faces") == 16  # nothing removed by a dry run
        report = retention.apply(conn, policy, NOW)
        left = [r["captured_at"] for r in conn.execute("SELECT captured_at FROM faces ORDER BY 1")]
        frames_left = scalar(conn, "SELECT count(*) FROM frames")
        parts = {r["partition"] for r in conn.execute("SELECT partition FROM affectwatch_partitions")}
        hours = scalar(conn, "SELECT sum(faces) FROM face_hourly")
    assert report.raw_cutoff == RAW_CUTOFF and report.aggregate_cutoff is None and report.alert_cutoff is None
    assert left == sorted(t for t in TIMES for _ in (0, 0) if t >= RAW_CUTOFF)
    assert frames_left == 6
    assert sorted(report.dropped) == ["faces_2002_01", "faces_2002_02", "frames_2002_01", "frames_2002_02"]
    assert not {"faces_2002_01", "faces_2002_02"} & parts and {"faces_2002_03", "faces_default"} <= parts
    assert report.deleted == {"faces": 10, "frames": 10} == {k: dry.deleted[k] for k in ("faces", "frames")}
    assert sorted(dry.dropped) == sorted(report.dropped)
    assert hours == 16  # aggregates were refreshed before the raw rows went, and kept


def test_aggregates_older_than_their_cutoff_go(config: Config, history: dict[str, int]) -> None:
    with connect(config) as conn:
        refresh(conn)
        report = retention.apply(conn, RetentionPolicy(raw_days=0, aggregate_days=90, alert_days=0), NOW)
        buckets = [r["bucket"] for r in conn.execute("SELECT DISTINCT bucket FROM face_hourly ORDER BY 1")]
        raw = scalar(conn, "SELECT count(*) FROM faces")
    cutoff = datetime(2002, 2, 14, tzinfo=UTC)
    assert report.aggregate_cutoff == cutoff
    assert buckets == sorted({t.replace(minute=0, second=0, microsecond=0) for t in TIMES if t >= cutoff})
    assert report.deleted == {"face_hourly": 3, "frame_hourly": 3, "face_daily": 3}
    assert raw == 16


def add_alert(conn: Conn, resident: int | None, camera: int | None, opened: datetime,
              resolved: datetime | None, acknowledged: datetime | None = None) -> int:
    state = "resolved" if resolved else "acknowledged" if acknowledged else "open"
    kind = "expression" if resident else "camera_offline"
    alert = scalar(conn, "INSERT INTO alerts (kind, state, resident_id, camera_id, window_start, window_end, n_faces,"
                   " negative_share, peak_share, opened_at, acknowledged_at, resolved_at)"
                   " VALUES (%s, %s, %s, %s, %s, %s, 30, 0.7, 0.8, %s, %s, %s) RETURNING id",
                   kind, state, resident, camera, opened - timedelta(minutes=10), opened, opened, acknowledged,
                   resolved)
    conn.execute("INSERT INTO alert_events (alert_id, kind, at) VALUES (%s, 'opened', %s)", (alert, opened))
    return int(alert)


def test_resolved_alerts_older_than_their_cutoff_go_open_ones_stay(config: Config, history: dict[str, int]) -> None:
    day = timedelta(days=1)
    with connect(config) as conn:
        old = add_alert(conn, history["ann"], None, NOW - 200 * day, NOW - 199 * day)
        old_open = add_alert(conn, None, history["cam"], NOW - 300 * day, None)
        old_ack = add_alert(conn, history["bob"], None, NOW - 300 * day, None, NOW - 299 * day)
        recent = add_alert(conn, history["ann"], None, NOW - 20 * day, NOW - 19 * day)
        report = retention.apply(conn, RetentionPolicy(raw_days=0, aggregate_days=0, alert_days=100), NOW)
        alerts = {r["id"] for r in conn.execute("SELECT id FROM alerts")}
        events = {r["alert_id"] for r in conn.execute("SELECT alert_id FROM alert_events")}
    assert report.deleted == {"alerts": 1}
    assert alerts == events == {old_open, old_ack, recent}
    assert old not in alerts


def test_command_dry_run_reports_and_removes_nothing(config: Config, history: dict[str, int],
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AFFECTWATCH_DATABASE_URL", config.database_url)
    years = (datetime.now(UTC) - datetime(2002, 3, 1, tzinfo=UTC)).days // 365
    days = str(years * 365)  # a cutoff in 2002 or early 2003
    assert cli.main(["retention", "--dry-run", "--json", "--raw-days", days, "--alert-days", "0"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dry_run"] is True and report["deleted"]["faces"] >= 10 and report["alert_cutoff"] is None
    with connect(config) as conn:
        assert scalar(conn, "SELECT count(*) FROM faces") == 16
    assert cli.main(["retention", "--raw-days", "-1"]) == 2
