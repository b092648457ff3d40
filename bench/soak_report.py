"""A soak run's figures: where every accepted frame ended, duplicates, queue length, latency, recovery.

An accepted frame (RQ took its job) ends as exactly one of: processed (a 'processed' frame row), expired
(an 'expired' row: it waited longer than frame_ttl), rejected (listed with its reason in the job's
result), failed (its job is in RQ's failed-job registry with the reason), pending (its job is still
queued, scheduled or started when the run stops waiting), or lost: none of these, no trace anywhere.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any
from uuid import UUID

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from bench.soak_producer import Accepted
from bench.soak_queries import FrameOutcome

PENDING = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED}


@dataclass
class Fault:
    """One injected fault: when it began and ended (time.time()), and when the system had recovered."""

    name: str
    started: float
    ended: float
    detail: str = ""
    job_id: str | None = None  # kill: the job the worker was running
    camera_id: int | None = None  # vanish: the camera whose file was gone
    recovered_s: float | None = None  # seconds from the fault's end to recovery; None: did not recover
    recovery: str = ""  # what recovery was measured as


@dataclass
class Report:
    seconds: float = 0.0
    sent: int = 0
    processed: int = 0
    expired: int = 0
    rejected: int = 0
    failed: int = 0
    pending: int = 0
    lost: int = 0
    duplicated: int = 0
    duplicates: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    dropped_but_written: int = 0
    faces: int = 0
    alerts_opened: int = 0
    longest_queue: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_max_ms: float | None = None
    worker_restarts: int = 0
    lost_jobs: dict[str, str] = field(default_factory=dict)  # job id -> what became of it
    failed_reasons: dict[str, str] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def settle(report: Report, accepted: dict[UUID, Accepted], rows: list[FrameOutcome], conn: redis.Redis) -> None:
    """Fill in the fate of every accepted frame from the frame rows and, for the rest, their jobs in Redis."""
    by_id = {r.frame_id: r for r in rows}
    report.sent = len(accepted)
    report.processed = sum(1 for f in accepted if f in by_id and by_id[f].status == "processed")
    report.expired = sum(1 for f in accepted if f in by_id and by_id[f].status == "expired")
    missing: dict[str, list[UUID]] = {}
    for frame_id, acc in accepted.items():
        if frame_id not in by_id:
            missing.setdefault(acc.job_id, []).append(frame_id)
    for job_id, frames in missing.items():
        _settle_job(report, job_id, frames, conn)
    latencies = sorted(r.latency_ms for f, r in by_id.items() if f in accepted and r.status == "processed"
                       and r.latency_ms is not None)
    if latencies:
        report.latency_p50_ms = round(statistics.median(latencies), 1)
        report.latency_p95_ms = round(latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))], 1)
        report.latency_max_ms = round(latencies[-1], 1)


def _settle_job(report: Report, job_id: str, frames: list[UUID], conn: redis.Redis) -> None:
    try:
        job = Job.fetch(job_id, connection=conn, serializer=JSONSerializer)
    except NoSuchJobError:
        report.lost += len(frames)
        report.lost_jobs[job_id] = "gone from Redis (its key expired or Redis lost it) without a frame row"
        return
    status = job.get_status()
    if status in PENDING:
        report.pending += len(frames)
    elif status == JobStatus.FAILED:
        report.failed += len(frames)
        result = job.latest_result()
        report.failed_reasons[job_id] = str(result.exc_string or "")[-300:] if result is not None else ""
    else:
        _settle_finished(report, job, frames)


def _settle_finished(report: Report, job: Job, frames: list[UUID]) -> None:
    result = job.return_value()
    named = {str(r.get("frame_id")) for r in result.get("rejected", [])} if isinstance(result, dict) else set()
    rejected = [f for f in frames if str(f) in named]
    report.rejected += len(rejected)
    report.lost += len(frames) - len(rejected)
    if len(rejected) < len(frames):
        report.lost_jobs[job.id] = f"{job.get_status()} but {len(frames) - len(rejected)} frame(s) have no row"


def latency_of_job(rows: list[FrameOutcome], frames: list[UUID]) -> float | None:
    """When the last of these frames got its row (epoch seconds); None if one has none."""
    by_id = {r.frame_id: r for r in rows}
    if not frames or any(f not in by_id for f in frames):
        return None
    return max(by_id[f].processed_at.timestamp() for f in frames)


def format_report(report: Report) -> str:
    lines = [
        f"soak run of {report.seconds:.0f} s",
        f"  frames sent (accepted into the queue): {report.sent}",
        f"  processed: {report.processed}   expired (waited > frame_ttl): {report.expired}   "
        f"rejected: {report.rejected}   failed (RQ failed registry): {report.failed}   pending: {report.pending}",
        f"  LOST: {report.lost}   DUPLICATED: {report.duplicated} "
        f"(frames {report.duplicates.get('frames', 0)}, faces {report.duplicates.get('faces', 0)}, "
        f"alerts {report.duplicates.get('alerts', 0)})",
        "  dropped before the queue, by reason: " + (", ".join(f"{k}: {v}" for k, v in report.dropped.items())
                                                     or "none"),
        f"  dropped (enqueue failed) yet written anyway: {report.dropped_but_written}",
        f"  faces written: {report.faces}   alerts opened: {report.alerts_opened}   "
        f"worker restarts: {report.worker_restarts}",
        f"  longest queue: {report.longest_queue} jobs",
        f"  latency capture -> row: p50 {report.latency_p50_ms} ms, p95 {report.latency_p95_ms} ms, "
        f"max {report.latency_max_ms} ms",
        "  faults:",
    ]
    for f in report.faults:
        took = "NOT RECOVERED" if f.recovered_s is None else f"recovered in {f.recovered_s:.1f} s"
        lines.append(f"    {f.name:<16} {f.detail:<44} {took} ({f.recovery})")
    kills = [f.recovered_s for f in report.faults if f.name == "worker SIGKILL" and f.job_id is not None]
    if kills:
        took = ", ".join("NOT RECOVERED" if s is None else f"{s:.1f} s" for s in kills)
        longest = "never" if None in kills else f"{max(s for s in kills if s is not None):.1f} s"
        lines.append(f"  worker kills mid-job, kill to the job's rows: {took} (longest {longest})")
    lines += [f"  lost job {k}: {v}" for k, v in report.lost_jobs.items()]
    lines += [f"  failed job {k}: {v.strip().splitlines()[-1] if v.strip() else '?'}"
              for k, v in report.failed_reasons.items()]
    return "\n".join(lines)


def drop_counts(counter: Counter[str]) -> dict[str, int]:
    return dict(counter.most_common())
