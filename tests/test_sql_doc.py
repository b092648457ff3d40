"""docs/sql.md is true: the migrations produce exactly the documented views, and every example query runs
and returns what a known history (nine weeks of four residents, made here) says, computed in Python."""

from __future__ import annotations

import random
import re
import statistics
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from affectwatch.config import Config
from affectwatch.labels import LABELS, NEGATIVE_LABELS
from affectwatch.queries import history as q
from tests.historydata import add_camera, add_resident, probs_for, refresh

DOC = Path(__file__).resolve().parent.parent / "docs" / "sql.md"
TZ = "Europe/London"
ZONE = ZoneInfo(TZ)
HOURS = (8, 11, 14, 17, 20)
RESIDENTS = {"Margaret Brown": ("21", "Room 21", "Floor 2 east"), "Arthur Green": ("22", "Room 22", "Floor 2 west"),
             "Edith Clark": ("11", "Room 11", "Floor 1 east"), "Harold Webb": ("12", "Room 12", "Floor 1 west")}
SHARED = {"Lounge 2": "Floor 2 lounge", "Corridor 1": "Floor 1 corridor"}
HAROLD_AWAY = {3, 4, 5, 17, 40}  # days ago
BASE = {"neutral": 50, "happy": 20, "sad": 8, "anger": 4, "fear": 4, "surprise": 6, "disgust": 3, "contempt": 2}
Row = tuple[Any, ...]

# ------------------------------------------------------------------------------------------ the document


def doc_views() -> dict[str, list[tuple[str, str]]]:
    """View name -> [(column, type)] from the tables under each `### `analytics.NAME`` heading."""
    views: dict[str, list[tuple[str, str]]] = {}
    current = None
    for line in DOC.read_text().splitlines():
        if m := re.match(r"^### `analytics\.(\w+)`", line):
            current = m[1]
            views[current] = []
        elif line.startswith("#"):
            current = None
        elif current and (m := re.match(r"^\| (\w+) \| ([a-z \[\]]+) \|", line)) and m[1] != "column":
            views[current].append((m[1], m[2]))
    return views


def doc_queries() -> dict[int, str]:
    """Question number -> the SQL block that follows its `### Qn.` heading."""
    found = re.findall(r"^### Q(\d+)\.[^\n]*\n.*?```sql\n(.*?)```", DOC.read_text(), re.S | re.M)
    return {int(n): text for n, text in found}


def test_the_migrations_produce_the_documented_views(config: Config) -> None:
    with psycopg.connect(config.database_url) as conn:
        rows = conn.execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
            " JOIN pg_class c ON c.oid = a.attrelid WHERE c.relnamespace = 'analytics'::regnamespace"
            " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY c.relname, a.attnum").fetchall()
    actual: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for view, column, kind in rows:
        actual[view].append((column, kind))
    assert doc_views() == dict(actual)


def test_the_document_has_at_least_ten_questions() -> None:
    assert sorted(doc_queries()) == list(range(1, len(doc_queries()) + 1))
    assert len(doc_queries()) >= 10 and set(doc_queries()) == set(EXPECTED)

# ----------------------------------------------------------------------------------------- the history


@dataclass(frozen=True)
class F:
    at: datetime  # UTC
    resident: str | None
    camera: str
    location: str
    expression: str
    p: float

    @property
    def local(self) -> datetime:
        return self.at.astimezone(ZONE).replace(tzinfo=None)

    @property
    def day(self) -> date:
        return self.local.date()

    @property
    def negative(self) -> bool:
        return self.expression in NEGATIVE_LABELS


@dataclass(frozen=True)
class Fr:
    at: datetime
    camera: str
    status: str
    n_faces: int
    latency: int

    @property
    def day(self) -> date:
        return self.at.astimezone(ZONE).date()


@dataclass(frozen=True)
class Alert:
    resident: str
    opened: datetime
    ack_minutes: int | None


@dataclass
class History:
    today: date
    now: datetime
    faces: list[F]
    frames: list[Fr]
    alerts: list[Alert]
    locations: dict[str, str]


def weights(resident: str | None, days_ago: int, hour: int) -> dict[str, int]:
    w = dict(BASE)
    if resident == "Margaret Brown" and days_ago <= 42:  # her medication changed six weeks ago
        w["sad"] += 30
    if resident == "Arthur Green" and hour >= 17:
        w["anger"] += 15
        w["fear"] += 10
    if resident == "Edith Clark" and days_ago <= 7:
        w["sad"] += 25
        w["fear"] += 10
    return w


def local_moment(day: date, hour: int, rng: random.Random) -> datetime:
    return datetime.combine(day, time(hour, rng.randint(0, 59), rng.randint(0, 59)), ZONE).astimezone(UTC)


def make_history(today: date, now: datetime) -> History:
    rng = random.Random(6)
    locations = {cam: loc for _, cam, loc in RESIDENTS.values()} | SHARED
    faces: list[F] = []
    frames: list[Fr] = []
    for days_ago in range(1, 64):
        day = today - timedelta(days=days_ago)
        for hour in HOURS:
            for name, (_, cam, loc) in RESIDENTS.items():
                if name == "Harold Webb" and days_ago in HAROLD_AWAY:
                    continue
                w = weights(name, days_ago, hour)
                for _ in range(rng.randint(1, 4)):
                    label = rng.choices(list(w), list(w.values()))[0]
                    p = round(rng.uniform(0.45, 0.95), 2)
                    faces.append(F(local_moment(day, hour, rng), name, cam, loc, label, p))
                frames += [Fr(local_moment(day, hour, rng), cam, "processed", 0, 40) for _ in range(rng.randint(0, 2))]
            for _ in range(rng.randint(0, 3)):
                label = rng.choices(list(BASE), list(BASE.values()))[0]
                faces.append(F(local_moment(day, hour, rng), None, "Lounge 2", SHARED["Lounge 2"], label, 0.6))
            frames += [Fr(local_moment(day, hour, rng), "Corridor 1", "processed", 0, 50) for _ in range(6)]
            frames.append(Fr(local_moment(day, hour, rng), "Corridor 1", "expired", 0, 90_000))
    edith = ("Edith Clark", "Room 11", RESIDENTS["Edith Clark"][2])
    faces += [F(local_moment(today - timedelta(days=days_ago), 14, rng), *edith, "fear", p)  # for Q8
              for days_ago, p in ((1, 0.9), (1, 0.79), (1, 0.8), (3, 0.95))]
    frames += [Fr(f.at, f.camera, "processed", 1, rng.choice((40, 60, 80))) for f in faces]
    alerts = [Alert("Margaret Brown", now - timedelta(days=d, minutes=rng.randint(0, 600)), m)
              for d, m in ((50, 12), (35, 30), (20, None), (5, 7))]
    alerts += [Alert("Arthur Green", now - timedelta(days=d, minutes=rng.randint(0, 600)), m)
               for d, m in ((45, 3), (30, 20), (28, 41), (3, 9))]
    return History(today, now, faces, frames, alerts, locations)


def store(conn: psycopg.Connection[Any], h: History) -> None:
    conn.execute("SELECT affectwatch_ensure_partitions(%s, 4)", (h.today - timedelta(days=70),))
    ids: dict[str | None, int | None] = {None: None}
    cams: dict[str, int] = {}
    for name, (room, cam, loc) in RESIDENTS.items():
        ids[name] = add_resident(conn, name, room)
        cams[cam] = add_camera(conn, cam, loc, ids[name])
    add_resident(conn, "Iris Unwin", "30")
    conn.execute("UPDATE residents SET monitored = false WHERE name = 'Iris Unwin'")
    for cam, loc in SHARED.items():
        cams[cam] = add_camera(conn, cam, loc)
    with conn.cursor().copy("COPY frames (frame_id, captured_at, camera_id, status, n_faces, latency_ms)"
                            " FROM STDIN") as copy:
        for fr in h.frames:
            copy.write_row((uuid.uuid4(), fr.at, cams[fr.camera], fr.status, fr.n_faces, fr.latency))
    cols = ", ".join(f"p_{label}" for label in LABELS)
    with conn.cursor().copy(f"COPY faces (frame_id, face_index, captured_at, camera_id, resident_id, box_x1, box_y1,"
                            f" box_x2, box_y2, det_prob, expression, confidence, {cols}, model) FROM STDIN") as copy:
        for f in h.faces:
            probs = probs_for(f.expression, f.p)
            copy.write_row((uuid.uuid4(), 0, f.at, cams[f.camera], ids[f.resident], 1, 1, 50, 50, 0.99, f.expression,
                            f.p, *[probs[label] for label in LABELS], "test-model"))
    for a in h.alerts:
        acked = None if a.ack_minutes is None else a.opened + timedelta(minutes=a.ack_minutes)
        conn.execute("INSERT INTO alerts (kind, state, resident_id, camera_id, window_start, window_end, n_faces,"
                     " negative_share, peak_share, opened_at, acknowledged_at, resolved_at)"
                     " VALUES ('expression', 'resolved', %s, %s, %s, %s, 40, 0.7, 0.8, %s, %s, %s)",
                     (ids[a.resident], cams[RESIDENTS[a.resident][1]], a.opened - timedelta(minutes=10), a.opened,
                      a.opened, acked, a.opened + timedelta(hours=3)))
    conn.execute("INSERT INTO alerts (kind, camera_id, window_start, window_end, opened_at)"
                 " VALUES ('camera_offline', %s, %s, %s, %s)", (cams["Corridor 1"], h.now, h.now, h.now))

# -------------------------------------------------------------------------------- the expected answers


def r3(num: int | Decimal, den: int | Decimal) -> Decimal:
    return (Decimal(num) / Decimal(den)).quantize(Decimal("0.001"), ROUND_HALF_UP)


def in_days(h: History, first: int, rows: Iterable[F]) -> list[F]:
    """Faces from `first` days before today up to yesterday."""
    return [f for f in rows if h.today - timedelta(days=first) <= f.day < h.today]


def share_by(rows: Iterable[F], key: Callable[[F], Any]) -> dict[Any, tuple[int, int]]:
    out: dict[Any, list[int]] = defaultdict(lambda: [0, 0])
    for f in rows:
        out[key(f)][0] += 1
        out[key(f)][1] += f.negative
    return {k: (v[0], v[1]) for k, v in out.items()}


def q1(h: History) -> list[Row]:
    changed = h.today - timedelta(days=42)
    rows: dict[tuple[date, bool], list[int]] = defaultdict(lambda: [0, 0])
    for f in in_days(h, 70, h.faces):
        if f.resident == "Margaret Brown" and f.day >= changed - timedelta(days=28):
            key = (f.day - timedelta(days=f.day.weekday()), f.day >= changed)
            rows[key][0] += 1
            rows[key][1] += f.expression == "sad"
    return [(*k, n, r3(s, n)) for k, (n, s) in sorted(rows.items())]


def q2(h: History) -> list[Row]:
    shares = share_by([f for f in in_days(h, 30, h.faces) if f.location.startswith("Floor 2")], lambda f: f.local.hour)
    rows = [(hour, n, r3(neg, n)) for hour, (n, neg) in shares.items()]
    return sorted(rows, key=lambda r: (-r[2], r[0]))


def q3(h: History) -> list[Row]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for fr in h.frames:
        if h.today - timedelta(days=7) <= fr.day < h.today:
            counts[fr.camera][0] += 1
            counts[fr.camera][1] += fr.n_faces > 0
    rows = [(cam, h.locations[cam], n, w, r3(w, n)) for cam, (n, w) in counts.items()]
    return sorted(rows, key=lambda r: (r[4], r[0]))[:5]


def q4(h: History) -> list[Row]:
    rows = []
    for name in RESIDENTS:
        mine = [f for f in in_days(h, 35, h.faces) if f.resident == name]
        week = [f for f in mine if f.day >= h.today - timedelta(days=7)]
        usual = [f for f in mine if f.day < h.today - timedelta(days=7)]
        this, before = (Decimal(sum(f.negative for f in week)) / len(week),
                        Decimal(sum(f.negative for f in usual)) / len(usual))
        if this > before + Decimal("0.10"):
            rows.append((this - before, name, r3(this, 1), r3(before, 1)))
    return [r[1:] for r in sorted(rows, key=lambda r: (-r[0], r[1]))]


def q5(h: History) -> list[Row]:
    mine = [f for f in in_days(h, 56, h.faces) if f.resident == "Arthur Green"]
    return [(day, n, r3(neg, n)) for day, (n, neg) in sorted(share_by(mine, lambda f: f.day.isoweekday()).items())]


def q6(h: History) -> list[Row]:
    rows = []
    for name in RESIDENTS:
        counts: dict[str, int] = dict.fromkeys(LABELS, 0)
        for f in in_days(h, 30, h.faces):
            if f.resident == name:
                counts[f.expression] += 1
        label = min(counts, key=lambda k: (-counts[k], k))
        rows.append((name, label, counts[label]))
    return sorted(rows)


def q7(h: History) -> list[Row]:
    groups: dict[tuple[str, date], list[Alert]] = defaultdict(list)
    for a in h.alerts:
        local = a.opened.astimezone(ZONE)
        groups[(a.resident, date(local.year, local.month, 1))].append(a)
    rows = []
    for (name, month), alerts in sorted(groups.items()):
        acked = [a.ack_minutes for a in alerts if a.ack_minutes is not None]
        median = Decimal(str(statistics.median(acked))).quantize(Decimal("0.1"), ROUND_HALF_UP) if acked else None
        rows.append((name, month, len(alerts), len(acked), median))
    return rows


def q8(h: History) -> list[Row]:
    rows = [f for f in h.faces if f.resident == "Edith Clark" and f.at >= h.now - timedelta(days=2)
            and f.expression == "fear" and f.p >= 0.8]
    return [(f.local, f.camera, Decimal(str(f.p)).quantize(Decimal("0.01")))
            for f in sorted(rows, key=lambda f: (f.at, f.camera))]


def q9(h: History) -> list[Row]:
    rows = []
    for name in RESIDENTS:
        seen = {f.day for f in h.faces if f.resident == name}
        unseen = [h.today - timedelta(days=d) for d in range(1, 31) if h.today - timedelta(days=d) not in seen]
        if unseen:
            rows.append((name, len(unseen), min(unseen), max(unseen)))
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def q10(h: History) -> list[Row]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for fr in h.frames:
        if h.today - timedelta(days=7) <= fr.day < h.today:
            counts[fr.camera][0] += 1
            counts[fr.camera][1] += fr.status == "expired"
            counts[fr.camera][2] += fr.latency
    rows = [(cam, n, e, r3(e, n), (Decimal(lat) / n).quantize(Decimal("0.1"), ROUND_HALF_UP))
            for cam, (n, e, lat) in counts.items()]
    return sorted(rows, key=lambda r: (-r[3], r[0]))


def q11(h: History) -> list[Row]:
    counts: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for f in h.faces:
        if f.resident:
            counts[f.day.replace(day=1)][0] += 1
            counts[f.day.replace(day=1)][1] += f.expression == "happy"
    return [(month, n, r3(happy, n)) for month, (n, happy) in sorted(counts.items())]


def q12(h: History) -> list[Row]:
    rows = []
    for name in RESIDENTS:
        mine = [f for f in in_days(h, 28, h.faces) if f.resident == name]
        parts = [[f for f in mine if lo <= f.local.hour <= hi] for lo, hi in ((6, 11), (16, 21))]
        morning, evening = (Decimal(sum(f.negative for f in p)) / len(p) for p in parts)
        if evening > morning:
            rows.append((evening - morning, name, r3(morning, 1), r3(evening, 1)))
    return [r[1:] for r in sorted(rows, key=lambda r: (-r[0], r[1]))]


EXPECTED: dict[int, Callable[[History], list[Row]]] = {
    1: q1, 2: q2, 3: q3, 4: q4, 5: q5, 6: q6, 7: q7, 8: q8, 9: q9, 10: q10, 11: q11, 12: q12}


def same(actual: Any, expected: Any) -> bool:
    """Equal; a rounded number may differ by one unit in its last place (rounding of a rounded float)."""
    if isinstance(actual, Decimal) and isinstance(expected, Decimal):
        return abs(actual - expected) <= Decimal(1).scaleb(expected.as_tuple().exponent)  # type: ignore[arg-type]
    return bool(actual == expected)


@pytest.fixture(scope="module")
def answers(base_config: Config) -> dict[int, tuple[History, list[Row]]]:
    """Every document query's rows over the history, all run at one moment (one transaction's now())."""
    with psycopg.connect(base_config.database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE residents, cameras, faces, frames, face_hourly, frame_hourly, history_dirty_hours,"
                     " alerts RESTART IDENTITY CASCADE")
        q.sync_settings(conn, TZ, sorted(NEGATIVE_LABELS))
        now = datetime.now(UTC)
        history = make_history(now.astimezone(ZONE).date(), now)
        store(conn, history)
        refresh(conn)
    with psycopg.connect(base_config.database_url) as conn:
        now_row = conn.execute("SELECT now()").fetchone()
        assert now_row is not None
        history.now, history.today = now_row[0], now_row[0].astimezone(ZONE).date()
        results = {n: conn.execute(text).fetchall() for n, text in doc_queries().items()}
    return {n: (history, rows) for n, rows in results.items()}


@pytest.mark.parametrize("number", sorted(EXPECTED))
def test_each_question_returns_what_the_history_says(answers: dict[int, tuple[History, list[Row]]],
                                                     number: int) -> None:
    history, actual = answers[number]
    expected = EXPECTED[number](history)
    assert expected, f"the test history gives question {number} nothing to find"
    assert len(actual) == len(expected), (actual, expected)
    for got, want in zip(actual, expected, strict=True):
        assert len(got) == len(want) and all(same(a, e) for a, e in zip(got, want, strict=True)), (got, want)
