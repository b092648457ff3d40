# ruff: noqa: F811  (fixtures imported from tests.test_dashboard_support)
"""API tokens (made in the dashboard, the API and the command line; hashed, shown once, revocable, with
their user's role; Bearer without CSRF), problem JSON errors, cursor pages with totals, Location on create,
and the dashboard's /metrics read with a token."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from affectwatch.cli import main
from affectwatch.config import Config
from affectwatch.queries import alerts as aq
from tests.test_dashboard_support import (  # noqa: F401  (fixtures)
    START,
    FakeClock,
    accounts,
    api,
    app,
    clients,
    clock,
    dash_config,
    db,
    form_token,
    post_form,
)

PROBLEM = "application/problem+json"


def make_token(client: FlaskClient, name: str = "nurse station script", **extra: Any) -> dict[str, Any]:
    reply = api(client, "POST", "/api/v1/tokens", {"name": name, **extra})
    assert reply.status_code == 201, reply.get_json()
    made: dict[str, Any] = reply.get_json()
    assert reply.headers["Location"].endswith(f"/api/v1/tokens/{made['id']}")
    return made


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def add_alerts(config: Config, n: int) -> list[int]:
    """n resolved camera-offline alerts on one camera, an hour apart, the newest last."""
    with db(config) as conn:
        camera = conn.execute("INSERT INTO cameras (name, source) VALUES ('hall', '/dev/video0') RETURNING id"
                              ).fetchone()
        assert camera is not None
        ids = []
        for i in range(n):
            at = START - timedelta(hours=n - i)
            ids.append(aq.insert_alert(conn, {
                "kind": "camera_offline", "camera_id": camera["id"], "window_start": at, "window_end": at,
                "opened_at": at, "state": "resolved", "resolved_at": at + timedelta(minutes=5),
                "resolve_reason": "frames again"}))
        return ids


def test_an_api_token_lists_alerts_without_a_cookie(app: Flask, clients: Any, dash_config: Config) -> None:
    ids = add_alerts(dash_config, 3)
    made = make_token(clients["staff"])
    assert made["token"].startswith("aw_") and made["prefix"] == made["token"][:10] and made["state"] == "active"
    anonymous = app.test_client()
    assert anonymous.get("/api/v1/alerts?state=all").status_code == 401
    first = anonymous.get("/api/v1/alerts?state=all&limit=2", headers=bearer(made["token"]))
    assert first.status_code == 200 and "Set-Cookie" not in first.headers
    page = first.get_json()
    assert [a["id"] for a in page["alerts"]] == [ids[2], ids[1]]
    assert page["total"] == 3 and page["limit"] == 2 and page["next_cursor"]
    assert 'rel="next"' in first.headers["Link"] and page["next_cursor"] in first.headers["Link"]
    second = anonymous.get(f"/api/v1/alerts?state=all&limit=2&cursor={page['next_cursor']}",
                           headers=bearer(made["token"])).get_json()
    assert [a["id"] for a in second["alerts"]] == [ids[0]] and second["next_cursor"] is None
    assert second["total"] == 3
    bad = anonymous.get("/api/v1/alerts?cursor=garbage", headers=bearer(made["token"]))
    assert bad.status_code == 400 and "cursor" in bad.get_json()["errors"]


def test_token_calls_need_no_csrf_but_cookie_calls_still_do(app: Flask, clients: Any, dash_config: Config) -> None:
    (alert_id,) = add_alerts(dash_config, 1)
    with db(dash_config) as conn:
        conn.execute("UPDATE alerts SET state = 'open', resolved_at = NULL, resolve_reason = NULL WHERE id = %s",
                     (alert_id,))
    secret = make_token(clients["staff"])["token"]
    no_csrf = clients["staff"].post(f"/api/v1/alerts/{alert_id}/acknowledge", json={"note": "seen"})
    assert no_csrf.status_code == 400  # the session cookie alone is not enough for a change
    done = app.test_client().post(f"/api/v1/alerts/{alert_id}/acknowledge", json={"note": "seen"},
                                  headers=bearer(secret))
    assert done.status_code == 200 and done.get_json()["acknowledged_by"] == "staff"
    # A request with a token is the token's alone: a signed-in cookie does not rescue a bad token.
    wrong = clients["admin"].get("/api/v1/alerts", headers=bearer("aw_not-a-token"))
    assert wrong.status_code == 401 and wrong.mimetype == PROBLEM
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_has_its_users_role_and_cannot_make_tokens(app: Flask, clients: Any, dash_config: Config) -> None:
    analyst = make_token(clients["analyst"])["token"]
    client = app.test_client()
    refused = client.get("/api/v1/alerts", headers=bearer(analyst))
    assert refused.status_code == 403 and refused.mimetype == PROBLEM
    problem = refused.get_json()
    assert problem["status"] == 403 and problem["title"] == "Forbidden" and problem["type"] == "about:blank"
    assert problem["detail"]
    assert client.get("/api/v1/residents/1/history", headers=bearer(analyst)).status_code in (200, 404)
    nested = client.post("/api/v1/tokens", json={"name": "x"}, headers=bearer(analyst))
    assert nested.status_code == 403
    with db(dash_config) as conn:  # a role change applies to the token at once
        conn.execute("UPDATE users SET role = 'staff' WHERE username = 'analyst'")
    assert client.get("/api/v1/alerts", headers=bearer(analyst)).status_code == 200


def test_tokens_are_stored_hashed_and_stop_when_revoked_expired_or_disabled(
        app: Flask, clients: Any, dash_config: Config, clock: FakeClock) -> None:
    kept, revoked = (make_token(clients["staff"], name) for name in ("kept", "revoked"))
    short = make_token(clients["staff"], "short-lived", expires_in_days=1)
    with db(dash_config) as conn:
        stored = {bytes(r["token_hash"]) for r in conn.execute("SELECT token_hash FROM api_tokens")}
        text = str(conn.execute("SELECT * FROM api_tokens").fetchall())
    assert hashlib.sha256(kept["token"].encode()).digest() in stored and kept["token"] not in text
    client = app.test_client()
    assert api(clients["staff"], "DELETE", f"/api/v1/tokens/{revoked['id']}").status_code == 204
    assert client.get("/api/v1/alerts", headers=bearer(revoked["token"])).status_code == 401
    assert client.get("/api/v1/alerts", headers=bearer(short["token"])).status_code == 200
    clock.advance(days=1, seconds=1)
    assert client.get("/api/v1/alerts", headers=bearer(short["token"])).status_code == 401
    listed = {t["name"]: t for t in client.get("/api/v1/tokens", headers=bearer(kept["token"])).get_json()["tokens"]}
    assert listed["revoked"]["state"] == "revoked" and listed["short-lived"]["state"] == "expired"
    assert listed["revoked"]["last_used_at"] is None and "token" not in listed["kept"]
    assert listed["short-lived"]["last_used_at"] is not None
    # Someone else's token is not there to revoke; an administrator may revoke anyone's.
    analyst = make_token(clients["analyst"])["token"]
    assert client.delete(f"/api/v1/tokens/{kept['id']}", headers=bearer(analyst)).status_code == 404
    with db(dash_config) as conn:
        conn.execute("UPDATE users SET active = false WHERE username = 'staff'")
    assert client.get("/api/v1/alerts", headers=bearer(kept["token"])).status_code == 401
    admin = make_token(clients["admin"])["token"]
    assert client.delete(f"/api/v1/tokens/{kept['id']}", headers=bearer(admin)).status_code == 204


def test_the_tokens_page_shows_a_new_token_once_and_revokes(app: Flask, clients: Any) -> None:
    staff = clients["staff"]
    page = staff.get("/tokens/")
    assert page.status_code == 200
    made = staff.post("/tokens/", data={"name": "fire panel", "csrf_token": form_token(page.get_data(as_text=True))})
    html = made.get_data(as_text=True)
    assert made.status_code == 201
    found = re.search(r'id="token-secret">(aw_[A-Za-z0-9_-]+)<', html)
    assert found
    secret = found.group(1)
    assert app.test_client().get("/api/v1/alerts", headers=bearer(secret)).status_code == 200
    again = staff.get("/tokens/").get_data(as_text=True)
    assert secret not in again and "fire panel" in again and secret[:10] in again
    token_id = staff.get("/api/v1/tokens").get_json()["tokens"][0]["id"]
    assert post_form(staff, f"/tokens/{token_id}/revoke", {}).status_code == 302
    assert app.test_client().get("/api/v1/alerts", headers=bearer(secret)).status_code == 401
    bad = staff.post("/tokens/", data={"name": "", "csrf_token": form_token(again)})
    assert bad.status_code == 400


def test_the_command_line_makes_lists_and_revokes_tokens(app: Flask, accounts: dict[str, int], dash_config: Config,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AFFECTWATCH_DATABASE_URL", dash_config.database_url)
    monkeypatch.setenv("AFFECTWATCH_REDIS_URL", dash_config.redis_url)
    assert main(["token", "create", "admin", "--name", "prometheus", "--days", "30"]) == 0
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert secret.startswith("aw_")
    client = app.test_client()
    scraped = client.get("/metrics", headers=bearer(secret))
    assert scraped.status_code == 200
    names = {f.name for f in text_string_to_metric_families(scraped.get_data(as_text=True))}
    assert {"affectwatch_dashboard_requests", "affectwatch_dashboard_sign_ins"} <= names
    assert main(["token", "list", "admin"]) == 0
    listing = capsys.readouterr().out
    assert "prometheus" in listing and secret[:10] in listing and secret not in listing
    token_id = int(listing.splitlines()[1].split()[0])
    assert main(["token", "revoke", str(token_id)]) == 0
    assert client.get("/metrics", headers=bearer(secret)).status_code == 401
    assert main(["token", "create", "nobody", "--name", "x"]) == 2


def sign_in_count(text: str, outcome: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "affectwatch_dashboard_sign_ins_total" and s.labels == {"outcome": outcome}:
                return float(s.value)
    return 0.0


def test_metrics_need_system_view_and_count_sign_ins(app: Flask, clients: Any) -> None:
    admin = make_token(clients["admin"])["token"]
    staff = make_token(clients["staff"])["token"]
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=bearer(staff)).status_code == 403
    before = client.get("/metrics", headers=bearer(admin)).get_data(as_text=True)
    failed = client.post("/api/v1/session", json={"username": "staff", "password": "wrong password!"},
                         headers={"X-CSRFToken": client.get("/api/v1/session").get_json()["csrf_token"]})
    assert failed.status_code == 401 and failed.mimetype == PROBLEM
    after = client.get("/metrics", headers=bearer(admin)).get_data(as_text=True)
    assert sign_in_count(after, "failure") == sign_in_count(before, "failure") + 1
    assert sign_in_count(after, "success") >= 2  # the two signed-in clients above


def test_problem_json_location_and_pages_on_other_lists(clients: Any, dash_config: Config) -> None:
    admin = clients["admin"]
    missing = admin.get("/api/v1/alerts/999999")
    assert missing.status_code == 404 and missing.mimetype == PROBLEM
    assert missing.get_json()["title"] == "Not Found" and missing.get_json()["status"] == 404
    unrouted = admin.get("/api/v1/no-such-thing")
    assert unrouted.status_code == 404 and unrouted.mimetype == PROBLEM
    made = api(admin, "POST", "/api/v1/users", {"username": "zoe", "password": "long enough pw", "role": "staff"})
    assert made.status_code == 201
    assert admin.get(made.headers["Location"]).get_json()["username"] == "zoe"
    invalid = api(admin, "POST", "/api/v1/users", {"username": "", "password": "x", "role": "boss"})
    assert invalid.status_code == 400 and invalid.mimetype == PROBLEM
    assert {"username", "password", "role"} <= set(invalid.get_json()["errors"])
    names: list[str] = []
    cursor = ""
    while True:
        page = admin.get(f"/api/v1/users?limit=3{cursor}").get_json()
        assert page["total"] == 4 and len(page["users"]) <= 3
        names += [u["username"] for u in page["users"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert names == ["admin", "analyst", "staff", "zoe"]
    camera = api(admin, "POST", "/api/v1/cameras", {"name": "Lounge", "source": "rtsp://cam.example/1"})
    assert camera.status_code == 201 and admin.get(camera.headers["Location"]).get_json()["name"] == "Lounge"
    assert admin.get("/api/v1/cameras").get_json()["total"] == 1
