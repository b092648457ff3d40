# ruff: noqa: F811  (fixtures imported from the support modules)
"""Privacy by default: the audit log (who viewed, exported or erased whose data) and alert snapshots
(off unless configured, one face crop per alert, never kept beyond 72 hours, deleted when due)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from flask.testing import FlaskClient
from psycopg import sql

from affectwatch import audit, snapshots
from affectwatch.config import Config
from affectwatch.db import connect, transaction
from affectwatch.exceptions import ConfigError, ValidationError
from affectwatch.queries import audit as audit_q
from affectwatch.queries import snapshots as snap_q
from affectwatch.queries.frames import FaceRow
from tests.test_dashboard_support import (  # noqa: F401  (fixtures)
    FakeClock,
    accounts,
    app,
    clients,
    clock,
    dash_config,
)
from tests.test_worker_support import (  # noqa: F401  (fixtures)
    add_test_camera,
    astronaut_frame,
    jpeg,
    loaded_pipeline,
    model_path,
    payload,
)
from worker import jobs
from worker.pipeline import Pipeline

ROOT = Path(__file__).resolve().parent.parent


def entries(config: Config, resident_id: int | None = None) -> list[audit_q.AuditEntry]:
    """The entries about looking at residents' data (not the administrative ones: tests/test_audit_admin.py)."""
    with connect(config) as conn:
        return [e for e in audit_q.list_entries(conn, resident_id) if e.action in ("view", "export", "erase",
                                                                                   "snapshot")]


def resident(config: Config, name: str = "Maud Gonne") -> int:
    with transaction(config) as conn:
        row = conn.execute("INSERT INTO residents (name, room) VALUES (%s, '3') RETURNING id", (name,)).fetchone()
    assert row is not None
    return int(str(row["id"]))


# --- the audit log ----------------------------------------------------------------------------------------

def test_viewing_and_exporting_a_history_is_recorded_with_who_and_from_where(
        dash_config: Config, clients: Any) -> None:
    rid = resident(dash_config)
    admin: FlaskClient = clients["admin"]
    analyst: FlaskClient = clients["analyst"]
    assert admin.get(f"/history/{rid}").status_code == 200
    assert analyst.get(f"/history/{rid}.csv?from=2026-03-01&to=2026-03-02").status_code == 200
    assert analyst.get(f"/api/v1/residents/{rid}/history").status_code == 200
    assert admin.get(f"/api/v1/residents/{rid}/history.csv").status_code == 200

    got = [(e.actor, e.action, e.subject_resident, e.what.split(",")[0]) for e in reversed(entries(dash_config))]
    assert got == [("admin", "view", rid, "history page"), ("analyst", "export", rid, "CSV by hour"),
                   ("analyst", "view", rid, "history API"), ("admin", "export", rid, "CSV by day")]
    assert all(e.actor_user_id is not None and e.remote_addr == "127.0.0.1" for e in entries(dash_config))


def test_a_refused_or_failed_request_records_nothing(dash_config: Config, clients: Any) -> None:
    rid = resident(dash_config)
    assert clients["staff"].get(f"/history/{rid}.csv").status_code == 403  # staff may view, not export
    assert clients["admin"].get(f"/history/{rid}?from=yesterday-ish").status_code == 400
    assert clients["admin"].get("/history/999999").status_code == 404
    assert entries(dash_config) == []


def test_the_dashboard_role_may_append_to_the_log_but_never_change_it(config: Config) -> None:
    rid = resident(config)
    with connect(config) as conn:
        conn.execute("SET ROLE affectwatch_dashboard")
        audit.record(conn, audit.Actor("nurse", 7, "10.0.0.9"), "view", rid, "history page")
        for change in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(sql.SQL(change))
        conn.commit()
    assert [(e.actor, e.action) for e in entries(config, rid)] == [("nurse", "view")]


def test_an_unknown_action_is_refused(config: Config) -> None:
    with connect(config) as conn, pytest.raises(ValidationError, match="not one of"):
        audit.record(conn, audit.cli_actor(), "peek", 1)


def test_erasing_a_resident_is_recorded_and_the_log_survives_the_erasure(config: Config) -> None:
    rid = resident(config, "Brigid Quinn")
    with connect(config) as conn:
        audit.record(conn, audit.Actor("nurse", 3), "view", rid, "history page")
        conn.commit()
    env = {"AFFECTWATCH_DATABASE_URL": config.database_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "affectwatch.cli", "resident", "erase", str(rid), "--yes"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no row refers to or names them" in done.stdout  # the log holds their id, not their name
    log = entries(config, rid)
    assert [e.action for e in log] == ["erase", "view"]
    assert log[0].actor.startswith("cli:") and log[0].what == "affectwatch resident erase"


# --- alert snapshots --------------------------------------------------------------------------------------

def test_snapshot_hours_are_capped_at_72() -> None:
    assert Config.from_env({}).alert_snapshot_hours == 0  # off by default: no image of anyone is kept
    assert Config.from_env({"AFFECTWATCH_ALERT_SNAPSHOT_HOURS": "72"}).alert_snapshot_hours == 72
    with pytest.raises(ConfigError, match="72"):
        Config.from_env({"AFFECTWATCH_ALERT_SNAPSHOT_HOURS": "73"})


def open_alert(config: Config, resident_id: int, camera_id: int) -> int:
    now = datetime.now(UTC)
    with transaction(config) as conn:
        row = conn.execute(
            "INSERT INTO alerts (kind, resident_id, camera_id, window_start, window_end, n_faces, negative_share,"
            " peak_share) VALUES ('expression', %s, %s, %s, %s, 20, 0.7, 0.7) RETURNING id",
            (resident_id, camera_id, now - timedelta(minutes=10), now)).fetchone()
    assert row is not None
    return int(str(row["id"]))


def face_row(frame_id: uuid.UUID, resident_id: int, camera_id: int, p_sad: float) -> FaceRow:
    probs: dict[str, float | None] = {"sad": p_sad, "happy": 1 - p_sad}
    return FaceRow(frame_id, 0, datetime.now(UTC), camera_id, resident_id, (180.0, 100.0, 260.0, 200.0), 0.99,
                   "sad", p_sad, probs, "test")


def test_a_snapshot_is_the_most_negative_face_kept_until_its_expiry_then_purged(
        config: Config, face_video: Path, astronaut: np.ndarray) -> None:
    camera_id, rid = add_test_camera(config, face_video)
    assert rid is not None
    alert_id = open_alert(config, rid, camera_id)
    frames = {uuid.uuid4(): jpeg(astronaut_frame(astronaut, x)) for x in (40, 180)}
    faces = [face_row(f, rid, camera_id, p) for f, p in zip(frames, (0.2, 0.9), strict=True)]
    now = datetime.now(UTC)
    with transaction(config) as conn:
        assert snapshots.take(conn, config, faces, frames, now) == 0  # off by default
    on = replace(config, alert_snapshot_hours=72)
    with transaction(config) as conn:
        assert snapshots.take(conn, on, faces, frames, now) == 1
        assert snapshots.take(conn, on, faces, frames, now) == 0  # one per alert, however many jobs
    with connect(config) as conn:
        snap = snap_q.get_snapshot(conn, alert_id, now + timedelta(hours=71))
        assert snap is not None and snap.frame_id == faces[1].frame_id  # the sadder face
        assert snap.expires_at == now + timedelta(hours=72)
        assert snap.jpeg[:2] == b"\xff\xd8" and len(snap.jpeg) < 20_000  # a small crop, not the frame
        assert snap_q.get_snapshot(conn, alert_id, now + timedelta(hours=72)) is None  # never shown once due
        assert snapshots.purge(conn, now + timedelta(hours=71)) == 0
        assert snapshots.purge(conn, now + timedelta(hours=72, seconds=1)) == 1
        conn.commit()
        assert conn.execute("SELECT count(*) AS n FROM alert_snapshots").fetchone() == {"n": 0}


def test_the_schema_refuses_a_snapshot_kept_longer_than_72_hours(config: Config, face_video: Path) -> None:
    camera_id, rid = add_test_camera(config, face_video)
    assert rid is not None
    alert_id = open_alert(config, rid, camera_id)
    now = datetime.now(UTC)
    snap = snap_q.Snapshot(alert_id, rid, uuid.uuid4(), now, now, now + timedelta(hours=72, minutes=1), b"\xff\xd8")
    with connect(config) as conn, pytest.raises(psycopg.errors.CheckViolation):
        snap_q.insert_snapshot(conn, snap)


def alert_with_snapshot(config: Config, face_video: Path, astronaut: np.ndarray, hours: int,
                        now: datetime | None = None) -> tuple[int, int]:
    """An open alert of a resident with a snapshot kept `hours`; (alert id, resident id)."""
    camera_id, rid = add_test_camera(config, face_video)
    assert rid is not None
    alert_id = open_alert(config, rid, camera_id)
    frame = uuid.uuid4()
    with transaction(config) as conn:
        snapshots.take(conn, replace(config, alert_snapshot_hours=hours), [face_row(frame, rid, camera_id, 0.8)],
                       {frame: jpeg(astronaut_frame(astronaut))}, now)
    return alert_id, rid


def test_looking_at_a_snapshot_is_recorded(config: Config, face_video: Path, astronaut: np.ndarray) -> None:
    alert_id, rid = alert_with_snapshot(config, face_video, astronaut, 1)
    with connect(config) as conn:
        assert snapshots.shown(conn, alert_id, audit.Actor("nurse", 4)) is not None
        assert snapshots.shown(conn, alert_id + 1, audit.Actor("nurse", 4)) is None
        conn.commit()
    assert [(e.actor, e.action, e.what) for e in entries(config, rid)] == [("nurse", "snapshot", f"alert {alert_id}")]


def test_the_worker_snapshots_an_alert_it_opens(config: Config, loaded_pipeline: Pipeline, astronaut: np.ndarray,
                                               face_video: Path) -> None:
    camera_id, rid = add_test_camera(config, face_video)
    cfg = replace(loaded_pipeline.config, database_url=config.database_url, alert_snapshot_hours=24,
                  alert_min_faces=2, alert_open_share=0.0001, alert_close_share=0.0, alert_counting="probability",
                  alert_min_span_minutes=0.0, alert_min_minutes=0)  # three frames of one moment: no span asked
    jobs.install(loaded_pipeline.with_config(cfg))
    try:
        frames = [payload(camera_id, jpeg(astronaut_frame(astronaut, x))).to_json() for x in (40, 120, 200)]
        result = jobs.process_frames(camera_id, frames)
    finally:
        jobs.install(None)
    assert result["faces_inserted"] == 3
    with connect(config) as conn:
        rows = conn.execute("SELECT a.id, s.resident_id, s.expires_at - s.taken_at AS kept FROM alerts a"
                            " JOIN alert_snapshots s ON s.alert_id = a.id").fetchall()
    assert [(r["resident_id"], r["kept"]) for r in rows] == [(rid, timedelta(hours=24))]


# --- monitoring pauses: nothing is stored about a paused resident -------------------------------------------

@pytest.mark.parametrize("how", ["paused", "not monitored"])
def test_no_face_of_a_paused_or_unmonitored_resident_is_stored(config: Config, loaded_pipeline: Pipeline,
                                                              astronaut: np.ndarray, face_video: Path,
                                                              how: str) -> None:
    camera_id, rid = add_test_camera(config, face_video)
    with transaction(config) as conn:
        if how == "paused":
            conn.execute("INSERT INTO monitoring_pauses (resident_id, starts_at, ends_at, reason) VALUES"
                         " (%s, now() - interval '1 minute', now() + interval '1 hour', 'privacy')", (rid,))
        else:
            conn.execute("UPDATE residents SET monitored = false WHERE id = %s", (rid,))
    jobs.install(loaded_pipeline.with_config(replace(loaded_pipeline.config, database_url=config.database_url)))
    try:
        result = jobs.process_frames(camera_id, [payload(camera_id, jpeg(astronaut_frame(astronaut))).to_json()])
    finally:
        jobs.install(None)
    assert (result["processed"], result["faces"], result["faces_inserted"]) == (1, 1, 0)
    with connect(config) as conn:
        assert conn.execute("SELECT count(*) AS n FROM faces").fetchone() == {"n": 0}
        assert conn.execute("SELECT n_faces FROM frames").fetchone() == {"n_faces": 1}  # the frame is accounted for


def test_history_maintenance_deletes_snapshots_past_their_expiry(config: Config, face_video: Path) -> None:
    from upkeep import maintenance

    camera_id, rid = add_test_camera(config, face_video)
    assert rid is not None
    now = datetime.now(UTC)
    for hours_ago in (80, 1):
        alert = open_alert(config, rid, camera_id)
        taken = now - timedelta(hours=hours_ago)
        with transaction(config) as conn:
            snap_q.insert_snapshot(conn, snap_q.Snapshot(alert, rid, uuid.uuid4(), taken, taken,
                                                         taken + timedelta(hours=72), b"\xff\xd8"))
            conn.execute("UPDATE alerts SET state = 'resolved', resolved_at = now() WHERE id = %s", (alert,))
    result = maintenance.run_once(config, with_retention=False)
    assert "snapshots" not in result.errors
    with connect(config) as conn:
        left = conn.execute("SELECT taken_at FROM alert_snapshots").fetchall()
    assert [r["taken_at"] for r in left] == [now - timedelta(hours=1)]  # the 80-hour-old one is gone


def test_staff_see_an_alerts_snapshot_in_the_dashboard_until_it_expires_and_each_look_is_recorded(
        dash_config: Config, clients: Any, clock: FakeClock, face_video: Path, astronaut: np.ndarray) -> None:
    alert_id, rid = alert_with_snapshot(dash_config, face_video, astronaut, 2, clock.now)
    staff: FlaskClient = clients["staff"]
    page = staff.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert f'src="/alerts/{alert_id}/snapshot.jpg"' in page and "Deleted automatically at" in page
    assert entries(dash_config, rid) == []  # the page alone shows no face: nothing looked at yet
    image = staff.get(f"/alerts/{alert_id}/snapshot.jpg")
    assert image.status_code == 200 and image.mimetype == "image/jpeg" and image.data[:2] == b"\xff\xd8"
    assert "no-store" in image.headers["Cache-Control"]
    assert [(e.actor, e.action) for e in entries(dash_config, rid)] == [("staff", "snapshot")]
    clock.advance(hours=2)
    staff = type(clients)(clients.app)["staff"]  # signed in again: the session has timed out meanwhile
    assert "snapshot.jpg" not in staff.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert staff.get(f"/alerts/{alert_id}/snapshot.jpg").status_code == 404
    assert clients.app.test_client().get(f"/alerts/{alert_id}/snapshot.jpg").status_code in (302, 401)
    assert len(entries(dash_config, rid)) == 1


def test_audit_entries_older_than_their_retention_are_deleted(config: Config) -> None:
    from upkeep import retention

    rid = resident(config)
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    with transaction(config) as conn:
        for days in (800, 731, 10):
            conn.execute("INSERT INTO audit_log (at, actor, action, subject_resident) VALUES (%s, 'admin', 'view', %s)",
                         (now - timedelta(days=days), rid))
    with connect(config, autocommit=True) as conn:
        kept = retention.apply(conn, retention.RetentionPolicy(0, 0, 0, audit_days=0), now)
        assert kept.audit_cutoff is None and "audit_log" not in kept.deleted
        report = retention.apply(conn, retention.RetentionPolicy.from_config(config), now)
    assert config.retention_audit_days == 730
    assert report.deleted["audit_log"] == 2
    assert [e.at for e in entries(config, rid)] == [now - timedelta(days=10)]
