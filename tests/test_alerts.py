"""The alert rule end to end in Postgres: synthetic face streams written as the worker writes them
(frame and face rows, then worker.hooks.after_faces_committed in the same transaction)."""

from __future__ import annotations

import itertools
import random
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import dict_row

from affectwatch.alerts.baseline import refresh
from affectwatch.alerts.rule import Rule, windows
from affectwatch.config import Config
from affectwatch.queries import alerts as q
from affectwatch.queries.frames import FaceRow
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
    write_history,
    write_job,
)

pytestmark = pytest.mark.usefixtures("config")


@pytest.fixture()
def rc(config: Config) -> Config:
    return rule_config(config)


@pytest.fixture()
def who(rc: Config) -> tuple[int, int]:
    with psycopg.connect(rc.database_url, autocommit=True) as conn:
        resident = add_resident(conn)
        return resident, add_camera(conn, resident)


SAD_EPISODE = steps((10, 0.1), (20, 0.9), (30, 0.1))


def test_sustained_sadness_raises_exactly_one_alert_which_recovers(rc: Config, who: tuple[int, int]) -> None:
    resident, camera = who
    start = base_time()
    write_all(rc, jobs(stream(start, 60, SAD_EPISODE, resident, camera)))
    (alert,) = alerts_of(rc, resident)
    # the 10-minute window reaches 0.6 when 6.25 of its minutes are sad (at 16.25 min)
    assert start + timedelta(minutes=16) <= alert["window_end"] <= start + timedelta(minutes=17)
    assert alert["window_end"] - alert["window_start"] == timedelta(minutes=10)
    assert alert["n_faces"] >= 20 and alert["negative_share"] >= 0.6
    assert alert["dominant_expression"] == "sad" and alert["camera_id"] == camera
    assert alert["peak_share"] == pytest.approx(0.9, abs=0.02)
    # back to 0.1 from minute 30: below 0.4 from ~36 min, for 10 more minutes
    assert alert["state"] == "resolved" and alert["recovered_at"] is not None
    assert start + timedelta(minutes=45) <= alert["recovered_at"] <= start + timedelta(minutes=48)
    assert events_of(rc, alert["id"]) == ["opened", "resolved"]


def test_brief_spikes_do_not_alert(rc: Config, who: tuple[int, int]) -> None:
    resident, camera = who
    # a 2-minute frown every 8 minutes, a 30-second grimace, and single strong faces: never 0.6 of a window
    spikes = steps(*[(6, 0.1), (2, 0.95)] * 6, (1, 0.1), (0.5, 1.0), (10, 0.1))
    write_all(rc, jobs(stream(base_time(), 60, spikes, resident, camera)))
    assert alerts_of(rc, resident) == []
    with psycopg.connect(rc.database_url) as conn:  # the spikes are there: the rule read them
        top = conn.execute("SELECT max(p_sad) FROM faces WHERE resident_id = %s", (resident,)).fetchone()
    assert top is not None and top[0] >= 0.95


def test_too_few_faces_do_not_alert(rc: Config, who: tuple[int, int]) -> None:
    resident, camera = who
    # all sad, but one face a minute: 11 faces in any window, fewer than 20
    write_all(rc, jobs(stream(base_time(), 30, steps((30, 0.95)), resident, camera, every_s=60)))
    assert alerts_of(rc, resident) == []


def flapping(minute: float) -> float:
    """3 minutes at 0.9, 3 at 0.3: the window's share swings around 0.6 (0.54 to 0.66)."""
    return 0.9 if int(minute // 3) % 2 == 0 else 0.3


def test_flapping_share_opens_once_and_does_not_close(rc: Config, who: tuple[int, int]) -> None:
    resident, camera = who
    faces = stream(base_time(), 60, flapping, resident, camera)
    write_all(rc, jobs(faces))
    (alert,) = alerts_of(rc, resident)
    assert alert["state"] == "open" and events_of(rc, alert["id"]) == ["opened"]
    crossings = _threshold_crossings(rc, resident)
    assert crossings >= 6, "the stream must cross 0.6 often for this test to mean anything"


def _threshold_crossings(config: Config, resident: int) -> int:
    """How often the window share crossed 0.6 (what a rule without hysteresis would flap on)."""
    with psycopg.connect(config.database_url, row_factory=dict_row) as conn:
        faces = q.window_faces(conn, resident, base_time() - timedelta(hours=1), timedelta(minutes=10),
                               q.scoring(config.negative_labels, False, 0.5))
    rows = windows(faces, timedelta(minutes=10))
    above = [r.negative / r.n >= 0.6 for r in rows if r.n >= 20]
    return sum(a != b for a, b in itertools.pairwise(above))


def _summary(alert: dict[str, object]) -> tuple[object, ...]:
    keys = ("state", "window_start", "window_end", "n_faces", "negative_share", "dominant_expression",
            "peak_share", "recovered_at")
    return tuple(alert[k] for k in keys)


def test_out_of_order_faces_give_the_same_alerts(config: Config) -> None:
    rc = rule_config(config, alert_settle_seconds=400.0)  # jobs here come up to 6 minutes late
    start = base_time()
    profile = steps((8, 0.1), (12, 0.85), (22, 0.1), (10, 0.62), (20, 0.2))
    with psycopg.connect(rc.database_url, autocommit=True) as conn:
        ordered, shuffled = add_resident(conn, "In Order"), add_resident(conn, "Shuffled")
        cam_a, cam_b = add_camera(conn, ordered, "a"), add_camera(conn, shuffled, "b")
    write_all(rc, jobs(stream(start, 72, profile, ordered, cam_a), per_job=6))
    batches = jobs(stream(start, 72, profile, shuffled, cam_b), per_job=6)
    rng = random.Random(7)
    for i in range(0, len(batches), 4):  # racing workers: jobs of up to 6 minutes of capture time out of order
        block = batches[i : i + 4]
        rng.shuffle(block)
        batches[i : i + 4] = block
    write_all(rc, batches)
    sweep(rc, None, datetime.now(UTC))  # decides what the newest faces left unsettled
    expected = [_summary(a) for a in alerts_of(rc, ordered) if a["resolve_reason"] != q.WITHDRAWN]
    got = [_summary(a) for a in alerts_of(rc, shuffled) if a["resolve_reason"] != q.WITHDRAWN]
    assert len(expected) == 2 and all(a[0] == "resolved" for a in expected)
    assert got == expected


def test_two_workers_racing_on_one_resident_give_one_alert(rc: Config, who: tuple[int, int]) -> None:
    resident, camera = who
    batches = jobs(stream(base_time(), 30, steps((5, 0.1), (25, 0.95)), resident, camera), per_job=3)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker(mine: list[list[FaceRow]]) -> None:
        try:
            for batch in mine:
                barrier.wait(timeout=30)
                write_job(rc, batch)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(batches[k::2],)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    (alert,) = alerts_of(rc, resident)
    assert alert["state"] == "open" and events_of(rc, alert["id"]) == ["opened"]


def test_the_database_refuses_a_second_unresolved_alert(rc: Config, who: tuple[int, int]) -> None:
    resident, _ = who
    values = {"kind": "expression", "resident_id": resident, "window_start": base_time(),
              "window_end": base_time(), "n_faces": 20, "negative_share": 0.7, "peak_share": 0.7}
    with psycopg.connect(rc.database_url, row_factory=dict_row) as conn:
        q.insert_alert(conn, values)
        with pytest.raises(psycopg.errors.UniqueViolation):
            q.insert_alert(conn, values)


def test_paused_or_unmonitored_residents_do_not_alert(rc: Config) -> None:
    start = base_time()
    with psycopg.connect(rc.database_url, autocommit=True) as conn:
        paused, unmonitored = add_resident(conn, "Paused"), add_resident(conn, "Off", monitored=False)
        cam_p, cam_u = add_camera(conn, paused, "p"), add_camera(conn, unmonitored, "u")
        conn.execute("INSERT INTO monitoring_pauses (resident_id, starts_at, ends_at, reason)"
                     " VALUES (%s, %s, %s, 'visit')", (paused, start, start + timedelta(minutes=25)))
    sad = steps((25, 0.95))
    write_all(rc, jobs(stream(start, 25, sad, paused, cam_p)) + jobs(stream(start, 25, sad, unmonitored, cam_u)))
    assert alerts_of(rc, paused) == [] and alerts_of(rc, unmonitored) == []
    # once the pause ends, the same sadness alerts
    write_all(rc, jobs(stream(start + timedelta(minutes=25), 3, sad, paused, cam_p)))
    (alert,) = alerts_of(rc, paused)
    assert alert["window_end"] >= start + timedelta(minutes=25)


def _history(config: Config, resident: int, camera: int, share: float) -> None:
    """Six days of a resident's faces, 100 a day, `share` of each face negative (a sad resting face)."""
    now = base_time() + timedelta(hours=2)
    faces = []
    for day in range(1, 7):
        faces += stream(now - timedelta(days=day), 100, steps((100, share)), resident, camera, every_s=60)
    write_history(config, faces)


def test_baseline_suppresses_a_resident_whose_normal_is_sad(rc: Config) -> None:
    start = base_time()
    with psycopg.connect(rc.database_url, autocommit=True) as conn:
        usual, control = add_resident(conn, "Usual"), add_resident(conn, "Control")
        cam_u, cam_c = add_camera(conn, usual, "u"), add_camera(conn, control, "c")
    baseline = rule_config(rc, alert_baseline=True, alert_baseline_min_faces=300)
    _history(baseline, usual, cam_u, 0.7)
    _history(baseline, control, cam_c, 0.7)
    with psycopg.connect(rc.database_url, autocommit=True) as conn:  # as the sweep does once an hour
        for resident in (usual, control):
            refresh(conn, baseline, resident, Rule.build(baseline, q.Overrides()), datetime.now(UTC))
    today = steps((30, 0.75))
    write_all(baseline, jobs(stream(start, 30, today, usual, cam_u)))
    write_all(rc, jobs(stream(start, 30, today, control, cam_c)))  # the same faces without a baseline alert
    assert alerts_of(rc, usual) == []
    assert len(alerts_of(rc, control)) == 1
    # well above their usual (0.7 + 0.2), the resident does alert
    write_all(baseline, jobs(stream(start + timedelta(minutes=30), 20, steps((20, 0.97)), usual, cam_u)))
    (alert,) = alerts_of(rc, usual)
    assert alert["baseline_share"] == pytest.approx(0.7, abs=0.01)
    assert alert["threshold"] == pytest.approx(0.9, abs=0.01)


def test_per_resident_override_changes_the_rule(rc: Config, who: tuple[int, int]) -> None:
    resident, camera = who
    with psycopg.connect(rc.database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO resident_alert_thresholds (resident_id, negative_share, min_faces)"
                     " VALUES (%s, 0.4, 10)", (resident,))
    write_all(rc, jobs(stream(base_time(), 20, steps((20, 0.5)), resident, camera)))  # 0.5 < the default 0.6
    (alert,) = alerts_of(rc, resident)
    assert alert["threshold"] == pytest.approx(0.4)


def test_acknowledged_alert_escalates_when_the_share_rises_further(rc: Config, who: tuple[int, int]) -> None:
    resident, camera = who
    start = base_time()
    write_all(rc, jobs(stream(start, 20, steps((20, 0.7)), resident, camera)))
    (alert,) = alerts_of(rc, resident)
    with psycopg.connect(rc.database_url) as conn:
        q.acknowledge(conn, alert["id"], actor="nurse", note="sat with her", now=start + timedelta(minutes=20))
    write_all(rc, jobs(stream(start + timedelta(minutes=20), 5, steps((5, 0.72)), resident, camera)))
    assert alerts_of(rc, resident)[0]["state"] == "acknowledged"  # a little more is not news
    write_all(rc, jobs(stream(start + timedelta(minutes=25), 15, steps((15, 0.98)), resident, camera)))
    (alert,) = alerts_of(rc, resident)
    assert alert["state"] == "open" and events_of(rc, alert["id"]) == ["opened", "acknowledged", "escalated"]


def test_cool_down_after_acknowledgement(rc: Config, who: tuple[int, int]) -> None:
    resident, camera = who
    start = base_time()
    write_all(rc, jobs(stream(start, 20, steps((20, 0.7)), resident, camera)))
    (first,) = alerts_of(rc, resident)
    at = start + timedelta(minutes=20)
    with psycopg.connect(rc.database_url) as conn:
        q.acknowledge(conn, first["id"], actor="nurse", now=at)
        q.resolve(conn, first["id"], actor="nurse", note="she is fine, just tired", now=at)
    write_all(rc, jobs(stream(at, 15, steps((15, 0.72)), resident, camera)))
    assert len(alerts_of(rc, resident)) == 1  # the same sadness within 30 minutes: no new alert
    write_all(rc, jobs(stream(at + timedelta(minutes=15), 15, steps((15, 0.95)), resident, camera)))
    alerts = alerts_of(rc, resident)
    assert len(alerts) == 2 and alerts[1]["state"] == "open"  # it rose further: alert again
    assert alerts[1]["window_end"] > at + timedelta(minutes=15)


def test_label_counting_ignores_weak_predictions(rc: Config, who: tuple[int, int]) -> None:
    resident, camera = who
    by_label = rule_config(rc, alert_counting="label", alert_label_floor=0.6)
    # every face's top label is sad, at 0.55: an argmax rule would alert, the floor says these are unsure
    write_all(by_label, jobs(stream(base_time(), 20, steps((20, 0.55)), resident, camera)))
    assert alerts_of(rc, resident) == []
    write_all(by_label, jobs(stream(base_time() + timedelta(minutes=20), 20, steps((20, 0.8)), resident, camera)))
    assert len(alerts_of(rc, resident)) == 1


def test_a_failing_rule_loses_no_face(rc: Config, who: tuple[int, int], monkeypatch: pytest.MonkeyPatch,
                                      caplog: pytest.LogCaptureFixture) -> None:
    resident, camera = who

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in the rule")

    monkeypatch.setattr(q, "window_faces", broken)
    write_job(rc, stream(base_time(), 1, steps((1, 0.9)), resident, camera))
    assert "alert rule failed" in caplog.text and "a bug in the rule" in caplog.text
    with psycopg.connect(rc.database_url) as conn:
        row = conn.execute("SELECT count(*) FROM faces WHERE resident_id = %s", (resident,)).fetchone()
    assert row is not None and row[0] == 4


def test_the_worker_database_role_may_run_the_rule(rc: Config, who: tuple[int, int]) -> None:
    resident, camera = who
    for batch in jobs(stream(base_time(), 16, steps((16, 0.9)), resident, camera), per_job=32):
        write_job(rc, batch, role="affectwatch_worker")  # least privilege (migrations/0004): no UPDATE on residents
    (alert,) = alerts_of(rc, resident)
    assert alert["state"] == "open" and events_of(rc, alert["id"]) == ["opened"]
