"""The job the producer enqueues, `process_frames(camera_id, frames)`, run by `affectwatch worker`.

The models are loaded once per process by worker.runner, which installs them here; this module
never loads a model itself, so a job run anywhere else (a forking `rq worker`, a forked child of
the worker) fails at once with the reason instead of hanging in torch or loading models per job.

What happens to each kind of frame and job (docs/worker.md has the same list):
- a frame that cannot be used (malformed payload, empty or corrupt bytes, an absurd size, another
  camera's frame) is rejected: a WARNING log line with camera, job and frame ids and the reason, and
  an entry in the job's result. The job's other frames are processed and the job succeeds: retrying
  would not make bad bytes good, and failing would throw away the good frames' work;
- a frame that waited in the queue longer than frame_ttl is written with status 'expired' and not
  analysed. The wait counts from the job's latest enqueueing: a job requeued by a retry (Postgres
  was down, a worker was killed) starts a fresh wait, so its frames are analysed, late, not expired;
- a job for a camera that no longer exists fails at once and is not retried (the failed-job registry
  keeps the reason); its frames are not written;
- when Postgres is unreachable (no working connection from the worker's pool, affectwatch.db, within
  a few seconds) or the write fails, the transaction rolls back and the job fails; RQ retries it (the
  producer enqueues with rq.Retry) and the idempotent inserts write nothing twice.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import psycopg
from rq import get_current_job

from affectwatch import logs, privacy_pauses, snapshots
from affectwatch.alerts import telemetry as alert_telemetry
from affectwatch.db import pooled
from affectwatch.exceptions import FrameError, NotFoundError, WorkerError
from affectwatch.queries.cameras import get_camera
from affectwatch.queries.frames import FaceRow, FrameRow, ensure_partitions, insert_faces, insert_frames
from affectwatch.queries.identity import gallery
from affectwatch.queue import FramePayload
from worker import hooks, telemetry
from worker.identity import ASSUMED, Gallery
from worker.pipeline import AnalysedFrame, Analysis, IdentityJob, Pipeline, Rejected

log = logging.getLogger(__name__)

_pipeline: Pipeline | None = None
_months: set[tuple[int, int]] = set()


def install(pipeline: Pipeline | None) -> None:
    """Make this process's loaded models the ones jobs use (None: uninstall)."""
    global _pipeline
    _pipeline = pipeline


def installed() -> Pipeline:
    if _pipeline is None:
        raise WorkerError("process_frames runs only inside `affectwatch worker`, which loads the models once")
    if _pipeline.pid != os.getpid():
        raise WorkerError(f"process_frames called in process {os.getpid()}, a fork of the worker {_pipeline.pid} "
                          "that loaded torch: forked children hang in torch; run `affectwatch worker` (never forks)")
    return _pipeline


@dataclass(frozen=True)
class JobInfo:
    camera_id: int
    job_id: str | None
    worker: str | None
    enqueued_at: datetime | None = None  # RQ's: reset when a retry requeues the job

    def __str__(self) -> str:
        return f"camera {self.camera_id} job {self.job_id or '-'}"


def process_frames(camera_id: int, frames: list[dict[str, Any]]) -> dict[str, Any]:
    """Analyse a camera's batch of frames and write their frame and face rows in one transaction."""
    pipeline = installed()
    info = _job_info(int(camera_id))
    with logs.fields(camera_id=info.camera_id, job_id=info.job_id):
        try:
            return _process(pipeline, info, frames)
        except Exception:
            telemetry.JOBS.labels("failed").inc()
            raise


def _process(pipeline: Pipeline, info: JobInfo, frames: list[dict[str, Any]]) -> dict[str, Any]:
    payloads, rejected = parse_payloads(frames, info.camera_id)
    with pooled(pipeline.config, "worker").connection() as conn:  # kept open from job to job, checked each time
        _camera_resident(conn, info, len(frames))  # fail fast, before any detection
        fresh, expired = split_expired(payloads, pipeline.config.frame_ttl, datetime.now(UTC), info.enqueued_at)
        identity = IdentityJob(info.camera_id, Gallery.of(gallery(conn, info.camera_id)))
        analysis = pipeline.analyse(fresh, identity)
        analysis.rejected[:0] = rejected
        for bad in analysis.rejected:
            log.warning("%s: frame %s rejected: %s", info, bad.frame_id, bad.reason)
        started = time.perf_counter()
        inserted = store(conn, pipeline, info, expired, analysis)
    result = summary(info, expired, analysis, inserted, (time.perf_counter() - started) * 1e3)
    telemetry.record_job(result, [(f.decode_ms, f.detect_ms, f.classify_ms) for f in analysis.frames],
                         [f.payload.captured_at for f in analysis.frames], datetime.now(UTC))
    return result


def _job_info(camera_id: int) -> JobInfo:
    job = get_current_job()
    if job is None:
        return JobInfo(camera_id, None, None)
    queued = job.enqueued_at
    if queued is not None and queued.tzinfo is None:
        queued = queued.replace(tzinfo=UTC)
    return JobInfo(camera_id, job.id, job.worker_name, queued)


def parse_payloads(frames: Any, camera_id: int) -> tuple[list[FramePayload], list[Rejected]]:
    """The job's frames as FramePayloads; a malformed one, or one of another camera, is rejected."""
    if not isinstance(frames, list):
        raise FrameError(f"camera {camera_id}: frames must be a list, not {type(frames).__name__}")
    payloads: list[FramePayload] = []
    rejected: list[Rejected] = []
    for i, raw in enumerate(frames):
        frame_id = str(raw.get("frame_id", f"#{i}")) if isinstance(raw, dict) else f"#{i}"
        try:
            payloads.append(_payload(raw, camera_id))
        except FrameError as exc:
            rejected.append(Rejected(frame_id, str(exc)))
    return payloads, rejected


def _payload(raw: Any, camera_id: int) -> FramePayload:
    payload = FramePayload.from_json(raw)
    if payload.camera_id != camera_id:
        raise FrameError(f"frame of camera {payload.camera_id} in a job for camera {camera_id}")
    return payload


def split_expired(payloads: Sequence[FramePayload], ttl: int, now: datetime,
                  requeued_at: datetime | None = None) -> tuple[list[FramePayload], list[FramePayload]]:
    """(fresh, expired): a frame expires when it waited in the queue longer than ttl seconds, counted from
    its enqueueing or, when later, the job's latest (re)enqueueing."""
    limit = timedelta(seconds=ttl)
    waited = [(p, now - max(p.enqueued_at, requeued_at or p.enqueued_at)) for p in payloads]
    return [p for p, w in waited if w <= limit], [p for p, w in waited if w > limit]


def _camera_resident(conn: psycopg.Connection[Any], info: JobInfo, n_frames: int) -> int | None:
    try:
        return get_camera(conn, info.camera_id).resident_id
    except NotFoundError:
        _no_retry(NotFoundError(f"{info}: camera {info.camera_id} no longer exists; "
                                f"its {n_frames} frame(s) are not recorded"))


def _no_retry(exc: Exception) -> NoReturn:
    """Fail the current job for good: retrying cannot help."""
    job = get_current_job()
    if job is not None:
        job.retries_left = 0
    raise exc


def store(conn: psycopg.Connection[Any], pipeline: Pipeline, info: JobInfo, expired: Sequence[FramePayload],
          analysis: Analysis) -> list[FaceRow]:
    """Write every frame row and face row of the job in one transaction; return the faces inserted now."""
    frames = [expired_row(p, info) for p in expired] + [frame_row(f, info) for f in analysis.frames]
    _ensure_partitions(conn, [f.captured_at for f in frames])
    with conn.transaction():
        resident_id = _camera_resident(conn, info, len(frames))
        faces = [row for f in analysis.frames for row in face_rows(f, info, resident_id, pipeline.model_name)]
        faces = privacy_pauses.recordable(conn, faces)  # none of a paused or unmonitored resident
        insert_frames(conn, frames)
        inserted = insert_faces(conn, faces)
        changes = hooks.after_faces_committed(conn, pipeline.config, inserted) or []  # a plugged-in hook: None
        snapshots.take(conn, pipeline.config, inserted, {f.payload.frame_id: f.payload.jpeg for f in analysis.frames})
    alert_telemetry.count_changes("expression", (c.what for c in changes))
    return inserted


def _ensure_partitions(conn: psycopg.Connection[Any], times: Sequence[datetime]) -> None:
    """Create the monthly partitions a job writes into, once per month per process (conn in autocommit)."""
    for t in times:
        month = (t.astimezone(UTC).year, t.astimezone(UTC).month)
        if month in _months:
            continue
        try:
            created = ensure_partitions(conn, t)
            log.info("partitions for %04d-%02d ready (%d created)", *month, created)
        except psycopg.Error as exc:
            log.warning("partitions for %04d-%02d not created (rows go to the default partition): %s", *month, exc)
        _months.add(month)


def expired_row(payload: FramePayload, info: JobInfo) -> FrameRow:
    return FrameRow(payload.frame_id, payload.captured_at, info.camera_id, "expired",
                    job_id=info.job_id, worker=info.worker)


def frame_row(frame: AnalysedFrame, info: JobInfo) -> FrameRow:
    p = frame.payload
    return FrameRow(p.frame_id, p.captured_at, info.camera_id, "processed", frame.width, frame.height,
                    len(frame.faces), round(frame.detect_ms, 2), round(frame.classify_ms, 2), info.job_id,
                    info.worker)


def face_rows(frame: AnalysedFrame, info: JobInfo, resident_id: int | None, model: str) -> list[FaceRow]:
    """The frame's faces: each the resident it was identified as (None when unknown), or, when the camera's
    residents are not enrolled, the camera's resident (resident_id)."""
    p = frame.payload
    rows = []
    for i, (face, expr, reason) in enumerate(zip(frame.faces, frame.expressions, frame.uncounted, strict=True)):
        who = frame.identities[i] if frame.identities else None
        resident = resident_id if who is None or who.state == ASSUMED else who.resident_id
        rows.append(FaceRow(p.frame_id, i, p.captured_at, info.camera_id, resident, face.box, face.probability,
                            expr.label, expr.confidence, expr.probs, model, who.state if who else ASSUMED,
                            None if who is None or who.distance is None else round(who.distance, 4), reason))
    return rows


def summary(info: JobInfo, expired: Sequence[FramePayload], analysis: Analysis, inserted: Sequence[FaceRow],
            write_ms: float) -> dict[str, Any]:
    """The job's result (kept by RQ): counts, rejected frames with reasons, where the time went."""
    frames = analysis.frames
    result = {
        "camera_id": info.camera_id,
        "processed": len(frames),
        "expired": len(expired),
        "rejected": [{"frame_id": r.frame_id, "reason": r.reason} for r in analysis.rejected],
        "faces": sum(len(f.faces) for f in frames),
        "faces_inserted": len(inserted),
        "decode_ms": round(sum(f.decode_ms for f in frames), 2),
        "detect_ms": round(sum(f.detect_ms for f in frames), 2),
        "classify_ms": round(sum(f.classify_ms for f in frames), 2),
        "identify_ms": round(sum(f.identify_ms for f in frames), 2),
        "unknown_faces": sum(1 for f in frames for who in f.identities if who.resident_id is None),
        "write_ms": round(write_ms, 2),
    }
    log.info("%s: %d frame(s) processed, %d expired, %d rejected, %d face(s)", info, result["processed"],
             result["expired"], len(analysis.rejected), result["faces"])
    return result
