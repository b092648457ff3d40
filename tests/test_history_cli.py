"""The history commands, run through the real command line against the test database."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from affectwatch import cli
from affectwatch.config import Config
from tests.historydata import Face, add_camera, add_faces, add_resident
from upkeep import maintenance


@pytest.fixture()
def env(config: Config, monkeypatch: pytest.MonkeyPatch) -> Config:
    monkeypatch.setenv("AFFECTWATCH_DATABASE_URL", config.database_url)
    monkeypatch.setenv("AFFECTWATCH_TIMEZONE", "Asia/Kolkata")
    monkeypatch.setenv("AFFECTWATCH_NEGATIVE_LABELS", "sad,fear")
    return config


def test_maintain_once_syncs_settings_and_refreshes(env: Config, capsys: pytest.CaptureFixture[str]) -> None:
    now = datetime.now(UTC) - timedelta(hours=2)
    with psycopg.connect(env.database_url, autocommit=True) as conn:
        ida = add_resident(conn, "Ida Roe")
        cam = add_camera(conn, "room 5", "Floor 1", ida)
        add_faces(conn, [Face(now, cam, ida, "sad"), Face(now, cam, ida, "happy")])
    assert cli.main(["history", "maintain", "--once"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["hours_refreshed"] == 1 and result["errors"] == [] and result["retention"]["raw_cutoff"]
    with psycopg.connect(env.database_url) as conn:
        settings = conn.execute("SELECT timezone, negative_labels FROM analytics.settings").fetchone()
        share = conn.execute("SELECT negative_share FROM analytics.expression_hourly").fetchone()
    assert settings == ("Asia/Kolkata", ["fear", "sad"]) and share == (0.5,)


def test_refresh_status_and_partitions(env: Config, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["aggregates", "refresh", "--full"]) == 0
    assert "refreshed" in capsys.readouterr().out
    assert cli.main(["aggregates", "status"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["hours"] == 0 and status["timezone"] == "Asia/Kolkata" and status["refreshed_at"]
    assert cli.main(["partitions", "--ahead", "1", "--list"]) == 0
    out = capsys.readouterr().out
    month = datetime.now(UTC).strftime("%Y_%m")
    assert f"faces_{month}" in out and "faces_default" in out


def test_an_unknown_time_zone_is_a_clear_error(env: Config, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AFFECTWATCH_TIMEZONE", "Mars/Olympus")
    assert cli.main(["history", "settings"]) == 2
    assert "AFFECTWATCH_TIMEZONE='Mars/Olympus'" in capsys.readouterr().err


def test_the_upkeep_loop_outlives_a_database_outage_and_stops_when_asked(config: Config,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    down = replace(config, database_url="postgresql://postgres@127.0.0.1:1/affectwatch")
    stop = threading.Event()
    loop = threading.Thread(target=maintenance.run_forever, args=(down, 0.05, stop))
    loop.start()
    time.sleep(0.5)
    stop.set()
    loop.join(5)
    assert not loop.is_alive()
    assert sum("history upkeep skipped" in r.message for r in caplog.records) >= 2
