"""Signing in: hashed passwords, session expiry (idle and absolute), throttled failures, CSRF, headers."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from affectwatch.accounts import create_account
from affectwatch.cli import main
from affectwatch.config import Config
from tests.test_dashboard_support import *  # noqa: F403  (the fixtures)
from tests.test_dashboard_support import PASSWORD, FakeClock, api, csrf_token, db, sign_in


def test_passwords_are_stored_hashed(dash_config: Config, accounts: dict[str, int]) -> None:
    with db(dash_config) as conn:
        row = conn.execute("SELECT password_hash FROM users WHERE username = 'staff'").fetchone()
        assert row is not None
        assert PASSWORD not in row["password_hash"]
        assert row["password_hash"].startswith("pbkdf2:sha256:1000$"), "the configured method"
        user_id = create_account(conn, "default", PASSWORD, "staff")
        row = conn.execute("SELECT password_hash FROM users WHERE id = %s", (user_id,)).fetchone()
    assert row is not None and row["password_hash"].startswith("scrypt:"), "scrypt by default"


def test_sign_in_then_out(app: Flask, accounts: dict[str, int]) -> None:
    client = app.test_client()
    response = sign_in(client, "staff")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "The staff" in client.get("/overview").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert client.get("/overview").status_code == 302


def test_wrong_password_is_refused_and_recorded(app: Flask, dash_config: Config, accounts: dict[str, int]) -> None:
    client = app.test_client()
    response = sign_in(client, "staff", "not the password")
    assert response.status_code == 401
    assert "Unknown user name or wrong password" in response.get_data(as_text=True)
    assert sign_in(client, "nobody", PASSWORD).status_code == 401
    with db(dash_config) as conn:
        assert conn.execute("SELECT count(*) AS n FROM login_failures").fetchone() == {"n": 2}


def test_a_disabled_account_cannot_sign_in(app: Flask, clients: dict[str, FlaskClient], accounts: dict[str, int]
                                           ) -> None:
    staff_id, staff = accounts["staff"], clients["staff"]
    assert staff.get("/overview").status_code == 200
    assert api(clients["admin"], "PATCH", f"/api/v1/users/{staff_id}", {"active": False}).status_code == 200
    assert staff.get("/overview").status_code == 302, "the session ended with the account"
    assert sign_in(app.test_client(), "staff").status_code == 401


def test_repeated_failures_slow_sign_in_down(app: Flask, clock: FakeClock, dash_config: Config,
                                             accounts: dict[str, int]) -> None:
    client = app.test_client()
    for _ in range(dash_config.login_max_failures):
        assert sign_in(client, "staff", "wrong").status_code == 401
    refused = sign_in(client, "staff")
    assert refused.status_code == 429, "even the right password waits"
    assert "Try again in 2 seconds" in refused.get_data(as_text=True)
    clock.advance(seconds=3)
    assert sign_in(client, "staff", "wrong").status_code == 401
    clock.advance(seconds=3)
    assert sign_in(client, "staff").status_code == 429, "the wait doubled to 4 s"
    clock.advance(seconds=2)
    assert sign_in(client, "staff").status_code == 302
    assert sign_in(client, "admin").status_code == 302, "another name from this address is not slowed yet"


def test_api_sign_in_throttle_says_when(app: Flask, dash_config: Config, accounts: dict[str, int]) -> None:
    client = app.test_client()
    for _ in range(dash_config.login_max_failures):
        assert api(client, "POST", "/api/v1/session", {"username": "analyst", "password": "x"}).status_code == 401
    response = api(client, "POST", "/api/v1/session", {"username": "analyst", "password": PASSWORD})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"


def test_sessions_expire_when_idle(app: Flask, clock: FakeClock, dash_config: Config,
                                   accounts: dict[str, int]) -> None:
    client = app.test_client()
    sign_in(client, "staff")
    clock.advance(minutes=dash_config.session_idle_minutes - 1)
    assert client.get("/overview").status_code == 200, "a click keeps the session"
    clock.advance(minutes=dash_config.session_idle_minutes - 1)
    assert client.get("/api/v1/alerts/feed", headers={"X-AffectWatch-Poll": "1"}).status_code == 200
    clock.advance(minutes=2)
    assert client.get("/overview").status_code == 302, "polling alone does not keep an idle session"


def test_sessions_end_after_the_longest_lifetime(app: Flask, clock: FakeClock, dash_config: Config,
                                                 accounts: dict[str, int]) -> None:
    client = app.test_client()
    sign_in(client, "staff")
    for _ in range(dash_config.session_max_hours):
        clock.advance(minutes=59)
        assert client.get("/overview").status_code == 200
    clock.advance(minutes=dash_config.session_max_hours + 1)
    response = client.get("/overview")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_forms_need_the_csrf_token(app: Flask, clients: dict[str, FlaskClient]) -> None:
    admin = clients["admin"]
    response = admin.post("/residents/new", data={"name": "Ada", "monitored": "1"})
    assert response.status_code == 400
    assert "reload the page" in response.get_data(as_text=True)
    assert admin.post("/api/v1/residents", json={"name": "Ada"}).status_code == 400
    assert api(admin, "POST", "/api/v1/residents", {"name": "Ada"}).status_code == 201


def test_sign_in_returns_only_to_this_site(app: Flask, accounts: dict[str, int]) -> None:
    client = app.test_client()
    response = client.post("/login", data={"username": "staff", "password": PASSWORD, "next": "//evil.example/x",
                                           "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/"
    client.post("/logout", data={"csrf_token": csrf_token(client)})
    response = client.post("/login", data={"username": "staff", "password": PASSWORD, "next": "/alerts/?state=all",
                                           "csrf_token": csrf_token(client)})
    assert response.headers["Location"] == "/alerts/?state=all"


def test_pages_forbid_inline_script_and_framing(clients: dict[str, FlaskClient]) -> None:
    response = clients["staff"].get("/overview")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "<script>" not in response.get_data(as_text=True), "every script is a static file"


@pytest.mark.parametrize("role", ["admin", "staff", "analyst"])
def test_cli_creates_accounts(dash_config: Config, monkeypatch: pytest.MonkeyPatch, role: str,
                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AFFECTWATCH_DATABASE_URL", dash_config.database_url)
    monkeypatch.setenv("AFFECTWATCH_PASSWORD_HASH", "pbkdf2:sha256:1000")
    monkeypatch.setenv("AFFECTWATCH_NEW_PASSWORD", "a long enough password")
    args: list[Any] = ["user", "create", f"first-{role}"] + (["--admin"] if role == "admin" else ["--role", role])
    assert main(args) == 0
    assert f"created {role} account first-{role}" in capsys.readouterr().out
    assert main(["user", "create", f"first-{role}", "--admin"]) == 2, "the name is taken"
    monkeypatch.setenv("AFFECTWATCH_NEW_PASSWORD", "short")
    assert main(["user", "create", "another", "--admin"]) == 2
    assert "at least 10 characters" in capsys.readouterr().err
    with db(dash_config) as conn:
        assert conn.execute("SELECT role FROM users").fetchall() == [{"role": role}]
