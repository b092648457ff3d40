"""The sweep (camera-offline alerts, stale alerts) and the `affectwatch alerts` command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from affectwatch.cli import main
from affectwatch.config import Config
from notifier.sweep import sweep
from tests.test_alerts_support import (
    add_camera,
    add_resident,
    alerts_of,
    base_time,
    events_of,
    jobs,
    rule_config,
    steps,
    stream,
    write_all,
)


def offline_alerts(config: Config) -> list[dict[str, object]]:
    with psycopg.connect(config.database_url, row_factory=dict_row) as conn:
        return list(conn.execute("SELECT * FROM alerts WHERE kind = 'camera_offline' ORDER BY id"))


def frame_seen(config: Config, camera: int, at: datetime) -> None:
    """What the producer reports when a camera delivers a frame."""
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO camera_status (camera_id, state, last_frame_at) VALUES (%s, 'online', %s)"
                     " ON CONFLICT (camera_id) DO UPDATE SET last_frame_at = EXCLUDED.last_frame_at", (camera, at))


def test_a_silent_camera_raises_one_offline_alert_until_frames_resume(config: Config) -> None:
    rc = rule_config(config, camera_offline_minutes=5.0)
    now = datetime.now(UTC)
    with psycopg.connect(rc.database_url, autocommit=True) as conn:
        ada, paused = add_resident(conn, "Ada"), add_resident(conn, "Paused")
        silent, talking = add_camera(conn, ada, "silent"), add_camera(conn, ada, "talking")
        add_camera(conn, None, "corridor")  # no resident: nobody to watch over
        add_camera(conn, paused, "paused room")
        off = add_camera(conn, ada, "switched off")
        conn.execute("UPDATE cameras SET enabled = false WHERE id = %s", (off,))
        conn.execute("INSERT INTO monitoring_pauses (resident_id, starts_at, ends_at, reason)"
                     " VALUES (%s, %s, %s, 'privacy')", (paused, now, now + timedelta(hours=1)))
    frame_seen(rc, silent, now + timedelta(minutes=1))
    frame_seen(rc, talking, now + timedelta(minutes=6))

    assert sweep(rc, None, now + timedelta(minutes=4)).changes == []  # silent for 3 minutes: not yet
    report = sweep(rc, None, now + timedelta(minutes=7))
    (alert,) = offline_alerts(rc)
    assert report.changes == [(alert["id"], "opened")]
    assert (alert["camera_id"], alert["resident_id"], alert["state"]) == (silent, ada, "open")
    assert alert["window_start"] == now + timedelta(minutes=1)
    assert sweep(rc, None, now + timedelta(minutes=8)).changes == []  # still one
    frame_seen(rc, silent, now + timedelta(minutes=9))
    assert sweep(rc, None, now + timedelta(minutes=10)).changes == [(alert["id"], "resolved")]
    (alert,) = offline_alerts(rc)
    assert alert["state"] == "resolved" and alert["resolve_reason"] == "frames resumed"
    assert events_of(rc, int(alert["id"])) == ["opened", "resolved"]  # type: ignore[call-overload]


def test_a_camera_that_never_sent_a_frame_alerts_once_registered_long_enough(config: Config) -> None:
    rc = rule_config(config, camera_offline_minutes=5.0)
    with psycopg.connect(rc.database_url, autocommit=True) as conn:
        camera = add_camera(conn, add_resident(conn))
    sweep(rc, None, datetime.now(UTC) + timedelta(minutes=6))
    (alert,) = offline_alerts(rc)
    assert alert["camera_id"] == camera
    with psycopg.connect(rc.database_url, autocommit=True) as conn:  # unassigned: nobody to watch over
        conn.execute("UPDATE cameras SET resident_id = NULL WHERE id = %s", (camera,))
    sweep(rc, None, datetime.now(UTC) + timedelta(minutes=7))
    assert offline_alerts(rc)[0]["state"] == "resolved"


def test_an_alert_whose_resident_is_no_longer_seen_goes_stale(config: Config) -> None:
    rc = rule_config(config, alert_stale_minutes=60.0)
    with psycopg.connect(rc.database_url, autocommit=True) as conn:
        resident = add_resident(conn)
        camera = add_camera(conn, resident)
    write_all(rc, jobs(stream(base_time(), 16, steps((16, 0.9)), resident, camera)))
    last_face = base_time() + timedelta(minutes=16)
    sweep(rc, None, last_face + timedelta(minutes=30))
    assert alerts_of(rc, resident)[0]["state"] == "open"
    sweep(rc, None, last_face + timedelta(minutes=61))
    (alert,) = alerts_of(rc, resident)
    assert alert["state"] == "resolved" and "no face of the resident seen for 60 min" in alert["resolve_reason"]


def test_command_line(config: Config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AFFECTWATCH_DATABASE_URL", config.database_url)
    monkeypatch.setenv("AFFECTWATCH_REDIS_URL", config.redis_url)
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        resident = add_resident(conn, "Cleo")
        camera = add_camera(conn, resident)
    write_all(rule_config(config), jobs(stream(base_time(), 16, steps((16, 0.9)), resident, camera)))
    (alert,) = alerts_of(config, resident)

    assert main(["alerts", "list", "--state", "open", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [a["id"] for a in listed] == [alert["id"]] and listed[0]["resident_name"] == "Cleo"
    assert main(["alerts", "ack", str(alert["id"]), "--by", "night nurse", "--note", "tea and a chat"]) == 0
    assert main(["alerts", "ack", str(alert["id"]), "--by", "night nurse"]) == 2  # not open any more
    assert "only an open alert can be acknowledged" in capsys.readouterr().err
    assert main(["alerts", "show", str(alert["id"])]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in shown["events"]] == ["opened", "acknowledged"]
    assert shown["events"][1]["actor"] == "night nurse" and shown["events"][1]["note"] == "tea and a chat"
    assert main(["alerts", "resolve", str(alert["id"]), "--by", "night nurse"]) == 0
    assert main(["alerts", "webhook", "add", "https://hooks.example/aw", "--name", "pager"]) == 0
    assert "signing secret" in capsys.readouterr().out
    assert main(["alerts", "webhook", "add", "ftp://x"]) == 2
    assert main(["alerts", "webhook", "list"]) == 0
    assert "https://hooks.example/aw" in capsys.readouterr().out
    assert main(["alerts", "webhook", "remove", "1"]) == 0
    assert main(["alerts", "sweep", "--no-deliveries"]) == 0
