"""Erasing a resident leaves no row that refers to them or names them, and nobody else's data changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import dict_row

from affectwatch import cli
from affectwatch import erasure as erase
from affectwatch.config import Config
from affectwatch.exceptions import NotFoundError
from tests.historydata import Face, add_camera, add_faces, add_resident, refresh

Conn = psycopg.Connection[Any]
T0 = datetime(2031, 5, 4, 9, tzinfo=UTC)
NAME = "Margaret O'Brien"


def connect(config: Config) -> Conn:
    return psycopg.connect(config.database_url, autocommit=True, row_factory=dict_row)


def everything(conn: Conn) -> dict[str, list[str]]:
    """Every row of every table in public (partitions through their parents), as text."""
    tables = [r["relname"] for r in conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p')"
        " AND NOT relispartition ORDER BY 1")]
    return {t: [str(r["row"]) for r in conn.execute(
        sql.SQL("SELECT t::text AS row FROM {} t ORDER BY 1").format(sql.Identifier(t)))] for t in tables}


def mentions(conn: Conn, resident_id: int) -> list[str]:
    """Rows naming the resident, or holding their id in a resident_id column."""
    found = [f"{t}: {row}" for t, rows in everything(conn).items() for row in rows if "o'brien" in row.lower()]
    for col in conn.execute("SELECT table_name FROM information_schema.columns WHERE table_schema = 'public'"
                            " AND column_name = 'resident_id'"):
        query = sql.SQL("SELECT count(*) AS n FROM {} WHERE resident_id = %s").format(sql.Identifier(col["table_name"]))
        row = conn.execute(query, (resident_id,)).fetchone()
        if row and row["n"]:
            found.append(f"{col['table_name']}: {row['n']} rows")
    return found


@pytest.fixture()
def home(config: Config) -> dict[str, int]:
    with connect(config) as conn:
        conn.execute("SELECT affectwatch_ensure_partitions('2031-05-01', 1)")
        meg = add_resident(conn, NAME, "7")
        other = add_resident(conn, "Joan Smith", "8")
        room = add_camera(conn, f"{NAME}'s room", "Floor 2", meg)
        lounge = add_camera(conn, "lounge", "Floor 2", other)
        add_faces(conn, [Face(T0 + timedelta(minutes=i), room, meg, "sad") for i in range(30)])
        add_faces(conn, [Face(T0 + timedelta(minutes=i), lounge, other, "happy") for i in range(20)])
        refresh(conn)
        for resident in (meg, other):
            alert = conn.execute(
                "INSERT INTO alerts (kind, resident_id, camera_id, window_start, window_end, n_faces, negative_share,"
                " peak_share) VALUES ('expression', %s, %s, %s, %s, 25, 0.8, 0.9) RETURNING id",
                (resident, room, T0, T0 + timedelta(minutes=10))).fetchone()
            assert alert is not None
            conn.execute("INSERT INTO alert_events (alert_id, kind, note, details) VALUES (%s, 'acknowledged', %s, %s)",
                         (alert["id"], f"{NAME} was calmed by her daughter", json.dumps({"who": NAME})))
            conn.execute("INSERT INTO monitoring_pauses (resident_id, starts_at, ends_at, reason, note)"
                         " VALUES (%s, %s, %s, 'visit', %s)", (resident, T0, T0 + timedelta(hours=1),
                                                               f"visit by {NAME}'s son"))
        conn.execute("INSERT INTO resident_alert_thresholds (resident_id, min_faces) VALUES (%s, 10)", (meg,))
        conn.execute("INSERT INTO alert_baselines VALUES (%s, 0.2, 100, %s, %s, now())", (meg, T0, T0))
    return {"meg": meg, "other": other, "room": room, "lounge": lounge}


def test_erasure_leaves_no_row_that_refers_to_or_names_the_resident(config: Config, home: dict[str, int]) -> None:
    with connect(config) as conn:
        assert len(mentions(conn, home["meg"])) >= 8  # the check itself finds them
        before = everything(conn)
        report = erase.erase_resident(conn, home["meg"])
        assert mentions(conn, home["meg"]) == []
        assert erase.traces(conn, home["meg"], NAME, deep=True) == []
        after = everything(conn)
    assert report.deleted["faces"] == 30 and report.deleted["residents"] == 1
    assert report.deleted["face_hourly"] == 1 and report.deleted["alerts"] == 1 and report.cameras_unassigned == 1
    assert report.scrubbed == {"alert_events.details": 1, "alert_events.note": 1, "cameras.name": 1,
                               "monitoring_pauses.note": 1}
    # Joan's faces, aggregates, pause and alert are all still there (her alert's note no longer names Meg).
    assert [r for r in after["faces"] if "happy" in r] == [r for r in before["faces"] if "happy" in r]
    assert len(after["face_hourly"]) == 1 and len(after["alerts"]) == 1 and len(after["monitoring_pauses"]) == 1
    assert "[erased resident] was calmed by her daughter" in after["alert_events"][0]
    assert "[erased resident]'s room" in after["cameras"][0] + after["cameras"][1]


def test_erasing_a_resident_who_does_not_exist_is_a_clear_error(config: Config) -> None:
    with connect(config) as conn, pytest.raises(NotFoundError, match="resident 999"):
        erase.erase_resident(conn, 999)


def test_a_name_inside_another_word_is_left_alone(config: Config) -> None:
    with connect(config) as conn:
        ann = add_resident(conn, "Ann")
        add_camera(conn, "Annex hall", "Annex")
        add_camera(conn, "Room of Ann", "Floor 1", ann)
        report = erase.erase_resident(conn, ann)
        names = sorted(r["name"] for r in conn.execute("SELECT name FROM cameras"))
    assert names == ["Annex hall", "Room of [erased resident]"] and report.scrubbed == {"cameras.name": 1}


def test_command_needs_confirmation_then_erases(config: Config, home: dict[str, int], monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("AFFECTWATCH_DATABASE_URL", config.database_url)
    assert cli.main(["resident", "erase", str(home["meg"])]) == 2
    assert "--yes" in capsys.readouterr().err
    assert cli.main(["resident", "erase", str(home["meg"]), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "30 faces" in out and "no row refers to or names them" in out
    with connect(config) as conn:
        everything = conn.execute("SELECT action, subject_resident, what FROM audit_log").fetchall()
    logged = [r for r in everything if r["action"] == "erase"]  # the others: the home's set-up (0011's triggers)
    assert [(r["action"], r["subject_resident"]) for r in logged] == [("erase", home["meg"])]
    assert not any("brien" in r["what"].lower() for r in everything)
    assert cli.main(["resident", "erase", str(home["meg"]), "--yes"]) == 2
