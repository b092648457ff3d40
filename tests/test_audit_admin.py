"""Administrative actions in the audit log: accounts, cameras, residents, their settings, site settings and
sign-ins, whether made in the dashboard's pages, its API or on the command line, with who and from where."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from affectwatch.cli import main
from affectwatch.config import Config
from affectwatch.queries import audit as audit_q
from tests.test_dashboard_support import *  # noqa: F403  (the fixtures)
from tests.test_dashboard_support import api, db, post_form, sign_in
from upkeep.settings import sync_settings


def log(config: Config, kind: str) -> list[tuple[str, str, int | None, str]]:
    """(actor, action, subject id, what) of one kind of subject, oldest first."""
    with db(config) as conn:
        return [(e.actor, e.action, e.subject_id, e.what) for e in reversed(audit_q.list_entries(conn, kind=kind))]


def test_account_changes_are_logged_with_who_and_from_where(dash_config: Config, clients: Any,
                                                            accounts: dict[str, int]) -> None:
    admin: FlaskClient = clients["admin"]
    made = api(admin, "POST", "/api/v1/users", {"username": "night-nurse", "password": "a long password 1",
                                                "role": "staff", "display_name": "Night nurse"})
    assert made.status_code == 201, made.get_json()
    uid = int(made.get_json()["id"])
    for change in ({"role": "analyst"}, {"active": False}, {"active": True}, {"password": "another long one 2"},
                   {"display_name": "Night nurse (ward 2)"}):
        assert api(admin, "PATCH", f"/api/v1/users/{uid}", change).status_code == 200, change
    assert api(admin, "DELETE", f"/api/v1/users/{uid}").status_code == 204
    about = [e for e in log(dash_config, "user") if e[2] == uid]
    assert about == [("admin", "create", uid, "night-nurse (staff)"),
                     ("admin", "role", uid, "night-nurse: staff -> analyst"),
                     ("admin", "disable", uid, "night-nurse"), ("admin", "enable", uid, "night-nurse"),
                     ("admin", "password", uid, "night-nurse"),
                     ("admin", "update", uid, "night-nurse: display_name"),
                     ("admin", "remove", uid, "night-nurse")]
    with db(dash_config) as conn:
        rows = conn.execute("SELECT DISTINCT actor_user_id, remote_addr FROM audit_log WHERE subject_id = %s",
                            (uid,)).fetchall()
    assert rows == [{"actor_user_id": accounts["admin"], "remote_addr": "127.0.0.1"}]


def test_sign_ins_are_logged_whether_they_succeed_or_fail(app: Flask, dash_config: Config,
                                                         accounts: dict[str, int]) -> None:
    client = app.test_client()
    assert sign_in(client, "staff", "not the password").status_code == 401
    assert sign_in(client, "nobody-here", "whatever it is").status_code == 401
    assert sign_in(client, "staff").status_code == 302
    signs = [e for e in log(dash_config, "user") if e[1].startswith("sign-in")]
    assert signs == [("staff", "sign-in-failed", accounts["staff"], "wrong password"),
                     ("nobody-here", "sign-in-failed", None, "unknown name"),
                     ("staff", "sign-in", accounts["staff"], "")]


def test_camera_and_resident_changes_are_logged_without_names_or_sources(dash_config: Config, clients: Any) -> None:
    admin: FlaskClient = clients["admin"]
    person = api(admin, "POST", "/api/v1/residents", {"name": "Winifred Atwell", "room": "7", "monitored": True})
    assert person.status_code == 201
    rid = int(person.get_json()["id"])
    assert api(admin, "PATCH", f"/api/v1/residents/{rid}", {"room": "8"}).status_code == 200
    assert api(admin, "PUT", f"/api/v1/residents/{rid}/thresholds", {"negative_share": 0.5}).status_code == 200
    cam = api(admin, "POST", "/api/v1/cameras", {"name": "Room 8", "source": "rtsp://nurse:s3cret@10.0.0.5/live",
                                                 "location": "door", "enabled": True, "resident_id": rid})
    assert cam.status_code == 201, cam.get_json()
    cid = int(cam.get_json()["id"])
    assert post_form(admin, f"/cameras/{cid}/enabled", {"enabled": ""}).status_code == 302
    assert api(admin, "PATCH", f"/api/v1/cameras/{cid}", {"location": "above the door"}).status_code == 200
    assert api(admin, "DELETE", f"/api/v1/cameras/{cid}").status_code == 204
    assert api(admin, "DELETE", f"/api/v1/residents/{rid}").status_code == 204

    assert log(dash_config, "camera") == [("admin", "create", cid, ""), ("admin", "update", cid, "enabled"),
                                          ("admin", "update", cid, "location"), ("admin", "remove", cid, "")]
    residents = log(dash_config, "resident")
    assert residents[:3] == [("admin", "create", rid, ""), ("admin", "update", rid, "room"),
                             ("admin", "update", rid, "alert thresholds: negative_share 0.5")]
    assert ("admin", "remove", rid, "") in residents
    with db(dash_config) as conn:
        everything = " ".join(r["what"] for r in conn.execute("SELECT what FROM audit_log").fetchall())
    assert "Winifred" not in everything and "s3cret" not in everything and "10.0.0.5" not in everything


def test_command_line_changes_name_the_system_user(dash_config: Config, monkeypatch: pytest.MonkeyPatch,
                                                  accounts: dict[str, int]) -> None:
    monkeypatch.setenv("AFFECTWATCH_DATABASE_URL", dash_config.database_url)
    monkeypatch.setenv("AFFECTWATCH_PASSWORD_HASH", "pbkdf2:sha256:1000")
    monkeypatch.setenv("AFFECTWATCH_NEW_PASSWORD", "a long enough password")
    assert main(["user", "password", "staff"]) == 0
    assert main(["user", "disable", "analyst"]) == 0
    assert main(["resident", "add", "Ivor Cutler", "--room", "3"]) == 0
    got = [e for e in log(dash_config, "user") if e[1] in ("password", "disable")]
    assert [(e[1], e[2]) for e in got] == [("password", accounts["staff"]), ("disable", accounts["analyst"])]
    assert all(e[0].startswith("cli:") for e in got)
    assert [e[0][:4] + e[1] for e in log(dash_config, "resident")] == ["cli:create"]


def test_site_setting_changes_are_logged(dash_config: Config) -> None:
    from dataclasses import replace

    with db(dash_config) as conn:
        sync_settings(conn, replace(dash_config, timezone="UTC"))
        sync_settings(conn, replace(dash_config, timezone="Europe/Dublin"))
        sync_settings(conn, replace(dash_config, timezone="Europe/Dublin"))
    entries = log(dash_config, "setting")
    assert len(entries) <= 2 and entries[-1][1:3] == ("update", None)
    assert "-> Europe/Dublin" in entries[-1][3] and entries[-1][0].startswith("db:")
