"""Fixtures and helpers shared by the dashboard tests: a fake clock, accounts of every role, and
Flask test clients signed in as them (real Postgres, real Redis, real CSRF checks)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from psycopg.rows import dict_row

from affectwatch.accounts import create_account
from affectwatch.config import Config
from dashboard import create_app

__all__ = ["accounts", "app", "clients", "clock", "dash_config"]  # the fixtures

PASSWORD = "correct horse battery"
ROLES = ("admin", "staff", "analyst")
FAST_HASH = "pbkdf2:sha256:1000"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def dash_config(config: Config, redis_conn: redis.Redis) -> Config:
    # Fast hashing: scrypt's deliberate cost (about 1 s on these CPUs) would dominate the tests.
    return replace(config, timezone="Europe/London", dashboard_poll_seconds=1.0, password_hash=FAST_HASH)


@pytest.fixture()
def app(dash_config: Config, clock: FakeClock) -> Flask:
    flask_app = create_app(dash_config, clock=clock)
    flask_app.config["TESTING"] = True
    return flask_app


def db(config: Config) -> psycopg.Connection[dict[str, Any]]:
    return psycopg.connect(config.database_url, autocommit=True, row_factory=dict_row)


@pytest.fixture()
def accounts(dash_config: Config) -> dict[str, int]:
    """One account per role, named after it, all with PASSWORD."""
    with db(dash_config) as conn:
        return {role: create_account(conn, role, PASSWORD, role, f"The {role}", FAST_HASH) for role in ROLES}


def csrf_token(client: FlaskClient) -> str:
    token = client.get("/api/v1/session").get_json()["csrf_token"]
    assert isinstance(token, str) and token
    return token


def sign_in(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_token(client)})


class SignedInClients(dict[str, FlaskClient]):
    """A test client per role, signed in when first asked for."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app

    def __missing__(self, role: str) -> FlaskClient:
        client = self.app.test_client()
        assert sign_in(client, role).status_code == 302
        self[role] = client
        return client

    def all(self) -> dict[str, FlaskClient]:
        return {role: self[role] for role in ROLES}


@pytest.fixture()
def clients(app: Flask, accounts: dict[str, int]) -> SignedInClients:
    return SignedInClients(app)


def form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has a CSRF field"
    return found.group(1)


def post_form(client: FlaskClient, url: str, data: dict[str, Any], **kwargs: Any) -> Any:
    return client.post(url, data={**data, "csrf_token": csrf_token(client)}, **kwargs)


def api(client: FlaskClient, method: str, url: str, json: Any = None) -> Any:
    return client.open(url, method=method, json=json, headers={"X-CSRFToken": csrf_token(client)})
