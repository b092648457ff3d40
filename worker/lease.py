"""Leases on running jobs: a killed worker's job is back in the queue seconds after the kill, not minutes.

rq records a running job in its queue's StartedJobRegistry with an expiry, and any worker's maintenance
requeues the jobs whose expiry has passed. rq's SimpleWorker sets that expiry to the job's timeout + 60 s and
never renews it while the job runs (only a forking worker's parent does, between polls of its child), so a
killed worker's job waited for all of it and then for a maintenance run: 76-136 s in bench/soak.py.

Here the expiry is a short lease:
- FrameWorker (worker/runner.py) claims each job for `AFFECTWATCH_WORKER_LEASE_SECONDS` (5), and a LeaseKeeper
  thread renews the claim (the worker's, the execution's and the job's heartbeats, in one Redis transaction)
  every fifth of it while the job runs in the main thread, where rq's SIGALRM job timeout still applies;
- every worker, busy or idle, looks each second for claims that lapsed (requeue_lapsed) and puts those jobs
  back at the front of the queue at once, using one of their retries (none left: the failed-job registry
  with the reason). A job's claim and its requeueing change in one Redis transaction that watches the job:
  a worker that renewed its claim meanwhile keeps it, and two workers never requeue one job both.

A worker that is alive but cannot renew its claim for longer than the lease (Redis unreachable for that long,
the process stopped) loses its job to another worker, and both may run it: the job's rows are still written
once (worker/jobs.py writes every frame and face of a job in one transaction, each insert ON CONFLICT DO
NOTHING, and the alert rule sees only the faces inserted now).
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.job_lifecycle import record_job_failure
from rq.queue import Queue
from rq.utils import parse_composite_key

if TYPE_CHECKING:
    from rq.executions import Execution
    from rq.worker import BaseWorker

log = logging.getLogger(__name__)

RENEWALS_PER_LEASE = 5  # a claim survives four missed renewals in a row


class LeaseKeeper:
    """While its `with` block runs, renews the worker's claim on `job` every lease / RENEWALS_PER_LEASE s."""

    def __init__(self, worker: BaseWorker, job: Job, execution: Execution, lease_seconds: float) -> None:
        self.worker = worker
        self.job = job
        self.execution = execution
        self.interval = max(0.2, lease_seconds / RENEWALS_PER_LEASE)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"lease-{job.id[-12:]}", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self.thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.done.set()
        self.thread.join(5)

    def _run(self) -> None:
        while not self.done.wait(self.interval):
            try:
                self.worker.maintain_heartbeats(self.job, self.execution)
            except redis.RedisError as exc:
                log.warning("job %s: could not renew its lease (another worker takes it over if this lasts): %s",
                            self.job.id, exc)


def requeue_lapsed(queue: Queue, now: float | None = None) -> list[str]:
    """Put the jobs whose claim lapsed before `now` (default: now) back at the front of the queue; their ids."""
    registry = queue.started_job_registry
    conn: redis.Redis = queue.connection
    now = time.time() if now is None else now
    requeued = []
    for entry in _entries(conn.zrangebyscore(registry.key, 0, now)):
        if _requeue(queue, entry, now):
            requeued.append(parse_composite_key(entry)[0])
    return requeued


def _requeue(queue: Queue, entry: str, now: float) -> bool:
    """One lapsed claim: requeue (or fail) its job in one transaction; True if it was requeued."""
    registry = queue.started_job_registry
    conn: redis.Redis = queue.connection
    job_id, _ = parse_composite_key(entry)
    queue.get_redis_server_version()  # cached before the transaction: enqueueing asks for it
    with conn.pipeline() as pipe:
        try:
            pipe.watch(Job.key_for(job_id))  # type: ignore[no-untyped-call]
            score = pipe.zscore(registry.key, entry)
            if score is None or score > now:  # renewed, or handled by another worker, since it was read
                return False
            try:
                job = queue.job_class.fetch(job_id, connection=conn, serializer=queue.serializer)
            except NoSuchJobError:
                job = None
            live = [e for e in _entries(conn.zrangebyscore(registry.key, f"({now}", "+inf"))
                    if parse_composite_key(e)[0] == job_id]
            pipe.multi()
            pipe.zrem(registry.key, entry)
            if job is None or job.get_status(refresh=False) != JobStatus.STARTED or live:
                pipe.execute()  # a leftover entry: the job ended, is gone, or another worker runs it now
                return False
            requeued = _requeue_or_fail(queue, job, pipe)
            pipe.execute()
        except redis.WatchError:  # the job changed meanwhile (its worker renewed the claim, or it ended)
            return False
    return requeued


def _requeue_or_fail(queue: Queue, job: Job, pipe: Any) -> bool:
    """Queue the job again at the front, using a retry (True), or fail it when none is left (False)."""
    worker = job.worker_name or "?"
    if job.retries_left:
        job.retries_left -= 1
        queue._enqueue_job(job, pipeline=pipe, at_front=True)  # not after the retry interval: it is late already
        log.warning("job %s: the claim of worker %s lapsed (the worker died or lost Redis); requeued at the front, "
                    "%d retries left", job.id, worker, job.retries_left)
        return True
    reason = f"abandoned: the claim of worker {worker} lapsed (the worker died) and no retries were left"
    record_job_failure(job, reason, pipe)
    log.warning("job %s: %s; moved to the failed-job registry", job.id, reason)
    return False


def _entries(raw: list[Any]) -> list[str]:
    return [r.decode() if isinstance(r, bytes) else str(r) for r in raw]
