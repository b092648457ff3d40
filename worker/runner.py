"""The worker process: loads the models once, then runs frame jobs from Redis in this very process.

- No fork per job: once a process has run torch, a forked child hangs at its first torch operation.
  FrameWorker is an rq SimpleWorker (jobs run in the worker's own process and main thread, so
  rq's SIGALRM job timeout still applies), and worker.jobs refuses to run in any process other
  than the one that loaded the models.
- Nothing from Redis is unpickled: jobs are read with rq's JSONSerializer, and AllowlistedJob runs
  only the functions in affectwatch.queue.JOB_FUNCTIONS: any other job fails, unrun, with the
  reason, its function never imported. Callbacks and webhooks a job may name are never run or sent.
- Retries the producer asks for (rq.Retry with intervals) are scheduled jobs: every worker runs
  rq's scheduler as a thread (SchedulerThread), which moves due jobs back to the queue each second;
  one worker at a time holds the scheduler lock. rq would fork the scheduler into a process of its
  own: a fork of a process that ran torch, and one that outlives a killed worker.
- When Redis goes away (a restart, a failover), the worker keeps its loaded models, waits with
  back-off and reconnects, rather than exiting and loading the models again in a new process.
- A worker holds each running job on a short lease (AFFECTWATCH_WORKER_LEASE_SECONDS), renewed by a
  thread while the job runs (worker.lease). A worker killed mid-job stops renewing it; within a second
  of the lease lapsing, another worker on the queue requeues the job at the front while it has retries
  left, else moves it to the failed-job registry. Its rows are written once either way.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import redis
from rq import SimpleWorker
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue
from rq.scheduler import RQScheduler
from rq.serializers import JSONSerializer
from rq.utils import import_attribute
from rq.worker import WorkerStatus

from affectwatch import telemetry
from affectwatch.config import Config
from affectwatch.exceptions import JobRefused
from affectwatch.queue import JOB_FUNCTIONS, redis_connection
from worker import jobs
from worker.lease import LeaseKeeper, requeue_lapsed
from worker.pipeline import Pipeline

log = logging.getLogger(__name__)

MAX_RESTART_DELAY = 30.0  # seconds before a worker whose loop broke (Redis gone) starts over, at most


class AllowlistedJob(Job):
    """An rq Job that resolves only allowlisted functions and never imports anything a job names."""

    @property
    def func(self) -> Any:
        name = self.func_name
        if name not in JOB_FUNCTIONS or self.instance is not None:
            self.retries_left = 0
            raise JobRefused(f"job {self.id}: function {name!r} is not one a worker runs "
                             f"({', '.join(sorted(JOB_FUNCTIONS))}); refused, never imported")
        return import_attribute(name)

    @property
    def success_callback(self) -> None:
        return self._refuse_callback("success", self._success_callback_name)

    @property
    def failure_callback(self) -> None:
        return self._refuse_callback("failure", self._failure_callback_name)

    @property
    def stopped_callback(self) -> None:
        return self._refuse_callback("stopped", self._stopped_callback_name)

    def _refuse_callback(self, kind: str, name: str | None) -> None:
        if name:
            log.warning("job %s names a %s callback %r; callbacks are never run", self.id, kind, name)
        return None

    def send_webhooks(self, status: Any, *, exc_string: str | None = None) -> None:
        if self.webhooks:
            log.warning("job %s names %d webhook(s); webhooks are never sent", self.id, len(self.webhooks))


class FrameWorker(SimpleWorker):
    """Runs each job in this process (never forks), reading jobs as JSON and only allowlisted ones, and
    holds each job on a lease of `lease_seconds`, renewed while it runs (worker.lease)."""

    job_class = AllowlistedJob
    lease_seconds = 5  # build_worker sets AFFECTWATCH_WORKER_LEASE_SECONDS

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """The claim on a job lasts one lease from each renewal (rq's SimpleWorker: the job timeout + 60 s)."""
        return int(self.lease_seconds)

    def execute_job(self, job: Job, queue: Queue) -> None:
        """rq's SimpleWorker.execute_job, with the job's lease renewed until it ends."""
        execution: Execution = self.prepare_execution(job)
        with LeaseKeeper(self, job, execution, self.lease_seconds):
            self.perform_job(job, queue, execution)
        self.set_state(WorkerStatus.IDLE)


class SchedulerThread(threading.Thread):
    """rq's scheduler in a daemon thread of the worker: due scheduled jobs (retries) back to the queue, and
    the jobs of workers whose lease lapsed (killed workers) back to the queue, each second.

    The scheduler lock lapses one lease after its holder's last refresh (rq's: the interval + 60 s), so
    that a killed worker's lock holds up the scheduled retries of every job for seconds, not a minute.
    Likewise the worker's own key: a killed worker leaves the list of workers (the system page) within
    a lease, where rq's key outlives it by up to two minutes.
    """

    def __init__(self, worker: FrameWorker, interval: int = 1) -> None:
        super().__init__(name="rq-scheduler", daemon=True)
        self.scheduler = RQScheduler(worker.queues, connection=worker.connection, serializer=worker.serializer,
                                     interval=interval, logging_level=logging.getLogger().getEffectiveLevel())
        self.queues: list[Queue] = list(worker.queues)
        self.connection = worker.connection
        self.worker_key = worker.key
        self.lock_seconds = max(int(worker.lease_seconds), interval + 2)
        self.stopping = threading.Event()

    def tick(self) -> None:
        """Requeue the jobs whose lease lapsed; take or refresh the scheduler lock: if ours, enqueue the jobs due."""
        try:
            self.connection.expire(self.worker_key, self.lock_seconds)  # only while the key exists (registered)
            for queue in self.queues:
                requeue_lapsed(queue)
            owned = self.scheduler.acquire_locks()  # type: ignore[no-untyped-call]
            for name in owned:  # just taken or refreshed by this worker: shorten it to a lease
                self.connection.expire(RQScheduler.get_locking_key(name), self.lock_seconds)
            if owned:
                self.scheduler.enqueue_scheduled_jobs()  # type: ignore[no-untyped-call]
        except redis.RedisError as exc:
            log.warning("scheduler: Redis error, retrying in %d s: %s", self.scheduler.interval, exc)
        except Exception:  # this thread must outlive anything one tick meets
            log.exception("scheduler: tick failed; trying again in %d s", self.scheduler.interval)

    def run(self) -> None:
        while not self.stopping.is_set():
            self.tick()
            self.stopping.wait(self.scheduler.interval)
        self.release()

    def stop(self) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(5)
        else:
            self.release()

    def release(self) -> None:
        try:
            self.scheduler.release_locks()  # type: ignore[no-untyped-call]
        except redis.RedisError as exc:
            log.warning("scheduler: could not release its lock (it expires by itself): %s", exc)


def build_worker(config: Config, connection: redis.Redis, name: str | None = None) -> FrameWorker:
    worker = FrameWorker([config.queue], name=name, connection=connection, serializer=JSONSerializer,
                         job_class=AllowlistedJob, maintenance_interval=config.worker_maintenance_seconds,
                         worker_ttl=config.worker_maintenance_seconds + 15)  # an idle worker wakes for maintenance
    worker.lease_seconds = config.worker_lease_seconds
    return worker


def run(config: Config, device: str | None = None, burst: bool = False, name: str | None = None) -> bool:
    """Load the models, then work the frame queue (until it is empty with burst). True if any job ran."""
    telemetry.serve("worker", config.worker_metrics_port, config.metrics_host, telemetry.WORKER_PORT_SPREAD)
    jobs.install(Pipeline.load(config, device))
    try:
        return work_through_outages(config, burst, name)
    finally:
        jobs.install(None)


def work_through_outages(config: Config, burst: bool, name: str | None) -> bool:
    """Work the queue; when Redis goes away, keep the loaded models, wait with back-off and work again.

    rq's worker quits its loop (logging "unhandled exception, quitting") when Redis fails outside its
    dequeue; a worker that quit without being asked to stop, or raised a Redis error, starts over. A
    job that was running stays in its started-job registry and is requeued by a worker once its
    lease lapses; its rows are written at most once either way.
    """
    delay, attempt = 1.0, 0
    while True:
        worker_name = name if attempt == 0 or name is None else f"{name}-{attempt}"
        try:
            ran, stopped = work(config, burst, worker_name)
            if burst or stopped:
                return ran
            reason = "its loop ended without a stop request"
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            reason = f"Redis: {exc}"
        attempt += 1
        log.error("worker %s stopped working (%s); models stay loaded, starting over in %.0f s (attempt %d)",
                  worker_name or "", reason, delay, attempt)
        time.sleep(delay)
        delay = min(delay * 2, MAX_RESTART_DELAY)


def work(config: Config, burst: bool, name: str | None) -> tuple[bool, bool]:
    """One connection, one rq worker and its scheduler thread: (any job ran, a stop was requested)."""
    connection = redis_connection(config)
    worker = build_worker(config, connection, name)
    scheduler = SchedulerThread(worker)
    log.info("worker %s on queue %s%s", worker.name, config.queue, " (burst)" if burst else "")
    if burst:
        scheduler.tick()  # what is due now; a burst worker does not wait for later retries
    else:
        scheduler.start()
    try:
        ran = worker.work(burst=burst, logging_level=config.log_level.upper())
        return ran, worker._shutdown_requested_date is not None  # set by SIGTERM/SIGINT, busy or idle
    finally:
        scheduler.stop()
        connection.close()
