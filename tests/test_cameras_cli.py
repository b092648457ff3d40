"""Cameras and residents: the query functions the dashboard shares, and the command line over them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import cv2
import pytest

from affectwatch.cli import main
from affectwatch.config import Config
from affectwatch.db import connect, transaction
from affectwatch.exceptions import NotFoundError, SourceError, ValidationError
from affectwatch.queries import cameras, residents

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture()
def cli(config: Config, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run `affectwatch ARGS...` in-process against the test database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("AFFECTWATCH_DATABASE_URL", config.database_url)
    monkeypatch.setenv("AFFECTWATCH_REDIS_URL", config.redis_url)

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_camera_crud_through_the_query_functions(config: Config, face_video: Path) -> None:
    with transaction(config) as conn:
        mary = residents.add_resident(conn, " Mary Smith ", room="12")
        cam = cameras.add_camera(conn, "Lounge", str(face_video), location="ground floor", sample_fps=3,
                                 resident_id=mary.id)
        assert (cam.name, cam.source, cam.sample_fps, cam.enabled, cam.resident_id) == (
            "Lounge", str(face_video), 3.0, True, mary.id)
        assert mary.name == "Mary Smith"
        assert cameras.get_camera(conn, cam.id) == cam == cameras.find_camera(conn, "Lounge")
        changed = cameras.update_camera(conn, cam.id, sample_fps=0.5, enabled=False)
        assert (changed.sample_fps, changed.enabled, changed.resident_id) == (0.5, False, mary.id)
        assert changed.updated_at >= cam.updated_at
        assert cameras.update_camera(conn, cam.id, resident_id=None).resident_id is None
        assert cameras.list_cameras(conn, enabled_only=True) == []
        assert [c.id for c in cameras.list_cameras(conn)] == [cam.id]
        cameras.remove_camera(conn, cam.id)
        with pytest.raises(NotFoundError, match=f"camera {cam.id} does not exist"):
            cameras.get_camera(conn, cam.id)


def test_refused_input_leaves_the_transaction_usable(config: Config) -> None:
    with transaction(config) as conn:
        cameras.add_camera(conn, "Hall", "rtsp://cam.local/live")
        with pytest.raises(ValidationError, match="already exists"):
            cameras.add_camera(conn, "Hall", "rtsp://cam.local/other")
        with pytest.raises(NotFoundError, match="does not exist"):
            cameras.add_camera(conn, "Room 3", "rtsp://cam.local/3", resident_id=999)
        with pytest.raises(SourceError, match="scheme file://"):
            cameras.add_camera(conn, "Evil", "file:///etc/passwd")
        with pytest.raises(ValidationError, match="sample rate"):
            cameras.add_camera(conn, "Fast", "0", sample_fps=60)
        with pytest.raises(ValidationError, match="1 to 200 characters"):
            cameras.add_camera(conn, "  ", "0")
        with pytest.raises(NotFoundError):
            cameras.update_camera(conn, 999, name="x")
        assert [c.name for c in cameras.list_cameras(conn)] == ["Hall"]


def test_removing_a_resident_removes_their_events_and_unassigns_cameras(config: Config) -> None:
    with transaction(config) as conn:
        ann = residents.add_resident(conn, "Ann", room="4")
        cam = cameras.add_camera(conn, "Room 4", "rtsp://cam.local/4", resident_id=ann.id)
        conn.execute(
            "INSERT INTO faces (frame_id, face_index, captured_at, camera_id, resident_id, box_x1, box_y1, box_x2,"
            " box_y2, det_prob, expression, confidence, p_happy, p_neutral, model)"
            " VALUES (gen_random_uuid(), 0, now(), %s, %s, 1, 1, 50, 50, .99, 'happy', .9, .9, .1, 'test')",
            (cam.id, ann.id))
        assert residents.count_events(conn, ann.id) == 1
        residents.remove_resident(conn, ann.id)
        assert residents.count_events(conn, ann.id) == 0
        assert cameras.get_camera(conn, cam.id).resident_id is None
        with pytest.raises(NotFoundError):
            residents.get_resident(conn, ann.id)


def test_camera_commands(cli: Cli, face_video: Path, config: Config) -> None:
    assert cli("resident", "add", "Mary Smith", "--room", "12")[0] == 0
    code, out, _ = cli("camera", "add", "Hall", "rtsp://admin:pw@10.0.0.5/live", "--resident", "Mary Smith")
    assert code == 0 and "added camera 1 'Hall'" in out and "pw" not in out
    assert cli("camera", "add", "Lounge", str(face_video), "--fps", "5", "--disabled")[0] == 0
    code, out, _ = cli("camera", "list", "--json")
    listed = json.loads(out)
    assert [(c["name"], c["enabled"], c["sample_fps"], c["resident_id"]) for c in listed] == [
        ("Hall", True, 2.0, 1), ("Lounge", False, 5.0, None)]
    assert listed[0]["source"] == "rtsp://admin:***@10.0.0.5/live"
    assert cli("camera", "update", "Lounge", "--enable", "--fps", "1", "--resident", "1")[0] == 0
    assert cli("camera", "update", "1", "--no-resident", "--location", "hall way")[0] == 0
    with transaction(config) as conn:
        hall, lounge = cameras.list_cameras(conn)
    assert (lounge.enabled, lounge.sample_fps, lounge.resident_id) == (True, 1.0, 1)
    assert (hall.resident_id, hall.location) == (None, "hall way")
    code, out, _ = cli("camera", "list")
    assert "Lounge" in out.splitlines()[2] and "unknown" in out
    assert cli("camera", "remove", "Hall")[0] == 0
    assert [c["name"] for c in json.loads(cli("camera", "list", "--json")[1])] == ["Lounge"]


@pytest.mark.parametrize(("argv", "message"), [
    (("camera", "add", "X", "file:///etc/passwd"), "scheme file:// is not allowed"),
    (("camera", "add", "X", "/no/such/video.mp4"), "outside the media folder"),
    (("camera", "add", "X", "/etc/passwd"), "outside the media folder"),  # refused before it is looked at
    (("camera", "add", "X", "0", "--fps", "0"), "sample rate"),
    (("camera", "add", "X", "0", "--resident", "Nobody"), "no resident is named"),
    (("camera", "update", "Nope", "--fps", "1"), "no camera is named"),
    (("camera", "remove", "42"), "camera 42 does not exist"),
    (("resident", "update", "7", "--room", "1"), "resident 7 does not exist"),
])
def test_bad_commands_fail_with_a_clear_message(cli: Cli, argv: tuple[str, ...], message: str) -> None:
    code, out, err = cli(*argv)
    assert code == 2 and message in err and out == ""


def test_a_duplicate_camera_name_is_refused_and_the_first_kept(cli: Cli) -> None:
    assert cli("camera", "add", "Hall", "0")[0] == 0
    code, _, err = cli("camera", "add", "Hall", "1")
    assert code == 2 and "already exists" in err
    assert [c["source"] for c in json.loads(cli("camera", "list", "--json")[1])] == ["0"]


def test_resident_commands(cli: Cli, config: Config) -> None:
    assert cli("resident", "add", "Ann Lee", "--room", "4")[0] == 0
    assert cli("resident", "add", "Bob Day", "--unmonitored")[0] == 0
    code, out, _ = cli("resident", "list", "--json")
    assert [(r["name"], r["room"], r["monitored"]) for r in json.loads(out)] == [
        ("Ann Lee", "4", True), ("Bob Day", "", False)]
    assert cli("resident", "update", "Bob Day", "--monitor", "--room", "9")[0] == 0
    with connect(config) as conn:
        bob = residents.find_resident(conn, "Bob Day")
        conn.execute(
            "INSERT INTO faces (frame_id, face_index, captured_at, resident_id, box_x1, box_y1, box_x2, box_y2,"
            " det_prob, expression, confidence, p_sad, p_neutral, model)"
            " VALUES (gen_random_uuid(), 0, now(), %s, 1, 1, 50, 50, .99, 'sad', .8, .8, .2, 'test')", (bob.id,))
        conn.commit()
    assert (bob.monitored, bob.room) == (True, "9")
    code, _, err = cli("resident", "remove", "Bob Day")
    assert code == 2 and "1 recorded events" in err and "--yes" in err
    code, out, _ = cli("resident", "remove", "Bob Day", "--yes")
    assert code == 0 and "and 1 recorded events" in out
    assert [r["name"] for r in json.loads(cli("resident", "list", "--json")[1])] == ["Ann Lee"]


def test_camera_test_grabs_a_frame(cli: Cli, face_video: Path, tmp_path: Path) -> None:
    assert cli("camera", "add", "Lounge", str(face_video))[0] == 0
    out_file = tmp_path / "grab.jpg"
    code, out, _ = cli("camera", "test", "Lounge", "--out", str(out_file))
    assert code == 0 and "bytes" in out
    image = cv2.imread(str(out_file))
    assert image is not None and image.shape == (480, 640, 3)
    code, _, err = cli("camera", "test", "rtsp://127.0.0.1:9/none", "--out", str(out_file), "--timeout", "5")
    assert code == 2 and "127.0.0.1 is a loopback" in err, "refused before anything is opened"
