"""`affectwatch replay`: recorded footage through the worker's exact path and the alert rule, in memory.

Frames are sampled from a video file on its own time line (its timestamps) or from an image folder at
--fps, as the producer samples them (affectwatch.capture, affectwatch.sampler), JPEG-encoded as the producer
encodes them, analysed in the worker's batches (worker.pipeline: detection, classification, the quality
gates) and turned into face rows by the worker's own function (worker.jobs.face_rows). The rule then runs
over those rows with the code the live engine runs (affectwatch.alerts.rule: windows, replay), on the
footage's clock, as fast as the CPU allows. Nothing is written: with --resident, the resident's
overrides (and baseline) are read in a transaction that is rolled back.

Identity, as in the live worker: with --resident naming an enrolled resident, each face is matched against
that resident's templates (the worker's embedder and tracker); a face that is not theirs is unknown and never
counts. Without an enrolment every face counts as the resident's ("single person"), as on a live camera.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from affectwatch.alerts.engine import dominant
from affectwatch.alerts.rule import Past, Rule, Span, negative_score, replay, scoring, windows
from affectwatch.capture import encode_jpeg, open_capture
from affectwatch.clock import SystemClock
from affectwatch.config import Config
from affectwatch.exceptions import FrameError, ValidationError
from affectwatch.labels import LABELS
from affectwatch.queries.alerts import Overrides
from affectwatch.queries.frames import FaceRow
from affectwatch.queue import FramePayload
from affectwatch.sampler import Sampler
from affectwatch.sources import Source, SourceKind
from worker.identity import Gallery
from worker.jobs import JobInfo, face_rows
from worker.pipeline import IdentityJob, Pipeline

log = logging.getLogger(__name__)

# Footage time 0: a whole minute, so the rule's clock minutes are the footage's minutes.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
REPLAY_CAMERA = 0  # no camera row: nothing is written
REPLAY_RESIDENT = 0  # the resident the footage is replayed for when none is named


@dataclass(frozen=True)
class Opened:
    """An alert the rule would have opened: footage time of the window that opened it, its share, the
    highest share of the episode, the dominant negative expression, and when it would have recovered."""

    at: timedelta
    share: float
    peak_share: float
    dominant_expression: str | None
    n_faces: int
    recovered_at: timedelta | None

    def as_json(self) -> dict[str, Any]:
        recovered = None if self.recovered_at is None else round(self.recovered_at.total_seconds(), 3)
        return {"at_seconds": round(self.at.total_seconds(), 3), "share": round(self.share, 4),
                "peak_share": round(self.peak_share, 4), "dominant_expression": self.dominant_expression,
                "n_faces": self.n_faces, "recovered_at_seconds": recovered}


@dataclass
class Result:
    frames: int = 0
    rejected: int = 0
    faces: list[FaceRow] = field(default_factory=list)
    duration: timedelta = timedelta(0)
    alerts: list[Opened] = field(default_factory=list)

    @property
    def counted(self) -> list[FaceRow]:
        """The faces the rule reads: worth reading, and the resident's (an unknown face never counts)."""
        return [f for f in self.faces if f.uncounted_reason is None and f.resident_id is not None]

    @property
    def unknown(self) -> int:
        return sum(f.identity == "unknown" for f in self.faces)

    def uncounted(self) -> dict[str, int]:
        """Faces that did not count, by the kind of reason (small, blurred, turned, ...)."""
        return dict(Counter(f.uncounted_reason.split(":")[0] for f in self.faces if f.uncounted_reason))

    def as_json(self) -> dict[str, Any]:
        return {"alerts": [a.as_json() for a in self.alerts], "frames": self.frames, "rejected": self.rejected,
                "faces": len(self.faces), "counted_faces": len(self.counted), "uncounted": self.uncounted(),
                "unknown_faces": self.unknown,
                "minutes": round(self.duration.total_seconds() / 60, 3)}


def sampled_frames(source: Source, fps: float, loops: int) -> Iterator[tuple[float, Any]]:
    """(footage seconds, BGR frame) of the frames the producer would keep, `loops` times over the footage."""
    if source.kind not in (SourceKind.FILE, SourceKind.FOLDER):
        raise ValidationError(f"replay reads a video file or an image folder, not a {source.kind.value}")
    capture = open_capture(source, SystemClock(), fps)
    sampler = Sampler(fps)
    try:
        for loop in range(loops):
            if loop and not capture.rewind():
                return
            while (t := capture.grab()) is not None:
                if sampler.take(t):
                    try:
                        yield t, capture.retrieve()
                    except FrameError as exc:
                        log.warning("frame at %.2f s skipped: %s", t, exc)
    finally:
        capture.close()


def footage_seconds(source: Source, fps: float) -> float:
    """How long one play of the footage lasts on its clock (for the progress bar; 0 when unknown)."""
    import cv2

    from affectwatch.sources import image_files

    if source.kind is SourceKind.FOLDER:
        return len(image_files(Path(source.text))) / fps
    capture = cv2.VideoCapture(source.text)
    try:
        frames, rate = capture.get(cv2.CAP_PROP_FRAME_COUNT), capture.get(cv2.CAP_PROP_FPS)
    finally:
        capture.release()
    return float(frames / rate) if frames > 0 and rate > 0 else 0.0


def read(pipeline: Pipeline, frames: Iterator[tuple[float, Any]], resident_id: int = REPLAY_RESIDENT,
         progress: Callable[[float], None] | None = None, gallery: Gallery | None = None) -> Result:
    """Every sampled frame through the worker's analysis, in the worker's batches, matched against the
    resident's templates where there are any (gallery); the faces as the worker would write them (without
    writing them)."""
    config = pipeline.config
    info = JobInfo(REPLAY_CAMERA, None, "replay")
    identity = IdentityJob(REPLAY_CAMERA, gallery or Gallery())
    result = Result()
    batch: list[FramePayload] = []

    def flush() -> None:
        analysis = pipeline.analyse(batch, identity)
        result.rejected += len(analysis.rejected)
        for frame in analysis.frames:
            result.faces += face_rows(frame, info, resident_id, pipeline.model_name)
        batch.clear()

    for t, bgr in frames:
        at = EPOCH + timedelta(seconds=t)
        batch.append(FramePayload(uuid.uuid4(), REPLAY_CAMERA, at, at, encode_jpeg(bgr, config.jpeg_quality)))
        result.frames += 1
        result.duration = max(result.duration, timedelta(seconds=t))
        if progress is not None:
            progress(t)
        if len(batch) >= config.batch_frames:
            flush()
    if batch:
        flush()
    return result


def decide(result: Result, config: Config, rule: Rule, threshold: float) -> list[Opened]:
    """The alerts the rule opens over the faces read, with the live engine's rule code."""
    score = scoring(config)
    counted = sorted(result.counted, key=lambda f: f.captured_at)
    points = [(f.captured_at, negative_score(f.probs, f.expression, f.confidence, score)) for f in counted]
    ws = windows(points, rule.window, by_minute=rule.by_minute)
    if not ws:
        return []
    episodes = replay(ws, rule, threshold, None, Past(), [], Span(ws[0].end, ws[-1].end))
    out = []
    for ep in episodes:
        detail = window_detail(counted, ep.opened.end - rule.window, ep.opened.end)
        out.append(Opened(ep.opened.end - EPOCH, ep.opened.share, ep.peak.share,
                          dominant(detail, config.negative_labels), ep.opened.n,
                          None if ep.recovered_at is None else ep.recovered_at - EPOCH))
    return out


def window_detail(faces: Sequence[FaceRow], start: datetime, end: datetime) -> dict[str, Any]:
    """Per label, the summed probability and count of the counted faces in [start, end], as
    queries.alerts.window_detail reads them from the faces table."""
    inside = [f for f in faces if start <= f.captured_at <= end]
    detail: dict[str, Any] = {label: sum(f.probs.get(label) or 0.0 for f in inside) for label in LABELS}
    detail.update({f"n_{label}": sum(f.expression == label for f in inside) for label in LABELS})
    return detail


@dataclass(frozen=True)
class Replayed:
    """Whom footage is replayed for: the rule (with the resident's overrides), its threshold, and the
    resident's id and templates (an empty gallery: every face is theirs)."""

    rule: Rule
    threshold: float
    whose: str
    resident_id: int = REPLAY_RESIDENT
    gallery: Gallery = field(default_factory=Gallery)


def rule_for(config: Config, resident: str | None) -> Replayed:
    """The rule (with the named resident's overrides, baseline and templates, read and rolled back)."""
    if resident is None:
        rule = Rule.build(config, Overrides())
        return Replayed(rule, rule.threshold(None), "the configured rule")
    from affectwatch.alerts.baseline import baseline_share
    from affectwatch.db import connect
    from affectwatch.queries import alerts as q
    from affectwatch.queries.identity import resident_gallery
    from affectwatch.queries.residents import find_resident

    with connect(config) as conn:
        try:
            found = find_resident(conn, resident)
            rule = Rule.build(config, q.overrides(conn, found.id))
            baseline = baseline_share(conn, config, found.id, rule, datetime.now(UTC)) if rule.baseline else None
            gallery = Gallery.of(resident_gallery(conn, found.id))
        finally:
            conn.rollback()
    who = f"{found.name}'s rule" + (f", matched against {len(gallery.resident_ids)} face template(s)"
                                     if not gallery.empty else ", not enrolled: every face is theirs")
    return Replayed(rule, rule.threshold(baseline), who, found.id, gallery)
