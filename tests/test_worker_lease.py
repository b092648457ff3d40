"""Leases on running jobs (worker/lease.py), with rq's own bookkeeping of a job a worker has started.

A job is claimed here exactly as a FrameWorker claims it before running it (dequeued, its execution
prepared), then never run: what a killed worker leaves behind. tests/test_worker_process.py kills a real
worker process mid-job.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import pytest
import redis
from rq import Queue, Worker
from rq.executions import Execution
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler

from affectwatch.config import Config
from affectwatch.exceptions import ConfigError
from affectwatch.queue import PROCESS_FRAMES, frame_queue
from tests.test_worker_support import enqueue
from worker.lease import LeaseKeeper, requeue_lapsed
from worker.runner import FrameWorker, SchedulerThread, build_worker


def claim(config: Config, conn: redis.Redis, retries: int = 2) -> tuple[FrameWorker, Queue, Job, Execution]:
    """A job in the queue's started registry, claimed by a worker for one lease, as FrameWorker does it."""
    job = enqueue(config, conn, 1, [], retries=retries, retry_interval=60)
    worker = build_worker(config, conn, name=f"lease-{uuid.uuid4().hex[:8]}")
    queue = frame_queue(config, conn)
    dequeued = Queue.dequeue_any([queue], None, connection=conn, job_class=worker.job_class,
                                 serializer=queue.serializer)
    assert dequeued is not None and dequeued[0].id == job.id
    execution = worker.prepare_execution(job)
    worker.prepare_job_execution(job)
    assert job.get_status() == JobStatus.STARTED and job.id in queue.started_job_registry
    return worker, queue, job, execution


def test_a_lapsed_lease_puts_the_job_back_at_the_front_at_once_with_one_retry_fewer(
        config: Config, redis_conn: redis.Redis) -> None:
    worker, queue, job, _ = claim(config, redis_conn)
    waiting = enqueue(config, redis_conn, 1, [])
    assert requeue_lapsed(queue) == []  # the lease still runs
    assert job.get_status() == JobStatus.STARTED

    later = time.time() + worker.lease_seconds + 0.5
    assert requeue_lapsed(queue, later) == [job.id]
    assert job.get_status() == JobStatus.QUEUED  # not scheduled after the retry interval (60 s here)
    assert queue.job_ids == [job.id, waiting.id]  # at the front: it is late already
    assert job.id not in queue.started_job_registry
    assert Job.fetch(job.id, connection=redis_conn, serializer=queue.serializer).retries_left == 1
    assert requeue_lapsed(queue, later) == []  # once: a second worker finds nothing to requeue
    assert queue.job_ids == [job.id, waiting.id]


def test_a_lease_renewed_while_the_job_runs_is_kept_and_lapses_once_renewals_stop(
        config: Config, redis_conn: redis.Redis) -> None:
    worker, queue, job, execution = claim(config, redis_conn)
    worker.lease_seconds = 2  # renewed every 0.4 s; rq counts the claim's expiry in whole seconds
    with LeaseKeeper(worker, job, execution, worker.lease_seconds):
        time.sleep(4.5)  # more than two leases
        assert requeue_lapsed(queue) == []
        assert job.get_status() == JobStatus.STARTED
    time.sleep(2.5)  # no renewals: what a killed worker's job looks like after a lease
    assert requeue_lapsed(queue) == [job.id]
    assert job.get_status() == JobStatus.QUEUED


def test_a_lapsed_job_without_retries_left_fails_with_the_reason(config: Config, redis_conn: redis.Redis) -> None:
    worker, queue, job, _ = claim(config, redis_conn, retries=0)
    assert requeue_lapsed(queue, time.time() + worker.lease_seconds + 0.5) == []
    assert job.get_status() == JobStatus.FAILED and job.id in queue.failed_job_registry
    result = job.latest_result()
    assert result is not None and f"the claim of worker {worker.name} lapsed" in (result.exc_string or "")
    assert queue.job_ids == []


def test_a_leftover_claim_of_a_job_that_ended_is_dropped_not_requeued(config: Config, redis_conn: redis.Redis) -> None:
    worker, queue, job, _ = claim(config, redis_conn)
    job.set_status(JobStatus.FINISHED)
    assert requeue_lapsed(queue, time.time() + worker.lease_seconds + 0.5) == []
    assert job.id not in queue.started_job_registry
    assert queue.job_ids == [] and job.get_status() == JobStatus.FINISHED


def test_a_dead_workers_scheduler_lock_and_key_lapse_within_a_lease_and_another_enqueues_the_due_retries(
        config: Config, redis_conn: redis.Redis) -> None:
    first, second = (build_worker(config, redis_conn, name=f"lease-{uuid.uuid4().hex[:8]}") for _ in range(2))
    first.lease_seconds = second.lease_seconds = 2
    first.register_birth()
    assert redis_conn.ttl(first.key) > 60  # rq's: its worker_ttl + 60 s
    dead, alive = SchedulerThread(first), SchedulerThread(second)
    dead.tick()  # holds the lock, then is never heard of again (no release: killed)
    key = RQScheduler.get_locking_key(config.queue)
    assert 0 < redis_conn.ttl(key) <= dead.lock_seconds == 3  # rq's own: 61 s
    assert 0 < redis_conn.ttl(first.key) <= dead.lock_seconds
    queue = frame_queue(config, redis_conn)
    due = queue.enqueue_at(datetime.now(UTC), PROCESS_FRAMES, 1, [])  # a retry that is due now
    alive.tick()
    assert queue.job_ids == []  # the dead worker's lock still holds
    time.sleep(dead.lock_seconds + 0.5)
    alive.tick()
    assert queue.job_ids == [due.id]
    assert first.name not in {w.name for w in Worker.all(connection=redis_conn, serializer=queue.serializer)}
    alive.release()


def test_a_lease_shorter_than_two_seconds_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"AFFECTWATCH_WORKER_LEASE_SECONDS.*at least 2"):
        Config.from_env({"AFFECTWATCH_WORKER_LEASE_SECONDS": "1"})
    assert Config.from_env({"AFFECTWATCH_WORKER_LEASE_SECONDS": "2"}).worker_lease_seconds == 2
