"""The alert rule, as pure functions over windows of capture time (no database, no clock).

A window ends at the capture time of a face and holds the resident's faces of the `window` before it.
Replaying windows in capture-time order decides when an episode opens, peaks, escalates and recovers;
the same faces give the same decisions whatever order they arrived in.

- A window's negative share is the mean of its faces' scores, each clock minute's faces weighing at
  most as much as the window's median minute (by_minute, the default: a burst weighs as one ordinary
  minute), or plainly of its faces.
- Open at the first window with at least min_faces faces spanning at least min_span of capture
  time (its earliest and latest faces that far apart) in at least min_minutes distinct clock minutes,
  so that a burst of faces cannot carry a window, and a negative share at or above the
  threshold (the open share, raised to baseline + margin when the resident's baseline is used),
  outside monitoring pauses, after the previous episode ended, and, within the cool-down after an
  acknowledged episode, only when the share beats that episode's peak by the rise margin.
- Recover (hysteresis) at the first window with at least min_faces faces such that no window of
  the last recover_after reached the close share. A raised threshold raises the close share with it.
- Escalate an acknowledged episode when a window after the acknowledgement beats the share it had
  when acknowledged by the rise margin: staff are told again.

Opening is decided at once; faces that arrive later (another worker's job) move or withdraw it.
Recovery and escalation are decided only for windows that have settled (ended `settle` before the
newest face, or before now in the sweep), so that late faces are counted before they are.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from affectwatch.config import Config
from affectwatch.queries import alerts as q
from affectwatch.queries.alerts import Overrides

T = TypeVar("T")


@dataclass(frozen=True)
class Window:
    """The counted faces of [end - window, end]: how many, their summed negative score, the capture time
    of the earliest, and how many distinct clock minutes they fall in."""

    end: datetime
    n: int
    negative: float
    first: datetime | None = None
    minutes: int = 0

    @property
    def share(self) -> float:
        return min(1.0, self.negative / self.n) if self.n else 0.0

    @property
    def span(self) -> timedelta:
        return self.end - self.first if self.first is not None else timedelta(0)


UNITS = 10**9


def windows(points: Iterable[tuple[datetime, float]], window: timedelta, start: datetime | None = None,
            by_minute: bool = False) -> list[Window]:
    """One window per distinct capture time at or after start, oldest first, from (capture time, negative
    score) points of counted faces: each holds the points of [end - window, end] (faces of one frame
    together). The live engine and `affectwatch replay` both read windows through this one function.

    by_minute: the window's share is its clock minutes' shares, each minute weighing as its faces but at
    most as much as the window's median minute, so that a burst of faces weighs as one ordinary minute,
    however many faces it holds (`negative` is then that share times n)."""
    ordered = sorted(points, key=lambda p: p[0])
    inside: deque[tuple[datetime, int]] = deque()
    minutes: dict[int, list[int]] = {}  # clock minute -> [faces, summed score]
    total = 0  # in units of 1e-9: integer sums neither drift nor depend on the order faces leave in
    out: list[Window] = []
    i = 0
    while i < len(ordered):
        end = ordered[i][0]
        while i < len(ordered) and ordered[i][0] == end:
            units = round(ordered[i][1] * UNITS)
            inside.append((end, units))
            bucket = minutes.setdefault(_minute(end), [0, 0])
            bucket[0] += 1
            bucket[1] += units
            total += units
            i += 1
        while inside[0][0] < end - window:
            t, units = inside.popleft()
            total -= units
            bucket = minutes[_minute(t)]
            bucket[0] -= 1
            bucket[1] -= units
            if not bucket[0]:
                del minutes[_minute(t)]
        if start is None or end >= start:
            n = len(inside)
            negative = total / UNITS
            if by_minute:
                negative = n * _minute_share(list(minutes.values())) / UNITS
            out.append(Window(end, n, negative, inside[0][0], len(minutes)))
    return out


def _minute_share(minutes: list[list[int]]) -> float:
    """The share (in units) of a window's minutes ([faces, summed score] each), each minute weighing as its
    faces but at most as much as the window's median minute: steady faces weigh as faces, and a burst of
    faces weighs as one ordinary minute (and a minute cut by the window's start, as the faces it holds)."""
    counts = sorted(f for f, _ in minutes)
    cap = counts[len(counts) // 2]
    weights = [min(f, cap) for f, _ in minutes]
    return sum(w * s / f for w, (f, s) in zip(weights, minutes, strict=True)) / sum(weights)


def _minute(t: datetime) -> int:
    return int(t.timestamp() // 60)


@dataclass(frozen=True)
class Rule:
    window: timedelta
    min_faces: int
    min_span: timedelta
    min_minutes: int
    by_minute: bool
    open_share: float
    close_share: float
    recover_after: timedelta
    cooldown: timedelta
    rise_margin: float
    baseline: bool
    baseline_margin: float
    offline: timedelta

    @classmethod
    def build(cls, config: Config, o: Overrides) -> Rule:
        """The configured rule with a resident's overrides applied. The span asked is at most the window,
        and the distinct minutes at most those a window can touch, so that a short window (an override)
        can still open."""
        window = _seconds(o.window_seconds) or timedelta(minutes=config.alert_window_minutes)
        span = _pick(_seconds(o.min_span_seconds), timedelta(minutes=config.alert_min_span_minutes))
        return cls(
            window=window,
            min_faces=o.min_faces or config.alert_min_faces,
            min_span=min(span, window),
            min_minutes=min(_pick(o.min_minutes, config.alert_min_minutes), int(window.total_seconds() // 60) + 1),
            by_minute=config.alert_share_by == "minute",
            open_share=_pick(o.negative_share, config.alert_open_share),
            close_share=_pick(o.close_share, config.alert_close_share),
            recover_after=timedelta(minutes=config.alert_recover_minutes),
            cooldown=_seconds(o.cooldown_seconds) or timedelta(minutes=config.alert_cooldown_minutes),
            rise_margin=config.alert_rise_margin,
            baseline=_pick(o.baseline, config.alert_baseline),
            baseline_margin=_pick(o.baseline_margin, config.alert_baseline_margin),
            offline=_seconds(o.offline_seconds) or timedelta(minutes=config.camera_offline_minutes),
        )

    def threshold(self, baseline_share: float | None) -> float:
        """The share that opens an alert: the open share, or the resident's baseline + margin when higher."""
        if not self.baseline or baseline_share is None:
            return self.open_share
        return min(1.0, max(self.open_share, baseline_share + self.baseline_margin))

    def close_at(self, threshold: float) -> float:
        return min(threshold, self.close_share + (threshold - self.open_share))


def _seconds(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


def _pick(override: T | None, default: T) -> T:
    return default if override is None else override


@dataclass
class Episode:
    """One alert's life in capture time. alert_id is None until it is written."""

    opened: Window
    threshold: float
    peak: Window
    alert_id: int | None = None
    last_high: datetime | None = None  # end of the latest window at or above the close share
    decided_until: datetime | None = None  # recovery and escalation are decided up to here
    recovered_at: datetime | None = None
    acknowledged_at: datetime | None = None
    ack_share: float | None = None
    escalations: list[Window] = field(default_factory=list)


@dataclass(frozen=True)
class Past:
    """What earlier episodes leave behind: no opening at or before `boundary`; until cooldown_until,
    only a share of at least cooldown_share opens."""

    boundary: datetime | None = None
    cooldown_until: datetime | None = None
    cooldown_share: float = 0.0

    @classmethod
    def after(cls, end: datetime | None, acknowledged_at: datetime | None, peak: float | None, rule: Rule) -> Past:
        if acknowledged_at is None or peak is None:
            return cls(end)
        return cls(end, acknowledged_at + rule.cooldown, peak + rule.rise_margin)


Pauses = Sequence[tuple[datetime, datetime]]


def paused(at: datetime, pauses: Pauses) -> bool:
    return any(start <= at < end for start, end in pauses)


def sustained(w: Window, rule: Rule) -> bool:
    """Whether a window holds enough faces, spread over enough capture time, to open an alert."""
    return w.n >= rule.min_faces and w.span >= rule.min_span and w.minutes >= rule.min_minutes


def may_open(w: Window, rule: Rule, threshold: float, past: Past, pauses: Pauses) -> bool:
    if past.boundary is not None and w.end <= past.boundary:
        return False
    if not sustained(w, rule) or w.share < threshold or paused(w.end, pauses):
        return False
    in_cooldown = past.cooldown_until is not None and w.end < past.cooldown_until
    return not in_cooldown or w.share >= past.cooldown_share


@dataclass(frozen=True)
class Span:
    """Which windows a replay decides at: opening from `since` on; recovery and escalation at windows
    from `since` or past what was decided before, up to `settled`."""

    since: datetime
    settled: datetime


def step(ep: Episode, w: Window, rule: Rule, span: Span) -> None:
    """Advance an open episode by one later window: peak, escalation, recovery."""
    if w.end <= ep.opened.end:
        return
    high = w.share >= rule.close_at(ep.threshold)
    if high:
        ep.last_high = w.end
    if w.n >= rule.min_faces and w.share > ep.peak.share:
        ep.peak = w
    done = ep.decided_until or ep.opened.end
    if w.end > span.settled or (w.end < span.since and w.end <= done):
        return
    ep.decided_until = max(done, w.end)
    if _escalates(ep, w, rule):
        ep.escalations.append(w)
        ep.acknowledged_at, ep.ack_share = None, None
    last_high = ep.last_high or ep.opened.end
    if not high and w.n >= rule.min_faces and w.end - last_high >= rule.recover_after:
        ep.recovered_at = w.end


def _escalates(ep: Episode, w: Window, rule: Rule) -> bool:
    if ep.acknowledged_at is None or ep.ack_share is None or w.end <= ep.acknowledged_at:
        return False
    return w.n >= rule.min_faces and w.share >= min(1.0, ep.ack_share + rule.rise_margin)


def replay(windows: Iterable[Window], rule: Rule, threshold: float, current: Episode | None, past: Past,
           pauses: Pauses, span: Span) -> list[Episode]:
    """Run the rule over windows in capture-time order from the given state; return every episode it
    touched, oldest first (the current one first when given)."""
    touched = [current] if current is not None else []
    for w in windows:
        if current is None:
            if w.end >= span.since and may_open(w, rule, threshold, past, pauses):
                current = Episode(opened=w, threshold=threshold, peak=w)
                touched.append(current)
            continue
        step(current, w, rule, span)
        if current.recovered_at is not None:
            past = Past.after(current.recovered_at, current.acknowledged_at, current.peak.share, rule)
            current = None
    return touched


def negative_score(probs: Mapping[str, float | None], expression: str, confidence: float,
                   score: Mapping[str, object]) -> float:
    """A face's negative score in Python, as queries.alerts scores it in SQL (`scoring` gives both their
    parameters): for replaying footage in memory."""
    negatives = score["negatives"]
    assert isinstance(negatives, list)
    if score["label_mode"]:
        floor = score["floor"]
        assert isinstance(floor, float)
        return 1.0 if expression in negatives and confidence >= floor else 0.0
    return min(1.0, sum(probs.get(label) or 0.0 for label in negatives))


def scoring(config: Config) -> dict[str, object]:
    """How the queries score a face as negative, from the configuration."""
    return q.scoring(config.negative_labels, config.alert_counting == "label", config.alert_label_floor)
