"""The delivery worker, `affectwatch alerts deliver`: an rq SimpleWorker on the alert queue.

It runs RQ's scheduler too, which puts retried deliveries back on the queue when their back-off has
passed. Jobs are read as JSON, and only the delivery job is run: any other function, and any
callback a job names, is refused unrun (the frame workers' allowlist, narrowed to this one job and
kept free of torch so this small process starts in a moment). A job queued under the delivery job's
former path (affectwatch.queue.DELIVER_ALERT_BEFORE) runs the same function.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from rq import SimpleWorker
from rq.job import Job
from rq.serializers import JSONSerializer
from rq.utils import import_attribute

from affectwatch.config import Config
from affectwatch.exceptions import JobRefused
from affectwatch.queue import DELIVER_ALERT_BEFORE, JOB_FUNCTIONS, redis_connection
from notifier import delivery
from notifier.dispatch import DELIVER

log = logging.getLogger(__name__)
assert DELIVER in JOB_FUNCTIONS, "the delivery job must be on the workers' allowlist"


class DeliveryJob(Job):
    """A job that resolves only the delivery function and never runs callbacks."""

    @property
    def func(self) -> Any:
        if self.func_name not in (DELIVER, DELIVER_ALERT_BEFORE) or self.instance is not None:
            self.retries_left = 0
            raise JobRefused(f"job {self.id}: function {self.func_name!r} is not run on the alert queue"
                             f" (only {DELIVER}); refused, never imported")
        return import_attribute(DELIVER)

    @property
    def success_callback(self) -> None:
        return None

    @property
    def failure_callback(self) -> None:
        return None

    @property
    def stopped_callback(self) -> None:
        return None

    def send_webhooks(self, status: Any, *, exc_string: str | None = None) -> None:
        return None


def build_worker(config: Config, connection: redis.Redis, name: str | None = None) -> SimpleWorker:
    return SimpleWorker([config.alert_queue], name=name, connection=connection, serializer=JSONSerializer,
                        job_class=DeliveryJob)


def run(config: Config, burst: bool = False, name: str | None = None) -> bool:
    """Work the alert queue (until it is empty with burst); True if any job ran."""
    delivery.install(config)
    connection = redis_connection(config)
    worker = build_worker(config, connection, name)
    log.info("delivery worker %s on queue %s%s", worker.name, config.alert_queue, " (burst)" if burst else "")
    try:
        return worker.work(burst=burst, with_scheduler=True, logging_level=config.log_level.upper())
    finally:
        delivery.install(None)
        connection.close()
