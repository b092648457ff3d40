"""The producer's Prometheus metrics (served on AFFECTWATCH_PRODUCER_METRICS_PORT; see affectwatch.telemetry).

Counters are labelled by camera id; dropped frames also by reason: queue_full (the frame queue held
AFFECTWATCH_QUEUE_MAX jobs), backlog_full (the sender's in-memory backlog was full: Redis slow) and
redis_unavailable (the enqueue failed).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CAPTURED = Counter("affectwatch_producer_frames_captured", "Frames read from a camera (before sampling)", ["camera"])
SAMPLED = Counter("affectwatch_producer_frames_sampled", "Frames taken by a camera's sampler", ["camera"])
SENT = Counter("affectwatch_producer_frames_sent", "Frames enqueued for the workers", ["camera"])
DROPPED = Counter("affectwatch_producer_frames_dropped", "Sampled frames dropped, by reason", ["camera", "reason"])
ERRORS = Counter("affectwatch_producer_camera_errors", "Capture, decode and enqueue errors", ["camera"])
JOBS = Counter("affectwatch_producer_jobs_enqueued", "Jobs (batches of frames) enqueued")
QUEUE_DEPTH = Gauge("affectwatch_producer_queue_depth", "Jobs waiting in the frame queue, as last read")
CAMERAS = Gauge("affectwatch_producer_cameras", "Cameras the producer is capturing")
DROP_REASONS = ("queue_full", "backlog_full", "redis_unavailable")
