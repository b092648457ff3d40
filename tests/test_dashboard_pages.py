"""The dashboard's pages and API, through Flask's test client, on real Postgres and Redis."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import redis
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue, SimpleWorker, Worker
from rq.serializers import JSONSerializer

from affectwatch.config import Config
from affectwatch.queries import alerts as aq
from affectwatch.queries.camera_status import HealthReport, report_health
from dashboard.access import view_permission
from tests.test_dashboard_support import *  # noqa: F403  (the fixtures)
from tests.test_dashboard_support import FakeClock, api, db, post_form

SCRIPT = "<script>alert(1)</script>"


def add_camera(client: FlaskClient, source: Path | str, name: str = "Room 12 door", **extra: Any) -> int:
    response = api(client, "POST", "/api/v1/cameras", {"name": name, "source": str(source), **extra})
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def add_resident(client: FlaskClient, name: str = "Ada Lovelace", **extra: Any) -> int:
    response = api(client, "POST", "/api/v1/residents", {"name": name, "room": "12", "monitored": True, **extra})
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def add_faces(config: Config, resident_id: int, camera_id: int | None, start: datetime,
              expressions: list[str], every: timedelta) -> None:
    """Expression events as a worker writes them (one face per frame)."""
    with db(config) as conn:
        for i, label in enumerate(expressions):
            probs = {f"p_{x}": (0.9 if x == label else 0.1 / 7) for x in
                     ("anger", "contempt", "disgust", "fear", "happy", "neutral", "sad", "surprise")}
            conn.execute(
                "INSERT INTO faces (frame_id, face_index, captured_at, camera_id, resident_id, box_x1, box_y1,"
                " box_x2, box_y2, det_prob, expression, confidence, model, " + ", ".join(probs) + ")"
                " VALUES (%s, 0, %s, %s, %s, 1, 1, 50, 50, 0.99, %s, 0.9, 'test', "
                + ", ".join(["%s"] * len(probs)) + ")",
                (uuid.uuid4(), start + i * every, camera_id, resident_id, label, *probs.values()))
        conn.execute("SELECT affectwatch_refresh_history()")  # the history upkeep's job, every minute


def open_alert(config: Config, resident_id: int, camera_id: int | None, at: datetime) -> int:
    """An alert as the alert engine opens one (its own insert and event functions)."""
    with psycopg.connect(config.database_url) as conn:
        alert_id = aq.insert_alert(conn, {
            "kind": "expression", "resident_id": resident_id, "camera_id": camera_id,
            "window_start": at - timedelta(minutes=10), "window_end": at, "n_faces": 40, "negative_share": 0.7,
            "threshold": 0.6, "dominant_expression": "sad", "peak_share": 0.75, "peak_at": at, "opened_at": at})
        aq.add_event(conn, alert_id, "opened", at=at)
        conn.commit()
    return alert_id


# ---- cameras ------------------------------------------------------------------------------------------------------

def test_register_a_camera_through_the_form_and_see_its_health(clients: dict[str, FlaskClient], face_video: Path,
                                                               dash_config: Config, clock: FakeClock) -> None:
    admin = clients["admin"]
    form = admin.get("/cameras/new").get_data(as_text=True)
    assert 'name="source"' in form
    response = post_form(admin, "/cameras/new", {"name": "Lounge", "source": str(face_video), "location": "lounge",
                                                 "sample_fps": "2", "enabled": "1"})
    assert response.status_code == 302
    camera_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert "waiting" in admin.get("/cameras/").get_data(as_text=True), "no report from the producer yet"
    with db(dash_config) as conn:
        report_health(conn, [HealthReport(camera_id, "online", clock.now - timedelta(seconds=4), sent=37, dropped=3,
                                          errors=1, last_error="timeout once", fps=1.9)])
        conn.execute("UPDATE camera_status SET updated_at = %s", (clock.now,))
    page = admin.get(f"/cameras/{camera_id}").get_data(as_text=True)
    for text in ("online", "4 s ago", "1.90", ">37<", ">3<", "timeout once"):
        assert text in page, text
    clock.advance(minutes=5)
    assert "silent" in admin.get("/cameras/").get_data(as_text=True), "a producer that stopped reporting"


def test_a_rejected_form_with_a_stray_id_field_is_shown_again_not_a_server_error(
        clients: dict[str, FlaskClient]) -> None:
    """Found by the dashboard fuzzer: an "id" field posted with a bad camera made the form link to an edit page."""
    admin = clients["admin"]
    for path in ("/cameras/new", "/residents/new"):
        response = post_form(admin, path, {"name": "", "source": "x", "id": "'; DROP TABLE residents; --"})
        assert response.status_code == 400, path
        assert f'action="{path}"' in response.get_data(as_text=True), "the form still posts where it came from"


def test_a_bad_source_is_refused_with_the_reason_and_nothing_is_saved(clients: dict[str, FlaskClient]) -> None:
    admin = clients["admin"]
    response = post_form(admin, "/cameras/new", {"name": "Hall", "source": "/no/such/file.mp4", "enabled": "1"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "/no/such/file.mp4" in page and 'value="Hall"' in page, "the form keeps what was typed"
    assert api(admin, "GET", "/api/v1/cameras").get_json() == {"cameras": []}
    bad = api(admin, "POST", "/api/v1/cameras", {"name": "Hall", "source": "file:///etc/passwd"})
    assert bad.status_code == 400 and "error" in bad.get_json()


def test_names_typed_by_users_are_escaped(clients: dict[str, FlaskClient], face_video: Path) -> None:
    admin = clients["admin"]
    resident_id = add_resident(admin, SCRIPT)
    add_camera(admin, face_video, name=SCRIPT, location=SCRIPT, resident_id=resident_id)
    for url in ("/cameras/", "/residents/", f"/residents/{resident_id}", "/overview", "/history/",
                f"/history/{resident_id}"):
        page = admin.get(url).get_data(as_text=True)
        assert SCRIPT not in page, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, url


def test_edit_disable_and_remove_a_camera(clients: dict[str, FlaskClient], face_video: Path) -> None:
    admin = clients["admin"]
    camera_id = add_camera(admin, face_video)
    response = post_form(admin, f"/cameras/{camera_id}/edit", {"name": "Door", "source": str(face_video),
                                                               "sample_fps": "5", "enabled": "1"})
    assert response.status_code == 302
    assert api(admin, "GET", f"/api/v1/cameras/{camera_id}").get_json()["sample_fps"] == 5
    post_form(admin, f"/cameras/{camera_id}/enabled", {"enabled": "0"})
    cam = api(admin, "GET", f"/api/v1/cameras/{camera_id}").get_json()
    assert cam["enabled"] is False and cam["state"] == "disabled"
    post_form(admin, f"/cameras/{camera_id}/remove", {})
    assert api(admin, "GET", f"/api/v1/cameras/{camera_id}").status_code == 404


def test_a_password_in_a_source_is_never_shown_and_survives_an_edit(clients: dict[str, FlaskClient]) -> None:
    admin = clients["admin"]
    camera_id = add_camera(admin, "rtsp://nurse:s3cret@10.0.0.5/stream")
    form = admin.get(f"/cameras/{camera_id}/edit").get_data(as_text=True)
    assert "s3cret" not in form and "nurse:***@10.0.0.5" in form
    post_form(admin, f"/cameras/{camera_id}/edit", {"name": "Door", "source": "rtsp://nurse:***@10.0.0.5/stream",
                                                    "enabled": "1"})
    with db(admin.application.extensions["affectwatch"].config) as conn:
        row = conn.execute("SELECT name, source FROM cameras").fetchone()
    assert row == {"name": "Door", "source": "rtsp://nurse:s3cret@10.0.0.5/stream"}


def test_the_test_action_shows_one_frame(clients: dict[str, FlaskClient], face_video: Path) -> None:
    admin = clients["admin"]
    camera_id = add_camera(admin, face_video)
    page = post_form(admin, f"/cameras/{camera_id}/test", {}).get_data(as_text=True)
    assert 'id="test-frame"' in page and "data:image/jpeg;base64," in page and "640×480" in page
    shot = api(admin, "POST", "/api/v1/cameras/test", {"source": "/no/such.mp4"}).get_json()
    assert shot["ok"] is False and "/no/such.mp4" in shot["error"]
    form = post_form(admin, "/cameras/test-source", {"name": "New", "source": str(face_video)})
    assert form.status_code == 200 and 'id="test-frame"' in form.get_data(as_text=True)


# ---- residents ----------------------------------------------------------------------------------------------------

def test_residents_cameras_pauses_and_thresholds(clients: dict[str, FlaskClient], face_video: Path,
                                                 clock: FakeClock, dash_config: Config) -> None:
    admin = clients["admin"]
    cam_a = add_camera(admin, face_video, name="A")
    cam_b = add_camera(admin, face_video, name="B")
    response = post_form(admin, "/residents/new", {"name": "Grace", "room": "7", "monitored": "1",
                                                   "camera_ids": [str(cam_a), str(cam_b)]})
    resident_id = int(response.headers["Location"].rsplit("/", 1)[1])
    assert [c["name"] for c in api(admin, "GET", f"/api/v1/residents/{resident_id}").get_json()["cameras"]] == [
        "A", "B"]
    api(admin, "PATCH", f"/api/v1/residents/{resident_id}", {"camera_ids": [cam_b]})
    assert api(admin, "GET", f"/api/v1/cameras/{cam_a}").get_json()["resident_id"] is None

    post_form(admin, f"/residents/{resident_id}/pauses", {"reason": "visit", "minutes": "30", "note": "family"})
    shown = api(admin, "GET", "/api/v1/residents").get_json()["residents"][0]
    assert shown["pause_reason"] == "visit"
    assert datetime.fromisoformat(shown["paused_until"]) == clock.now + timedelta(minutes=30)
    with db(dash_config) as conn:
        paused = conn.execute("SELECT affectwatch_resident_monitored(%s, %s) AS m", (resident_id, clock.now))
        assert paused.fetchone() == {"m": False}, "the schema function the alert engine reads"
    pause_id = api(admin, "GET", f"/api/v1/residents/{resident_id}").get_json()["pauses"][0]["id"]
    clock.advance(minutes=10)
    assert api(admin, "DELETE", f"/api/v1/residents/{resident_id}/pauses/{pause_id}").status_code == 204
    assert api(admin, "GET", "/api/v1/residents").get_json()["residents"][0]["paused_until"] is None

    post_form(admin, f"/residents/{resident_id}/thresholds", {"negative_share": "0.45", "window_seconds": "",
                                                              "baseline": "1"})
    t = api(admin, "GET", f"/api/v1/residents/{resident_id}/thresholds").get_json()
    assert t["overrides"]["negative_share"] == 0.45 and t["overrides"]["baseline"] is True
    assert t["overrides"]["window_seconds"] is None and t["defaults"]["window_seconds"] == 600
    with psycopg.connect(dash_config.database_url) as conn:
        assert aq.overrides(conn, resident_id).negative_share == 0.45, "the alert engine reads the override"
    bad = api(admin, "PUT", f"/api/v1/residents/{resident_id}/thresholds", {"negative_share": 3})
    assert bad.status_code == 400 and "negative_share" in bad.get_json()["errors"]


def test_a_pause_needs_an_end_after_its_start(clients: dict[str, FlaskClient]) -> None:
    admin = clients["admin"]
    resident_id = add_resident(admin)
    response = api(admin, "POST", f"/api/v1/residents/{resident_id}/pauses",
                   {"reason": "care", "starts_at": "2026-03-02T10:00", "ends_at": "2026-03-02T09:00"})
    assert response.status_code == 400 and "ends_at" in response.get_json()["errors"]
    response = api(admin, "POST", f"/api/v1/residents/{resident_id}/pauses", {"reason": "nap", "minutes": 5})
    assert "reason" in response.get_json()["errors"]


# ---- alerts -------------------------------------------------------------------------------------------------------

def test_alerts_list_filter_feed_and_acknowledge(clients: dict[str, FlaskClient], face_video: Path,
                                                 dash_config: Config, clock: FakeClock,
                                                 accounts: dict[str, int]) -> None:
    admin, staff = clients["admin"], clients["staff"]
    ada, bob = add_resident(admin, "Ada"), add_resident(admin, "Bob")
    cam = add_camera(admin, face_video, resident_id=ada)
    mark = api(staff, "GET", "/api/v1/alerts/feed").get_json()
    assert mark["alerts"] == [] and mark["open_count"] == 0
    first = open_alert(dash_config, ada, cam, clock.now)
    second = open_alert(dash_config, bob, None, clock.now)
    feed = staff.get(f"/api/v1/alerts/feed?after={mark['last_id']}").get_json()
    assert [a["id"] for a in feed["alerts"]] == [second, first] and feed["open_count"] == 2
    assert "Ada: 75% negative expressions over 40 faces, mostly sad" in feed["alerts"][1]["summary"]
    assert staff.get(f"/api/v1/alerts/feed?after={feed['last_id']}").get_json()["alerts"] == []

    assert [a["id"] for a in api(staff, "GET", f"/api/v1/alerts?camera_id={cam}").get_json()["alerts"]] == [first]
    assert [a["id"] for a in api(staff, "GET", f"/api/v1/alerts?resident_id={bob}").get_json()["alerts"]] == [second]
    page = staff.get(f"/alerts/?resident_id={ada}").get_data(as_text=True)
    assert f'data-alert-id="{first}"' in page and f'data-alert-id="{second}"' not in page

    clock.advance(minutes=3)
    response = post_form(staff, f"/alerts/{first}/acknowledge", {"note": "Sat with her; she is fine"})
    assert response.status_code == 302
    alert = api(staff, "GET", f"/api/v1/alerts/{first}").get_json()
    assert alert["state"] == "acknowledged" and alert["acknowledged_by"] == "staff"
    assert datetime.fromisoformat(alert["acknowledged_at"]) == clock.now
    event = alert["events"][-1]
    assert (event["kind"], event["note"], event["user_id"]) == ("acknowledged", "Sat with her; she is fine",
                                                                accounts["staff"])
    again = api(staff, "POST", f"/api/v1/alerts/{first}/acknowledge", {"note": "twice"})
    assert again.status_code == 409
    assert api(staff, "POST", f"/api/v1/alerts/{second}/resolve", {"note": "false alarm"}).get_json()[
        "state"] == "resolved"
    assert api(staff, "GET", "/api/v1/alerts?state=resolved").get_json()["alerts"][0]["id"] == second


def test_the_overview_puts_residents_needing_attention_first(clients: dict[str, FlaskClient], dash_config: Config,
                                                             clock: FakeClock) -> None:
    admin, staff = clients["admin"], clients["staff"]
    add_resident(admin, "Aaron")
    zoe = add_resident(admin, "Zoe")
    open_alert(dash_config, zoe, None, clock.now)
    page = staff.get("/overview").get_data(as_text=True)
    assert "1 resident needs attention" in page
    assert page.index("Zoe") < page.index("Aaron")
    assert "Acknowledge" in page


# ---- history ------------------------------------------------------------------------------------------------------

def test_history_shares_distribution_alerts_and_csv(clients: dict[str, FlaskClient], dash_config: Config,
                                                    clock: FakeClock) -> None:
    admin, analyst, staff = clients["admin"], clients["analyst"], clients["staff"]
    resident_id = add_resident(admin)
    start = clock.now.replace(minute=0) - timedelta(hours=3)
    add_faces(dash_config, resident_id, None, start, ["happy"] * 3 + ["sad"], timedelta(minutes=1))
    add_faces(dash_config, resident_id, None, start + timedelta(hours=2), ["neutral"] * 2, timedelta(minutes=1))
    open_alert(dash_config, resident_id, None, start + timedelta(hours=2, minutes=20))
    data = api(staff, "GET", f"/api/v1/residents/{resident_id}/history?bucket=hour&from=2026-03-02").get_json()
    assert data["distribution"] == {"anger": 0, "contempt": 0, "disgust": 0, "fear": 0, "happy": 3, "neutral": 2,
                                    "sad": 1, "surprise": 0}
    hours = [datetime.fromisoformat(b) for b in data["buckets"]]
    first = hours.index(start)
    assert data["shares"]["happy"][first] == 0.75 and data["shares"]["sad"][first] == 0.25
    assert data["totals"][first + 1] == 0 and data["shares"]["happy"][first + 1] is None
    assert data["shares"]["neutral"][first + 2] == 1.0
    assert data["alerts_per_bucket"][first + 2] == 1 and sum(data["alerts_per_bucket"]) == 1
    page = staff.get(f"/history/{resident_id}?bucket=hour&from=2026-03-02").get_data(as_text=True)
    assert 'id="history-data"' in page and "chart.umd.min.js" in page and "Export CSV" not in page

    export = analyst.get(f"/history/{resident_id}.csv?bucket=day&from=2026-03-01&to=2026-03-02")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True))))
    assert [r["bucket_start"][:10] for r in rows] == ["2026-03-01", "2026-03-02"]
    assert rows[1]["faces"] == "6" and rows[1]["n_happy"] == "3" and rows[1]["share_happy"] == "0.5000"
    assert rows[1]["alerts"] == "1"
    assert staff.get(f"/history/{resident_id}.csv").status_code == 403


def test_history_refuses_a_range_it_cannot_draw(clients: dict[str, FlaskClient]) -> None:
    admin = clients["admin"]
    resident_id = add_resident(admin)
    response = admin.get(f"/api/v1/residents/{resident_id}/history?bucket=hour&from=2025-01-01&to=2025-12-31")
    assert response.status_code == 400 and "bucket" in response.get_json()["errors"]
    assert admin.get(f"/history/{resident_id}?from=2026-05-01&to=2026-04-01").status_code == 400


def test_the_chart_library_is_served_from_this_site(app: Flask) -> None:
    response = app.test_client().get("/static/vendor/chart.umd.min.js")
    assert response.status_code == 200 and b"Chart" in response.data[:2000]
    assert app.test_client().get("/static/vendor/other.js").status_code == 404


# ---- system -------------------------------------------------------------------------------------------------------

def fail_on_purpose(camera_id: int, frames: list[Any]) -> None:
    raise ValueError(f"camera {camera_id}: this frame cannot be read")


def test_system_shows_queue_workers_rate_and_failed_jobs(clients: dict[str, FlaskClient], dash_config: Config,
                                                         redis_conn: redis.Redis, clock: FakeClock) -> None:
    admin = clients["admin"]
    queue = Queue(dash_config.queue, connection=redis_conn, serializer=JSONSerializer)
    job = queue.enqueue(fail_on_purpose, 7, [{"frame": 1}, {"frame": 2}])
    queue.enqueue(fail_on_purpose, 8, [])
    assert api(admin, "GET", "/api/v1/system").get_json()["queued"] == 2
    SimpleWorker([queue], connection=redis_conn, serializer=JSONSerializer).work(burst=True, max_jobs=1)
    watcher = Worker([queue], connection=redis_conn, serializer=JSONSerializer, name="worker-on-gpu-1")
    watcher.register_birth()  # type: ignore[no-untyped-call]
    try:
        with db(dash_config) as conn:
            for i in range(30):
                conn.execute("INSERT INTO frames (frame_id, captured_at, processed_at, status, n_faces, latency_ms)"
                             " VALUES (%s, %s, %s, 'processed', 1, 120)",
                             (uuid.uuid4(), clock.now - timedelta(seconds=i + 2), clock.now - timedelta(seconds=i)))
        system = api(admin, "GET", "/api/v1/system").get_json()
        assert system["queued"] == 1 and system["failed_count"] == 1
        assert [w["name"] for w in system["workers"]] == ["worker-on-gpu-1"]
        assert system["frames_per_second"] == 0.5 and system["mean_latency_ms"] == 120
        failed = system["failed"][0]
        assert failed["id"] == job.id and failed["camera_id"] == 7 and failed["frames"] == 2
        assert "ValueError: camera 7: this frame cannot be read" in failed["reason"]
        page = admin.get("/system/").get_data(as_text=True)
        assert "worker-on-gpu-1" in page and "this frame cannot be read" in page
    finally:
        watcher.register_death()  # type: ignore[no-untyped-call]
    assert post_form(admin, f"/system/failed/{job.id}/requeue", {}).status_code == 302
    assert queue.count == 2
    assert api(admin, "POST", "/api/v1/system/failed/nope/requeue").status_code == 404


# ---- users --------------------------------------------------------------------------------------------------------

def test_administrators_manage_accounts_but_keep_one_administrator(app: Flask, clients: dict[str, FlaskClient],
                                                                   accounts: dict[str, int]) -> None:
    admin = clients["admin"]
    response = post_form(admin, "/users/new", {"username": "nurse.joy", "display_name": "Joy", "role": "staff",
                                               "password": "a long password"})
    assert response.status_code == 302
    taken = post_form(admin, "/users/new", {"username": "nurse.joy", "role": "staff", "password": "a long password"})
    assert taken.status_code == 400 and "is taken" in taken.get_data(as_text=True)
    short = api(admin, "POST", "/api/v1/users", {"username": "x", "role": "staff", "password": "short"})
    assert short.status_code == 400 and "password" in short.get_json()["errors"]
    me = accounts["admin"]
    demote = api(admin, "PATCH", f"/api/v1/users/{me}", {"role": "staff"})
    assert demote.status_code == 400, "an administrator cannot demote themself"
    assert api(admin, "DELETE", f"/api/v1/users/{me}").status_code == 400
    assert api(admin, "DELETE", f"/api/v1/users/{accounts['analyst']}").status_code == 204
    names = [u["username"] for u in api(admin, "GET", "/api/v1/users").get_json()["users"]]
    assert names == ["admin", "nurse.joy", "staff"]


# ---- the API document ---------------------------------------------------------------------------------------------

def test_the_openapi_document_describes_every_api_route(app: Flask, clients: dict[str, FlaskClient]) -> None:
    doc = clients["analyst"].get("/api/v1/openapi.json").get_json()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace("<", "{").replace(">", "}")
            served |= {(m, path) for m in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    assert documented == served
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            url = "/api/v1" + re.sub(r"\{[^}]+\}", "1", path)
            endpoint = app.url_map.bind("").match(url, method=method.upper())[0]
            assert op["x-permission"] == view_permission(app, endpoint), (method, path)
