"""Sustained means time (issue 31): a window opens an alert only when its counted faces span
AFFECTWATCH_ALERT_MIN_SPAN_MINUTES of capture time and fall in AFFECTWATCH_ALERT_MIN_MINUTES distinct
minutes, so a burst cannot carry it; faces that are not worth reading (uncounted_reason) are skipped.
The rule on synthetic windows, in memory and end to end through the worker's hook in Postgres."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from affectwatch.alerts.rule import Past, Rule, Span, Window, may_open, negative_score, replay, scoring, windows
from affectwatch.config import Config
from affectwatch.queries.alerts import Overrides, window_faces
from affectwatch.queries.frames import FaceRow
from tests.test_alerts_support import (
    add_camera,
    add_resident,
    alerts_of,
    base_time,
    face,
    jobs,
    rule_config,
    steps,
    stream,
    write_all,
)

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def rule(**changes: object) -> Rule:
    return replace(Rule.build(Config.from_env({}), Overrides()), **changes)  # type: ignore[arg-type]


def opened(points: list[tuple[datetime, float]], r: Rule) -> list[Window]:
    ws = windows(points, r.window, by_minute=r.by_minute)
    return [ep.opened for ep in replay(ws, r, r.open_share, None, Past(), [], Span(ws[0].end, ws[-1].end))]


def burst(start: datetime, n: int = 40, seconds: float = 30.0, p: float = 0.95) -> list[tuple[datetime, float]]:
    return [(start + timedelta(seconds=i * seconds / n), p) for i in range(n)]


def test_the_defaults_ask_for_five_minutes_with_faces_in_six_distinct_minutes() -> None:
    r = Rule.build(Config.from_env({}), Overrides())
    assert r.min_span == timedelta(minutes=5) and r.min_minutes == 6 and r.by_minute


def test_a_short_window_asks_no_more_than_it_can_hold() -> None:
    r = Rule.build(Config.from_env({}), Overrides(window_seconds=90))
    assert r.min_span == timedelta(seconds=90) and r.min_minutes == 2


def test_a_burst_of_forty_negative_faces_in_thirty_seconds_opens_nothing() -> None:
    calm = [(T0 + timedelta(seconds=15 * i), 0.05) for i in range(40)]  # ten calm minutes before it
    points = calm + burst(T0 + timedelta(minutes=10))
    assert opened(points, rule()) == []
    assert opened(burst(T0), rule()) == []  # nor alone in the window
    # the same faces under today's count-only rule (no span, no minutes) would have alerted
    assert len(opened(burst(T0), rule(min_span=timedelta(0), min_minutes=0))) == 1


def test_a_share_held_for_the_span_opens() -> None:
    held = [(T0 + timedelta(seconds=15 * i), 0.8) for i in range(40)]  # ten minutes, one face every 15 s
    (w,) = opened(held, rule())
    assert w.end == T0 + timedelta(minutes=5)  # the first window spanning five minutes
    assert w.span == timedelta(minutes=5) and w.minutes == 6 and w.n >= 20


def test_two_bursts_five_minutes_apart_do_not_carry_a_window() -> None:
    points = burst(T0, 20) + burst(T0 + timedelta(minutes=5), 20)
    ws = windows(points, timedelta(minutes=10))
    assert ws[-1].span >= timedelta(minutes=5) and ws[-1].minutes == 2  # span alone would be met
    assert opened(points, rule()) == []
    assert len(opened(points, rule(min_minutes=2))) == 1


def test_a_burst_among_calm_faces_weighs_as_one_minute() -> None:
    calm = [(T0 + timedelta(seconds=20 * i), 0.2) for i in range(30)]  # ten minutes, three faces a minute
    grimace = [(T0 + timedelta(minutes=8, seconds=0.5 * i), 1.0) for i in range(240)]  # two minutes at 2/s
    points = calm + grimace
    by_face = windows(points, timedelta(minutes=10))[-1]
    by_minute = windows(points, timedelta(minutes=10), by_minute=True)[-1]
    assert by_face.share > 0.8  # the burst's 240 faces outweigh the calm minutes' 30
    assert by_minute.share == pytest.approx((8 * 0.2 + 2 * 1.0) / 10, abs=0.03)  # each minute as 3 faces
    assert opened(points, rule()) == [] and len(opened(points, rule(by_minute=False))) == 1
    steady = [(T0 + timedelta(seconds=15 * i), 0.2 + 0.6 * (i % 2)) for i in range(40)]
    assert windows(steady, timedelta(minutes=10), by_minute=True)[-1].share == pytest.approx(
        windows(steady, timedelta(minutes=10))[-1].share, abs=0.02)  # steady faces: as before


def test_may_open_reads_span_and_minutes() -> None:
    r = rule()
    ok = Window(T0 + timedelta(minutes=6), 30, 27.0, T0, 6)
    assert may_open(ok, r, 0.6, Past(), [])
    assert not may_open(replace(ok, first=T0 + timedelta(minutes=2)), r, 0.6, Past(), [])
    assert not may_open(replace(ok, minutes=3), r, 0.6, Past(), [])


def test_windows_match_a_direct_count() -> None:
    rng = random.Random(3)
    points = [(T0 + timedelta(seconds=rng.choice(range(0, 3600, 3))), rng.random()) for _ in range(600)]
    window = timedelta(minutes=10)
    got = windows(points, window, T0 + timedelta(minutes=5))
    ends = sorted({t for t, _ in points if t >= T0 + timedelta(minutes=5)})
    assert [w.end for w in got] == ends
    for w in got[::7]:
        inside = [(t, p) for t, p in points if w.end - window <= t <= w.end]
        assert w.n == len(inside)
        assert w.negative == pytest.approx(sum(p for _, p in inside), abs=1e-6)
        assert w.first == min(t for t, _ in inside)
        assert w.minutes == len({int(t.timestamp() // 60) for t, _ in inside})


# ---- end to end: the worker's hook in Postgres ----------------------------------------------------------------------

@pytest.fixture()
def who(config: Config) -> tuple[int, int]:
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        resident = add_resident(conn)
        return resident, add_camera(conn, resident)


def _burst_faces(start: datetime, resident: int, camera: int) -> list[FaceRow]:
    return [face(start + timedelta(seconds=i * 0.75), resident, camera, 0.95) for i in range(40)]


def test_a_burst_written_by_the_worker_opens_nothing_a_held_share_does(config: Config,
                                                                          who: tuple[int, int]) -> None:
    resident, camera = who
    rc = rule_config(config)
    start = base_time()
    write_all(rc, jobs(_burst_faces(start, resident, camera)))
    assert alerts_of(rc, resident) == []
    later = start + timedelta(minutes=20)
    write_all(rc, jobs(stream(later, 8, steps((8, 0.9)), resident, camera)))
    (alert,) = alerts_of(rc, resident)
    assert alert["window_end"] == later + timedelta(minutes=5)


def test_a_resident_override_lets_a_burst_alert(config: Config, who: tuple[int, int]) -> None:
    resident, camera = who
    with psycopg.connect(config.database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO resident_alert_thresholds (resident_id, min_span_seconds, min_minutes)"
                     " VALUES (%s, 0, 0)", (resident,))
    rc = rule_config(config)
    write_all(rc, jobs(_burst_faces(base_time(), resident, camera)))
    assert len(alerts_of(rc, resident)) == 1


@pytest.mark.parametrize("label_mode", [False, True])
def test_scores_in_python_match_the_engine_s_sql(config: Config, who: tuple[int, int], label_mode: bool) -> None:
    """affectwatch replay scores faces in Python (rule.negative_score); the engine in SQL."""
    resident, camera = who
    rc = rule_config(config, alert_counting="label" if label_mode else "probability", alert_label_floor=0.6)
    rng = random.Random(5)
    faces = [face(base_time() + timedelta(seconds=i), resident, camera, rng.random(), rng.choice(["sad", "anger"]))
             for i in range(60)]
    write_all(rc, jobs(faces))
    score = scoring(rc)
    with psycopg.connect(rc.database_url) as conn:
        stored = window_faces(conn, resident, base_time(), timedelta(0), score)
    expected = [negative_score(f.probs, f.expression, f.confidence, score) for f in faces]
    assert [s for _, s in stored] == pytest.approx(expected, abs=1e-6)


def test_faces_not_worth_reading_do_not_count(config: Config, who: tuple[int, int]) -> None:
    resident, camera = who
    rc = rule_config(config)
    blurred = [replace(f, uncounted_reason="blurred: sharpness 3 < 40")
               for f in stream(base_time(), 10, steps((10, 0.95)), resident, camera)]
    write_all(rc, jobs(blurred))
    assert alerts_of(rc, resident) == []
    with psycopg.connect(rc.database_url) as conn:
        row = conn.execute("SELECT count(*), count(*) FILTER (WHERE NOT counted), min(uncounted_reason)"
                           " FROM analytics.faces WHERE resident_id = %s", (resident,)).fetchone()
    assert row == (40, 40, "blurred: sharpness 3 < 40")
