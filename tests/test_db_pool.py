"""Pooled Postgres connections (affectwatch.db.pooled): reused, checked, and replaced when Postgres drops them."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from flask import Flask

from affectwatch.config import Config
from affectwatch.db import POOL_TIMEOUT, pooled
from affectwatch.exceptions import DatabaseUnavailable
from tests.test_dashboard_support import SignedInClients, accounts, app, clients, clock, dash_config  # noqa: F401


def backend(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("SELECT pg_backend_pid() AS pid").fetchone()
    assert row is not None
    return int(row["pid"])


def terminate(config: Config, application: str) -> int:
    """End every session of `application` on the test database: what a Postgres restart does to them."""
    with psycopg.connect(config.database_url, autocommit=True) as admin:
        row = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND application_name = %s", (application,)).fetchone()
    assert row is not None
    return int(row[0])


def test_a_pooled_connection_is_reused_and_a_terminated_one_replaced(config: Config) -> None:
    source = pooled(config, "worker")
    with source.connection() as conn:
        first = backend(conn)
    with source.connection() as conn:
        assert backend(conn) == first  # the same session: no new connection for the next job
    assert terminate(config, "affectwatch-worker") >= 1
    with source.connection() as conn:  # the dead one fails its check and is replaced, unseen
        assert backend(conn) != first
        assert conn.execute("SELECT 1 AS one").fetchone() == {"one": 1}


def test_a_transaction_left_open_is_rolled_back_when_the_connection_goes_back(config: Config) -> None:
    source = pooled(config, "worker")
    with source.connection() as conn:
        conn.execute("BEGIN")
        conn.execute("CREATE TEMPORARY TABLE left_open (x int)")
    with source.connection() as conn:
        assert conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert conn.execute("SELECT to_regclass('pg_temp.left_open') AS t").fetchone() == {"t": None}


def test_without_the_pool_each_use_is_a_new_connection(config: Config) -> None:
    source = pooled(replace(config, database_pool=False), "worker")
    with source.connection() as conn:
        first = backend(conn)
    with source.connection() as conn:
        assert backend(conn) != first
    assert conn.closed


def test_an_unreachable_database_is_a_clear_error_within_the_pool_timeout(config: Config) -> None:
    down = replace(config, database_url=psycopg.conninfo.make_conninfo(config.database_url, port="1"))
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match=r"cannot connect to Postgres at 127\.0\.0\.1:1/"):
        pooled(down, "worker").get()
    assert time.monotonic() - started < POOL_TIMEOUT + 2


def test_the_dashboard_reuses_its_connections_and_survives_their_sessions_ending(
        app: Flask, clients: SignedInClients, dash_config: Config) -> None:  # noqa: F811
    client = clients["staff"]
    for _ in range(5):
        assert client.get("/api/v1/alerts/feed?after=0").status_code == 200
    with psycopg.connect(dash_config.database_url, autocommit=True) as admin:
        row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                            " AND application_name = 'affectwatch-dashboard'").fetchone()
    assert row is not None and 1 <= row[0] <= 2  # not one per request
    assert terminate(dash_config, "affectwatch-dashboard") >= 1  # as a Postgres restart would
    assert client.get("/api/v1/alerts/feed?after=0").status_code == 200


def test_the_dashboard_answers_503_within_the_pool_timeout_when_postgres_is_gone(
        clients: SignedInClients, dash_config: Config) -> None:  # noqa: F811
    from dashboard import create_app

    cookie = clients["staff"].get_cookie("affectwatch_session")
    assert cookie is not None
    down = create_app(replace(dash_config, database_url=psycopg.conninfo.make_conninfo(dash_config.database_url,
                                                                                       port="1")))
    client = down.test_client()
    client.set_cookie("affectwatch_session", cookie.value)
    started = time.monotonic()
    answer = client.get("/api/v1/alerts/feed?after=0")
    assert answer.status_code == 503, answer.get_data(as_text=True)
    assert "database cannot be reached" in answer.get_data(as_text=True)
    assert time.monotonic() - started < POOL_TIMEOUT + 2
