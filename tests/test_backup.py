"""docs/deploy.md's backup and restore, done: pg_dump's custom format into a file, pg_restore into an empty
database, and the restored home works (nothing to migrate, the same rows, the audit triggers still on)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from affectwatch.accounts import create_account
from affectwatch.config import Config
from affectwatch.migrate import migrate
from affectwatch.queries import cameras, residents
from tests.test_dashboard_support import FAST_HASH, PASSWORD, db

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("residents", "cameras", "users", "faces", "audit_log", "schema_migrations")


def tool(name: str) -> str:
    found = shutil.which(name) or next((str(p) for p in sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))),
                                       None)
    if found is None:
        pytest.skip(f"{name} is missing (Debian's postgresql-client)")
    return found


@pytest.fixture()
def restored(config: Config) -> Iterator[Config]:
    """An empty database beside the test's, dropped at the end."""
    name = f"affectwatch_restore_{os.getpid()}"
    url = psycopg.conninfo.make_conninfo(config.database_url, dbname=name)
    admin = psycopg.conninfo.make_conninfo(config.database_url, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield replace(config, database_url=url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def counts(config: Config) -> dict[str, int]:
    with db(config) as conn:
        return {t: int(conn.execute(sql.SQL("SELECT count(*) AS n FROM {}").format(sql.Identifier(t))).fetchone()["n"])
                for t in TABLES}


def test_a_dump_restores_into_an_empty_database(config: Config, restored: Config, tmp_path: Path) -> None:
    with db(config) as conn:
        person = residents.add_resident(conn, "Ada Byron", room="4")
        camera = cameras.add_camera(conn, "Room 4", "rtsp://10.0.0.4/live", resident_id=person.id)
        create_account(conn, "matron", PASSWORD, "admin", "", FAST_HASH)
        conn.execute("INSERT INTO faces (frame_id, face_index, captured_at, camera_id, resident_id, box_x1, box_y1,"
                     " box_x2, box_y2, det_prob, expression, confidence, model, p_anger, p_contempt, p_disgust, p_fear,"
                     " p_happy, p_neutral, p_sad, p_surprise) VALUES (%s, 0, %s, %s, %s, 1, 1, 60, 60, 0.99, 'happy',"
                     " 0.9, 'test', 0, 0, 0, 0, 0.9, 0.1, 0, 0)",
                     (uuid.uuid4(), datetime.now(UTC), camera.id, person.id))
    before = counts(config)
    assert before["faces"] == 1 and before["audit_log"] >= 3

    dump = tmp_path / "affectwatch.dump"
    done = subprocess.run([tool("pg_dump"), "--format=custom", f"--file={dump}", "--dbname", config.database_url],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    done = subprocess.run([tool("pg_restore"), "--exit-on-error", "--dbname", restored.database_url, str(dump)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr

    assert counts(restored) == before
    assert migrate(restored) == [], "the restored schema is current: nothing to apply"
    with db(restored) as conn:
        cameras.add_camera(conn, "Room 5", "rtsp://10.0.0.5/live")
        logged = conn.execute("SELECT action FROM audit_log WHERE subject_kind = 'camera' ORDER BY id").fetchall()
    assert [r["action"] for r in logged] == ["create", "create"], "the audit triggers came back with the schema"
