"""The group roles: the analyst reads the analytics views and nothing else; worker, producer and dashboard
can do their work and no more. Checked by switching role (SET ROLE) in a real session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql

from affectwatch.config import Config
from affectwatch.migrate import migrate
from tests.historydata import add_camera, add_resident

Conn = psycopg.Connection[Any]
ROLES = ("affectwatch_analyst", "affectwatch_worker", "affectwatch_producer", "affectwatch_dashboard")
NOW = datetime.now(UTC)


@contextmanager
def as_role(config: Config, role: str) -> Iterator[Conn]:
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
        yield conn


def refused(conn: Conn, statement: str | sql.Composed, params: tuple[Any, ...] = ()) -> bool:
    try:
        with conn.transaction():
            conn.execute(statement, params)
    except psycopg.errors.InsufficientPrivilege:
        return True
    return False


@pytest.fixture()
def camera(config: Config) -> int:
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        return add_camera(conn, "room 1", "Floor 1", add_resident(conn, "Ann Lee"))


def test_roles_are_group_roles_without_login(config: Config) -> None:
    with psycopg.connect(config.database_url) as conn:
        rows = conn.execute("SELECT rolname, rolcanlogin, rolsuper FROM pg_roles WHERE rolname = ANY (%s)"
                            " ORDER BY 1", (list(ROLES),)).fetchall()
    assert rows == sorted((r, False, False) for r in ROLES)


def test_analyst_reads_every_view(config: Config, camera: int) -> None:
    with as_role(config, "affectwatch_analyst") as conn:
        views = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.views WHERE table_schema = 'analytics'")]
        assert len(views) >= 10
        for view in views:
            conn.execute(sql.SQL("SELECT * FROM analytics.{} LIMIT 1").format(sql.Identifier(view)))
        assert conn.execute("SELECT resident_name FROM analytics.cameras").fetchall() == [("Ann Lee",)]


def test_analyst_reads_no_table_and_writes_nothing(config: Config, camera: int) -> None:
    with psycopg.connect(config.database_url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
            " AND c.relkind IN ('r', 'p', 'v', 'm')")]
    assert {"users", "faces", "residents", "alerts"} <= set(tables)
    with as_role(config, "affectwatch_analyst") as conn:
        for table in tables:
            assert refused(conn, sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(table))), table
        assert refused(conn, "SELECT password_hash FROM users")
        assert refused(conn, "INSERT INTO residents (name) VALUES ('x')")
        assert refused(conn, "DELETE FROM faces")
        assert refused(conn, "UPDATE analytics.residents SET resident_name = 'x'")
        assert refused(conn, "CREATE TABLE analytics.mine (x int)")
        assert refused(conn, "CREATE TABLE public.mine (x int)")
        assert refused(conn, "SELECT affectwatch_refresh_history()")
        assert refused(conn, "SELECT affectwatch_ensure_partitions(current_date, 1)")


def test_worker_writes_frames_and_faces_only(config: Config, camera: int) -> None:
    with as_role(config, "affectwatch_worker") as conn:
        conn.execute("SELECT affectwatch_ensure_partitions(current_date, 2)")
        frame = uuid.uuid4()
        resident = conn.execute("SELECT resident_id FROM cameras WHERE id = %s", (camera,)).fetchone()
        assert resident is not None
        conn.execute("INSERT INTO frames (frame_id, captured_at, camera_id, n_faces) VALUES (%s, %s, %s, 1)",
                     (frame, NOW, camera))
        conn.execute("INSERT INTO faces (frame_id, face_index, captured_at, camera_id, resident_id, box_x1, box_y1,"
                     " box_x2, box_y2, det_prob, expression, confidence, p_sad, p_neutral, model)"
                     " VALUES (%s, 0, %s, %s, %s, 0, 0, 9, 9, 0.9, 'sad', 0.8, 0.8, 0.2, 'm')"
                     " ON CONFLICT DO NOTHING", (frame, NOW, camera, resident[0]))
        assert refused(conn, "DELETE FROM faces")
        assert refused(conn, "UPDATE faces SET expression = 'happy'")
        assert refused(conn, "SELECT * FROM users")
        assert refused(conn, "UPDATE residents SET name = 'x'")
        assert refused(conn, "SELECT * FROM history_dirty_hours")
        assert refused(conn, "SELECT * FROM analytics.faces")
    with psycopg.connect(config.database_url) as conn:  # its insert marked the hour for the aggregates
        assert conn.execute("SELECT count(*) FROM history_dirty_hours").fetchone() == (2,)


def test_producer_updates_camera_status_only(config: Config, camera: int) -> None:
    with as_role(config, "affectwatch_producer") as conn:
        conn.execute("INSERT INTO camera_status (camera_id, state) VALUES (%s, 'online')"
                     " ON CONFLICT (camera_id) DO UPDATE SET state = excluded.state", (camera,))
        assert conn.execute("SELECT name FROM cameras").fetchall() == [("room 1",)]
        assert refused(conn, "SELECT * FROM faces")
        assert refused(conn, "UPDATE cameras SET enabled = false")


def test_dashboard_manages_records_but_not_the_history(config: Config, camera: int) -> None:
    with as_role(config, "affectwatch_dashboard") as conn:
        resident = conn.execute("INSERT INTO residents (name) VALUES ('Bo Ek') RETURNING id").fetchone()
        assert resident is not None
        conn.execute("UPDATE cameras SET resident_id = %s WHERE id = %s", (resident[0], camera))
        conn.execute("INSERT INTO users (username, password_hash, role) VALUES ('nurse', %s, 'staff')",
                     ("x" * 40,))
        conn.execute("SELECT * FROM analytics.resident_daily")
        conn.execute("SELECT count(*) FROM faces")
        assert refused(conn, "DELETE FROM faces")
        assert refused(conn, "INSERT INTO face_hourly (bucket, faces) VALUES (now(), 1)")
        assert refused(conn, "TRUNCATE residents")
        assert refused(conn, "DROP TABLE faces_default")
        assert refused(conn, "SELECT affectwatch_refresh_history()")


def test_a_second_database_migrates_with_the_roles_already_there(base_config: Config) -> None:
    name = f"affectwatch_test_roles_{uuid.uuid4().hex[:8]}"
    url = psycopg.conninfo.make_conninfo(base_config.database_url, dbname=name)
    try:
        assert len(migrate(replace(base_config, database_url=url))) >= 4
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT has_schema_privilege('affectwatch_analyst', 'analytics', 'USAGE')"
                                ).fetchone() == (True,)
    finally:
        admin = psycopg.conninfo.make_conninfo(base_config.database_url, dbname="postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
