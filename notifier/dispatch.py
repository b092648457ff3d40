"""From recorded alert changes to queued deliveries (the outbox's far side).

The engine, the sweep and staff actions only record events. dispatch() turns each undispatched
event into one delivery per destination (every enabled webhook of alert_webhooks, every URL of
AFFECTWATCH_ALERT_WEBHOOK_URLS, and the email recipients for openings and escalations when SMTP is
configured), then puts every unfinished delivery that has no live job on the alert queue, where
`affectwatch alerts deliver` sends it, retrying with back-off (rq.Retry, alert_delivery_backoff).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import psycopg
import redis
from rq import Queue, Retry
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from affectwatch.config import Config
from affectwatch.exceptions import ConfigError
from affectwatch.queries import alerts as q
from affectwatch.queue import DELIVER_ALERT

log = logging.getLogger(__name__)
Conn = psycopg.Connection[Any]

DELIVER = DELIVER_ALERT
EMAILED = ("opened", "escalated")
LIVE = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED)
# An unfinished delivery enqueued this long ago is checked for a live job, and queued again if it has none.
RECHECK = timedelta(minutes=2)


@dataclass(frozen=True)
class Target:
    channel: str  # 'webhook' or 'email'
    target: str  # the URL, or the recipients
    webhook_id: int | None = None


def targets(conn: Conn, config: Config, event_kind: str) -> list[Target]:
    if config.alert_webhook_urls and not config.alert_webhook_secret:
        raise ConfigError("AFFECTWATCH_ALERT_WEBHOOK_URLS is set but AFFECTWATCH_ALERT_WEBHOOK_SECRET is not:"
                          " webhooks are always signed")
    found = [Target("webhook", h.url, h.id) for h in q.list_webhooks(conn, enabled_only=True)]
    found += [Target("webhook", url) for url in config.alert_webhook_urls if url not in {t.target for t in found}]
    if config.smtp_host and config.alert_email_to and event_kind in EMAILED:
        found.append(Target("email", ", ".join(config.alert_email_to)))
    return found


def create_deliveries(conn: Conn, config: Config) -> int:
    """One delivery per destination for each change not dispatched yet; how many were created."""
    created = 0
    with conn.transaction():
        for event in q.undispatched_events(conn):
            for t in targets(conn, config, event.kind):
                created += q.add_delivery(conn, event, t.channel, t.target, t.webhook_id,
                                          len(config.alert_delivery_backoff) + 1) is not None
            q.mark_dispatched(conn, event.id)
    return created


def alert_queue(config: Config, connection: redis.Redis) -> Queue:
    return Queue(config.alert_queue, connection=connection, serializer=JSONSerializer)


def job_id(delivery_id: int) -> str:
    return f"alert-delivery-{delivery_id}"


def enqueue_pending(conn: Conn, config: Config, connection: redis.Redis) -> int:
    """Queue every unfinished delivery without a live job; how many were queued."""
    queue = alert_queue(config, connection)
    queued = 0
    with conn.transaction():
        for delivery_id in q.deliveries_to_enqueue(conn, RECHECK):
            if not _has_live_job(connection, delivery_id):
                _enqueue(queue, config, delivery_id)
                queued += 1
            q.mark_enqueued(conn, delivery_id)
    return queued


def _has_live_job(connection: redis.Redis, delivery_id: int) -> bool:
    try:
        job = Job.fetch(job_id(delivery_id), connection=connection, serializer=JSONSerializer)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=False) in LIVE


def _enqueue(queue: Queue, config: Config, delivery_id: int) -> None:
    backoff = list(config.alert_delivery_backoff)
    queue.enqueue(DELIVER, delivery_id, job_id=job_id(delivery_id), retry=Retry(max=len(backoff), interval=backoff),
                  job_timeout=int(config.alert_webhook_timeout * 2 + 30), result_ttl=86400,
                  failure_ttl=30 * 86400, description=f"deliver alert delivery {delivery_id}")
    log.info("delivery %s queued on %s", delivery_id, queue.name)


def dispatch(conn: Conn, config: Config, connection: redis.Redis) -> tuple[int, int]:
    """Create the deliveries of new changes and queue what is unsent: (created, queued)."""
    created = create_deliveries(conn, config)
    return created, enqueue_pending(conn, config, connection)
