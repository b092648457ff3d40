"""A migration runner small enough to read at a glance.

migrations/NNNN_name.sql are applied in order, each in its own transaction, and recorded in
schema_migrations with a checksum; an advisory lock keeps two runners from racing.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.exceptions import MigrationError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
LOCK_ID = 0x4166_6563  # "Affe"
NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name} is not named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path))
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a number in {folder}")
    return found


def ensure_database(config: Config) -> None:
    """Create the configured database if it does not exist (needs a role allowed to)."""
    info = psycopg.conninfo.conninfo_to_dict(config.database_url)
    name = str(info.get("dbname") or "")
    admin = psycopg.conninfo.make_conninfo(config.database_url, dbname="postgres")
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=10) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                log.info("created database %s", name)
    except psycopg.Error as exc:
        log.debug("could not check or create database %s: %s", name, exc)


def applied(conn: psycopg.Connection[dict[str, object]]) -> dict[int, str]:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
        " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    rows = conn.execute("SELECT version, checksum FROM schema_migrations").fetchall()
    return {int(r["version"]): str(r["checksum"]) for r in rows}  # type: ignore[call-overload]


def migrate(config: Config, folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply every migration not yet applied; return those applied now."""
    ensure_database(config)
    done: list[Migration] = []
    with connect(config, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        try:
            have = applied(conn)
            for m in discover(folder):
                _check_or_apply(conn, m, have, done)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_ID,))
    return done


def _check_or_apply(conn: psycopg.Connection[dict[str, object]], m: Migration, have: dict[int, str],
                    done: list[Migration]) -> None:
    if m.version in have:
        if have[m.version] != m.checksum:
            raise MigrationError(f"migration {m.path.name} changed after it was applied; add a new one instead")
        return
    try:
        with conn.transaction():
            conn.execute(m.path.read_text())
            conn.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                         (m.version, m.name, m.checksum))
    except psycopg.Error as exc:
        raise MigrationError(f"migration {m.path.name} failed and was rolled back: {exc}") from exc
    log.info("applied migration %s", m.path.name)
    done.append(m)
