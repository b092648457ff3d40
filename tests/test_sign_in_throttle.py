"""Sign-in throttling counts per name and address: nobody can keep a carer out from elsewhere, a success
clears only its own address, and parallel guesses from one address are checked in turn under a lock."""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
from flask import Flask
from flask.testing import FlaskClient
from psycopg.rows import dict_row

from affectwatch.accounts import SignInPolicy, create_account, sign_in
from affectwatch.config import Config
from affectwatch.exceptions import AuthError, ThrottledError
from tests.test_dashboard_support import *  # noqa: F403  (the fixtures)
from tests.test_dashboard_support import START, FakeClock, db
from tests.test_dashboard_support import sign_in as sign_in_page

WARD, STATION = "10.0.0.66", "10.0.0.7"


def client_at(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_failures_from_one_address_do_not_keep_the_name_out_at_another(
        app: Flask, dash_config: Config, accounts: dict[str, int]) -> None:
    guesser, carer = client_at(app, WARD), client_at(app, STATION)
    for _ in range(dash_config.login_max_failures + 3):
        assert sign_in_page(guesser, "staff", "wrong").status_code in (401, 429)
    assert sign_in_page(guesser, "staff").status_code == 429, "the guessing address waits"
    assert sign_in_page(carer, "staff").status_code == 302, "the carer at the nurses' station signs in at once"


def test_a_success_clears_only_its_own_addresses_failures(
        app: Flask, clock: FakeClock, dash_config: Config, accounts: dict[str, int]) -> None:
    guesser, carer = client_at(app, WARD), client_at(app, STATION)
    for _ in range(dash_config.login_max_failures - 1):
        assert sign_in_page(guesser, "staff", "wrong").status_code == 401
        assert sign_in_page(carer, "staff", "mistyped").status_code == 401
    assert sign_in_page(carer, "staff").status_code == 302
    assert sign_in_page(guesser, "staff", "wrong").status_code == 401, "the guesser's count went on"
    assert sign_in_page(guesser, "staff").status_code == 429
    clock.advance(seconds=1)
    with db(dash_config) as conn:
        left = conn.execute("SELECT remote_addr, count(*) AS n FROM login_failures GROUP BY 1").fetchall()
    assert left == [{"remote_addr": WARD, "n": dash_config.login_max_failures}]


def test_parallel_guesses_from_one_address_cannot_pass_the_count(dash_config: Config) -> None:
    # A slower hash than the tests' usual widens the window between counting and recording a failure.
    method = "pbkdf2:sha256:100000"
    with db(dash_config) as conn:
        create_account(conn, "nurse", "correct horse battery", "staff", "", method)
    policy = SignInPolicy(dash_config.login_max_failures, timedelta(hours=2), timedelta(hours=12), method)
    guesses = 4 * dash_config.login_max_failures
    ready = threading.Barrier(guesses)
    outcomes: list[str] = []

    def guess(i: int) -> None:
        with psycopg.connect(dash_config.database_url, autocommit=True, row_factory=dict_row) as conn:
            ready.wait()
            try:
                sign_in(conn, "nurse", f"guess {i}", WARD, START, policy)
            except ThrottledError:
                outcomes.append("throttled")
            except AuthError:
                outcomes.append("checked")

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(guesses)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(outcomes) == guesses
    assert outcomes.count("checked") == dash_config.login_max_failures, outcomes
    with db(dash_config) as conn:
        failed = conn.execute("SELECT count(*) AS n FROM login_failures").fetchone()
        logged = conn.execute("SELECT what, count(*) AS n FROM audit_log WHERE action = 'sign-in-failed'"
                              " GROUP BY what ORDER BY what").fetchall()
    assert failed == {"n": dash_config.login_max_failures}
    assert [r["n"] for r in logged] == [guesses - dash_config.login_max_failures, dash_config.login_max_failures]
    assert [r["what"].split(" (")[0] for r in logged] == ["throttled", "wrong password"]
