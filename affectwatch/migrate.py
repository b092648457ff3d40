"""A migration runner small enough to read at a glance.

migrations/NNNN_name.sql are applied in order, each in its own transaction, and recorded in
schema_migrations with a checksum; an advisory lock keeps two runners from racing.

New migrations are written in the repository's top-level migrations/ folder. A source checkout
(editable install included) reads that folder; an installed wheel carries it as the package data
`affectwatch.migrations` (setup.py maps the folder there), read with importlib.resources. Finding
none is an error, never a migration that quietly applies nothing.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import psycopg
from psycopg import sql

from affectwatch.config import Config
from affectwatch.db import connect
from affectwatch.exceptions import MigrationError

log = logging.getLogger(__name__)

SOURCE_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "affectwatch.migrations"
LOCK_ID = 0x4166_6563  # "Affe"
NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Traversable

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def migrations_folder() -> Traversable:
    """migrations/ of a source checkout, else the migrations installed with the package."""
    if (SOURCE_ROOT / "pyproject.toml").is_file() and (SOURCE_ROOT / "migrations").is_dir():
        return SOURCE_ROOT / "migrations"
    try:
        return resources.files(PACKAGE)
    except ModuleNotFoundError as exc:
        raise MigrationError(f"no migrations: {PACKAGE} is not installed beside {__name__} (a broken install?)"
                             ) from exc


def discover(folder: Traversable | None = None) -> list[Migration]:
    """Every migration in the folder (the shipped ones by default), in order; MigrationError if there are none."""
    folder = migrations_folder() if folder is None else folder
    if not folder.is_dir():
        raise MigrationError(f"no migrations: {folder} is not a folder")
    found = []
    for path in sorted((p for p in folder.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name):
        match = NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name} is not named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path))
    if not found:
        raise MigrationError(f"no migrations in {folder}: nothing to apply, so the schema would be missing")
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


def migrate(config: Config, folder: Traversable | None = None) -> list[Migration]:
    """Apply every migration not yet applied; return those applied now."""
    found = discover(folder)
    ensure_database(config)
    done: list[Migration] = []
    with connect(config, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        try:
            have = applied(conn)
            for m in found:
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
            conn.execute(m.path.read_text(encoding="utf-8"))
            conn.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                         (m.version, m.name, m.checksum))
    except psycopg.Error as exc:
        raise MigrationError(f"migration {m.path.name} failed and was rolled back: {exc}") from exc
    log.info("applied migration %s", m.path.name)
    done.append(m)
