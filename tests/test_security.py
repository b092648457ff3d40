# ruff: noqa: F811  (fixtures imported from tests.test_dashboard_support)
"""Security settings, each checked for real: production refuses default or short secret keys and weak
password hashing; strict headers (a CSP without inline script, no framing); secure, HTTP-only cookies in
production; Redis over TLS with a password when the URL says so; passwords hashed with scrypt; least
privilege for the new tables; no secrets in the repository; the dependency audit never fails CI for want
of a network but fails it for a known vulnerability."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from flask.testing import FlaskClient
from psycopg import sql

from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.exceptions import ConfigError
from affectwatch.queue import redis_connection
from dashboard import create_app, strong_hash
from tests.test_dashboard_support import FakeClock, accounts, app, clients, clock, dash_config, db  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
GOOD_SECRET = "k" * 40


# --- the secret key and password hashing in production -------------------------------------------------------

@pytest.mark.parametrize("secret", ["dev-insecure-secret-key", "", "short-but-not-empty"])
def test_production_refuses_a_default_or_short_secret_key(dash_config: Config, secret: str) -> None:
    with pytest.raises(ConfigError, match="AFFECTWATCH_SECRET_KEY"):
        create_app(replace(dash_config, environment="production", secret_key=secret, password_hash="scrypt"))
    create_app(replace(dash_config, environment="development", secret_key=secret or "x"))  # allowed while developing


def test_the_dashboard_command_will_not_start_in_production_with_the_default_key(config: Config) -> None:
    env = {"AFFECTWATCH_ENVIRONMENT": "production", "AFFECTWATCH_DATABASE_URL": config.database_url,
           "AFFECTWATCH_REDIS_URL": config.redis_url, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    done = subprocess.run([sys.executable, "-m", "affectwatch.cli", "dashboard", "--port", "1"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "AFFECTWATCH_SECRET_KEY" in done.stderr


def test_secrets_are_read_from_files(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(GOOD_SECRET + "\n")
    (tmp_path / "redis").write_text("rediss://:pw@cache:6380/1\n")
    config = Config.from_env({"AFFECTWATCH_SECRET_KEY_FILE": str(tmp_path / "key"),
                              "AFFECTWATCH_REDIS_URL_FILE": str(tmp_path / "redis")})
    assert config.secret_key == GOOD_SECRET and config.redis_url == "rediss://:pw@cache:6380/1"


@pytest.mark.parametrize(("method", "strong"), [
    ("scrypt", True), ("scrypt:32768:8:1", True), ("pbkdf2:sha256", True), ("pbkdf2:sha256:600000", True),
    ("pbkdf2:sha256:1000", False), ("scrypt:1024:8:1", False), ("pbkdf2:sha1", False), ("md5", False)])
def test_production_refuses_weak_password_hashing(dash_config: Config, method: str, strong: bool) -> None:
    assert strong_hash(method) is strong
    production = replace(dash_config, environment="production", secret_key=GOOD_SECRET, password_hash=method)
    if strong:
        create_app(production)
    else:
        with pytest.raises(ConfigError, match="too weak"):
            create_app(production)


def test_passwords_are_stored_as_scrypt_hashes(config: Config) -> None:
    from affectwatch.accounts import create_account

    with db(config) as conn:
        create_account(conn, "matron", "a long enough passphrase", "admin")
        row = conn.execute("SELECT password_hash FROM users WHERE username = 'matron'").fetchone()
    assert row is not None
    stored = str(row["password_hash"])
    method, salt, digest = stored.split("$")
    n = int(method.split(":")[1])
    assert method.startswith("scrypt:") and n >= 2**15 and len(salt) >= 16 and len(digest) >= 64
    assert "a long enough passphrase" not in stored


# --- response headers and cookies --------------------------------------------------------------------------

def test_every_kind_of_response_carries_the_strict_headers(clients: Any) -> None:
    admin: FlaskClient = clients["admin"]
    for url in ("/", "/residents/", "/api/v1/residents", "/history/999", "/no-such-page", "/api/v1/nothing"):
        response = admin.get(url)
        csp = response.headers["Content-Security-Policy"]
        script_src = re.search(r"script-src ([^;]*)", csp)
        assert script_src and "'unsafe-inline'" not in script_src.group(1) and "'unsafe-eval'" not in csp, url
        assert "frame-ancestors 'none'" in csp and response.headers["X-Frame-Options"] == "DENY", url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url


def test_the_templates_hold_no_inline_script_the_policy_would_block() -> None:
    for page in (ROOT / "dashboard" / "templates").rglob("*.html"):
        html = page.read_text()
        # external scripts only; a JSON data block (type="application/json") is data, never run
        assert not re.search(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", html), page
        assert not re.search(r"\son[a-z]+\s*=", html), f"inline event handler in {page}"
        assert "javascript:" not in html, page


def test_production_cookies_are_secure_http_only_and_same_site(dash_config: Config, clock: FakeClock) -> None:
    app = create_app(replace(dash_config, environment="production", secret_key=GOOD_SECRET, password_hash="scrypt"),
                     clock=clock)
    client = app.test_client()
    response = client.get("/api/v1/session", base_url="https://dashboard.example")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("affectwatch_session="))
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly"} <= flags and "samesite=lax" in cookie.lower()


# --- Redis: password and TLS from the URL ------------------------------------------------------------------

def test_a_rediss_url_builds_a_tls_connection_with_the_password(config: Config) -> None:
    conn = redis_connection(replace(config, redis_url="rediss://worker:s3cret@cache.example:6380/2"))
    pool = conn.connection_pool
    assert issubclass(pool.connection_class, redis.SSLConnection)
    kw = pool.connection_kwargs
    assert (kw["host"], kw["port"], kw["db"], kw["username"], kw["password"]) == ("cache.example", 6380, 2, "worker",
                                                                                  "s3cret")
    assert kw.get("ssl_cert_reqs", "required") in ("required", 2)  # certificates are verified
    plain = redis_connection(replace(config, redis_url="redis://:pw@127.0.0.1:6379/0")).connection_pool
    assert not issubclass(plain.connection_class, redis.SSLConnection) and plain.connection_kwargs["password"] == "pw"


def test_a_wrong_redis_password_is_refused_not_ignored(config: Config, redis_conn: redis.Redis) -> None:
    conn = redis_connection(replace(config, redis_url="redis://nobody:wrong@127.0.0.1:6379/7"))
    with pytest.raises(redis.AuthenticationError):
        conn.ping()


# --- least privilege on the privacy tables -----------------------------------------------------------------

@pytest.mark.parametrize(("role", "statement"), [
    ("affectwatch_worker", "SELECT * FROM audit_log"),
    ("affectwatch_worker", "INSERT INTO audit_log (actor, action, subject_resident) VALUES ('w', 'view', 1)"),
    ("affectwatch_producer", "SELECT * FROM alert_snapshots"),
    ("affectwatch_dashboard", "DELETE FROM alert_snapshots"),
    ("affectwatch_analyst", "SELECT * FROM alert_snapshots"),
    ("affectwatch_analyst", "SELECT * FROM audit_log"),
])
def test_roles_cannot_touch_the_privacy_tables_beyond_their_work(config: Config, role: str, statement: str) -> None:
    with connect(config) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(sql.SQL(statement))


# --- the repository and the dependency audit ---------------------------------------------------------------

def test_no_secrets_are_committed() -> None:
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    assert not [f for f in files if f.startswith("secrets/") or f.endswith((".pem", ".key", ".env"))]
    pattern = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|AKIA[0-9A-Z]{16}|://[^/\s:@'\"]+:(?!\*\*\*|pw@|s3cret|"
                         r"PASSWORD|\.\.\.|\$)[^@\s'\"]{8,}@")
    found = []
    for name in files:
        path = ROOT / name
        if path.suffix in {".py", ".sh", ".yml", ".yaml", ".md", ".toml", ".sql", ".json", ".cfg", ".ini", ""} \
                and path.is_file() and path.stat().st_size < 1_000_000 and "node_modules" not in name:
            found += [f"{name}: {m.group(0)[:40]}" for m in pattern.finditer(path.read_text(errors="ignore"))]
    assert found == []


def run_audit(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "scripts/audit.sh"], cwd=ROOT, env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=300)


def test_the_audit_passes_with_a_reason_when_the_service_cannot_be_reached() -> None:
    done = run_audit(HTTPS_PROXY="http://127.0.0.1:9", https_proxy="http://127.0.0.1:9", NO_PROXY="", no_proxy="")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "could not be reached" in done.stdout and "SKIPPED" in done.stdout


def test_the_audit_fails_ci_for_a_known_vulnerability(tmp_path: Path) -> None:
    fake = tmp_path / "python"  # stands in for pip-audit's answer only: what the script does with it is checked
    fake.write_text("#!/bin/sh\n[ \"$3\" = \"--version\" ] && exit 0\n"
                    "echo 'Found 1 known vulnerability in 1 package'; echo 'flask 0.1 PYSEC-0000-1 1.0'; exit 1\n")
    fake.chmod(0o755)
    done = run_audit(PYTHON=str(fake))
    assert done.returncode == 1 and "known vulnerability" in done.stdout
