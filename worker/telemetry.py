"""The worker's Prometheus metrics (served on AFFECTWATCH_WORKER_METRICS_PORT; see affectwatch.telemetry).

Recorded once a job's rows are committed (a job that fails counts only as failed), so faces and
latencies count rows that exist. capture_to_row is each processed frame's time from its capture by
the producer to the commit of its rows: queueing, waiting, detection, classification and the write.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from prometheus_client import Counter, Histogram

JOBS = Counter("affectwatch_worker_jobs", "Frame jobs run, by outcome (done or failed)", ["outcome"])
FRAMES = Counter("affectwatch_worker_frames", "Frames of committed jobs, by status", ["status"])
FACES = Counter("affectwatch_worker_faces", "Faces detected in processed frames")
FACES_STORED = Counter("affectwatch_worker_faces_stored",
                       "Face rows inserted (not those of paused residents or of a retried job's earlier run)")
CAPTURE_TO_ROW = Histogram("affectwatch_worker_capture_to_row_seconds",
                           "Seconds from a frame's capture to the commit of its rows",
                           buckets=(0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120, 300, 600))
STAGE = Histogram("affectwatch_worker_stage_seconds",
                  "Seconds per frame in each model stage (decode, detect, classify); per job for write",
                  ["stage"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
for _status in ("processed", "expired", "rejected"):
    FRAMES.labels(_status)
for _outcome in ("done", "failed"):
    JOBS.labels(_outcome)


def record_job(result: dict[str, object], stage_ms: Sequence[tuple[float, float, float]],
               captured: Sequence[datetime], committed_at: datetime) -> None:
    """A committed job: its summary (worker.jobs.summary), per-frame (decode, detect, classify) ms, and
    the capture times of its processed frames."""
    JOBS.labels("done").inc()
    FRAMES.labels("processed").inc(_int(result["processed"]))
    FRAMES.labels("expired").inc(_int(result["expired"]))
    FRAMES.labels("rejected").inc(len(result["rejected"]))  # type: ignore[arg-type]
    FACES.inc(_int(result["faces"]))
    FACES_STORED.inc(_int(result["faces_inserted"]))
    for decode, detect, classify in stage_ms:
        STAGE.labels("decode").observe(decode / 1e3)
        STAGE.labels("detect").observe(detect / 1e3)
        STAGE.labels("classify").observe(classify / 1e3)
    STAGE.labels("write").observe(float(result["write_ms"]) / 1e3)  # type: ignore[arg-type]
    for t in captured:
        CAPTURE_TO_ROW.observe(max(0.0, (committed_at - t).total_seconds()))


def _int(value: object) -> int:
    return int(value)  # type: ignore[call-overload, no-any-return]
