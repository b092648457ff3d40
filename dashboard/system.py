"""The system page: frame queue length, workers and what they do, processing rate, failed jobs (requeue)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import redis
from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from rq import Queue, Worker
from rq.job import Job
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from affectwatch.config import Config
from affectwatch.exceptions import NotFoundError
from affectwatch.queries import dashboard as q
from affectwatch.queue import frame_queue
from dashboard.auth import requires
from dashboard.context import config, db, now, redis_conn

bp = Blueprint("system", __name__, url_prefix="/system")
RATE_WINDOW = timedelta(seconds=60)
FAILED_SHOWN = 50


def queue(cfg: Config, conn: redis.Redis) -> Queue:
    return frame_queue(cfg, conn)


def worker_rows(conn: redis.Redis, q_: Queue) -> list[dict[str, Any]]:
    rows = []
    for w in Worker.all(connection=conn, serializer=JSONSerializer):
        job_id = w.get_current_job_id()
        rows.append({"name": w.name, "hostname": w.hostname, "pid": w.pid, "state": str(w.get_state()),
                     "queues": w.queue_names(), "current_job": job_id, "last_heartbeat": w.last_heartbeat,
                     "birth_date": w.birth_date, "successful_jobs": w.successful_job_count,
                     "failed_jobs": w.failed_job_count, "working_seconds": round(w.total_working_time, 1)})
    return sorted(rows, key=lambda r: r["name"])


def failed_jobs(conn: redis.Redis, q_: Queue, limit: int = FAILED_SHOWN) -> list[dict[str, Any]]:
    registry = FailedJobRegistry(queue=q_)
    ids = registry.get_job_ids(0, limit - 1, desc=True)
    jobs = Job.fetch_many(ids, connection=conn, serializer=JSONSerializer)
    return [_failed_row(job_id, job) for job_id, job in zip(ids, jobs, strict=True)]


def _failed_row(job_id: str, job: Job | None) -> dict[str, Any]:
    if job is None:
        return {"id": job_id, "camera_id": None, "frames": 0, "reason": "the job has expired", "ended_at": None}
    args = job.args or ()
    result = job.latest_result()
    reason = (result.exc_string or "").strip() if result is not None else ""
    return {"id": job_id, "camera_id": args[0] if args else None,
            "frames": len(args[1]) if len(args) > 1 and isinstance(args[1], list) else 0,
            "reason": reason.splitlines()[-1] if reason else "unknown", "traceback": reason,
            "ended_at": job.ended_at, "function": job.func_name}


def failed_count(q_: Queue) -> int:
    return FailedJobRegistry(queue=q_).count


def requeue(conn: redis.Redis, q_: Queue, job_id: str) -> None:
    registry = FailedJobRegistry(queue=q_)
    if job_id not in registry.get_job_ids():
        raise NotFoundError(f"no failed job {job_id}")
    registry.requeue(job_id)


def overview() -> dict[str, Any]:
    cfg, conn = config(), redis_conn()
    q_ = queue(cfg, conn)
    rate = q.processing_rate(db(), now() - RATE_WINDOW)
    return {"queue": cfg.queue, "queued": q_.count, "queue_max": cfg.queue_max,
            "workers": worker_rows(conn, q_), "failed_count": failed_count(q_),
            "frames_per_second": round(int(rate["frames"]) / RATE_WINDOW.total_seconds(), 2),
            "faces_per_second": round(int(rate["faces"]) / RATE_WINDOW.total_seconds(), 2),
            "mean_latency_ms": None if rate["latency_ms"] is None else round(float(rate["latency_ms"]), 1),
            "last_processed_at": rate["last_at"], "failed": failed_jobs(conn, q_)}


@bp.route("/")
@requires("system:view")
def index() -> ResponseReturnValue:
    return render_template("system.html", system=overview())


@bp.route("/failed/<job_id>/requeue", methods=["POST"])
@requires("system:requeue")
def requeue_job(job_id: str) -> ResponseReturnValue:
    requeue(redis_conn(), queue(config(), redis_conn()), job_id)
    flash(f"Job {job_id} is back in the queue.", "success")
    return redirect(url_for("system.index"))
