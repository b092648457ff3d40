"""Whose face is it: each detected face matched against the enrolled residents of its camera.

A camera's gallery is the face templates of the residents it watches. With no template (none of its
residents enrolled) nothing is matched and every face is the camera's resident, as before identity
('assumed'). Otherwise a face is the resident of its nearest template when that lies under the threshold
('identified'), else it is 'unknown' (no resident, never counted toward an alert). One resident is in a
frame at most once: when two faces of a frame match the same resident, the nearer keeps them.

The cost (a shape prediction and a ResNet pass per face) is spent once per person in view, not per
frame: a small tracker per camera carries a face's identity to the overlapping face of the camera's next
frame, and the face is matched again after recheck_seconds, after a gap in the frames, or when the
gallery changed. The tracker lives in the worker process; a camera whose jobs go to several workers
simply gets matched once per worker. No I/O here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from worker.models.embedder import DIMENSIONS, Templates, distances
from worker.preprocess import Box

ASSUMED, IDENTIFIED, UNKNOWN = "assumed", "identified", "unknown"
MIN_IOU = 0.3  # boxes of one face in consecutive frames overlap at least this much
MAX_GAP_SECONDS = 3.0  # a face not seen for this long starts a fresh track
FORGET_SECONDS = 300.0  # a camera without frames this long loses its tracks (memory bound)


@dataclass(frozen=True)
class Gallery:
    """The templates of a camera's enrolled residents; key changes whenever they do."""

    resident_ids: tuple[int, ...] = ()
    templates: Templates = field(default_factory=lambda: np.zeros((0, DIMENSIONS), dtype=np.float32))
    key: tuple[int, ...] = ()  # the template ids

    @classmethod
    def of(cls, rows: Sequence[tuple[int, int, Sequence[float]]]) -> Gallery:
        """From (template id, resident id, template) rows."""
        if not rows:
            return cls()
        return cls(tuple(int(r[1]) for r in rows), np.asarray([r[2] for r in rows], dtype=np.float32),
                   tuple(int(r[0]) for r in rows))

    @property
    def empty(self) -> bool:
        return not self.resident_ids

    def nearest(self, descriptor: Templates) -> tuple[int, float]:
        """(resident, distance) of the template nearest to one descriptor."""
        d = distances(self.templates, descriptor)
        i = int(np.argmin(d))
        return self.resident_ids[i], float(d[i])


@dataclass(frozen=True)
class Identity:
    state: str  # assumed, identified or unknown
    resident_id: int | None = None  # None for unknown (and for assumed: the camera's resident is taken)
    distance: float | None = None  # to the nearest template, when matched


def decide(resident_id: int, distance: float, threshold: float) -> Identity:
    if distance < threshold:
        return Identity(IDENTIFIED, resident_id, distance)
    return Identity(UNKNOWN, None, distance)


def one_per_resident(identities: list[Identity]) -> list[Identity]:
    """A resident is at most one face of a frame: the nearest; other faces matched to them become unknown."""
    best: dict[int, int] = {}
    for i, ident in enumerate(identities):
        if ident.resident_id is None or ident.distance is None:
            continue
        j = best.get(ident.resident_id)
        if j is None or ident.distance < (identities[j].distance or 0.0):
            best[ident.resident_id] = i
    return [ident if ident.resident_id is None or best.get(ident.resident_id) == i
            else Identity(UNKNOWN, None, ident.distance) for i, ident in enumerate(identities)]


def iou(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    box: Box
    identity: Identity
    seen_at: datetime
    checked_at: datetime


@dataclass
class CameraTracks:
    gallery_key: tuple[int, ...]
    tracks: list[Track]
    seen_at: datetime


Embed = Callable[[list[int]], Templates]  # indexes of the frame's boxes -> their descriptors


@dataclass
class Tracker:
    """Identities of the faces last seen by each camera of this process."""

    threshold: float
    recheck_seconds: float
    cameras: dict[int, CameraTracks] = field(default_factory=dict)
    matched: int = 0  # faces embedded and matched
    carried: int = 0  # faces whose identity was carried from the previous frame

    def identify(self, camera_id: int, captured_at: datetime, boxes: Sequence[Box], gallery: Gallery,
                 embed: Embed) -> list[Identity]:
        """The identity of each box of one frame of a camera (frames in capture order)."""
        if gallery.empty:
            self.cameras.pop(camera_id, None)
            return [Identity(ASSUMED) for _ in boxes]
        self._forget(captured_at)
        known = self.cameras.get(camera_id)
        previous = known.tracks if known and known.gallery_key == gallery.key else []
        carried = self._carry(previous, boxes, captured_at)
        todo = [i for i, t in enumerate(carried) if t is None]
        found = embed(todo) if todo else np.zeros((0, DIMENSIONS), dtype=np.float32)
        identities: list[Identity] = []
        checked: list[datetime] = []
        fresh = dict(zip(todo, found, strict=True))
        for i, track in enumerate(carried):
            if track is None:
                identities.append(decide(*gallery.nearest(fresh[i]), self.threshold))
                checked.append(captured_at)
            else:
                identities.append(track.identity)
                checked.append(track.checked_at)
        identities = one_per_resident(identities)
        self.matched += len(todo)
        self.carried += len(boxes) - len(todo)
        self.cameras[camera_id] = CameraTracks(
            gallery.key, [Track(b, ident, captured_at, c) for b, ident, c in zip(boxes, identities, checked,
                                                                                 strict=True)], captured_at)
        return identities

    def _carry(self, previous: list[Track], boxes: Sequence[Box], now: datetime) -> list[Track | None]:
        """For each box, the previous frame's track it continues (greedy by overlap), if still fresh."""
        pairs = sorted(((iou(t.box, b), ti, bi) for ti, t in enumerate(previous) for bi, b in enumerate(boxes)),
                       reverse=True)
        out: list[Track | None] = [None] * len(boxes)
        used: set[int] = set()
        for overlap, ti, bi in pairs:
            if overlap < MIN_IOU:
                break
            if ti in used or out[bi] is not None:
                continue
            track = previous[ti]
            if abs((now - track.seen_at).total_seconds()) > MAX_GAP_SECONDS:
                continue
            if abs((now - track.checked_at).total_seconds()) >= self.recheck_seconds:
                continue
            used.add(ti)
            out[bi] = track
        return out

    def _forget(self, now: datetime) -> None:
        stale = [c for c, t in self.cameras.items() if abs((now - t.seen_at).total_seconds()) > FORGET_SECONDS]
        for camera in stale:
            del self.cameras[camera]
