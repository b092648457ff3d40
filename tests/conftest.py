"""Shared fixtures: a real Postgres database and a real Redis database for the test run.

The database is created fresh for each run (named after the process id) and migrated with the
real migrations. AFFECTWATCH_TEST_DATABASE_URL names the server (its database part is replaced)
and AFFECTWATCH_TEST_REDIS_URL the Redis database (flushed before each test that uses it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import psycopg
import pytest
import redis
from psycopg import sql

from affectwatch.config import Config
from affectwatch.migrate import migrate
from tests.fuzzing import CaseCounter

SERVER_URL = os.environ.get("AFFECTWATCH_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("AFFECTWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_DB = f"affectwatch_test_{os.getpid()}"
FUZZ_CASES = CaseCounter()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    yield
    statistics = getattr(item, "hypothesis_statistics", None)
    if call.when == "call" and statistics:
        FUZZ_CASES.add(item.nodeid, statistics)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FUZZ_CASES.files:
        return
    terminalreporter.section("fuzz cases (hypothesis)")
    for line in FUZZ_CASES.lines():
        terminalreporter.write_line(line)
    if os.environ.get("AFFECTWATCH_FUZZ_REPORT"):
        FUZZ_CASES.write(Path(os.environ["AFFECTWATCH_FUZZ_REPORT"]))


def _admin(autocommit: bool = True) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(psycopg.conninfo.make_conninfo(SERVER_URL, dbname="postgres"), autocommit=autocommit)


@pytest.fixture(scope="session")
def base_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Config]:
    """A migrated, empty database of this run's own, dropped at the end. Camera files made by the tests lie
    under pytest's temporary folder, which is the media root (for commands run in-process too)."""
    with _admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEST_DB)))
    url = psycopg.conninfo.make_conninfo(SERVER_URL, dbname=TEST_DB)
    media = tmp_path_factory.getbasetemp()
    os.environ["AFFECTWATCH_MEDIA_ROOT"] = str(media)
    config = replace(Config.from_env({}), database_url=url, redis_url=REDIS_URL, queue=f"frames-test-{os.getpid()}",
                     media_root=media)
    migrate(config)
    yield config
    with _admin() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(TEST_DB)))


TABLES_KEPT = {"schema_migrations"}


@pytest.fixture()
def config(base_config: Config) -> Config:
    """The run's config, with every data table emptied before the test."""
    with psycopg.connect(base_config.database_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        ).fetchall()
        names = [str(r[0]) for r in rows if r[0] not in TABLES_KEPT]
        if names:
            conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
                sql.SQL(", ").join(sql.Identifier(n) for n in names)))
    return base_config


@pytest.fixture()
def redis_conn(config: Config) -> Iterator[redis.Redis]:
    conn = redis.Redis.from_url(config.redis_url)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


@pytest.fixture(scope="session")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny face set, train/ and val/ class folders (tests/faceset.py): for training and evaluation tests."""
    from tests import faceset

    return faceset.write_dataset(tmp_path_factory.mktemp("faces"))


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """A real colour photograph of a smiling face (scikit-image ships it), RGB uint8 512x512."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


def write_video(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    """Write RGB frames to an MP4 (mp4v) file."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened(), f"OpenCV cannot write {path}"
    for frame in frames:
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture()
def face_video(tmp_path: Path, astronaut: np.ndarray) -> Path:
    """A 3-second 10 fps 640x480 video of the astronaut photograph drifting slowly across the frame."""
    frames = []
    face = cv2.resize(astronaut, (360, 360))
    for i in range(30):
        canvas = np.full((480, 640, 3), 90, np.uint8)
        x = 40 + i * 5
        canvas[60:420, x : x + 360] = face
        frames.append(canvas)
    return write_video(tmp_path / "astronaut.mp4", frames, 10.0)
