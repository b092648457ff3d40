# ruff: noqa: F811  (fixtures imported from tests.test_worker_support)
"""Whose face is it: enrolment from photos (with consent, audited, refused without exactly one face), faces
matched in the real worker (real MTCNN, dlib's ResNet, Postgres), unknown faces that never alert, erasure.

The people are three real photographs installed packages ship (tests/identityset.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pytest
from psycopg.rows import dict_row

from affectwatch.config import Config
from affectwatch.db import transaction
from affectwatch.identity import SINGLE_PERSON
from affectwatch.labels import LABELS
from affectwatch.queries import identity as q
from affectwatch.queries.cameras import add_camera
from affectwatch.queries.residents import add_resident
from affectwatch.queue import FramePayload
from tests import faceset
from tests.identityset import frame, variants, write
from tests.test_cameras_cli import cli  # noqa: F401  (fixture)
from tests.test_dashboard_support import accounts, app, clients, clock, dash_config  # noqa: F401  (fixtures)
from tests.test_worker_support import jpeg, loaded_pipeline, model_path, pipeline  # noqa: F401  (fixtures)
from worker import jobs
from worker.identity import ASSUMED, IDENTIFIED, UNKNOWN, Gallery, Identity, Tracker
from worker.pipeline import Pipeline

Cli = Callable[..., tuple[int, str, str]]


@pytest.fixture()
def fresh_tracker(pipeline: Pipeline) -> Pipeline:
    """Camera ids restart in every test's database: the process's tracker starts empty too."""
    pipeline.tracker.cameras.clear()
    return pipeline


def one(config: Config, query: str, *params: Any) -> Any:
    with psycopg.connect(config.database_url) as conn:
        row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def enrol(cli: Cli, tmp: Path, resident: str, person: str) -> None:
    photos = write(tmp / f"{person}-enrol", variants(person)[:5])
    code, out, err = cli("resident", "enroll", resident, str(photos[0].parent), "--consent-by", "Ann Daughter",
                         "--on-behalf-of", f"{resident} (lasting power of attorney)")
    assert code == 0, err
    assert "5 face template(s)" in out


def run_job(config: Config, pipeline: Pipeline, camera_id: int, images: list[np.ndarray],
            start: datetime | None = None, step: timedelta = timedelta(seconds=1)) -> list[dict[str, Any]]:
    """Frames of a camera through the worker's job (in this process), then its face rows."""
    jobs.install(pipeline.with_config(config))
    start = start or datetime.now(UTC) - timedelta(seconds=len(images))
    frames = [FramePayload(uuid.uuid4(), camera_id, start + i * step, datetime.now(UTC), jpeg(img)).to_json()
              for i, img in enumerate(images)]
    jobs.process_frames(camera_id, frames)
    with psycopg.connect(config.database_url, row_factory=dict_row) as conn:
        return conn.execute("SELECT f.*, fr.captured_at AS at FROM faces f JOIN frames fr USING (frame_id, captured_at)"
                            " WHERE f.camera_id = %s ORDER BY f.captured_at, f.box_x1", (camera_id,)).fetchall()


def camera_of(config: Config, *residents: str) -> tuple[int, list[int]]:
    with transaction(config) as conn:
        ids = [add_resident(conn, name).id for name in residents]
        cam = add_camera(conn, f"room {uuid.uuid4().hex[:6]}", "rtsp://cam.local/1", resident_ids=ids)
    return cam.id, ids


# ---------------------------------------------------------------------------------------------- enrolment


def test_enrolment_keeps_templates_and_consent_never_photos_and_is_audited(config: Config, cli: Cli,
                                                                           tmp_path: Path) -> None:
    camera_of(config, "Eileen")
    enrol(cli, tmp_path, "Eileen", "astronaut")
    with psycopg.connect(config.database_url, row_factory=dict_row) as conn:
        templates = conn.execute("SELECT * FROM face_templates").fetchall()
        consent = conn.execute("SELECT * FROM identity_consents").fetchone()
        audit = conn.execute("SELECT action, what, actor FROM audit_log WHERE action = 'enrol'").fetchall()
    assert len(templates) == 5 and all(len(t["template"]) == 128 for t in templates)
    assert {t["model"] for t in templates} == {"dlib_face_recognition_resnet_model_v1"}
    assert consent is not None and consent["given_by"] == "Ann Daughter"
    assert consent["on_behalf_of"] == "Eileen (lasting power of attorney)"
    assert [a["action"] for a in audit] == ["enrol"] and audit[0]["actor"].startswith("cli:")
    # nothing but numbers is kept: no bytea column, no photo file name
    assert one(config, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'face_templates'"
                       " AND data_type = 'bytea'") == 0
    code, out, _ = cli("resident", "enrollment", "list", "Eileen", "--json")
    listed = json.loads(out)
    assert code == 0 and listed[0]["templates"] == 5 and listed[0]["consent_by"] == "Ann Daughter"
    assert listed[0]["first_taken_at"] is not None
    code, out, _ = cli("camera", "list", "--json")
    assert "identifies 1 of 1 resident" in json.loads(out)[0]["identity"]


@pytest.mark.parametrize("bad", ["no face", "two faces"])
def test_a_photo_without_exactly_one_face_refuses_the_enrolment_naming_it(config: Config, cli: Cli,
                                                                          tmp_path: Path, bad: str) -> None:
    camera_of(config, "Eileen")
    good = write(tmp_path / "ok", variants("astronaut")[:2])
    photos = faceset.photos()
    image = photos["coffee"] if bad == "no face" else frame(photos["astronaut"], photos["hopper"])
    wrong = write(tmp_path / "bad", [image], prefix="refused")[0]
    code, _, err = cli("resident", "enroll", "Eileen", *map(str, good), str(wrong), "--consent-by", "Eileen")
    assert code != 0
    assert str(wrong) in err and ("no clear face" if bad == "no face" else "2 faces") in err
    assert str(good[0]) not in err
    assert one(config, "SELECT count(*) FROM face_templates") == 0
    assert one(config, "SELECT count(*) FROM identity_consents") == 0


def test_enrolment_needs_a_consent(config: Config, cli: Cli, tmp_path: Path) -> None:
    camera_of(config, "Eileen")
    photo = write(tmp_path, variants("astronaut")[:1])[0]
    with pytest.raises(SystemExit):
        cli("resident", "enroll", "Eileen", str(photo))  # --consent-by is required
    code, _, err = cli("resident", "enroll", "Eileen", str(photo), "--consent-by", "  ")
    assert code != 0 and "consent" in err


def test_removing_and_erasing_delete_the_templates(config: Config, cli: Cli, tmp_path: Path) -> None:
    camera_of(config, "Eileen", "Grace")
    enrol(cli, tmp_path, "Eileen", "astronaut")
    enrol(cli, tmp_path, "Grace", "hopper")
    code, out, _ = cli("resident", "enrollment", "remove", "Grace")
    assert code == 0 and "removed 5 face template(s)" in out
    assert one(config, "SELECT count(*) FROM face_templates") == 5
    eileen = one(config, "SELECT id FROM residents WHERE name = 'Eileen'")
    code, _, err = cli("resident", "erase", str(eileen), "--yes")
    assert code == 0, err
    assert one(config, "SELECT count(*) FROM face_templates") == 0
    assert one(config, "SELECT count(*) FROM identity_consents") == 0
    actions = one(config, "SELECT array_agg(action ORDER BY id) FROM audit_log"
                          " WHERE action IN ('enrol', 'unenrol', 'erase')")
    assert actions == ["enrol", "enrol", "unenrol", "erase"]


# ----------------------------------------------------------------------------------------------- matching


def test_without_enrolment_every_face_is_the_camera_residents(config: Config, cli: Cli,
                                                              fresh_tracker: Pipeline) -> None:
    camera, (eileen,) = camera_of(config, "Eileen")
    photos = faceset.photos()
    faces = run_job(config, fresh_tracker, camera, [frame(photos["astronaut"], photos["hopper"])])
    assert [(f["resident_id"], f["identity"], f["match_distance"]) for f in faces] == [(eileen, ASSUMED, None)] * 2
    _, out, _ = cli("camera", "list", "--json")
    assert json.loads(out)[0]["identity"] == SINGLE_PERSON
    _, out, _ = cli("camera", "list")
    assert SINGLE_PERSON in out


def test_an_enrolled_residents_other_photos_are_theirs_and_other_people_unknown(
        config: Config, cli: Cli, tmp_path: Path, fresh_tracker: Pipeline) -> None:
    camera, (eileen,) = camera_of(config, "Eileen")
    enrol(cli, tmp_path, "Eileen", "astronaut")
    others = variants("hopper")[5:] + variants("camera")[5:]
    mine = variants("astronaut")[5:]
    start = datetime.now(UTC) - timedelta(minutes=5)
    faces = run_job(config, fresh_tracker, camera, mine + others, start, timedelta(seconds=5))  # apart: no tracking
    assert [(f["resident_id"], f["identity"]) for f in faces] == \
        [(eileen, IDENTIFIED)] * 3 + [(None, UNKNOWN)] * 6
    assert all(f["match_distance"] < config.identity_threshold for f in faces[:3])
    assert all(f["match_distance"] >= config.identity_threshold for f in faces[3:])
    shown = one(config, "SELECT array_agg(identified ORDER BY captured_at) FROM analytics.faces")
    assert shown == [True] * 3 + [False] * 6
    _, out, _ = cli("events", "--minutes", "10", "--limit", "20")
    lines = out.splitlines()
    assert len(lines) == 9 and all("Eileen" in x for x in lines[:3]) and all("(unknown)" in x for x in lines[3:])


def test_a_camera_with_two_enrolled_residents_splits_the_faces(config: Config, cli: Cli, tmp_path: Path,
                                                               fresh_tracker: Pipeline) -> None:
    camera, (eileen, grace) = camera_of(config, "Eileen", "Grace")
    enrol(cli, tmp_path, "Eileen", "astronaut")
    enrol(cli, tmp_path, "Grace", "hopper")
    a, h, c = (variants(p)[6] for p in ("astronaut", "hopper", "camera"))
    faces = run_job(config, fresh_tracker, camera, [frame(a, h, c), frame(h, c, a)])
    first, second = faces[:3], faces[3:]
    assert [f["resident_id"] for f in first] == [eileen, grace, None]
    assert [f["resident_id"] for f in second] == [grace, None, eileen]
    # the second frame's faces moved (no overlap): each was matched again, not carried
    assert fresh_tracker.tracker.cameras[camera].tracks[0].checked_at == second[0]["captured_at"]


def test_an_unknown_face_never_opens_an_alert_even_when_negative(config: Config, cli: Cli, tmp_path: Path,
                                                                 fresh_tracker: Pipeline) -> None:
    every_label_negative = replace(config, negative_labels=frozenset(LABELS), alert_min_faces=3,
                                   alert_window_minutes=1.0, alert_min_span_minutes=0.0, alert_min_minutes=1,
                                   quality_min_confidence=0.0)
    camera, (eileen,) = camera_of(config, "Eileen")
    enrol(cli, tmp_path, "Eileen", "astronaut")
    start = datetime.now(UTC) - timedelta(minutes=3)
    stranger = [variants("hopper")[i] for i in (5, 6, 7, 5, 6)]
    faces = run_job(every_label_negative, fresh_tracker, camera, stranger, start)
    assert len(faces) == 5 and {f["resident_id"] for f in faces} == {None}
    assert one(config, "SELECT count(*) FROM alerts") == 0
    # the same rule on the resident's own faces does open one: the test could fail
    run_job(every_label_negative, fresh_tracker, camera, [variants("astronaut")[i] for i in (5, 6, 7, 5, 6)],
            start + timedelta(seconds=30))
    assert one(config, "SELECT array_agg(resident_id) FROM alerts WHERE kind = 'expression'") == [eileen]


# ---------------------------------------------------------------------------------------------- tracking


def test_the_tracker_carries_an_identity_across_overlapping_boxes_and_rechecks_it() -> None:
    gallery = Gallery.of([(1, 7, [0.0] * 128), (2, 8, [1.0] + [0.0] * 127)])
    tracker = Tracker(threshold=0.5, recheck_seconds=10.0)
    calls: list[list[int]] = []

    def embed(todo: list[int]) -> Any:
        calls.append(todo)
        return np.zeros((len(todo), 128), dtype=np.float32)  # every face is resident 7's

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    box, moved = (100.0, 100.0, 200.0, 200.0), (110.0, 105.0, 210.0, 205.0)
    assert tracker.identify(1, t0, [box], gallery, embed) == [Identity(IDENTIFIED, 7, 0.0)]
    assert tracker.identify(1, t0 + timedelta(seconds=1), [moved], gallery, embed) == [Identity(IDENTIFIED, 7, 0.0)]
    assert calls == [[0]]  # carried, not embedded again
    tracker.identify(1, t0 + timedelta(seconds=11), [moved], gallery, embed)
    assert calls == [[0], [0]]  # re-checked after recheck_seconds
    tracker.identify(1, t0 + timedelta(seconds=16), [moved], gallery, embed)
    assert len(calls) == 3  # a gap of 5 s ends the track
    tracker.identify(1, t0 + timedelta(seconds=17), [moved], Gallery.of([(3, 7, [0.0] * 128)]), embed)
    assert len(calls) == 4  # the gallery changed
    # two faces matching one resident in one frame: the nearer keeps them
    two = tracker.identify(2, t0, [box, (300.0, 100.0, 400.0, 200.0)], gallery,
                           lambda todo: np.asarray([[0.1] + [0.0] * 127, [0.2] + [0.0] * 127], dtype=np.float32))
    assert [(i.state, i.resident_id) for i in two] == [(IDENTIFIED, 7), (UNKNOWN, None)]
    assert tracker.identify(3, t0, [box], Gallery(), embed) == [Identity(ASSUMED)]


def test_queries_keep_the_main_resident_in_step(config: Config) -> None:
    camera, (a, b) = camera_of(config, "A", "B")
    with transaction(config) as conn:
        assert q.camera_residents(conn)[camera] == [a, b]
        assert one(config, "SELECT resident_id FROM cameras WHERE id = %s", camera) == a
        from affectwatch.queries.cameras import update_camera

        update_camera(conn, camera, resident_ids=[b])
        assert q.camera_residents(conn, [camera]) == {camera: [b]}
        assert update_camera(conn, camera, resident_id=None).resident_id is None
        assert q.camera_residents(conn, [camera]) == {}


def test_the_api_takes_and_shows_a_cameras_residents(clients: Any, dash_config: Config) -> None:
    from tests.test_dashboard_support import api

    admin = clients["admin"]
    with transaction(dash_config) as conn:
        a, b = add_resident(conn, "A").id, add_resident(conn, "B").id
    made = api(admin, "POST", "/api/v1/cameras", {"name": "Lounge", "source": "rtsp://cam.local/l",
                                                  "resident_ids": [b, a]})
    assert made.status_code == 201, made.get_json()
    shown = made.get_json()
    assert (shown["resident_ids"], shown["resident_id"], shown["identity"]) == ([b, a], b, SINGLE_PERSON)
    changed = api(admin, "PATCH", f"/api/v1/cameras/{shown['id']}", {"resident_ids": [a]}).get_json()
    assert changed["resident_ids"] == [a] and changed["residents"] == ["A"]
    bad = api(admin, "PATCH", f"/api/v1/cameras/{shown['id']}", {"resident_ids": ["x"]})
    assert bad.status_code == 400 and "resident_ids" in bad.get_json()["errors"]


def test_migration_0009_keeps_each_cameras_resident(config: Config, tmp_path: Path) -> None:
    """A database made before identity: its cameras' residents move into camera_residents, its faces are assumed."""
    import shutil

    from psycopg import sql

    from affectwatch.migrate import migrate

    migrations_dir = Path(__file__).resolve().parent.parent / "migrations"

    name = f"{psycopg.conninfo.conninfo_to_dict(config.database_url)['dbname']}_m9"
    old = replace(config, database_url=psycopg.conninfo.make_conninfo(config.database_url, dbname=name))
    admin = psycopg.conninfo.make_conninfo(config.database_url, dbname="postgres")
    folder = tmp_path / "migrations"
    folder.mkdir()
    for f in sorted(migrations_dir.glob("*.sql")):
        if f.name < "0009":
            shutil.copy(f, folder)
    try:
        migrate(old, folder)
        with psycopg.connect(old.database_url, autocommit=True) as conn:
            resident = conn.execute("INSERT INTO residents (name) VALUES ('Ann') RETURNING id").fetchone()
            assert resident is not None
            conn.execute("INSERT INTO cameras (name, source, resident_id) VALUES ('a', 'rtsp://x/1', %s),"
                         " ('b', 'rtsp://x/2', NULL)", (resident[0],))
            conn.execute("INSERT INTO faces (frame_id, face_index, captured_at, camera_id, resident_id, box_x1, box_y1,"
                         " box_x2, box_y2, det_prob, expression, confidence, p_happy, model)"
                         " VALUES (gen_random_uuid(), 0, now(), 1, %s, 0, 0, 1, 1, 0.99, 'happy', 1, 1, 'm')",
                         (resident[0],))
        shutil.copy(migrations_dir / "0009_identity.sql", folder)
        assert [m.version for m in migrate(old, folder)] == [9]
        with psycopg.connect(old.database_url) as conn:
            assert conn.execute("SELECT camera_id, resident_id FROM camera_residents").fetchall() == [(1, resident[0])]
            assert conn.execute("SELECT identity, match_distance FROM faces").fetchall() == [("assumed", None)]
            assert conn.execute("SELECT resident_ids, identifies FROM analytics.cameras ORDER BY camera_id"
                                ).fetchall() == [([resident[0]], False), ([], False)]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_replay_for_an_enrolled_resident_counts_only_their_faces(config: Config, cli: Cli, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """`affectwatch replay --resident` matches faces as the live worker does: with the resident enrolled, the
    other person in the footage is unknown and never counts; without an enrolment every face is theirs."""
    monkeypatch.setenv("AFFECTWATCH_TORCH_THREADS", "1")
    camera_of(config, "Eileen", "Grace")
    enrol(cli, tmp_path, "Eileen", "astronaut")
    footage = write(tmp_path / "footage", [frame(variants("astronaut")[i], variants("hopper")[i]) for i in (5, 6, 7)])
    code, out, err = cli("replay", str(footage[0].parent), "--fps", "1", "--resident", "Eileen", "--json")
    assert code == 0, err
    enrolled = json.loads(out.strip().splitlines()[-1])
    assert enrolled["faces"] == 6 and enrolled["unknown_faces"] == 3
    assert 0 < enrolled["counted_faces"] <= 3
    assert "not counted, someone else (not Eileen): 3" in out
    code, out, err = cli("replay", str(footage[0].parent), "--fps", "1", "--resident", "Grace", "--json")
    assert code == 0, err
    single = json.loads(out.strip().splitlines()[-1])
    assert single["faces"] == 6 and single["unknown_faces"] == 0 and single["counted_faces"] > enrolled["counted_faces"]
